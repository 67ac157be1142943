"""jobs: schedule time zone, pause, occurrence watermark, notification settings; runs: trigger, occurrence

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_tz', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('schedule_paused', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('schedule_pause_reason', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('schedule_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('schedule_last_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('schedule_owner_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('notify_on', sa.String(length=16), nullable=False, server_default='failure'))
        batch_op.add_column(sa.Column('notify_emails', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('notify_user_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('notify_digest', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trigger', sa.String(length=16), nullable=False, server_default='manual'))
        batch_op.add_column(sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('late_seconds', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('late_seconds')
        batch_op.drop_column('scheduled_for')
        batch_op.drop_column('trigger')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        for column in ('digest_sent_at', 'notify_digest', 'notify_user_ids', 'notify_emails', 'notify_on',
                       'schedule_owner_id', 'schedule_last_at', 'schedule_since', 'schedule_pause_reason',
                       'schedule_paused', 'schedule_tz'):
            batch_op.drop_column(column)
