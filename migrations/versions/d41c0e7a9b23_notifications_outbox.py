"""Notifications: the outbox, delegates' channel choice, conferences' email settings

Revision ID: d41c0e7a9b23
Revises: b7d2e9a41c05
Create Date: 2026-12-03 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import events.types

# revision identifiers, used by Alembic.
revision = 'd41c0e7a9b23'
down_revision = 'b7d2e9a41c05'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, never a batch rebuild (see b7d2e9a41c05).
    op.add_column('conferences', sa.Column('notify_email', sa.String(length=10),
                                           server_default='unlinked', nullable=False))
    op.add_column('conferences', sa.Column('email_reminders', sa.Boolean(),
                                           server_default=sa.false(), nullable=False))
    op.add_column('conferences', sa.Column('contact_email', sa.String(length=254),
                                           server_default='', nullable=False))
    op.add_column('delegates', sa.Column('notify_by', sa.String(length=10),
                                         server_default='auto', nullable=False))
    op.add_column('delegates', sa.Column('links_sent_at', events.types.UTCDateTime(),
                                         nullable=True))
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('group', sa.String(length=120), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('due_at', events.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', events.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_until', events.types.UTCDateTime(), nullable=True),
    sa.Column('scheduled_message_id', sa.String(length=64), nullable=True),
    sa.Column('delivered_to', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', events.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', events.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['conference_id'], ['conferences.id'],
                            name=op.f('fk_outbox_conference_id_conferences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delegate_id'], ['delegates.id'],
                            name=op.f('fk_outbox_delegate_id_delegates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    op.create_index('ix_outbox_status_due', 'outbox', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_outbox_group', 'outbox', ['group'], unique=False)
    op.create_index(op.f('ix_outbox_conference_id'), 'outbox', ['conference_id'], unique=False)
    op.create_index(op.f('ix_outbox_delegate_id'), 'outbox', ['delegate_id'], unique=False)


def downgrade():
    op.drop_table('outbox')
    op.drop_column('delegates', 'links_sent_at')
    op.drop_column('delegates', 'notify_by')
    op.drop_column('conferences', 'contact_email')
    op.drop_column('conferences', 'email_reminders')
    op.drop_column('conferences', 'notify_email')
