"""Email: "email me my link" requests, for the per-address and per-IP rate limits

Revision ID: e7b3a5c91d42
Revises: d41c0e7a9b23
Create Date: 2026-12-03 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import events.types

# revision identifiers, used by Alembic.
revision = 'e7b3a5c91d42'
down_revision = 'd41c0e7a9b23'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('link_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conference_id', sa.Integer(), nullable=False),
    sa.Column('address_digest', sa.String(length=64), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('requested_at', events.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['conference_id'], ['conferences.id'],
                            name=op.f('fk_link_requests_conference_id_conferences'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_requests'))
    )
    op.create_index('ix_link_requests_address', 'link_requests',
                    ['address_digest', 'requested_at'], unique=False)
    op.create_index('ix_link_requests_client', 'link_requests', ['client', 'requested_at'],
                    unique=False)
    op.create_index(op.f('ix_link_requests_conference_id'), 'link_requests', ['conference_id'],
                    unique=False)


def downgrade():
    op.drop_table('link_requests')
