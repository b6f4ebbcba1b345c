"""progress, activity snapshots, instance metrics, project indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('task_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installation_pk', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('task_id', sa.String(length=255), nullable=False),
    sa.Column('document', JSON_TYPE, nullable=False),
    sa.Column('updated_by', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('installation_pk', 'project_id', 'task_id', name='uq_task_progress_task')
    )

    op.create_table('activity_snapshots',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('installation_pk', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('task_id', sa.String(length=255), nullable=False),
    sa.Column('user_account_id', sa.String(length=255), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.Column('window_ended_at', sa.DateTime(), nullable=False),
    sa.Column('task_started_at', sa.DateTime(), nullable=True),
    sa.Column('task_age_minutes', sa.Integer(), nullable=True),
    sa.Column('human_active_ms', sa.BigInteger(), nullable=False),
    sa.Column('loc_added', sa.Integer(), nullable=False),
    sa.Column('loc_removed', sa.Integer(), nullable=False),
    sa.Column('loc_total', sa.Integer(), nullable=False),
    sa.Column('changed_files', JSON_TYPE, nullable=False),
    sa.Column('changed_files_count', sa.Integer(), nullable=False),
    sa.Column('architecture_change', sa.Boolean(), nullable=False),
    sa.Column('logic_change', sa.Boolean(), nullable=False),
    sa.Column('specification_ui_change', sa.Boolean(), nullable=False),
    sa.Column('effort_units', sa.Integer(), nullable=False),
    sa.Column('formula_version', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('installation_pk', 'project_id', 'task_id', 'user_account_id', 'window_started_at', 'window_ended_at', name='uq_activity_snapshots_window')
    )
    with op.batch_alter_table('activity_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_activity_snapshots_installation_ended', ['installation_pk', 'window_ended_at'], unique=False)
        batch_op.create_index('ix_activity_snapshots_project_ended', ['installation_pk', 'project_id', 'window_ended_at'], unique=False)

    op.create_table('instance_metrics',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('installation_pk', sa.Integer(), nullable=False),
    sa.Column('installed_users_count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instance_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_instance_metrics_installation_reported', ['installation_pk', 'reported_at', 'id'], unique=False)

    op.create_table('project_index_entries',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('installation_pk', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=1024).with_variant(sa.String(length=1024, collation='C'), 'postgresql'), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.Column('short', sa.Text(), nullable=True),
    sa.Column('detailed', sa.Text(), nullable=True),
    sa.Column('important_symbols', JSON_TYPE, nullable=False),
    sa.Column('dependencies', JSON_TYPE, nullable=False),
    sa.Column('exports', JSON_TYPE, nullable=False),
    sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('installation_pk', 'project_id', 'path', name='uq_project_index_entries_path')
    )
    with op.batch_alter_table('project_index_entries', schema=None) as batch_op:
        batch_op.create_index('ix_project_index_entries_hash', ['installation_pk', 'project_id', 'hash', 'path'], unique=False)

    op.create_table('project_indexes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installation_pk', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('total_files', sa.Integer(), nullable=False),
    sa.Column('updated_at_ms', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('installation_pk', 'project_id', name='uq_project_indexes_project')
    )


def downgrade():
    op.drop_table('project_indexes')
    with op.batch_alter_table('project_index_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_project_index_entries_hash')
    op.drop_table('project_index_entries')
    with op.batch_alter_table('instance_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_metrics_installation_reported')
    op.drop_table('instance_metrics')
    with op.batch_alter_table('activity_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_snapshots_project_ended')
        batch_op.drop_index('ix_activity_snapshots_installation_ended')
    op.drop_table('activity_snapshots')
    op.drop_table('task_progress')
