"""run_pieces: a run's rows in pieces that any worker may take (one run, many workers)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('run_pieces',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('piece_no', sa.Integer(), nullable=False),
    sa.Column('org_key', sa.String(length=64), nullable=False),
    sa.Column('first_row', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('start_offset', sa.BigInteger(), nullable=False),
    sa.Column('end_offset', sa.BigInteger(), nullable=False),
    sa.Column('first_line', sa.Integer(), nullable=False),
    sa.Column('first_chunk', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('taken_by', sa.String(length=32), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('succeeded', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('checkpoint', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_pieces_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_pieces')),
    sa.UniqueConstraint('run_id', 'piece_no', name='uq_run_pieces_run_piece')
    )
    with op.batch_alter_table('run_pieces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_pieces_org_key'), ['org_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_pieces_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_run_pieces_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('run_pieces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_pieces_state'))
        batch_op.drop_index(batch_op.f('ix_run_pieces_run_id'))
        batch_op.drop_index(batch_op.f('ix_run_pieces_org_key'))
    op.drop_table('run_pieces')
