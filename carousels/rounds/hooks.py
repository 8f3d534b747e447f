"""Providers both round-based formats plug into ``events``: calendar entries, day entries, CSV rows.

Each is the same walk over the published plans of a format's blocks; the format gives only
its own fields of a seat. ``install`` registers a format's providers in the extension points
``events`` owns, in the same order for both formats.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from carousels.rounds import services
from events import hooks
from events.conference.models import Conference, Delegate, Session


def published_blocks(fmt: services.Format, conference: Conference) -> Iterator[tuple[Session, Any]]:
    """Yield (block, published plan) for every block of this format that has published one."""
    for session in services.sessions(fmt, conference):
        plan = services.published_plan(fmt, session)
        if plan is not None:
            yield session, plan


def agenda(fmt: services.Format, delegate: Delegate, category: str,
           fields: Callable[[Session, dict], dict]) -> list:
    """Return the delegate's published seats as calendar entries, one per round.

    ``fields(session, seat)`` gives the entry's ``uid``, ``summary``, ``location`` and
    ``description``; the times, sequence and alarm are the same for every format.
    """
    from events.exchange.calendar import AgendaItem

    return [AgendaItem(start=datetime.fromisoformat(seat["starts_at"]),
                       end=datetime.fromisoformat(seat["ends_at"]),
                       sequence=session.sequence + plan.version, last_modified=plan.published_at,
                       alarm=True, replaces_session_id=session.id, categories=(category,),
                       **fields(session, seat))
            for session, plan, seats in services.published_seats(fmt, delegate)
            for seat in seats]


def entries(fmt: services.Format, delegate: Delegate, kind: str,
            fields: Callable[[Session], Callable[[dict], dict]]) -> list[dict]:
    """Return the delegate's published seats as entries of their day (``AGENDA_ENTRIES``).

    Every entry starts with ``kind``, ``session_id``, ``replaces_session_id``, ``title``,
    ``starts_at``/``ends_at``, ``room``, ``speakers`` and ``status``; ``fields(session)``
    returns the function giving a seat's ``speakers`` and the format's own seat fields.
    """
    out = []
    for session, _plan, seats in services.published_seats(fmt, delegate):
        describe = fields(session)
        for seat in seats:
            extra = describe(seat)
            out.append({
                "kind": kind, "session_id": session.id, "replaces_session_id": session.id,
                "title": session.title, "starts_at": seat["starts_at"],
                "ends_at": seat["ends_at"], "room": seat["room"] or None,
                "speakers": extra.pop("speakers"),
                "status": "cancelled" if session.cancelled else "scheduled", **extra})
    return out


def allocation_rows(fmt: services.Format, conference: Conference,
                    fields: Callable[[dict], dict]) -> Iterator[Any]:
    """Yield one CSV row per delegate per round of every published plan of this format.

    ``fields(seat)`` gives the row's ``round``, ``kind``, ``unit`` and ``role``.
    """
    from events.exchange.allocations import AllocationRow

    for session, plan in published_blocks(fmt, conference):
        details = services.seat_details(fmt, session, plan)
        people = {s.delegate_id: s.delegate for s in plan.seats}
        for delegate_id, seats in details.items():
            d = people[delegate_id]
            for seat in seats:
                yield AllocationRow(
                    block=session.title, location=seat["room"], delegate=d.name, email=d.email,
                    start=datetime.fromisoformat(seat["starts_at"]),
                    end=datetime.fromisoformat(seat["ends_at"]), organisation=d.organisation,
                    **fields(seat))


def publish_demo(fmt: services.Format, session: Session, plan: Callable[[], Any]) -> None:
    """Run ``plan()`` (rankings, the allocation) and publish the newest plan for the demo.

    On any failure the session is rolled back: the demo still works without a plan.
    """
    try:
        plan()
        services.publish_plan(fmt, session)
    except Exception:  # pragma: no cover - the demo still works without a plan
        from events.extensions import db

        db.session.rollback()


def live_blocks(fmt: services.Format, conference: Conference, *, key: str) -> list[dict]:
    """Return each block with its rounds (under ``key``) and published plan, for the Live page."""
    return [{"session": s, key: services.get_rounds(fmt, s),
             "published": services.published_plan(fmt, s)}
            for s in services.sessions(fmt, conference)]


@functools.cache
def round_counter(fmt: services.Format) -> Callable[[Session], int | None]:
    """Return the ``ROUND_COUNTERS`` provider: how many rounds a block of this format has.

    One function per format, so installing twice (one app per test) registers it once.
    """
    def count(session: Session) -> int | None:
        return len(services.get_rounds(fmt, session)) if session.kind == fmt.session_kind \
            else None

    return count


def install(fmt: services.Format, *, agenda: Callable, entries: Callable, rows: Callable,
            demo: Callable, live_panel: str, session_panel: Callable,
            schedule: Callable | None = None) -> None:
    """Register a format's providers with the extension points ``events`` owns."""
    hooks.add(hooks.ROUND_COUNTERS, round_counter(fmt))
    hooks.add(hooks.SESSION_PANELS, session_panel)
    hooks.add(hooks.AGENDA_PROVIDERS, agenda)
    hooks.add(hooks.AGENDA_ENTRIES, entries)
    hooks.add(hooks.ALLOCATION_ROWS, rows)
    if schedule is not None:
        hooks.add(hooks.SCHEDULE_PROVIDERS, schedule)
    hooks.add(hooks.DEMO_HOOKS, demo)
    hooks.add(hooks.LIVE_PANELS, live_panel)
