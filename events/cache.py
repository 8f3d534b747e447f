"""An in-process cache for answers read on every request and changed rarely (a delegate's day).

A cached value is keyed by what it was computed from plus ``generation()``: a counter this
process advances after every commit that wrote a row that can change an answer (ORM flushes
and ``session.execute`` DML alike, seen through SQLAlchemy's session events; see
``_relevant``). Callers add ``conference.version`` (advanced by imports and other versioned
writes), and every entry expires after ``MAX_AGE_S``, so a change made by another process
shows within a minute at the latest, and one made in this process (every page, API call and
Slack command in the one server process of docs/deploy.md) shows at once. Values must be
plain data (no ORM objects): they outlive the session that loaded them. Call ``install()``
once (from a feature's ``install``); until then nothing is cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.elements import TextClause

T = TypeVar("T")

#: Tables whose writes change no cached answer: Slack bookkeeping, tokens, check-in scans,
#: the live feed. A write to any other table advances the generation.
IGNORED_TABLES = frozenset({
    "slack_receipts", "slack_users", "slack_link_codes", "slack_link_failures", "api_tokens",
    "checkins", "checkin_nonces", "scan_log", "badge_jobs", "badge_secrets", "live_changes",
    # Notifications: the outbox and its bookkeeping.
    "outbox", "slack_lookups", "link_requests",
})
#: Round plans and their seats: a *draft* being written (an allocation, a hand move, which
#: never changes a published plan) changes no answer; publishing and superseding do.
PLAN_TABLES = frozenset({"cafe_plans", "carousel_plans"})
SEAT_TABLES = frozenset({"cafe_seats", "carousel_seats"})
#: Seconds an entry is served at most (the bound for another process's changes).
MAX_AGE_S = 60.0
_FLAG = "convenor_cache_changed"
_generation = [0]
_lock = threading.Lock()
_installed = [False]


def installed() -> bool:
    """Return whether the listeners run; without them nothing may be cached."""
    return _installed[0]


def generation() -> int:
    """Return the number of relevant commits this process has seen."""
    return _generation[0]


class LRU:
    """A bounded, thread-safe least-recently-used map."""

    def __init__(self, size: int = 2048, max_age_s: float = MAX_AGE_S) -> None:
        self.size = size
        self.max_age_s = max_age_s
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the value for ``key``, computing and keeping it on a miss (always computing
        when ``install()`` has not run)."""
        if not _installed[0]:
            return compute()
        now = time.monotonic()
        with self._lock:
            found = self._data.get(key)
            if found is not None and now - found[0] < self.max_age_s:
                self._data.move_to_end(key)
                return found[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._data[key] = (now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _draft(plan: Any) -> bool:
    return getattr(plan, "status", None) == "draft"


def _relevant(obj: Any) -> bool:
    """Return whether writing ``obj`` can change a cached answer (when unsure: yes)."""
    table = getattr(type(obj), "__tablename__", None)
    if table in IGNORED_TABLES:
        return False
    if table in PLAN_TABLES:
        # A draft written, or deleted, is invisible; a status change to or from "published" is not.
        history = inspect(obj).attrs.status.history
        return not (_draft(obj) and not history.deleted)
    if table in SEAT_TABLES:
        plan = inspect(obj).attrs.plan.loaded_value  # never loads: unknown counts as relevant
        return not _draft(plan)
    return True


def _after_flush(session: OrmSession, _context: Any) -> None:
    if any(_relevant(obj) for group in (session.new, session.dirty, session.deleted)
           for obj in group):
        session.info[_FLAG] = True


def _do_orm_execute(state: ORMExecuteState) -> None:
    if isinstance(state.statement, TextClause):
        state.session.info[_FLAG] = True  # raw SQL: it may write anything
        return
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", "?") not in IGNORED_TABLES:
        state.session.info[_FLAG] = True


def _after_commit(session: OrmSession) -> None:
    if session.info.pop(_FLAG, False):
        with _lock:
            _generation[0] += 1


def _after_rollback(session: OrmSession) -> None:
    session.info.pop(_FLAG, None)


def install() -> None:
    """Listen to every session's flushes, DML and commits (once per process)."""
    with _lock:
        if _installed[0]:
            return
        _installed[0] = True
    event.listen(OrmSession, "after_flush", _after_flush)
    event.listen(OrmSession, "do_orm_execute", _do_orm_execute)
    event.listen(OrmSession, "after_commit", _after_commit)
    event.listen(OrmSession, "after_rollback", _after_rollback)
