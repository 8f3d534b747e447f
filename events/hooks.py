"""Extension points that features fill in their ``install(app)``; importing a module fills nothing.

``events`` owns every list here and never imports ``carousels`` or ``bot``: a feature adds what it
contributes (a delegate-page panel, calendar entries, CSV rows, demo data) when ``create_app``
calls its ``install``. ``add`` is idempotent, so building a second app in one process (the tests
do) does not register anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Templates added to the delegate's private page, rendered in order with ``delegate``,
#: ``conference`` and whatever the ``DELEGATE_CONTEXT`` callables return.
DELEGATE_PANELS: list[str] = []
#: Those of DELEGATE_PANELS that show the delegate's door badge (a section ``id="my-badge"``):
#: the page's *Show my badge* link at the top jumps to it, and on the conference day (in the
#: conference's time zone) it comes first, so the QR code is one tap away at the door.
DELEGATE_BADGE_PANELS: list[str] = []
#: Callables ``(session) -> (template, variables) | None``: what a feature adds to the public page
#: of one of its sessions (a carousel's workshops, a World Cafe's questions and hosts); None for
#: a session that is not theirs. The template gets the variables as ``panel``.
SESSION_PANELS: list[Callable[..., tuple[str, dict] | None]] = []
#: Callables ``(delegate) -> dict`` adding template variables to the delegate page.
DELEGATE_CONTEXT: list[Callable[..., dict]] = []
#: ``(endpoint, label)`` pairs in the organiser's sub-navigation; each endpoint takes ``slug``.
ORGANISER_NAV: list[tuple[str, str]] = []
#: Templates added to the organiser's conference overview (each gets ``conference``).
DASHBOARD_PANELS: list[str] = []
#: Templates that round-based features add to the organisers' Live page (each gets ``conference``).
LIVE_PANELS: list[str] = []
#: Callables ``(delegate) -> list[AgendaItem]``: a feature's entries in a delegate's calendar.
AGENDA_PROVIDERS: list[Callable[..., list]] = []
#: Callables ``(delegate) -> list[dict]``: a feature's seats in a delegate's day (``delegate_agenda``).
AGENDA_ENTRIES: list[Callable[..., list[dict]]] = []
#: Callables ``(conference) -> Iterable[AllocationRow]``: rows of the allocations CSV export.
ALLOCATION_ROWS: list[Callable[..., Any]] = []
#: Callables ``(conference) -> Iterable[ScheduleEvent]``: extra events in the frab schedule.
SCHEDULE_PROVIDERS: list[Callable[..., Any]] = []
#: Callables ``(conference) -> None`` run by ``flask demo`` after the programme is seeded.
DEMO_HOOKS: list[Callable[..., None]] = []
#: Callables ``(conference, list_name) -> int`` counting arrivals exactly for live figures.
CHECKIN_COUNTERS: list[Callable[..., int]] = []
#: Callables ``(session) -> int``: how many rounds a round-based block has (check-in lists).
ROUND_COUNTERS: list[Callable[..., int | None]] = []
#: Callables ``(session) -> set[int]``: the delegates seated in a round-based block (the ones a
#: change to it concerns); ``None`` when the block is not theirs.
SEATED_DELEGATES: list[Callable[..., set[int] | None]] = []
#: Callables ``(room_id, starts_at, ends_at, *, session_id) -> list[programme.Booking]``: what a
#: feature holds in a room over that time (a carousel workshop in its slots), for the clash rule.
#: ``session_id`` is the session being placed: what belongs to it never clashes with it.
ROOM_BOOKINGS: list[Callable[..., list]] = []
#: Callables ``(session) -> list[(room_id, programme.Booking)]``: what a session holds besides
#: its own room (a carousel block: its workshops in their slots), checked when it is restored
#: from cancelled.
ROOM_HOLDINGS: list[Callable[..., list]] = []
#: Senders by outbox channel ("slack", "email"): ``(notices, *, now, recovering) -> Outcome``.
NOTICE_SENDERS: dict[str, Callable[..., Any]] = {}
#: Callables ``(now) -> int`` run by the notification worker's reconcile pass: each rebuilds the
#: notices its feature's committed state calls for and returns how many were missing.
NOTICE_RECONCILERS: list[Callable[..., int]] = []


def add(registry: list, entry: Any) -> None:
    """Append ``entry`` to an extension point unless it is already there."""
    if entry not in registry:
        registry.append(entry)
