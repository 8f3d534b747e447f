"""Schedule exports (frab JSON/XML), imports (pretalx/frab, Sessionize, Indico), allocation CSV."""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from events import hooks
from events.conference import services
from events.exchange import allocations as allocation_export
from events.exchange.allocations import AllocationRow

SCHEMAS = Path(__file__).resolve().parent.parent / "schedule_schema"


class ScheduleValidator:
    """The vendored c3voc schema, applied to the document and to every event.

    The schema declares Day.rooms as an object with ``items``, which JSON Schema ignores for
    objects, so events are also checked one by one against its ``Event`` definition.
    """

    def __init__(self):
        schema = json.loads((SCHEMAS / "schema.json").read_text())
        checker = jsonschema.Draft6Validator.FORMAT_CHECKER
        jsonschema.Draft6Validator.check_schema(schema)
        self.document = jsonschema.Draft6Validator(schema, format_checker=checker)
        self.event = jsonschema.Draft6Validator(
            {"$ref": "#/definitions/Event", "definitions": schema["definitions"]},
            format_checker=checker)

    def iter_errors(self, data):
        yield from self.document.iter_errors(data)
        for day in data["schedule"]["conference"]["days"]:
            for events in day["rooms"].values():
                for event in events:
                    yield from self.event.iter_errors(event)


@pytest.fixture(scope="module")
def json_validator():
    return ScheduleValidator()


@pytest.fixture(scope="module")
def xsd():
    return xmlschema.XMLSchema(str(SCHEMAS / "schedule.xml.xsd"))


@pytest.fixture
def programme(conference, make_room, make_session):
    hall = make_room(conference, "Main Hall", 300)
    room_b = make_room(conference, "Room B", 30, step_free=True)
    leora = services.create_speaker(conference, {"name": "Leora Cruddas", "honours": "CBE",
                                                 "bio": "Chief executive of CST."})
    ade = services.create_speaker(conference, {"name": "Ade Adepitan", "honours": "MBE"})
    make_session(conference, "Inclusive excellence in trusts", "09:30", "10:15",
                 room_id=hall.id, speaker_ids=[leora.id], description="Why belonging matters.")
    make_session(conference, "Coffee", "10:15", "10:45", kind="break")
    make_session(conference, "Carousel: AI and technology", "10:45", "12:15", kind="carousel")
    make_session(conference, "Peer workshop", "13:00", "14:00", kind="other", room_id=room_b.id)
    make_session(conference, "Overcoming obstacles", "16:00", "16:45", room_id=hall.id,
                 speaker_ids=[ade.id])
    dropped = make_session(conference, "Dropped talk", "14:00", "15:00", kind="other",
                           room_id=room_b.id)
    services.cancel_session(dropped)
    return conference


def shape(conference) -> list[tuple]:
    """Return the programme as a user sees it (live sessions only)."""
    return sorted(
        (s.title, s.kind, s.starts_at, s.ends_at, s.room.name if s.room else None,
         s.room.capacity if s.room else None, tuple(sp.display_name for sp in s.speakers),
         s.description)
        for s in services.programme_sessions(conference) if not s.cancelled
    )


# --------------------------------------------------------------------------- exports


def test_schedule_json_validates_against_the_c3voc_schema(client, programme, json_validator):
    response = client.get("/c/tlc/schedule.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.json
    errors = sorted(json_validator.iter_errors(data), key=str)
    assert errors == [], errors[0].message if errors else ""
    conf = data["schedule"]["conference"]
    assert conf["acronym"] == "tlc" and conf["time_zone_name"] == "Europe/London"
    events = [e for day in conf["days"] for evs in day["rooms"].values() for e in evs]
    titles = {e["title"] for e in events}
    assert "Dropped talk" not in titles and "Coffee" in titles
    for event in events:
        uuid.UUID(event["guid"])
        assert datetime.fromisoformat(event["date"]).utcoffset() is not None
    keynote = next(e for e in events if e["title"] == "Inclusive excellence in trusts")
    assert keynote["start"] == "09:30" and keynote["duration"] == "00:45"
    assert keynote["persons"][0]["public_name"] == "Leora Cruddas CBE"
    assert keynote["room"] == "Main Hall" and keynote["type"] == "keynote"


def test_the_schema_check_catches_a_broken_document(client, programme, json_validator):
    data = client.get("/c/tlc/schedule.json").json
    broken = copy.deepcopy(data)
    event = next(iter(broken["schedule"]["conference"]["days"][0]["rooms"].values()))[0]
    del event["guid"]
    event["duration"] = "45 minutes"
    assert len(list(json_validator.iter_errors(broken))) >= 2


def test_schedule_xml_follows_the_frab_structure(client, programme, xsd):
    response = client.get("/c/tlc/schedule.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    xsd.validate(response.data)
    root = ET.fromstring(response.data)
    assert root.tag == "schedule"
    assert root.findtext("conference/acronym") == "tlc"
    day = root.find("day")
    assert day.get("date") == "2027-03-11" and day.get("index") == "1"
    rooms = [r.get("name") for r in day.findall("room")]
    assert rooms[:2] == ["Main Hall", "Room B"]
    event = day.find("room[@name='Main Hall']/event")
    assert event.findtext("title") == "Inclusive excellence in trusts"
    assert event.findtext("start") == "09:30" and event.findtext("duration") == "00:45"
    assert event.find("persons/person").text == "Leora Cruddas CBE"
    json_guids = {e["guid"] for d in client.get("/c/tlc/schedule.json").json["schedule"][
        "conference"]["days"] for evs in d["rooms"].values() for e in evs}
    assert {e.get("guid") for e in root.iter("event")} == json_guids


def test_exports_answer_304_when_unchanged(client, programme):
    first = client.get("/c/tlc/schedule.json")
    assert client.get("/c/tlc/schedule.json",
                      headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_round_trip_export_then_import_reproduces_the_programme(client, programme,
                                                                make_conference):
    exported = client.get("/c/tlc/schedule.json").data
    copy_conf = make_conference(slug="tlc-copy")
    from events.exchange import services as exchange

    draft = exchange.import_programme(copy_conf, exported)
    assert draft.errors == []
    assert shape(copy_conf) == shape(programme)
    # And exporting the copy gives the same events (apart from ids, urls and guids).
    again = client.get("/c/tlc-copy/schedule.json").json

    def strip(doc):
        return sorted((e["title"], e["date"], e["duration"], e["room"], e["type"],
                       tuple(p["public_name"] for p in e["persons"]))
                      for d in doc["schedule"]["conference"]["days"]
                      for evs in d["rooms"].values() for e in evs)

    assert strip(again) == strip(json.loads(exported))


# --------------------------------------------------------------------------- frab / pretalx import

PRETALX = {
    "$schema": "https://c3voc.de/schedule/schema.json",
    "generator": {"name": "pretalx", "version": "2024.3.1"},
    "schedule": {
        "url": "https://pretalx.example.org/tlc27/schedule/",
        "version": "0.7",
        "base_url": "https://pretalx.example.org",
        "conference": {
            "acronym": "tlc27", "title": "Trust Leaders 2027", "start": "2027-03-11",
            "end": "2027-03-11", "daysCount": 1, "timeslot_duration": "00:05",
            "time_zone_name": "Europe/London", "colors": {"primary": "#3aa57c"},
            "rooms": [
                {"name": "Auditorium", "guid": "0fd6b5c0-0f1e-5b8c-9a1d-3a9e7b1c2d01",
                 "description": "Ground floor", "capacity": 400},
                {"name": "Seminar 2", "guid": "0fd6b5c0-0f1e-5b8c-9a1d-3a9e7b1c2d02",
                 "description": None, "capacity": None},
            ],
            "tracks": [{"name": "Leadership", "color": "#000000"}],
            "days": [{
                "index": 1, "date": "2027-03-11",
                "day_start": "2027-03-11T04:00:00+00:00", "day_end": "2027-03-12T03:59:00+00:00",
                "rooms": {
                    "Auditorium": [{
                        "guid": "c5a3b2e1-7d44-5d0e-8f0a-1b2c3d4e5f60", "code": "ABCDEF",
                        "id": 101, "logo": None, "date": "2027-03-11T09:00:00+00:00",
                        "start": "09:00", "duration": "00:45", "room": "Auditorium",
                        "slug": "tlc27-101-opening-keynote",
                        "url": "https://pretalx.example.org/tlc27/talk/ABCDEF/",
                        "recording_license": "", "do_not_record": False,
                        "title": "Opening keynote", "subtitle": "", "track": "Leadership",
                        "type": "Keynote", "language": "en",
                        "abstract": "Belonging for every child.", "description": "",
                        "feedback_url": "https://pretalx.example.org/tlc27/talk/ABCDEF/feedback/",
                        "origin_url": "https://pretalx.example.org/tlc27/talk/ABCDEF/",
                        "persons": [{"code": "QWERTY", "name": "Jon Yates",
                                     "avatar": None, "biography": "Runs YEF.",
                                     "public_name": "Jon Yates",
                                     "guid": "9f1c2d3e-4b5a-5c6d-8e7f-0a1b2c3d4e5f",
                                     "url": "https://pretalx.example.org/tlc27/speaker/QWERTY/"}],
                        "links": [], "attachments": [], "answers": []}],
                    "Seminar 2": [{
                        "guid": "c5a3b2e1-7d44-5d0e-8f0a-1b2c3d4e5f61", "code": "GHIJKL",
                        "id": 102, "logo": None, "date": "2027-03-11T10:00:00+00:00",
                        "start": "10:00", "duration": "01:00", "room": "Seminar 2",
                        "slug": "tlc27-102-sen-workshop", "url": "https://x.example/t/GHIJKL/",
                        "recording_license": "", "do_not_record": True,
                        "title": "SEND workshop", "subtitle": "", "track": None,
                        "type": "Workshop", "language": "en", "abstract": "Hands on.",
                        "description": "Bring a case study.", "persons": [],
                        "links": [], "attachments": [], "answers": []}],
                },
            }],
        },
    },
}


def test_import_pretalx_schedule(programme, make_conference):
    from events.exchange import services as exchange

    target = make_conference(slug="from-pretalx")
    draft = exchange.import_programme(target, json.dumps(PRETALX).encode())
    assert draft.new_rooms == ["Auditorium", "Seminar 2"]
    assert any("Seminar 2" in w["item"] for w in draft.warnings)
    rooms = {r.name: r.capacity for r in target.rooms}
    assert rooms == {"Auditorium": 400, "Seminar 2": exchange.DEFAULT_ROOM_CAPACITY}
    sessions = services.programme_sessions(target)
    keynote, workshop = sessions
    assert (keynote.title, keynote.kind, keynote.room.name) == ("Opening keynote", "keynote",
                                                                "Auditorium")
    assert [sp.name for sp in keynote.speakers] == ["Jon Yates"]
    assert keynote.speakers[0].bio == "Runs YEF."
    # pretalx's "Workshop" type is now a kind of its own (it was "other").
    assert workshop.kind == "workshop" and workshop.description == "Hands on.\n\nBring a case study."
    assert workshop.ends_at - workshop.starts_at == workshop.ends_at - workshop.starts_at
    assert keynote.starts_at.isoformat() == "2027-03-11T09:00:00+00:00"


def _broken_pretalx(**changes):
    data = copy.deepcopy(PRETALX)
    day = data["schedule"]["conference"]["days"][0]
    for path, value in changes.items():
        room, index, key = path.split(".")
        day["rooms"][room][int(index)][key] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"Auditorium.0.duration": "forty-five"}, "duration"),
    ({"Auditorium.0.date": "2027-03-12T09:00:00+00:00"}, "conference dates"),
    ({"Seminar 2.0.room": "Auditorium", "Seminar 2.0.date": "2027-03-11T09:15:00+00:00"},
     "already booked"),
    ({"Auditorium.0.title": ""}, "title is missing"),
])
def test_malformed_frab_imports_nothing_and_names_the_event(conference, changes, expected):
    from events.errors import ConvenorError
    from events.exchange import services as exchange

    with pytest.raises(ConvenorError) as caught:
        exchange.import_programme(conference, _broken_pretalx(**changes))
    assert caught.value.code == "invalid_file"
    assert any(expected in d["message"] for d in caught.value.details), caught.value.details
    assert all("event" in d["item"] for d in caught.value.details)
    assert services.programme_sessions(conference) == [] and conference.rooms == []


@pytest.mark.parametrize("raw", [b"", b"{not json", b"\xff\xfe garbage", b'{"hello": 1}',
                                 b'{"schedule": {"conference": {}}}'])
def test_unreadable_programme_files_give_one_clear_error(conference, raw):
    from events.errors import ConvenorError
    from events.exchange import services as exchange

    with pytest.raises(ConvenorError) as caught:
        exchange.import_programme(conference, raw)
    assert caught.value.code == "invalid_file" and caught.value.message


# --------------------------------------------------------------------------- Sessionize

SESSIONIZE = {
    "sessions": [
        {"id": "512001", "title": "Inclusive excellence", "description": "Keynote address.",
         "startsAt": "2027-03-11T09:30:00", "endsAt": "2027-03-11T10:15:00",
         "isServiceSession": False, "isPlenumSession": True,
         "speakers": ["a1b2c3d4-0000-4000-8000-000000000001"], "categoryItems": [],
         "questionAnswers": [], "roomId": 70001, "liveUrl": None, "recordingUrl": None,
         "status": "Accepted", "isInformed": True, "isConfirmed": True},
        {"id": "SZ-SERVICE-1", "title": "Lunch", "description": None,
         "startsAt": "2027-03-11T12:30:00", "endsAt": "2027-03-11T13:15:00",
         "isServiceSession": True, "isPlenumSession": False, "speakers": [],
         "categoryItems": [], "questionAnswers": [], "roomId": 70002, "liveUrl": None,
         "recordingUrl": None, "status": None, "isInformed": False, "isConfirmed": False},
        {"id": "512002", "title": "AI in the classroom", "description": "Practical session.",
         "startsAt": "2027-03-11T13:30:00", "endsAt": "2027-03-11T14:15:00",
         "isServiceSession": False, "isPlenumSession": False,
         "speakers": ["a1b2c3d4-0000-4000-8000-000000000002"], "categoryItems": [1001],
         "questionAnswers": [], "roomId": 70002, "liveUrl": None, "recordingUrl": None,
         "status": "Accepted", "isInformed": True, "isConfirmed": True},
        {"id": "512003", "title": "Not yet scheduled", "description": "",
         "startsAt": None, "endsAt": None, "isServiceSession": False,
         "isPlenumSession": False, "speakers": [], "categoryItems": [],
         "questionAnswers": [], "roomId": None, "status": "Accepted"},
    ],
    "speakers": [
        {"id": "a1b2c3d4-0000-4000-8000-000000000001", "firstName": "Leora",
         "lastName": "Cruddas", "bio": "CEO of CST.", "tagLine": "Confederation of School Trusts",
         "profilePicture": "https://sessionize.com/image/x.jpg", "isTopSpeaker": True,
         "links": [], "sessions": [512001], "fullName": "Leora Cruddas", "categoryItems": [],
         "questionAnswers": []},
        {"id": "a1b2c3d4-0000-4000-8000-000000000002", "firstName": "Pete",
         "lastName": "Atherton", "bio": "", "tagLine": "Researcher", "profilePicture": None,
         "isTopSpeaker": False, "links": [], "sessions": [512002],
         "fullName": "Pete F. Atherton PhD", "categoryItems": [], "questionAnswers": []},
    ],
    "questions": [],
    "categories": [{"id": 1, "title": "Track", "items": [{"id": 1001, "name": "AI", "sort": 1}],
                    "sort": 1, "type": "session"}],
    "rooms": [{"id": 70001, "name": "Main Hall", "sort": 1},
              {"id": 70002, "name": "Atrium", "sort": 2}],
}


def test_import_sessionize_all_data(conference):
    from events.exchange import services as exchange

    draft = exchange.import_programme(conference, json.dumps(SESSIONIZE), "sessionize")
    assert [w["message"] for w in draft.warnings if "512003" in w["item"]] == [
        "not scheduled yet; skipped"]
    sessions = {s.title: s for s in services.programme_sessions(conference)}
    assert set(sessions) == {"Inclusive excellence", "Lunch", "AI in the classroom"}
    assert sessions["Inclusive excellence"].kind == "keynote"
    assert sessions["Lunch"].kind == "break"
    assert sessions["AI in the classroom"].kind == "other"
    assert sessions["AI in the classroom"].speakers[0].name == "Pete F. Atherton PhD"
    assert sessions["Inclusive excellence"].speakers[0].organisation == \
        "Confederation of School Trusts"
    # Sessionize times have no offset: they are the conference's local time (GMT in March).
    assert sessions["Inclusive excellence"].starts_at.isoformat() == "2027-03-11T09:30:00+00:00"


def test_format_is_detected(conference):
    from events.exchange import services as exchange

    assert exchange.detect_format(json.dumps(SESSIONIZE)) == "sessionize"
    assert exchange.detect_format(json.dumps(PRETALX)) == "frab"


def test_malformed_sessionize_lists_each_problem(conference):
    from events.exchange import services as exchange

    data = copy.deepcopy(SESSIONIZE)
    data["sessions"][0]["speakers"] = ["no-such-speaker"]
    data["sessions"][2]["roomId"] = 99
    data["sessions"][1]["endsAt"] = "half past one"
    draft = exchange.preview_programme(conference, json.dumps(data))
    messages = " | ".join(f"{e['item']}: {e['message']}" for e in draft.errors)
    assert "no-such-speaker" in messages and "room 99" in messages and "time" in messages
    assert not draft.ok


# --------------------------------------------------------------------------- Indico

INDICO = (
    "Jane,Doe,Oak Academy Trust,Headteacher,+44 20 7946 0000,jane.doe@oak.example\n"
    "Tomás,Ó Briain,Willow Trust,Chief Executive,,tomas@willow.example\n"
    '"Amira","Khan","Riverside Schools, Partnership","Deputy Head","07700 900123",'
    "amira@riverside.example\n"
)


def test_import_indico_registrants(conference):
    from events.exchange import services as exchange

    assert exchange.import_indico(conference, INDICO.encode()) == 3
    delegates, total = services.search_delegates(conference)
    assert total == 3
    amira = next(d for d in delegates if d.email == "amira@riverside.example")
    assert (amira.name, amira.organisation, amira.role) == (
        "Amira Khan", "Riverside Schools, Partnership", "Deputy Head")


def test_malformed_indico_csv_imports_nobody(conference, make_delegate):
    from events.errors import ConvenorError
    from events.exchange import services as exchange

    make_delegate(conference, email="taken@oak.example")
    bad = (INDICO
           + "Only,Five,Columns,Here,x\n"
           + "No,Email,Trust,Head,0,not-an-email\n"
           + "Dup,Licate,Trust,Head,0,jane.doe@oak.example\n"
           + "Al,Ready,Trust,Head,0,taken@oak.example\n")
    with pytest.raises(ConvenorError) as caught:
        exchange.import_indico(conference, bad.encode())
    lines = sorted({d["line"] for d in caught.value.details})
    assert lines == [4, 5, 6, 7]
    assert services.search_delegates(conference)[1] == 1
    with pytest.raises(ConvenorError) as caught:
        exchange.import_indico(conference, "Zoë,Bad,Trust,Head,0,z@x.example\n".encode("latin-1"))
    assert "UTF-8" in caught.value.message


# --------------------------------------------------------------------------- CLI


def test_cli_import_schedule_dry_run_then_for_real(runner, conference, tmp_path):
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(PRETALX))
    result = runner.invoke(args=["import-schedule", "tlc", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would import 2 sessions" in result.output
    assert services.programme_sessions(conference) == []
    result = runner.invoke(args=["import-schedule", "tlc", str(path), "--format", "frab"])
    assert result.exit_code == 0, result.output
    assert len(services.programme_sessions(conference)) == 2


def test_cli_import_errors_exit_2_with_one_error_line(runner, conference, tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(_broken_pretalx(**{"Auditorium.0.duration": "soon"}))
    result = runner.invoke(args=["import-schedule", "tlc", str(path)])
    assert result.exit_code == 2
    assert [line for line in result.output.splitlines() if line.startswith("error:")] == [
        "error: nothing was imported: 1 problem(s) in the file"]
    missing = runner.invoke(args=["import-schedule", "tlc", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = runner.invoke(args=["import-schedule", "nope", str(path)])
    assert unknown.exit_code == 2 and "nope" in unknown.output


def test_cli_import_indico(runner, conference, tmp_path):
    path = tmp_path / "registrants.csv"
    path.write_text(INDICO)
    dry = runner.invoke(args=["import-indico", "tlc", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "3 delegates would be imported" in dry.output
    assert services.search_delegates(conference)[1] == 0
    real = runner.invoke(args=["import-indico", "tlc", str(path)])
    assert real.exit_code == 0 and "imported 3 delegates" in real.output
    again = runner.invoke(args=["import-indico", "tlc", str(path)])
    assert again.exit_code == 2 and "already registered" in again.output


# --------------------------------------------------------------------------- organiser UI and API


def test_import_page_previews_then_imports(client, conference, login):
    login()
    page = client.get("/organiser/tlc/import-programme")
    assert page.status_code == 200
    assert b"Import programme" in page.data
    preview = client.post("/organiser/tlc/import-programme", data={
        "file": (io.BytesIO(json.dumps(SESSIONIZE).encode()), "sessionize.json"), "format": ""},
        content_type="multipart/form-data")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Import 3 sessions" in html and "Not yet scheduled" in html
    assert services.programme_sessions(conference) == []
    payload = html.split('name="payload" value="')[1].split('"')[0]
    done = client.post("/organiser/tlc/import-programme", data={"payload": payload, "fmt": ""})
    assert done.status_code == 302
    assert len(services.programme_sessions(conference)) == 3


def test_import_page_shows_every_problem(client, conference, login):
    login()
    response = client.post("/organiser/tlc/import-programme", data={
        "file": (io.BytesIO(INDICO.encode() + b"Bad,Row\n"), "registrants.csv"),
        "format": "indico"}, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 4" in html and "nothing will be imported" in html
    assert 'name="payload"' not in html


def test_api_programme_import(api, conference):
    body = json.dumps(PRETALX)
    dry = api.post("/api/v1/conferences/tlc/programme/import?dry_run=1", data=body,
                   content_type="application/json")
    assert dry.status_code == 200 and dry.json["would_create"] == 2
    bad = api.post("/api/v1/conferences/tlc/programme/import", data="{oops",
                   content_type="application/json")
    assert bad.status_code == 422 and bad.json["code"] == "invalid_file"
    done = api.post("/api/v1/conferences/tlc/programme/import?format=frab", data=body,
                    content_type="application/json")
    assert done.status_code == 201 and done.json["created"] == 2


def test_api_indico_import(api, conference):
    url = "/api/v1/conferences/tlc/delegates/import-indico"
    dry = api.post(url + "?dry_run=1", data=INDICO, content_type="text/csv")
    assert dry.status_code == 200 and dry.json["would_create"] == 3
    assert api.post(url, data=INDICO, content_type="application/json").status_code == 415
    bad = api.post(url, data=INDICO + "x,y\n", content_type="text/csv")
    assert bad.status_code == 422 and bad.json["details"][0]["line"] == 4
    done = api.post(url, data=INDICO, content_type="text/csv")
    assert done.status_code == 201 and done.json == {"created": 3, "total": 3}


# --------------------------------------------------------------------------- allocation CSV


def test_allocation_csv_is_header_only_without_allocations(api, client, conference, login,
                                                           monkeypatch):
    monkeypatch.setattr(hooks, "ALLOCATION_ROWS", [])
    response = api.get("/api/v1/conferences/tlc/allocations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(response.get_data(as_text=True)))) == [
        list(allocation_export.LONG_COLUMNS)]
    login()
    wide = client.get("/organiser/tlc/allocations.csv?format=wide").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(wide))) == [list(allocation_export.WIDE_COLUMNS)]


def test_allocation_csv_from_providers(api, conference, monkeypatch):
    from datetime import UTC

    def at(h, m):
        return datetime(2027, 3, 11, h, m, tzinfo=UTC)

    def fake(conf):
        assert conf.id == conference.id
        return [
            AllocationRow("World Cafe", 1, "table", "Table 7", "Atrium", "Amira Khan",
                          "amira@x.example", "host", at(14, 0), at(14, 20), "Riverside"),
            AllocationRow("World Cafe", 2, "table", "Table 3", "Atrium", "Amira Khan",
                          "amira@x.example", "delegate", at(14, 25), at(14, 45), "Riverside"),
            AllocationRow("Carousel", 1, "carousel", "AI in the classroom", "Room B",
                          "Ben Ode", "ben@x.example", "delegate", at(10, 45), at(11, 15), "Oak"),
            AllocationRow("World Cafe", 1, "table", "Table 3", "Atrium", "=cmd|' /C calc'!A0",
                          "evil@x.example", "delegate", at(14, 0), at(14, 20), ""),
        ]

    monkeypatch.setattr(hooks, "ALLOCATION_ROWS", [fake])
    long_rows = list(csv.DictReader(io.StringIO(
        api.get("/api/v1/conferences/tlc/allocations.csv").get_data(as_text=True))))
    assert [r["unit"] for r in long_rows][:1] == ["AI in the classroom"]
    host = next(r for r in long_rows if r["role"] == "host")
    assert host["location"] == "Atrium" and host["start"] == "2027-03-11T14:00:00+00:00"
    assert host["conference"] == "tlc" and host["kind"] == "table" and host["round"] == "1"
    assert all(not r["delegate"].startswith("=") for r in long_rows)
    wide = list(csv.reader(io.StringIO(
        api.get("/api/v1/conferences/tlc/allocations.csv?format=wide").get_data(as_text=True))))
    header = wide[0]
    assert header[:3] == ["delegate", "email", "organisation"]
    assert header[3:] == ["Carousel — slot 1 (10:45)", "World Cafe — round 1 (14:00)",
                          "World Cafe — round 2 (14:25)"]
    amira = next(r for r in wide if r[1] == "amira@x.example")
    assert amira[3:] == ["", "Table 7 — Atrium (host)", "Table 3 — Atrium"]


def test_dashboard_links_to_feeds_and_exports(client, conference, login):
    login()
    html = client.get("/organiser/tlc/").get_data(as_text=True)
    assert "/c/tlc/schedule.json" in html and "/organiser/tlc/allocations.csv" in html
