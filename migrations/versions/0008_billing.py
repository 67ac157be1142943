"""billing: Stripe subscription per account, handled Stripe events, usage per run

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'billing_accounts',
        sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=True),
        sa.Column('subscription_status', sa.String(length=32), nullable=False),
        sa.Column('plan', sa.String(length=32), nullable=False),
        sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('payment_failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('card_brand', sa.String(length=32), nullable=True),
        sa.Column('card_last4', sa.String(length=4), nullable=True),
        sa.Column('card_exp_month', sa.Integer(), nullable=True),
        sa.Column('card_exp_year', sa.Integer(), nullable=True),
        sa.Column('checkout_idempotency_key', sa.String(length=64), nullable=True),
        sa.Column('checkout_plan', sa.String(length=32), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('account_id', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', name='uq_billing_accounts_account_id'),
        sa.UniqueConstraint('stripe_customer_id'),
    )
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_accounts_account_id'), ['account_id'], unique=False)
    op.create_table(
        'stripe_events',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'usage_records',
        sa.Column('run_id', sa.String(length=32), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('account_id', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id'),
    )
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_records_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_records_counted_at'), ['counted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_records_counted_at'))
        batch_op.drop_index(batch_op.f('ix_usage_records_account_id'))
    op.drop_table('usage_records')
    op.drop_table('stripe_events')
    with op.batch_alter_table('billing_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_accounts_account_id'))
    op.drop_table('billing_accounts')
