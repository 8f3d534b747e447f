"""Public pages and the delegate's private page."""

from __future__ import annotations

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
