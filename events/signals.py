"""Domain signals sent by services after a successful commit.

Receivers (live updates, the Slack notifier, calendars) subscribe at module level; every
adapter's change therefore reaches every screen. Each signal's sender is the Conference.
"""

from blinker import Namespace

_signals = Namespace()

#: A session's time, room, status or text changed. kwargs: ``session``, ``changes`` (field names).
session_changed = _signals.signal("session-changed")

#: Sessions were added or removed, or the conference itself changed. kwargs: ``reason``;
#: ``session`` (the Session, or for "session_deleted" a snapshot dict taken before the delete).
programme_changed = _signals.signal("programme-changed")

#: A waitlisted delegate got a place (someone cancelled). kwargs: ``delegate``.
delegate_promoted = _signals.signal("delegate-promoted")

#: Delegates were added by hand or by import. kwargs: ``count``.
delegates_changed = _signals.signal("delegates-changed")

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
