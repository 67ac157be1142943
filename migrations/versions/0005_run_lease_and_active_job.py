"""runs: SQL lease (owner, expiry), one active run per job, idempotency keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_job_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_runs_active_job_id', ['active_job_id'])
        batch_op.create_unique_constraint('uq_runs_account_idempotency_key', ['account_id', 'idempotency_key'])


def downgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_constraint('uq_runs_account_idempotency_key', type_='unique')
        batch_op.drop_constraint('uq_runs_active_job_id', type_='unique')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_owner')
        batch_op.drop_column('idempotency_key')
        batch_op.drop_column('active_job_id')
