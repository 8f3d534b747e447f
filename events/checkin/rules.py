"""The redeem decision: what a scan at the door means, over plain data (no database, no HTTP).

The check-in service gathers the facts (is there such a list, whose badge is it, is it revoked,
is the registration active, is there already an entry on this list) and asks ``decide``; the
adapters turn the outcome into their own words (the JSON API into 201/200/404/409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Outcome = Literal["ok", "already_checked_in", "invalid", "revoked", "canceled",
                  "not_checked_in", "unknown_list"]
ScanType = Literal["entry", "exit"]

#: Every outcome ``decide`` can give, in the order it checks them.
OUTCOMES: tuple[Outcome, ...] = ("unknown_list", "invalid", "revoked", "canceled",
                                 "not_checked_in", "already_checked_in", "ok")


@dataclass(frozen=True)
class Entry:
    """A delegate's earlier entry on the list: when and on which device."""

    at: datetime
    device: str


@dataclass(frozen=True)
class Facts:
    """What the service found out about one scan.

    ``known`` says the badge (or the hand-picked delegate) belongs to this conference;
    ``revoked`` and ``active`` only matter when it does, ``entry`` only when it is active.
    """

    type: ScanType
    list_exists: bool
    known: bool
    revoked: bool = False
    active: bool = True
    entry: Entry | None = None
    scanned_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome of a scan and, for ``ok`` and ``already_checked_in``, when and where.

    For ``ok`` ``at`` is the time to record (the device's time for offline scans, else now);
    for ``already_checked_in`` ``at`` and ``device`` are those of the first entry.
    """

    outcome: Outcome
    type: ScanType
    at: datetime | None = None
    device: str = ""

    @property
    def writes(self) -> bool:
        """Return whether the scan adds a check-in record."""
        return self.outcome == "ok"


def decide(facts: Facts, now: datetime) -> Decision:
    """Decide a scan: unknown list, invalid, revoked, canceled, then entry/exit rules.

    A badge is valid once per list: a second entry is ``already_checked_in`` (with the first
    entry's time and device); an exit needs an entry first (``not_checked_in``).
    """
    if not facts.list_exists:
        return Decision("unknown_list", facts.type)
    if not facts.known:
        return Decision("invalid", facts.type)
    if facts.revoked:
        return Decision("revoked", facts.type)
    if not facts.active:
        return Decision("canceled", facts.type)
    when = facts.scanned_at or now
    if facts.type == "exit":
        if facts.entry is None:
            return Decision("not_checked_in", "exit")
        return Decision("ok", "exit", when)
    if facts.entry is not None:
        return Decision("already_checked_in", "entry", facts.entry.at, facts.entry.device)
    return Decision("ok", "entry", when)
