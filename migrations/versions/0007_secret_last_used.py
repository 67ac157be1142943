"""org connections and connections: when their stored secret was last used

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('org_connections', 'connections'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in ('org_connections', 'connections'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('last_used_at')
