"""Row locks for services that check, then write (seats left, "is it still a draft?").

A service that reads to decide and then writes must hold a lock from before the read until its
commit, or two requests read the same state and both write: ten hand moves into one free seat
all see the seat free. ``lock_row`` takes that lock on either database:

- PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` of the row. Other lockers wait for the commit, and
  every later statement (READ COMMITTED) sees what the winner committed. Inserts of rows that
  point at it (a new plan version) are not blocked.
- SQLite: ``with_for_update()`` does nothing there. A no-op ``UPDATE`` of the row takes the
  database's write lock at once; pysqlite opens the transaction with that statement, so no
  stale read snapshot is held, and other writers wait on the busy timeout.

Objects read before the lock are expired, so the check after it reads the rows as they are.

Tests prove each guard matters with a negative control: ``CONVENOR_TEST_NO_LOCK`` (a set of
guard names) switches guards off, and is honoured only when ``app.testing``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select, text

from events.extensions import db


def guard_off(guard: str) -> bool:
    """Return True when a test switched ``guard`` off (never outside ``app.testing``)."""
    app = current_app
    return bool(app.testing) and guard in (app.config.get("CONVENOR_TEST_NO_LOCK") or ())


def lock_row(model: Any, row_id: int, *, guard: str) -> None:
    """Lock one row of ``model`` until the transaction ends; expire what was read before.

    ``guard`` names the lock for the tests' negative controls (``guard_off``).
    """
    if guard_off(guard):
        return
    table = model.__table__
    if db.session.get_bind().dialect.name == "sqlite":
        pk = table.primary_key.columns.values()[0].name
        db.session.execute(text(f'UPDATE "{table.name}" SET "{pk}" = "{pk}" WHERE "{pk}" = :id'),
                           {"id": row_id})
    else:
        db.session.execute(select(table.primary_key.columns.values()[0])
                           .where(table.primary_key.columns.values()[0] == row_id)
                           .with_for_update(key_share=True))
    db.session.expire_all()
