"""The exchange formats on plain data: frab JSON/XML out, frab and Sessionize in, round trips."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.errors import ConvenorError
from events.exchange.formats import (
    NO_ROOM,
    ScheduleConference,
    ScheduleEvent,
    SchedulePerson,
    ScheduleSession,
    detect_format,
    parse_frab,
    parse_programme,
    parse_sessionize,
    schedule_document,
    schedule_xml,
)

LONDON = ZoneInfo("Europe/London")
BASE = "https://convenor.example"
CONF = ScheduleConference(slug="tlc", name="Trust Leaders", tagline="Together", starts_on=date(2027, 3, 11),
                          ends_on=date(2027, 3, 12), timezone="Europe/London", version=7,
                          rooms=(("Main Hall", 300), ("Studio", 40)))


def at(hhmm: str, day: int = 11) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2027, 3, day, hour, minute, tzinfo=LONDON)


def talk(id: int, start: str, end: str, room: str | None = "Main Hall", **kw) -> ScheduleSession:
    return ScheduleSession(id=id, title=kw.pop("title", f"Talk {id}"), kind=kw.pop("kind", "keynote"),
                           starts_at=at(start), ends_at=at(end), room=room,
                           url=f"{BASE}/c/tlc/sessions/{id}", **kw)


def document(sessions, extra=()):
    return schedule_document(CONF, sessions, list(extra), base_url=BASE,
                             schedule_url=f"{BASE}/c/tlc/schedule.json")


def test_schedule_document_shape():
    doc = document([talk(1, "09:30", "10:15", persons=(SchedulePerson(4, "Ada Lovelace", "Bio"),)),
                    talk(2, "12:30", "13:15", room=None, kind="break", title="Lunch")])
    schedule = doc["schedule"]
    assert doc["$schema"] == "https://c3voc.de/schedule/schema.json"
    assert schedule["version"] == "v7" and schedule["base_url"] == BASE + "/"
    conf = schedule["conference"]
    assert conf["daysCount"] == 2 and conf["time_zone_name"] == "Europe/London"
    assert [r["name"] for r in conf["rooms"]] == ["Main Hall", "Studio", NO_ROOM]
    day1, day2 = conf["days"]
    assert day2["rooms"] == {}
    assert list(day1["rooms"]) == ["Main Hall", NO_ROOM]
    [keynote] = day1["rooms"]["Main Hall"]
    assert keynote["start"] == "09:30" and keynote["duration"] == "00:45"
    assert keynote["date"] == "2027-03-11T09:30:00+00:00"
    assert keynote["persons"][0]["public_name"] == "Ada Lovelace"
    assert keynote["slug"] == "tlc-1-talk-1"


def test_an_extra_event_replaces_its_block():
    block = talk(3, "14:00", "15:00", room=None, kind="carousel", title="Carousel")
    extra = ScheduleEvent(uid="carousel-3-slot-1-workshop-9", start=at("14:00"), end=at("14:30"),
                          title="AI in class (Slot 1)", room="Studio", kind="carousel",
                          persons=("Kim",), replaces_session_id=3)
    rooms = document([block], [extra])["schedule"]["conference"]["days"][0]["rooms"]
    assert list(rooms) == ["Studio"]
    [event] = rooms["Studio"]
    assert event["title"] == "AI in class (Slot 1)" and event["id"] >= 10_000_000
    assert event["persons"] == [{"id": 10_000_001, "name": "Kim", "public_name": "Kim", "answers": []}]


def test_xml_mirrors_the_json():
    doc = document([talk(1, "09:30", "10:15")])
    root = ET.fromstring(schedule_xml(doc))
    assert root.tag == "schedule" and root.findtext("version") == "v7"
    event = root.find("day/room/event")
    assert event is not None and event.findtext("title") == "Talk 1"
    assert event.findtext("duration") == "00:45" and event.findtext("recording/optout") == "true"


def test_frab_round_trip():
    sessions = [talk(1, "09:30", "10:15", persons=(SchedulePerson(4, "Ada Lovelace", "Bio"),)),
                talk(2, "12:30", "13:15", room=None, kind="break", title="Lunch")]
    raw = json.dumps(document(sessions))
    assert detect_format(raw) == "frab"
    draft = parse_programme(raw, LONDON)
    assert draft.ok and draft.errors == []
    got = sorted((s.title, s.kind, s.starts_at, s.ends_at, s.room, s.speakers) for s in draft.sessions)
    assert got == [("Lunch", "break", at("12:30"), at("13:15"), None, []),
                   ("Talk 1", "keynote", at("09:30"), at("10:15"), "Main Hall", ["Ada Lovelace"])]
    assert draft.rooms["Main Hall"] == 300 and draft.speakers["Ada Lovelace"] == {"bio": "Bio"}


def test_frab_reports_bad_events_without_raising():
    raw = json.dumps({"schedule": {"conference": {"days": [{"rooms": {"Hall": [
        {"title": "No time"}, {"date": "2027-03-11T10:00", "duration": "1h", "title": "Bad"},
        {"date": "2027-03-11T10:00", "duration": "00:30"}, "junk"]}}]}}})
    draft = parse_frab(raw, LONDON)
    assert not draft.ok and draft.sessions == []
    assert [e["message"] for e in draft.errors] == [
        "time: is missing", "time: duration '1h' is not like 01:30", "title is missing",
        "is not an object"]


def test_sessionize():
    raw = json.dumps({
        "sessions": [
            {"id": "1", "title": "Opening", "startsAt": "2027-03-11T09:00:00",
             "endsAt": "2027-03-11T09:30:00", "roomId": 5, "speakers": ["s1"],
             "isPlenumSession": True},
            {"id": "2", "title": "Coffee", "startsAt": "2027-03-11T10:00:00",
             "endsAt": "2027-03-11T10:20:00", "roomId": None, "isServiceSession": True},
            {"id": "3", "title": "Later"},
            {"id": "4", "title": "Ghost", "startsAt": "2027-03-11T11:00:00",
             "endsAt": "2027-03-11T11:30:00", "roomId": 99}],
        "rooms": [{"id": 5, "name": "Main Hall"}],
        "speakers": [{"id": "s1", "firstName": "Ada", "lastName": "Lovelace", "tagLine": "Oak"}]})
    assert detect_format(raw) == "sessionize"
    draft = parse_sessionize(raw, LONDON)
    assert [(s.title, s.kind, s.room, s.speakers) for s in draft.sessions] == [
        ("Opening", "keynote", "Main Hall", ["Ada Lovelace"]), ("Coffee", "break", None, [])]
    assert draft.sessions[0].starts_at == at("09:00")
    assert [w["message"] for w in draft.warnings] == ["not scheduled yet; skipped"]
    assert [e["message"] for e in draft.errors] == ["room 99 is not in the rooms list"]
    assert draft.speakers["Ada Lovelace"]["organisation"] == "Oak"


@pytest.mark.parametrize("raw, message", [
    (b"", "the file is empty"),
    (b"\xff\xfe", "the file is not UTF-8 text"),
    (b"{nope", "the file is not valid JSON"),
    (b"[]", "this is neither"),
])
def test_unreadable_files_raise_invalid_file(raw, message):
    with pytest.raises(ConvenorError) as caught:
        parse_programme(raw, LONDON)
    assert caught.value.code == "invalid_file" and caught.value.message.startswith(message)


def test_unknown_format_is_refused():
    with pytest.raises(ConvenorError, match="unknown format"):
        parse_programme(b"{}", LONDON, "csv")


@given(st.lists(st.tuples(st.integers(0, 180), st.integers(5, 120),
                          st.sampled_from(["Main Hall", "Studio", None]),
                          st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF,
                                                         blacklist_categories=("Z", "C")),
                                  min_size=1, max_size=40)),
                min_size=1, max_size=8))
def test_any_programme_survives_export_and_import(specs):
    sessions = []
    for i, (offset, minutes, room, title) in enumerate(specs, 1):
        start = at("08:00") + timedelta(minutes=offset)
        sessions.append(ScheduleSession(id=i, title=title, kind="plenary", starts_at=start,
                                        ends_at=start + timedelta(minutes=minutes), room=room,
                                        url=f"{BASE}/s/{i}"))
    draft = parse_frab(json.dumps(document(sessions)), LONDON)
    assert draft.errors == []
    assert sorted((s.title.strip(), s.starts_at, s.ends_at, s.room or "") for s in draft.sessions) == \
        sorted((s.title.strip(), s.starts_at, s.ends_at, s.room or "") for s in sessions)


def test_new_kinds_get_their_own_track_and_survive_a_round_trip():
    sessions = [talk(1, "09:30", "10:15", kind="workshop", title="Hands on"),
                talk(2, "10:30", "11:15", kind="panel", title="Trust leaders"),
                talk(3, "17:00", "18:00", kind="networking", title="Drinks"),
                talk(4, "12:30", "13:15", room=None, kind="break", title="Lunch")]
    events = [e for room in document(sessions)["schedule"]["conference"]["days"][0]["rooms"].values()
              for e in room]
    assert {e["type"]: e["track"] for e in events} == {
        "workshop": "Workshop", "panel": "Panel", "networking": "Networking", "break": "Break"}
    draft = parse_frab(json.dumps(document(sessions)), LONDON)
    assert {s.title: s.kind for s in draft.sessions} == {
        "Hands on": "workshop", "Trust leaders": "panel", "Drinks": "networking", "Lunch": "break"}
