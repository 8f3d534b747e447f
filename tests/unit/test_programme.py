"""Programme rules on plain data: time zones, bounds, capacity and room clashes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from events.conference.programme import KINDS, Booking, check_session, valid_timezone

LONDON = ZoneInfo("Europe/London")
DAY = datetime(2027, 3, 11, tzinfo=LONDON)


def at(hhmm: str, day: datetime = DAY) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return day.replace(hour=hour, minute=minute)


def check(start="10:00", end="11:00", **overrides):
    values = {"starts_at": at(start), "ends_at": at(end), "kind": "keynote", "tz": LONDON,
              "starts_on": date(2027, 3, 11), "ends_on": date(2027, 3, 12), "capacity": None,
              "room_name": "Main Hall", "room_capacity": 300, "bookings": []}
    values.update(overrides)
    return [(p.code, p.field) for p in check_session(**values)]


def test_valid_timezones():
    assert valid_timezone("Europe/London") and valid_timezone("UTC")
    assert not valid_timezone("") and not valid_timezone("GMT") and not valid_timezone("Mars/Base")


def test_a_fitting_session_breaks_nothing():
    assert check() == []


def test_each_rule_has_its_code_and_field():
    assert check(kind="lecture") == [("invalid_kind", "kind")]
    assert check("11:00", "10:00") == [("end_before_start", "ends_at")]
    assert check(capacity=0) == [("invalid_capacity", "capacity")]
    assert check(capacity=301) == [("capacity_above_room", "capacity")]
    late = at("10:00", DAY + timedelta(days=2))
    assert check(starts_at=late, ends_at=late + timedelta(hours=1)) == [
        ("outside_conference_dates", "starts_at")]


def test_dates_are_judged_in_the_conference_zone():
    # 23:30 UTC on the 10th is 23:30 in London in March (GMT): before the conference.
    utc_start = datetime(2027, 3, 10, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert ("outside_conference_dates", "starts_at") in check(
        starts_at=utc_start, ends_at=utc_start + timedelta(hours=1))
    tokyo = ZoneInfo("Asia/Tokyo")
    assert check(tz=tokyo, starts_at=utc_start, ends_at=utc_start + timedelta(hours=1)) == []


def test_a_clash_names_the_earliest_overlapping_booking():
    bookings = [Booking(2, "Panel", at("10:30"), at("11:30")),
                Booking(1, "Welcome", at("09:30"), at("10:15"))]
    problems = check_session(starts_at=at("10:00"), ends_at=at("11:00"), kind="plenary",
                             tz=LONDON, starts_on=date(2027, 3, 11), ends_on=date(2027, 3, 11),
                             capacity=None, room_name="Main Hall", room_capacity=None,
                             bookings=bookings)
    assert [(p.code, p.message) for p in problems] == [
        ("room_clash", "Main Hall is already booked for “Welcome” (09:30–10:15)")]


def test_back_to_back_sessions_do_not_clash():
    assert check(bookings=[Booking(1, "Before", at("09:00"), at("10:00")),
                           Booking(2, "After", at("11:00"), at("12:00"))]) == []


@given(a=st.integers(0, 600), b=st.integers(1, 240), c=st.integers(0, 600), d=st.integers(1, 240),
       kind=st.sampled_from(KINDS))
def test_clash_is_exactly_interval_overlap(a, b, c, d, kind):
    start, other = at("08:00") + timedelta(minutes=a), at("08:00") + timedelta(minutes=c)
    codes = check(starts_at=start, ends_at=start + timedelta(minutes=b), kind=kind,
                  bookings=[Booking(9, "Other", other, other + timedelta(minutes=d))])
    overlap = a < c + d and c < a + b
    assert (("room_clash", "room_id") in codes) == overlap


def test_the_kinds_people_use():
    assert {"workshop", "panel", "networking", "break", "other"} <= set(KINDS)
    for kind in ("workshop", "panel", "networking"):
        assert check(kind=kind) == []
