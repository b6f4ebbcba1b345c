"""the latest installed-users count kept on the installation row

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29

GET /v1/instances/me reads it on every call; POST /v1/jira/instance-metrics maintains it. Existing
installations get the latest count of their series.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('installed_users_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('installed_users_reported_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE installations SET installed_users_count = latest.installed_users_count, "
        "installed_users_reported_at = latest.reported_at "
        "FROM (SELECT installation_pk, installed_users_count, reported_at, "
        "row_number() OVER (PARTITION BY installation_pk ORDER BY reported_at DESC, id DESC) AS n "
        "FROM instance_metrics) AS latest "
        "WHERE latest.installation_pk = installations.id AND latest.n = 1"
    )


def downgrade():
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.drop_column('installed_users_reported_at')
        batch_op.drop_column('installed_users_count')
