"""audit events outlive their account: no foreign key (and no cascade) to accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_events_account_id_accounts'), type_='foreignkey')


def downgrade():
    # Events of deleted accounts carry pseudonyms that match no account: cleared, or the key cannot return.
    events, accounts = sa.table('audit_events', sa.column('account_id')), sa.table('accounts', sa.column('id'))
    op.execute(events.update().where(events.c.account_id.is_not(None),
                                     events.c.account_id.not_in(sa.select(accounts.c.id))).values(account_id=None))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_audit_events_account_id_accounts'), 'accounts',
                                    ['account_id'], ['id'], ondelete='CASCADE')
