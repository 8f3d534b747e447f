"""Public pages and the delegate's private page."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.conftest import at


def test_home_programme_speakers_session(client, conference, make_room, make_session):
    from events.conference import services

    room = make_room(conference, "Main Hall", 300, step_free=True, hearing_loop=True)
    speaker = services.create_speaker(conference, {"name": "Jon Yates", "organisation":
                                                   "Youth Endowment Fund", "bio": "Leads YEF."})
    session = make_session(conference, "Making schools a safe space for everyone", "09:15",
                           "10:00", room_id=room.id, speaker_ids=[speaker.id])
    home = client.get("/c/tlc/").get_data(as_text=True)
    assert "Making schools a safe space for everyone" in home and "Jon Yates" in home
    grid = client.get("/c/tlc/programme").get_data(as_text=True)
    assert 'class="tt-room tt-r1 tt-c2"' in grid and "Main Hall" in grid and "09:15–10:00" in grid
    speakers = client.get("/c/tlc/speakers").get_data(as_text=True)
    assert "Keynote speaker" in speakers and "Leads YEF." in speakers
    page = client.get(f"/c/tlc/sessions/{session.id}").get_data(as_text=True)
    assert "step-free" in page and "hearing loop" in page and "Youth Endowment Fund" in page


def test_unpublished_conference_is_hidden(client, make_conference):
    make_conference(slug="draft", published=False)
    assert client.get("/c/draft/").status_code == 404
    assert client.get("/c/nope/programme").status_code == 404


def test_delegate_page_shows_their_details_and_programme(client, conference, make_delegate,
                                                         make_session):
    make_session(conference, "Welcome", "09:00", "09:15", kind="plenary")
    delegate = make_delegate(conference, name="Amira Khan", access_needs={"step_free": True})
    response = client.get(f"/me/{delegate.token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Amira Khan" in page and "Welcome" in page and "step-free" in page
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get("/me/not-a-token").status_code == 404


def test_templates_escape_user_text(client, conference, make_session):
    make_session(conference, "<script>alert(1)</script>")
    page = client.get("/c/tlc/programme").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_cancelled_session_marked_in_text(client, conference, make_session):
    from events.conference import services

    session = make_session(conference, "Attendance and belonging", start="11:00", end="11:30")
    services.cancel_session(session)
    page = client.get(f"/c/tlc/sessions/{session.id}").get_data(as_text=True)
    assert "Cancelled" in page and "will not take place" in page
    assert at("11:00")


def _london(hhmm: str, day: str = "2027-03-11") -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo("Europe/London"))


def _positions(page: str, *markers: str) -> list[int]:
    found = [page.find(m) for m in markers]
    assert all(i >= 0 for i in found), dict(zip(markers, found, strict=True))
    return found


def test_show_my_badge_link_comes_before_every_panel(client, conference, make_delegate,
                                                     monkeypatch):
    """On a phone the QR code was 2,300 px down the page (issue 14): one tap away now."""
    from events.conference import views

    monkeypatch.setattr(views, "utcnow", lambda: _london("12:00", "2027-02-01"))
    delegate = make_delegate(conference)
    page = client.get(f"/me/{delegate.token}").get_data(as_text=True)
    link, badge, calendar, programme = _positions(
        page, 'href="#my-badge"', 'id="my-badge"', 'class="calendar-panel"', 'id="my-programme"')
    assert ">Show my badge<" in page
    assert link < min(badge, calendar, programme, page.find('id="delegate-live"'))


def test_badge_comes_first_on_the_conference_day_in_its_time_zone(client, conference,
                                                                 make_delegate, monkeypatch):
    from events.conference import views

    delegate = make_delegate(conference)
    # The day in the conference's zone: from midnight to midnight in London.
    for moment, first in ((_london("00:30"), True), (_london("23:30", "2027-03-10"), False),
                          (_london("18:00"), True), (_london("00:10", "2027-03-12"), False)):
        monkeypatch.setattr(views, "utcnow", lambda moment=moment: moment)
        page = client.get(f"/me/{delegate.token}").get_data(as_text=True)
        badge, calendar, programme = _positions(page, 'id="my-badge"', 'class="calendar-panel"',
                                                'id="my-programme"')
        assert (badge < calendar) is first, moment
        assert badge < programme if first else badge > calendar
