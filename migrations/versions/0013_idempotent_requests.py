"""idempotent_requests: the first answer to a run write sent with an Idempotency-Key

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('installation_pk', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('content_type', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['installation_pk'], ['installations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('installation_pk', 'key', name='uq_idempotent_requests_installation_key'),
    )
    op.create_index('ix_idempotent_requests_expires_at', 'idempotent_requests', ['expires_at'], unique=False)


def downgrade():
    op.drop_index('ix_idempotent_requests_expires_at', table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
