"""run data lifetime: the input versions a start priced, when a settled run's data was removed, and the
indexes of the open-run cap, the expiry of unstarted runs and the retention of settled runs' data

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('input_versions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('data_removed_at', sa.DateTime(), nullable=True))
    op.create_index('ix_runs_initialized', 'runs', ['installation_pk', 'created_at'], unique=False,
                    postgresql_where=sa.text("status = 'initialized'"), sqlite_where=sa.text("status = 'initialized'"))
    op.create_index('ix_runs_data_kept', 'runs', ['finished_at'], unique=False,
                    postgresql_where=sa.text('data_removed_at IS NULL'),
                    sqlite_where=sa.text('data_removed_at IS NULL'))


def downgrade():
    op.drop_index('ix_runs_data_kept', table_name='runs')
    op.drop_index('ix_runs_initialized', table_name='runs')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('data_removed_at')
        batch_op.drop_column('input_versions')
