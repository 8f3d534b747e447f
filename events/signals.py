"""Domain signals sent by services after a successful commit (and ``record``ed just before it).

Receivers (live updates, the Slack notifier, calendars) subscribe at module level; every
adapter's change therefore reaches every screen. Each signal's sender is the Conference.
"""

from collections.abc import Callable
from typing import Any

from blinker import Namespace, Signal

_signals = Namespace()

#: In-transaction receivers by signal name (see ``record``).
_recorders: dict[str, list[Callable[..., None]]] = {}


def recorder(signal: Signal) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register an in-transaction receiver of ``signal``: it writes rows (the live change log)
    that must commit with the change itself, never after it."""
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        listeners = _recorders.setdefault(str(signal.name), [])
        if fn not in listeners:
            listeners.append(fn)
        return fn

    return register


def record(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Run ``signal``'s in-transaction receivers. Services call this just before they commit
    (with the arguments they will send the signal with after the commit), so what the receivers
    write commits or rolls back with the change: a crash between the commit and the signal can
    no longer lose it."""
    for fn in list(_recorders.get(str(signal.name), ())):
        fn(sender, **kwargs)

#: A session's time, room, status or text changed. kwargs: ``session``, ``changes`` (field names).
session_changed = _signals.signal("session-changed")

#: Sessions were added or removed, or the conference itself changed. kwargs: ``reason``;
#: ``session`` (the Session, or for "session_deleted" a snapshot dict taken before the delete).
programme_changed = _signals.signal("programme-changed")

#: A waitlisted delegate got a place (someone cancelled). kwargs: ``delegate``.
delegate_promoted = _signals.signal("delegate-promoted")

#: Delegates were added by hand or by import. kwargs: ``count``.
delegates_changed = _signals.signal("delegates-changed")

#: A delegate's private link stopped opening their live channel: the link was replaced, or the
#: delegate is no longer active (cancelled, moved to the waitlist). kwargs: ``delegate``,
#: ``reason`` ("rotated", "cancelled", "waitlisted"). Live connections opened with it close.
delegate_link_revoked = _signals.signal("delegate-link-revoked")

#: A delegate was checked in (or out). kwargs: ``delegate``, ``checkin`` (the record), ``list_name``.
delegate_checked_in = _signals.signal("delegate-checked-in")

#: A cafe table plan or carousel assignment was published. kwargs: ``kind`` ("cafe" or
#: "carousel"), ``session`` (the programme Session), ``version`` (the plan's version number),
#: ``per_delegate`` (dict delegate_id -> list of plain dicts describing their seats),
#: ``previous_version`` (the version it superseded, or None for a first publish).
allocation_published = _signals.signal("allocation-published")

#: A published block's setup changed (a table's host or question, a workshop's room, a slot's
#: time, a table or workshop removed). kwargs: ``kind``, ``session``, ``what`` (a short phrase).
block_changed = _signals.signal("block-changed")

#: A cafe or carousel round/slot is starting. kwargs: ``kind``, ``session``, ``number`` (1-based),
#: ``per_delegate`` (dict delegate_id -> plain dict with where they go: table/workshop, room,
#: host or leader, question/title).
round_starting = _signals.signal("round-starting")

#: An organiser made an announcement. kwargs: ``announcement`` (plain dict with id, text,
#: created_at ISO).
announcement_made = _signals.signal("announcement-made")
