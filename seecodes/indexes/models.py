"""Project index entries (one per installation, project and path) and the per-project summary row."""
from ..extensions import db
from ..models_base import BigIntPK, JSONType

# Byte-order comparison on both backends, so "the smallest path" is the same on SQLite (BINARY) and
# PostgreSQL whatever the database's locale; it also keeps the btree on paths cheap.
PathType = db.String(1024).with_variant(db.String(1024, collation="C"), "postgresql")


class ProjectIndexEntry(db.Model):
    __tablename__ = "project_index_entries"
    __table_args__ = (
        db.UniqueConstraint("installation_pk", "project_id", "path", name="uq_project_index_entries_path"),
        # Hash lookups pick the smallest path per hash straight from this index.
        db.Index("ix_project_index_entries_hash", "installation_pk", "project_id", "hash", "path"),
    )

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    path = db.Column(PathType, nullable=False)
    hash = db.Column(db.String(64), nullable=False)  # lowercase hex SHA-256 of the file's content
    updated_at_ms = db.Column(db.BigInteger, nullable=False)  # the entry's updatedAt as the client sent it
    short = db.Column(db.Text, nullable=True)
    detailed = db.Column(db.Text, nullable=True)
    important_symbols = db.Column(JSONType, nullable=False)
    dependencies = db.Column(JSONType, nullable=False)
    exports = db.Column(JSONType, nullable=False)


class ProjectIndex(db.Model):
    """Keeps totalFiles and updatedAt so neither needs a scan of a 100k-entry index; also the upsert lock."""

    __tablename__ = "project_indexes"
    __table_args__ = (db.UniqueConstraint("installation_pk", "project_id", name="uq_project_indexes_project"),)

    id = db.Column(db.Integer, primary_key=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    total_files = db.Column(db.Integer, nullable=False, default=0)
    updated_at_ms = db.Column(db.BigInteger, nullable=False, default=0)  # server time of the last change
