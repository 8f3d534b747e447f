"""Domain signals sent by services after a successful commit.

Receivers (live updates, the Slack notifier, calendars) subscribe at module level; every
adapter's change therefore reaches every screen. Each signal's sender is the Conference.
"""

from blinker import Namespace

_signals = Namespace()

#: A session's time, room, status or text changed. kwargs: ``session``, ``changes`` (field names).
session_changed = _signals.signal("session-changed")

#: Sessions were added or removed, or the conference itself changed. kwargs: ``reason``.
programme_changed = _signals.signal("programme-changed")

#: Delegates were added by hand or by import. kwargs: ``count``.
delegates_changed = _signals.signal("delegates-changed")
