"""installation lifecycle: uninstalled installations and revoked launch codes and request keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

POST /v1/forge/events and `flask credentials revoke` mark credentials revoked before they expire: permits
had revoked_at already; launch codes and request keys get theirs (a revoked request key is also superseded,
so the one-live-key-per-chain index needs no change). The installation records when it was uninstalled and
the app version of its latest installed or upgraded event.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uninstalled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('app_version', sa.String(length=64), nullable=True))
    with op.batch_alter_table('launch_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('request_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('request_keys', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('launch_codes', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.drop_column('app_version')
        batch_op.drop_column('uninstalled_at')
