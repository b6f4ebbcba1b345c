"""Usage rows: one per debit or refund; (run_id, type) is unique so a debit or refund happens once."""
from ..extensions import db
from ..models_base import BigIntPK, utcnow


class UsageRow(db.Model):
    __tablename__ = "usage_rows"
    __table_args__ = (
        db.UniqueConstraint("run_id", "type", name="uq_usage_rows_run_type"),
        db.Index("ix_usage_rows_installation_created", "installation_pk", "created_at"),
        # GET /v1/jira/usage: an installation's newest rows by id, keyset-paged (migration 0011).
        db.Index("ix_usage_rows_installation_id", "installation_pk", "id"),
    )

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    type = db.Column(db.String(32), nullable=False)  # task_run | refund
    project_id = db.Column(db.String(255), nullable=True)
    task_id = db.Column(db.String(255), nullable=True)
    run_id = db.Column(db.String(64), nullable=True)
    user_account_id = db.Column(db.String(255), nullable=True)
    credits = db.Column(db.Integer, nullable=False)
    # task_run: the provider's actual token counts, written when the run succeeds (compare with credits)
    input_tokens = db.Column(db.Integer, nullable=True)
    output_tokens = db.Column(db.Integer, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
