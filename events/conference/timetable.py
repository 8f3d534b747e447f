"""Lay sessions out as a rooms × time grid (pure presentation logic, no Flask)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=5)


class GridRoom(Protocol):
    """A room as the grid sees it (a ``Room`` row, or any object with these attributes)."""

    @property
    def name(self) -> str: ...

    @property
    def capacity(self) -> int: ...


class GridSession(Protocol):
    """A session as the grid sees it (a ``Session`` row, or any object with these attributes)."""

    @property
    def id(self) -> int | None: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...

    @property
    def room(self) -> GridRoom | None: ...


@dataclass
class Cell:
    """One session placed on the grid (CSS grid lines, 1-based)."""

    session: GridSession
    row_start: int
    row_end: int
    col_start: int
    col_end: int


@dataclass
class Day:
    """One day of the programme: its rooms (columns), time labels and placed sessions."""

    day: date
    rooms: list[GridRoom] = field(default_factory=list)
    times: list[tuple[int, str]] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    rows: int = 0
    sessions: list[GridSession] = field(default_factory=list)


def _floor(moment: datetime, minutes: int) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)


def build(sessions: Sequence[GridSession], tz: ZoneInfo,
          all_rooms: Sequence[GridRoom] | None = None) -> list[Day]:
    """Group sessions by local day and place them in room columns and 5-minute rows.

    Sessions without a room span every column (breaks, carousels spread over many rooms).
    ``all_rooms`` adds columns for rooms with nothing booked yet (the organiser's planning view).
    """
    by_day: dict[date, list[GridSession]] = {}
    for s in sorted(sessions, key=lambda s: (s.starts_at, s.id or 0)):
        by_day.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
    days = []
    for day, items in sorted(by_day.items()):
        rooms = list(all_rooms or [])
        for s in items:
            if s.room is not None and s.room not in rooms:
                rooms.append(s.room)
        rooms.sort(key=lambda r: (-r.capacity, r.name))
        first = _floor(min(s.starts_at for s in items).astimezone(tz), 30)
        last = max(s.ends_at for s in items).astimezone(tz)
        rows = max(1, int((last - first) / STEP) + 1)
        grid = Day(day=day, rooms=rooms, rows=rows, sessions=items)
        moment = first
        while moment <= last:
            row = int((moment - first) / STEP) + 2  # row 1 holds the room headings
            grid.times.append((row, moment.strftime("%H:%M")))
            moment += timedelta(minutes=30)
        for s in items:
            start = int((s.starts_at.astimezone(tz) - first) / STEP) + 2
            end = max(start + 1, int((s.ends_at.astimezone(tz) - first) / STEP) + 2)
            if s.room is None:
                col_start, col_end = 2, len(rooms) + 2
            else:
                col_start = rooms.index(s.room) + 2
                col_end = col_start + 1
            grid.cells.append(Cell(s, start, end, col_start, max(col_end, col_start + 1)))
        days.append(grid)
    return days
