"""The organiser web UI: sign-in, programme builder, delegates, import preview, CSRF."""

from __future__ import annotations

import io
import re

from events.conference.models import Delegate, Room, Session, Speaker


def test_pages_need_sign_in(client, conference):
    response = client.get("/organiser/tlc/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_shows_message_next_to_field(client, organiser):
    response = client.post("/login", data={"email": "lead@example.org", "password": "nope"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="password-error"' in page and "not right" in page
    assert 'aria-describedby="password-error"' in page


def test_other_organisers_conference_is_forbidden(login, client, make_organiser, make_conference):
    other, _ = make_organiser("other@example.org")
    make_conference(owner=other, slug="theirs")
    login()
    assert client.get("/organiser/theirs/").status_code == 403
    assert client.get("/organiser/missing/").status_code == 404


def test_add_room_speaker_and_keynote(login, client, conference, app):
    login()
    response = client.post("/organiser/tlc/rooms", data={"name": "Main Hall", "capacity": "300",
                                                         "step_free": "y"})
    assert response.status_code == 302
    room = Room.query.filter_by(name="Main Hall").one()
    assert room.step_free and not room.hearing_loop
    client.post("/organiser/tlc/speakers", data={"name": "Ade Adepitan", "honours": "MBE"})
    speaker = Speaker.query.one()
    response = client.post("/organiser/tlc/sessions/new", data={
        "title": "Overcoming obstacles", "kind": "keynote", "starts_at": "2027-03-11T15:00",
        "ends_at": "2027-03-11T15:45", "room_id": str(room.id), "speaker_ids": [str(speaker.id)]})
    assert response.status_code == 302, response.get_data(as_text=True)
    session = Session.query.one()
    assert session.speakers == [speaker] and session.room == room
    grid = client.get("/organiser/tlc/sessions").get_data(as_text=True)
    assert "Overcoming obstacles" in grid and "15:00–15:45" in grid
    public = client.get("/c/tlc/programme").get_data(as_text=True)
    assert "Ade Adepitan MBE" in public


def test_edit_session_time_moves_it_in_programme(login, client, conference, make_room,
                                                 make_session):
    room = make_room(conference, "Room A", 40)
    session = make_session(conference, "Making schools safe", "09:15", "10:00", room_id=room.id)
    login()
    form = client.get(f"/organiser/tlc/sessions/{session.id}").get_data(as_text=True)
    assert 'value="2027-03-11T09:15"' in form
    response = client.post(f"/organiser/tlc/sessions/{session.id}", data={
        "title": "Making schools safe", "kind": "keynote", "starts_at": "2027-03-11T09:30",
        "ends_at": "2027-03-11T10:15", "room_id": str(room.id)})
    assert response.status_code == 302
    page = client.get("/c/tlc/programme?view=list").get_data(as_text=True)
    assert "09:30" in page and "10:15" in page


def test_clash_error_shown_next_to_room_field(login, client, conference, make_room, make_session):
    room = make_room(conference, "Room A", 40)
    make_session(conference, "AI in the classroom", "11:00", "12:00", room_id=room.id)
    login()
    response = client.post("/organiser/tlc/sessions/new", data={
        "title": "Clashing", "kind": "other", "starts_at": "2027-03-11T11:30",
        "ends_at": "2027-03-11T12:30", "room_id": str(room.id)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'id="room_id-error"[^>]*>(.*?)</small>', page, re.S).group(1)
    assert "AI in the classroom" in error
    assert Session.query.count() == 1


def test_cancel_keeps_session_visible(login, client, conference, make_session):
    session = make_session(conference, "Peer carousel")
    login()
    client.post(f"/organiser/tlc/sessions/{session.id}/status", data={"status": "cancelled"})
    page = client.get("/c/tlc/programme").get_data(as_text=True)
    assert "Peer carousel" in page and "Cancelled" in page


def test_delegate_search_and_filters(login, client, conference, make_delegate):
    make_delegate(conference, name="Amira Khan", organisation="Oak Trust", needs_step_free=True)
    make_delegate(conference, name="Ben Hall", organisation="Elm Trust", role="CEO")
    login()
    page = client.get("/organiser/tlc/delegates?q=amira").get_data(as_text=True)
    assert "Amira Khan" in page and "Ben Hall" not in page
    page = client.get("/organiser/tlc/delegates?access=step_free").get_data(as_text=True)
    assert "Amira Khan" in page and "Ben Hall" not in page
    page = client.get("/organiser/tlc/delegates?organisation=Elm+Trust").get_data(as_text=True)
    assert "Ben Hall" in page and "Amira Khan" not in page


def test_import_preview_then_confirm(login, client, conference):
    login()
    csv_text = ("name,email,organisation,role\nAnn Lee,ann@example.org,Oak Trust,CEO\n"
                "Bo Chen,bo@example.org,Elm Trust,Headteacher\n")
    response = client.post("/organiser/tlc/delegates/import", data={
        "file": (io.BytesIO(csv_text.encode()), "delegates.csv")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 delegates will be imported" in page
    assert Delegate.query.count() == 0
    payload = re.search(r'name="payload" value="([^"]+)"', page).group(1)
    response = client.post("/organiser/tlc/delegates/import", data={"payload": payload})
    assert response.status_code == 302
    assert sorted(d.name for d in Delegate.query) == ["Ann Lee", "Bo Chen"]


def test_import_preview_lists_bad_lines(login, client, conference):
    login()
    csv_text = "name,email,organisation,role\nAnn Lee,broken,Oak Trust,CEO\n"
    response = client.post("/organiser/tlc/delegates/import", data={
        "file": (io.BytesIO(csv_text.encode()), "delegates.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 2" in page and "not a valid email" in page and 'name="payload"' not in page


def test_export_csv_download(login, client, conference, make_delegate):
    make_delegate(conference, name="Amira Khan")
    login()
    response = client.get("/organiser/tlc/delegates.csv")
    assert response.mimetype == "text/csv"
    assert "Amira Khan" in response.get_data(as_text=True)


def test_rotate_private_link(login, client, conference, make_delegate):
    delegate = make_delegate(conference)
    old = delegate.token
    assert client.get(f"/me/{old}").status_code == 200
    login()
    client.post(f"/organiser/tlc/delegates/{delegate.id}/rotate-link")
    assert client.get(f"/me/{old}").status_code == 404
    assert client.get(f"/me/{delegate.token}").status_code == 200


def test_door_staff_cannot_use_organiser_pages(client, make_organiser, conference):
    make_organiser("door@example.org", role="door_staff")
    client.post("/login", data={"email": "door@example.org", "password": "correct-horse-9"})
    assert client.get("/organiser/tlc/").status_code == 403


def test_forms_reject_missing_csrf_token(sqlite_app):
    from events.conference import services

    sqlite_app.config["WTF_CSRF_ENABLED"] = True
    services.create_organiser("csrf@example.org", "correct-horse-9")
    client = sqlite_app.test_client()
    response = client.post("/login", data={"email": "csrf@example.org",
                                           "password": "correct-horse-9"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": "csrf@example.org",
                                           "password": "correct-horse-9", "csrf_token": token})
    assert response.status_code == 302


def test_new_session_has_no_default_kind(login, client, conference):
    """A new session's kind is a required choice: nothing is a keynote by accident (issue 14)."""
    login()
    form = client.get("/organiser/tlc/sessions/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="kind"[^>]*>(.*?)</select>', form, re.S)
    assert select and "required" in select.group(0)
    options = re.findall(r'<option([^>]*)>([^<]*)</option>', select.group(1))
    assert options[0][1].startswith("Choose") and 'value=""' in options[0][0]
    assert "selected" in options[0][0] or not any("selected" in o[0] for o in options)
    labels = [label for _, label in options]
    for kind in ("Workshop", "Panel", "Networking", "Lunch/Break", "Keynote", "Other"):
        assert kind in labels
    assert labels.count("Lunch/Break") == 1 and "Break" not in labels
    response = client.post("/organiser/tlc/sessions/new", data={
        "title": "Drinks reception", "starts_at": "2027-03-11T17:00",
        "ends_at": "2027-03-11T18:00"})
    assert response.status_code == 422
    assert 'id="kind-error"' in response.get_data(as_text=True)
    assert Session.query.count() == 0
    response = client.post("/organiser/tlc/sessions/new", data={
        "title": "Drinks reception", "kind": "networking", "starts_at": "2027-03-11T17:00",
        "ends_at": "2027-03-11T18:00"})
    assert response.status_code == 302
    assert Session.query.one().kind == "networking"
    home = client.get("/c/tlc/").get_data(as_text=True)
    assert "Keynotes" not in home
