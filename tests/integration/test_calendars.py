"""Calendar feeds: programme, personal agenda and single-session .ics, read by two parsers."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
import vobject
from itsdangerous import URLSafeTimedSerializer

from events import hooks
from events.conference import services
from events.exchange import calendar


def parse_both(body: bytes):
    """Parse with icalendar and with vobject; return {uid: (ical event, vobject event)}."""
    cal = icalendar.Calendar.from_ical(body)
    vcal = vobject.readOne(body.decode())
    ical_events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    v_events = {e.uid.value: e for e in getattr(vcal, "vevent_list", [])}
    assert ical_events.keys() == v_events.keys()
    return cal, vcal, {uid: (ical_events[uid], v_events[uid]) for uid in ical_events}


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def by_summary(events: dict, summary: str):
    return next(pair for pair in events.values() if str(pair[0]["SUMMARY"]).endswith(summary))


@pytest.fixture
def programme(conference, make_room, make_session, organiser):
    from events.conference import services

    hall = make_room(conference, "Main Hall", 300)
    jon = services.create_speaker(conference, {"name": "Jon Yates", "organisation": "YEF"})
    keynote = make_session(conference, "Safe spaces for everyone", "09:30", "10:15",
                           room_id=hall.id, speaker_ids=[jon.id],
                           description="Making schools a safe space.")
    panel = make_session(conference, "Trust panel", "11:00", "12:00", kind="plenary",
                         room_id=hall.id)
    carousel = make_session(conference, "Carousel: AI and technology", "13:00", "14:30",
                            kind="carousel")
    return {"hall": hall, "keynote": keynote, "panel": panel, "carousel": carousel}


def test_programme_feed_has_every_property_and_both_parsers_agree(client, conference, programme):
    response = client.get("/c/tlc/programme.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    cal, vcal, events = parse_both(response.data)
    assert str(cal["NAME"]) == str(cal["X-WR-CALNAME"]) == "Trust Leaders' Conference"
    assert cal["REFRESH-INTERVAL"].dt.total_seconds() == 15 * 60
    assert str(cal["X-PUBLISHED-TTL"]) == "PT15M"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    assert len(events) == 3
    ev, vev = by_summary(events, "Safe spaces for everyone")
    for prop in ("UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY",
                 "LOCATION", "DESCRIPTION", "URL", "STATUS"):
        assert prop in ev, prop
    assert ev["DTSTART"].params["TZID"] == "Europe/London"
    assert ev["DTSTART"].dt == datetime(2027, 3, 11, 9, 30, tzinfo=UTC)
    assert vev.dtstart.value == datetime(2027, 3, 11, 9, 30, tzinfo=UTC)
    assert "Jon Yates" in str(ev["DESCRIPTION"]) and "safe space" in vev.description.value
    assert str(ev["LOCATION"]).startswith("Main Hall")
    assert str(ev["URL"]).endswith(f"/c/tlc/sessions/{programme['keynote'].id}")
    assert vev.status.value == "CONFIRMED"


def test_uids_are_stable_between_requests(client, programme):
    first = set(parse_both(client.get("/c/tlc/programme.ics").data)[2])
    services.update_session(programme["panel"], {"title": "Trust leaders' panel"})
    second = set(parse_both(client.get("/c/tlc/programme.ics").data)[2])
    assert first == second


def test_sequence_rises_after_a_move_and_the_etag_changes(client, conference, programme):
    first = client.get("/c/tlc/programme.ics")
    etag = first.headers["ETag"]
    assert client.get("/c/tlc/programme.ics",
                      headers={"If-None-Match": etag}).status_code == 304
    _, _, before = parse_both(first.data)
    uid, (old, _) = next((u, p) for u, p in before.items()
                         if str(p[0]["SUMMARY"]) == "Trust panel")
    services.update_session(programme["panel"], {"starts_at": "2027-03-11T11:15",
                                                 "ends_at": "2027-03-11T12:15"})
    again = client.get("/c/tlc/programme.ics", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    _, _, after = parse_both(again.data)
    new, vnew = after[uid]
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1 == int(vnew.sequence.value)
    assert new["DTSTART"].dt == datetime(2027, 3, 11, 11, 15, tzinfo=UTC)


def test_cancelled_sessions_stay_with_status_cancelled(client, programme):
    services.cancel_session(programme["panel"])
    _, _, events = parse_both(client.get("/c/tlc/programme.ics").data)
    ev, vev = by_summary(events, "Trust panel")
    assert str(ev["STATUS"]) == vev.status.value == "CANCELLED"
    assert str(ev["SUMMARY"]).startswith("Cancelled")
    assert int(ev["SEQUENCE"]) == 1


def test_times_are_right_across_the_october_clock_change(client, make_conference, make_room):
    """Sunday 31 October 2027, Europe/London: 01:00-02:00 happens twice."""
    conf = make_conference(slug="autumn", starts_on="2027-10-31", ends_on="2027-10-31")
    room = make_room(conf, "Hall", 50)
    cases = {
        "Before the change": ("2027-10-31T00:30+01:00", "2027-10-31T01:00+01:00"),
        "First 01:30 (BST)": ("2027-10-31T01:30+01:00", "2027-10-31T01:45+01:00"),
        "Second 01:30 (GMT)": ("2027-10-31T01:30+00:00", "2027-10-31T02:00+00:00"),
        "After the change": ("2027-10-31T02:30+00:00", "2027-10-31T03:00+00:00"),
    }
    for title, (start, end) in cases.items():
        services.create_session(conf, {"title": title, "kind": "other", "starts_at": start,
                                       "ends_at": end, "room_id": room.id})
    body = client.get("/c/autumn/programme.ics").data
    assert b"BST" not in b"".join(line for line in body.splitlines() if b"TZID=" in line)
    _, _, events = parse_both(body)
    for title, (start, end) in cases.items():
        ev, vev = by_summary(events, title)
        expected_start = datetime.fromisoformat(start)
        expected_end = datetime.fromisoformat(end)
        # Compare instants in UTC: PEP 495 makes times in a repeated hour unequal across zones.
        assert utc(ev["DTSTART"].dt) == utc(expected_start), title
        assert utc(ev["DTEND"].dt) == utc(expected_end), title
        assert utc(vev.dtstart.value) == utc(expected_start), title
        assert utc(vev.dtend.value) == utc(expected_end), title
    # Unambiguous wall times keep the IANA zone; only the repeated hour falls back to UTC.
    assert by_summary(events, "After the change")[0]["DTSTART"].params["TZID"] == "Europe/London"
    assert by_summary(events, "Before the change")[0]["DTSTART"].params["TZID"] == "Europe/London"


def test_agenda_feed_is_private_and_providers_replace_blocks(client, conference, programme,
                                                             make_delegate, monkeypatch):
    delegate = make_delegate(conference, name="Amira Khan")
    carousel = programme["carousel"]

    def fake_carousel(d):
        assert d.id == delegate.id
        return [calendar.AgendaItem(
            uid=f"carousel-{carousel.id}-slot-1-delegate-{d.id}@convenor",
            start=carousel.starts_at, end=carousel.starts_at.replace(minute=40),
            summary="AI in the classroom", location="Room B",
            description="Led by Pete F. Atherton PhD", sequence=3,
            last_modified=datetime(2027, 3, 1, tzinfo=UTC), alarm=True,
            replaces_session_id=carousel.id)]

    monkeypatch.setattr(hooks, "AGENDA_PROVIDERS", [fake_carousel])
    response = client.get(f"/me/{delegate.token}/agenda.ics")
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    cal, _, events = parse_both(response.data)
    summaries = sorted(str(e["SUMMARY"]) for e, _ in events.values())
    assert summaries == ["AI in the classroom", "Safe spaces for everyone", "Trust panel"]
    ev, vev = by_summary(events, "AI in the classroom")
    assert int(ev["SEQUENCE"]) == 3 and vev.location.value == "Room B"
    alarms = ev.walk("VALARM")
    assert len(alarms) == 1 and alarms[0]["TRIGGER"].dt.total_seconds() == -300
    assert "Amira" not in str(cal.get("NAME", "")) and "my day" in str(cal["NAME"])
    assert client.get(f"/me/{delegate.token}/agenda.ics", headers={
        "If-None-Match": response.headers["ETag"]}).status_code == 304
    quiet = client.get(f"/me/{delegate.token}/agenda.ics?alarms=0").data
    assert b"BEGIN:VALARM" not in quiet


def test_agenda_without_providers_lists_the_programme(client, conference, programme,
                                                      make_delegate, monkeypatch):
    monkeypatch.setattr(hooks, "AGENDA_PROVIDERS", [])
    delegate = make_delegate(conference)
    _, _, events = parse_both(client.get(f"/me/{delegate.token}/agenda.ics").data)
    assert len(events) == 3


def test_single_session_download(client, programme):
    keynote = programme["keynote"]
    response = client.get(f"/c/tlc/sessions/{keynote.id}.ics")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    cal, _, events = parse_both(response.data)
    assert [str(e["SUMMARY"]) for e, _ in events.values()] == ["Safe spaces for everyone"]
    assert cal.walk("VTIMEZONE")
    programme_uids = set(parse_both(client.get("/c/tlc/programme.ics").data)[2])
    assert set(events) <= programme_uids
    assert client.get("/c/tlc/sessions/99999.ics").status_code == 404


def test_unpublished_conference_feeds_are_404(client, make_conference):
    make_conference(slug="draft", published=False)
    assert client.get("/c/draft/programme.ics").status_code == 404
    assert client.get("/c/draft/schedule.json").status_code == 404


def test_delegate_rotates_own_link_and_old_feed_404s(client, conference, make_delegate):
    delegate = make_delegate(conference)
    old = delegate.token
    assert client.get(f"/me/{old}/agenda.ics").status_code == 200
    response = client.post(f"/me/{old}/new-link")
    assert response.status_code == 302
    new = services.delegate_by_token(response.headers["Location"].rsplit("/", 1)[1]).token
    assert new != old
    assert client.get(f"/me/{old}/agenda.ics").status_code == 404
    assert client.get(f"/me/{old}").status_code == 404
    assert client.get(f"/me/{new}/agenda.ics").status_code == 200


def test_organiser_rotation_kills_the_old_feed(client, conference, make_delegate, login):
    delegate = make_delegate(conference)
    old = delegate.token
    login()
    response = client.post(f"/organiser/tlc/delegates/{delegate.id}/rotate-link")
    assert response.status_code == 302
    assert client.get(f"/me/{old}/agenda.ics").status_code == 404


def test_rotation_needs_a_csrf_token(app, client, conference, make_delegate):
    delegate = make_delegate(conference)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/me/{delegate.token}/new-link").status_code == 400
    assert client.get(f"/me/{delegate.token}/agenda.ics").status_code == 200
    raw = "a" * 40
    with client.session_transaction() as session:
        session["csrf_token"] = raw
    signed = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)
    response = client.post(f"/me/{delegate.token}/new-link", data={"csrf_token": signed})
    assert response.status_code == 302


def test_delegate_page_has_subscribe_buttons(client, conference, make_delegate, monkeypatch):
    monkeypatch.setattr(hooks, "DELEGATE_PANELS", ["events/_calendar_panel.html"])
    delegate = make_delegate(conference)
    html = client.get(f"/me/{delegate.token}").get_data(as_text=True)
    assert f'href="webcal://convenor.test/me/{delegate.token}/agenda.ics"' in html
    assert "calendar.google.com/calendar/render?cid=webcal" in html
    assert "outlook.live.com/calendar/0/addfromweb?url=http" in html
    assert f'action="/me/{delegate.token}/new-link"' in html
