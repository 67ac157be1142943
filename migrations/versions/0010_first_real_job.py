"""runs: rows_created (upsert results say created and updated); accounts: date_format (remembered);
users: locale (the Salesforce user's, for date defaults)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_created', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_format', sa.String(length=32), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('date_format')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('rows_created')
