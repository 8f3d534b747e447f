"""Slack bot: self-registration switch, Slack identity (users, link codes), request receipts

Revision ID: b7d2e9a41c05
Revises: fa3c1b3ed76b
Create Date: 2026-12-03 16:00:00

"""
import sqlalchemy as sa
from alembic import op

import events.types

# revision identifiers, used by Alembic.
revision = 'b7d2e9a41c05'
down_revision = 'fa3c1b3ed76b'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN and CREATE INDEX, never a batch rebuild: rebuilding
    # "conferences" on SQLite (foreign keys on) would cascade-delete every row that points at it.
    op.add_column('conferences', sa.Column('registration_open', sa.Boolean(),
                                           server_default=sa.false(), nullable=False))
    op.add_column('conferences', sa.Column('registration_capacity', sa.Integer(), nullable=True))
    op.create_index('ix_delegates_slack_user_id', 'delegates', ['slack_user_id'], unique=False)
    op.create_index('uq_delegates_conference_slack', 'delegates', ['conference_id', 'slack_user_id'],
                    unique=True, sqlite_where=sa.text('slack_user_id IS NOT NULL'),
                    postgresql_where=sa.text('slack_user_id IS NOT NULL'))
    op.create_table('slack_link_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', events.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['delegate_id'], ['delegates.id'],
                            name=op.f('fk_slack_link_codes_delegate_id_delegates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_link_codes')),
    sa.UniqueConstraint('delegate_id', name=op.f('uq_slack_link_codes_delegate_id')),
    sa.UniqueConstraint('digest', name=op.f('uq_slack_link_codes_digest'))
    )
    op.create_table('slack_link_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('failed_at', events.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conference_id'], ['conferences.id'],
                            name=op.f('fk_slack_link_failures_conference_id_conferences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_link_failures'))
    )
    with op.batch_alter_table('slack_link_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_link_failures_slack_user_id'), ['slack_user_id'], unique=False)
    op.create_table('slack_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=True),
    sa.Column('dm_channel_id', sa.String(length=32), nullable=True),
    sa.Column('reminders', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', events.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organiser_id'], ['organisers.id'],
                            name=op.f('fk_slack_users_organiser_id_organisers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_users')),
    sa.UniqueConstraint('slack_user_id', name=op.f('uq_slack_users_slack_user_id'))
    )
    with op.batch_alter_table('slack_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_users_organiser_id'), ['organiser_id'], unique=False)
    op.create_table('slack_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('received_at', events.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_receipts')),
    sa.UniqueConstraint('key', name=op.f('uq_slack_receipts_key'))
    )
    with op.batch_alter_table('slack_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_receipts_received_at'), ['received_at'], unique=False)


def downgrade():
    op.drop_table('slack_receipts')
    op.drop_table('slack_users')
    op.drop_table('slack_link_failures')
    op.drop_table('slack_link_codes')
    op.drop_index('uq_delegates_conference_slack', table_name='delegates')
    op.drop_index('ix_delegates_slack_user_id', table_name='delegates')
    op.drop_column('conferences', 'registration_capacity')
    op.drop_column('conferences', 'registration_open')
