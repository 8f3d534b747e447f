"""The rooms × time grid on plain objects: days, columns, rows and spanning sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from events.conference.timetable import STEP, build

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Room:
    name: str
    capacity: int


@dataclass(frozen=True)
class Talk:
    id: int
    starts_at: datetime
    ends_at: datetime
    room: Room | None


HALL, STUDIO, ANNEX = Room("Hall", 300), Room("Studio", 40), Room("Annex", 40)


def at(day: int, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2027, 3, day, hour, minute, tzinfo=LONDON)


def test_days_columns_rows_and_labels():
    talks = [Talk(1, at(11, "09:40"), at(11, "10:30"), STUDIO),
             Talk(2, at(11, "09:40"), at(11, "10:00"), HALL),
             Talk(3, at(11, "10:30"), at(11, "11:00"), None),
             Talk(4, at(12, "14:00"), at(12, "15:00"), HALL)]
    first, second = build(talks, LONDON, [ANNEX])
    assert (first.day, second.day) == (date(2027, 3, 11), date(2027, 3, 12))
    # Biggest room first, then by name; an empty room still gets a column.
    assert first.rooms == [HALL, ANNEX, STUDIO]
    assert second.rooms == [HALL, ANNEX]
    # The grid starts at the half hour before the first session: 09:30.
    assert first.times == [(2, "09:30"), (8, "10:00"), (14, "10:30"), (20, "11:00")]
    cells = {c.session.id: (c.row_start, c.row_end, c.col_start, c.col_end) for c in first.cells}
    assert cells[1] == (4, 14, 4, 5)
    assert cells[2] == (4, 8, 2, 3)
    assert cells[3] == (14, 20, 2, 5)  # no room: spans every column
    assert first.rows == 19


def test_sessions_are_grouped_by_local_day():
    utc = ZoneInfo("UTC")
    late = Talk(1, datetime(2027, 3, 11, 23, 30, tzinfo=utc),
                datetime(2027, 3, 12, 0, 30, tzinfo=utc), HALL)
    assert [d.day for d in build([late], ZoneInfo("Asia/Tokyo"))] == [date(2027, 3, 12)]


def test_nothing_to_lay_out():
    assert build([], LONDON) == []


@given(st.lists(st.tuples(st.integers(0, 143), st.integers(1, 48),
                          st.sampled_from([HALL, STUDIO, None])), min_size=1, max_size=12))
def test_every_session_gets_one_cell_inside_the_grid(specs):
    start = at(11, "08:00")
    talks = [Talk(i, start + STEP * a, start + STEP * (a + b), room)
             for i, (a, b, room) in enumerate(specs)]
    [day] = build(talks, LONDON)
    assert sorted(c.session.id for c in day.cells) == list(range(len(talks)))
    for cell in day.cells:
        assert 2 <= cell.row_start < cell.row_end <= day.rows + 2
        # A roomless session still takes one column when no room has a column.
        assert 2 <= cell.col_start < cell.col_end <= max(len(day.rooms), 1) + 2
        duration = cell.session.ends_at - cell.session.starts_at
        assert cell.row_end - cell.row_start == duration // STEP
