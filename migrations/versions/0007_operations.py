"""operations: provider token counts on usage rows, the request id of a run, indexes for retention pruning

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('usage_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('input_tokens', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('output_tokens', sa.Integer(), nullable=True))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=128), nullable=True))
    op.create_index('ix_request_keys_expires_at', 'request_keys', ['expires_at'], unique=False)
    op.create_index('ix_launch_codes_expires_at', 'launch_codes', ['expires_at'], unique=False)
    op.create_index('ix_permits_expires_at', 'permits', ['expires_at'], unique=False)
    op.create_index('ix_security_events_created_at', 'security_events', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_security_events_created_at', table_name='security_events')
    op.drop_index('ix_permits_expires_at', table_name='permits')
    op.drop_index('ix_launch_codes_expires_at', table_name='launch_codes')
    op.drop_index('ix_request_keys_expires_at', table_name='request_keys')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    with op.batch_alter_table('usage_rows', schema=None) as batch_op:
        batch_op.drop_column('output_tokens')
        batch_op.drop_column('input_tokens')
