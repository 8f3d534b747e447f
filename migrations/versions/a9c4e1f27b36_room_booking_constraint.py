"""Rooms: PostgreSQL refuses two live sessions in one room at overlapping times

Revision ID: a9c4e1f27b36
Revises: a9f4c2d81e60
Create Date: 2026-12-03 19:30:00

Plain DDL on PostgreSQL only (an exclusion constraint, with btree_gist for ``room_id WITH =``);
SQLite has no such constraint and serialises room bookings in the services instead, so nothing
changes there. An existing double booking stops the upgrade with the sessions named, to be
moved or cancelled by hand: the migration never picks a loser itself.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9c4e1f27b36'
down_revision = 'a9f4c2d81e60'
branch_labels = None
depends_on = None

CLASHES = """
SELECT a.id, a.title, b.id, b.title, r.name
FROM sessions a JOIN sessions b ON a.room_id = b.room_id AND a.id < b.id
JOIN rooms r ON r.id = a.room_id
WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
  AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
ORDER BY a.id, b.id
"""


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    clashes = bind.execute(sa.text(CLASHES)).fetchall()
    if clashes:
        listed = "; ".join(f"{room}: session {a} “{ta}” and session {b} “{tb}”"
                           for a, ta, b, tb, room in clashes[:20])
        raise RuntimeError(f"{len(clashes)} double booking(s) of a room: move or cancel one "
                           f"of each pair, then upgrade again ({listed})")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("ALTER TABLE sessions ADD CONSTRAINT ex_sessions_room_time "
               "EXCLUDE USING gist (room_id WITH =, tsrange(starts_at, ends_at) WITH &&) "
               "WHERE (status <> 'cancelled')")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE sessions DROP CONSTRAINT IF EXISTS ex_sessions_room_time")
