"""Outbox: index on (recipient, channel), for the worker's look-up of a person's other changes

Revision ID: f3c9d2a7b851
Revises: a9c4e1f27b36
Create Date: 2026-12-03 19:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3c9d2a7b851'
down_revision = 'a9c4e1f27b36'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_outbox_recipient', 'outbox', ['recipient', 'channel'], unique=False)


def downgrade():
    op.drop_index('ix_outbox_recipient', table_name='outbox')
