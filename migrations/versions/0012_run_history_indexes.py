"""runs: indexes for an account's and a job's newest runs (history and home pages under load)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_runs_account_created', 'runs', ['account_id', 'created_at'], unique=False)
    op.create_index('ix_runs_job_created', 'runs', ['job_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_runs_job_created', table_name='runs')
    op.drop_index('ix_runs_account_created', table_name='runs')
