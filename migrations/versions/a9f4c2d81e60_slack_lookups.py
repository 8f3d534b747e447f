"""Slack bot: when each delegate's email was last looked up on Slack

Revision ID: a9f4c2d81e60
Revises: e7b3a5c91d42
Create Date: 2026-12-03 19:10:00

"""
import sqlalchemy as sa
from alembic import op

import events.types

# revision identifiers, used by Alembic.
revision = 'a9f4c2d81e60'
down_revision = 'e7b3a5c91d42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('slack_lookups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('slack_user_id', sa.String(length=32), nullable=True),
    sa.Column('looked_up_at', events.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_lookups')),
    sa.UniqueConstraint('email', name=op.f('uq_slack_lookups_email'))
    )
    op.create_index(op.f('ix_slack_lookups_looked_up_at'), 'slack_lookups', ['looked_up_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_slack_lookups_looked_up_at'), table_name='slack_lookups')
    op.drop_table('slack_lookups')
