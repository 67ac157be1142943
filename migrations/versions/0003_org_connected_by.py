"""org connections: the Salesforce user whose tokens are stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 06:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('org_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('connected_by', sa.String(length=18), nullable=True))


def downgrade():
    with op.batch_alter_table('org_connections', schema=None) as batch_op:
        batch_op.drop_column('connected_by')
