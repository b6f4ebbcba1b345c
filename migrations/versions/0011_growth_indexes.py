"""indexes that keep the team-competition fallback and the usage page flat as an installation grows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

ix_activity_snapshots_task_ended: the board's run fallback asks, per run, whether its task has a snapshot
in range (an index range instead of every snapshot of the task). ix_usage_rows_installation_id: GET
/v1/jira/usage reads an installation's newest rows by id (a backward index range instead of a scan and
sort of every row of the installation).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_activity_snapshots_task_ended',
                              ['installation_pk', 'project_id', 'task_id', 'window_ended_at'], unique=False)
    with op.batch_alter_table('usage_rows', schema=None) as batch_op:
        batch_op.create_index('ix_usage_rows_installation_id', ['installation_pk', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_rows_installation_id')
    with op.batch_alter_table('activity_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_snapshots_task_ended')
