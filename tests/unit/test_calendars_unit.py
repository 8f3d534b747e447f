"""The iCalendar writer on plain data: any instant survives two independent parsers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import vobject
from hypothesis import example, given, settings
from hypothesis import strategies as st

from events.exchange.calendar import AgendaItem, render

STAMP = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)


def item(start: datetime, minutes: int = 30, **overrides) -> AgendaItem:
    values = {"uid": "u-1@convenor", "start": start, "end": start + timedelta(minutes=minutes),
              "summary": "Round 1", "location": "Atrium — Table 7 (host: Jane Doe)",
              "last_modified": STAMP}
    values.update(overrides)
    return AgendaItem(**values)


def read_back(body: bytes) -> tuple[datetime, datetime, datetime, datetime]:
    ev = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    vev = vobject.readOne(body.decode()).vevent
    return (ev["DTSTART"].dt.astimezone(UTC), ev["DTEND"].dt.astimezone(UTC),
            vev.dtstart.value.astimezone(UTC), vev.dtend.value.astimezone(UTC))


@settings(max_examples=40, deadline=None)
@given(st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2027, 12, 30),
                    timezones=st.just(UTC)).map(lambda d: d.replace(second=0, microsecond=0)),
       st.integers(min_value=5, max_value=180))
@example(datetime(2027, 10, 31, 0, 30, tzinfo=UTC), 30)   # 01:30 BST, the first 01:30
@example(datetime(2027, 10, 31, 1, 30, tzinfo=UTC), 30)   # 01:30 GMT, the second 01:30
@example(datetime(2027, 10, 30, 23, 30, tzinfo=UTC), 90)  # spans the change
@example(datetime(2027, 3, 28, 0, 30, tzinfo=UTC), 60)    # spring forward
def test_any_instant_reads_back_the_same_in_both_parsers(start, minutes):
    body = render([item(start, minutes)], name="My day", tz_name="Europe/London")
    end = start + timedelta(minutes=minutes)
    assert read_back(body) == (start, end, start, end)


def test_the_same_items_give_the_same_bytes_and_a_move_changes_them():
    start = datetime(2027, 3, 11, 14, 0, tzinfo=UTC)
    one = render([item(start)], name="My day", tz_name="Europe/London")
    assert one == render([item(start)], name="My day", tz_name="Europe/London")
    moved = render([item(start + timedelta(minutes=15), sequence=1)], name="My day",
                   tz_name="Europe/London")
    assert moved != one and b"SEQUENCE:1" in moved


def test_alarms_are_optional_and_never_on_cancelled_items():
    start = datetime(2027, 3, 11, 14, 0, tzinfo=UTC)
    with_alarm = render([item(start, alarm=True)], name="d", tz_name="Europe/London")
    alarm = icalendar.Calendar.from_ical(with_alarm).walk("VALARM")[0]
    assert alarm["ACTION"] == "DISPLAY" and alarm["TRIGGER"].dt == -timedelta(minutes=5)
    assert b"VALARM" not in render([item(start, alarm=True)], name="d",
                                   tz_name="Europe/London", alarms=False)
    assert b"VALARM" not in render([item(start, alarm=True, status="CANCELLED")], name="d",
                                   tz_name="Europe/London")


def test_an_empty_feed_still_names_its_zone():
    cal = icalendar.Calendar.from_ical(render([], name="Nothing yet", tz_name="Europe/London"))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    assert str(cal["X-WR-CALNAME"]) == "Nothing yet"
    vobject.readOne(render([], name="Nothing yet", tz_name="Europe/London").decode())
