"""Pure programme rules: time bounds, room clashes and capacity (no Flask, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Session kinds in the order forms offer them; "other" is the default where none is given.
KINDS = ("keynote", "plenary", "panel", "workshop", "carousel", "world_cafe", "networking",
         "break", "other")


@dataclass(frozen=True)
class Booking:
    """Something already in a room (a session, a carousel workshop in one slot), as the clash
    rule sees it."""

    id: int
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Problem:
    """One broken rule: a code, the field it concerns and a sentence for people."""

    code: str
    field: str
    message: str


def valid_timezone(name: str) -> bool:
    """Return whether ``name`` is an IANA time zone this machine knows."""
    if not name or "/" not in name and name != "UTC":
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_session(
    *,
    starts_at: datetime,
    ends_at: datetime,
    kind: str,
    tz: ZoneInfo,
    starts_on: date,
    ends_on: date,
    capacity: int | None,
    room_name: str | None,
    room_capacity: int | None,
    bookings: list[Booking],
) -> list[Problem]:
    """Return every programme rule a proposed session breaks (an empty list when it fits).

    ``bookings`` are the other live bookings of the same room (sessions, workshop runs); a clash
    names the first one.
    """
    problems: list[Problem] = []
    if kind not in KINDS:
        problems.append(Problem("invalid_kind", "kind", f"kind must be one of {', '.join(KINDS)}"))
    if ends_at <= starts_at:
        problems.append(Problem("end_before_start", "ends_at", "the session must end after it starts"))
    first, last = starts_at.astimezone(tz).date(), ends_at.astimezone(tz).date()
    if first < starts_on or last > ends_on:
        problems.append(
            Problem(
                "outside_conference_dates",
                "starts_at",
                f"the session must fall within the conference dates "
                f"({starts_on.isoformat()} to {ends_on.isoformat()})",
            )
        )
    if capacity is not None and capacity < 1:
        problems.append(Problem("invalid_capacity", "capacity", "capacity must be at least 1"))
    if capacity is not None and room_capacity is not None and capacity > room_capacity:
        problems.append(
            Problem(
                "capacity_above_room",
                "capacity",
                f"capacity {capacity} is above {room_name}'s {room_capacity} seats",
            )
        )
    if ends_at > starts_at:
        clash = room_clash(starts_at=starts_at, ends_at=ends_at, tz=tz, room_name=room_name,
                           bookings=bookings)
        if clash is not None:
            problems.append(clash)
    return problems


def room_clash(*, starts_at: datetime, ends_at: datetime, tz: ZoneInfo, room_name: str | None,
               bookings: list[Booking], field: str = "room_id") -> Problem | None:
    """Return the ``room_clash`` problem naming the first booking that overlaps, or None.

    Bookings touch without clashing: one may start the minute another ends.
    """
    for other in sorted(bookings, key=lambda b: (b.starts_at, b.title)):
        if other.starts_at < ends_at and starts_at < other.ends_at:
            a, b = other.starts_at.astimezone(tz), other.ends_at.astimezone(tz)
            return Problem("room_clash", field,
                           f"{room_name} is already booked for “{other.title}” "
                           f"({a:%H:%M}–{b:%H:%M})")
    return None
