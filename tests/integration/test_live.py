"""Live updates through Flask-SocketIO's test client: publisher, rooms and connect rules."""

from __future__ import annotations

import pytest

from events import signals
from events.conference import services
from events.extensions import db, socketio
from tests.conftest import at

NS = "/live"


@pytest.fixture
def connect(app):
    """Open a /live test client with an ``auth`` object (and optionally a browser's cookies)."""
    clients = []

    def make(auth, flask_client=None):
        sio = socketio.test_client(app, namespace=NS, auth=auth, flask_test_client=flask_client)
        clients.append(sio)
        return sio

    yield make
    for sio in clients:
        if sio.is_connected(NS):
            sio.disconnect(namespace=NS)


def events(sio, name=None):
    """Return the payloads received since the last call (only ``name`` events if given)."""
    got = sio.get_received(NS)
    return [(e["name"], e["args"][0]) for e in got if name is None or e["name"] == name]


@pytest.fixture
def hall(conference, make_room):
    return make_room(conference, "Main Hall", 300)


@pytest.fixture
def keynote(conference, hall, make_session):
    return make_session(conference, "Inclusive excellence", "11:15", "12:00", room_id=hall.id)


# --------------------------------------------------------------------------- publisher


def test_session_move_reaches_public_clients_with_what_changed(conference, keynote, make_room,
                                                               connect, api):
    room_c = make_room(conference, "Room C", 60)
    screen = connect({"conference": "tlc"})
    assert screen.is_connected(NS)
    response = api.patch(f"/api/v1/conferences/tlc/sessions/{keynote.id}",
                         json={"room_id": room_c.id, "starts_at": at("11:30"), "ends_at": at("12:15")})
    assert response.status_code == 200, response.json
    [(name, data)] = events(screen)
    assert name == "session_changed"
    assert data["conference"] == "tlc"
    db.session.refresh(conference)
    assert data["version"] == conference.version
    assert set(data["changes"]) == {"room_id", "starts_at", "ends_at"}
    session = data["session"]
    assert session["id"] == keynote.id and session["title"] == "Inclusive excellence"
    assert session["room"] == "Room C" and session["status"] == "scheduled"
    assert session["starts_at"] == "2027-03-11T11:30:00+00:00"
    assert session["ends_at"] == "2027-03-11T12:15:00+00:00"


def test_cancel_add_and_delete_publish(conference, keynote, connect, api):
    screen = connect({"conference": "tlc"})
    api.patch(f"/api/v1/conferences/tlc/sessions/{keynote.id}", json={"status": "cancelled"})
    created = api.post("/api/v1/conferences/tlc/sessions",
                       json={"title": "Lunch", "kind": "break", "starts_at": at("12:30"),
                             "ends_at": at("13:15")}).json
    api.delete(f"/api/v1/conferences/tlc/sessions/{created['id']}")
    got = events(screen)
    assert [name for name, _ in got] == ["session_changed", "programme_changed", "programme_changed"]
    assert got[0][1]["session"]["status"] == "cancelled" and got[0][1]["changes"] == ["status"]
    assert got[1][1]["reason"] == "session_added" and got[1][1]["session"]["title"] == "Lunch"
    assert got[2][1]["reason"] == "session_deleted"
    versions = [data["version"] for _, data in got]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_organiser_web_form_edit_publishes(conference, keynote, make_room, connect, login):
    room_c = make_room(conference, "Room C", 60)
    screen = connect({"conference": "tlc"})
    browser = login()
    response = browser.post(f"/organiser/tlc/sessions/{keynote.id}", data={
        "title": keynote.title, "kind": "keynote", "starts_at": "2027-03-11T11:15",
        "ends_at": "2027-03-11T12:00", "room_id": str(room_c.id), "description": ""})
    assert response.status_code == 302
    [(name, data)] = events(screen)
    assert name == "session_changed" and data["session"]["room"] == "Room C"


# --------------------------------------------------------------------------- connect rules


@pytest.mark.parametrize("auth", [
    None,
    {},
    {"conference": "no-such-conference"},
    {"conference": "tlc", "delegate_token": "not-a-token"},
    {"conference": "tlc", "delegate_token": 42},
    {"conference": "tlc", "api_token": "cvn_forged"},
])
def test_connect_without_right_credentials_is_refused(conference, connect, auth):
    assert not connect(auth).is_connected(NS)


def test_unpublished_conference_only_for_its_organisers_and_delegates(make_conference, organiser,
                                                                      make_delegate, connect,
                                                                      make_organiser):
    draft = make_conference(slug="draft", published=False)
    assert not connect({"conference": "draft"}).is_connected(NS)
    _, stranger_token = make_organiser("stranger@example.org")
    assert not connect({"conference": "draft", "api_token": stranger_token}).is_connected(NS)
    assert connect({"conference": "draft", "api_token": organiser[1]}).is_connected(NS)
    delegate = make_delegate(draft)
    assert connect({"conference": "draft", "delegate_token": delegate.token}).is_connected(NS)


def test_delegate_token_of_another_conference_is_refused(conference, make_conference,
                                                         make_delegate, connect):
    other = make_conference(slug="other")
    outsider = make_delegate(other)
    assert not connect({"conference": "tlc", "delegate_token": outsider.token}).is_connected(NS)


def test_rotated_delegate_link_is_refused(conference, make_delegate, connect):
    delegate = make_delegate(conference)
    old = delegate.token
    services.rotate_delegate_token(delegate)
    assert not connect({"conference": "tlc", "delegate_token": old}).is_connected(NS)


# --------------------------------------------------------------------------- private rooms


def test_each_delegate_receives_only_their_own_seats(conference, keynote, make_delegate, connect):
    ann, ben = make_delegate(conference, name="Ann"), make_delegate(conference, name="Ben")
    ann_page = connect({"conference": "tlc", "delegate_token": ann.token})
    ben_page = connect({"conference": "tlc", "delegate_token": ben.token})
    screen = connect({"conference": "tlc"})
    signals.allocation_published.send(
        conference, kind="carousel", session=keynote, version=1,
        per_delegate={ann.id: [{"workshop": "AI in the classroom", "room": "Room B"}],
                      ben.id: [{"workshop": "AI and trust strategy", "room": "Room D"}]})
    # Delegates also get the public summary; exactly one event carries seats, their own.
    [mine] = [data for _, data in events(ann_page, "allocation_published") if "seats" in data]
    assert mine["seats"] == [{"workshop": "AI in the classroom", "room": "Room B"}]
    [his] = [data for _, data in events(ben_page, "allocation_published") if "seats" in data]
    assert his["seats"] == [{"workshop": "AI and trust strategy", "room": "Room D"}]
    [(_, public)] = events(screen, "allocation_published")
    assert "seats" not in public and "AI in the classroom" not in str(public)
    assert public["session"]["id"] == keynote.id and public["kind"] == "carousel"


def test_round_start_tells_each_delegate_their_table_and_screens_the_plan(conference, keynote,
                                                                          make_delegate, connect):
    ann, ben = make_delegate(conference, name="Ann"), make_delegate(conference, name="Ben")
    ann_page = connect({"conference": "tlc", "delegate_token": ann.token})
    screen = connect({"conference": "tlc"})
    table_4 = {"table": 4, "room": "Atrium", "host": "Sam Host", "question": "What is belonging?"}
    table_7 = {"table": 7, "room": "Atrium", "host": "Kim Host", "question": "Who is missing?"}
    signals.round_starting.send(conference, kind="cafe", session=keynote, number=3,
                                per_delegate={ann.id: table_4, ben.id: table_7})
    [mine] = [data for _, data in events(ann_page, "round_starting") if "place" in data]
    assert mine["number"] == 3 and mine["place"] == table_4
    assert "Kim Host" not in str(mine)
    [(_, public)] = events(screen, "round_starting")
    assert "place" not in public
    assert sorted(p["table"] for p in public["places"]) == [4, 7]
    assert str(ann.id) not in {str(k) for p in public["places"] for k in p}


def test_checkin_stats_go_to_organisers_only(conference, make_delegate, organiser, connect):
    delegate = make_delegate(conference, name="Ann Arrival")
    desk = connect({"conference": "tlc", "api_token": organiser[1]})
    public = connect({"conference": "tlc"})
    own_page = connect({"conference": "tlc", "delegate_token": delegate.token})
    signals.delegate_checked_in.send(conference, delegate=delegate, checkin=object(),
                                     list_name="arrivals")
    [(_, stats)] = events(desk, "checkin_stats")
    assert stats["delegate"]["name"] == "Ann Arrival" and stats["total"] == 1
    assert stats["list_name"] == "arrivals" and stats["conference"] == "tlc"
    assert events(public) == [] and events(own_page) == []


def test_organiser_cookie_joins_the_organisers_room(conference, make_delegate, connect, login):
    browser = login()
    dashboard = connect({"conference": "tlc"}, flask_client=browser)
    assert dashboard.is_connected(NS)
    signals.delegate_checked_in.send(conference, delegate=make_delegate(conference),
                                     checkin=None, list_name=None)
    assert [name for name, _ in events(dashboard)] == ["checkin_stats"]


# --------------------------------------------------------------------------- announcements


def test_announcement_api_pushes_to_every_page(conference, make_delegate, connect, api):
    delegate = make_delegate(conference)
    screen = connect({"conference": "tlc"})
    page = connect({"conference": "tlc", "delegate_token": delegate.token})
    response = api.post("/api/v1/conferences/tlc/announcements",
                        json={"text": "Coffee in the atrium"})
    assert response.status_code == 201, response.json
    assert response.json["text"] == "Coffee in the atrium"
    for client in (screen, page):
        [(name, data)] = events(client)
        assert name == "announcement"
        assert data["announcement"]["text"] == "Coffee in the atrium"
        assert data["announcement"]["id"] == response.json["id"]
    listed = api.get("/api/v1/conferences/tlc/announcements").json
    assert [a["text"] for a in listed] == ["Coffee in the atrium"]


def test_announcement_api_errors(conference, api, client, make_organiser, make_conference):
    empty = api.post("/api/v1/conferences/tlc/announcements", json={"text": "  "})
    assert empty.status_code == 422 and empty.json["code"] == "invalid"
    assert empty.json["details"][0]["field"] == "text"
    long = api.post("/api/v1/conferences/tlc/announcements", json={"text": "x" * 281})
    assert long.status_code == 422
    assert client.post("/api/v1/conferences/tlc/announcements",
                       json={"text": "hi"}).status_code == 401
    other, _ = make_organiser("other@example.org")
    make_conference(owner=other, slug="theirs")
    assert api.post("/api/v1/conferences/theirs/announcements",
                    json={"text": "hi"}).status_code == 403


def test_announcement_web_form(conference, connect, login):
    screen = connect({"conference": "tlc"})
    browser = login()
    page = browser.get("/organiser/tlc/live")
    assert page.status_code == 200 and "Send an announcement" in page.get_data(as_text=True)
    blank = browser.post("/organiser/tlc/live", data={"text": ""})
    assert blank.status_code == 422
    assert 'class="field-error"' in blank.get_data(as_text=True)
    sent = browser.post("/organiser/tlc/live", data={"text": "Round 2 starts in 5 minutes"})
    assert sent.status_code == 302
    [(name, data)] = events(screen)
    assert name == "announcement" and data["announcement"]["text"] == "Round 2 starts in 5 minutes"
    assert "Round 2 starts in 5 minutes" in browser.get("/organiser/tlc/live").get_data(as_text=True)
    # The organisers' nav shows the Live page; the dashboard carries the live panel.
    dashboard = browser.get("/organiser/tlc/").get_data(as_text=True)
    assert 'href="/organiser/tlc/live"' in dashboard and 'data-live-page="dashboard"' in dashboard


def test_announcement_form_needs_csrf_token(tmp_path, organiser):
    from app import create_app
    from events.live.models import Announcement
    from tests.conftest import _make_app

    secure = _make_app(f"sqlite:///{tmp_path / 'csrf.db'}", {"WTF_CSRF_ENABLED": True})
    assert create_app  # the same factory as every other test
    with secure.app_context():
        db.create_all()
        owner = services.create_organiser("csrf@example.org", "correct-horse-9")
        services.create_conference(owner, {"slug": "sec", "name": "Sec", "starts_on": "2027-03-11",
                                           "ends_on": "2027-03-11"})
        browser = secure.test_client()
        with browser.session_transaction() as flask_session:
            flask_session["_user_id"] = str(owner.id)
            flask_session["_fresh"] = True
        response = browser.post("/organiser/sec/live", data={"text": "Forged"})
        assert response.status_code == 400
        assert db.session.query(Announcement).count() == 0
        db.session.remove()
        db.engine.dispose()


def test_cli_announce(conference, runner, connect):
    screen = connect({"conference": "tlc"})
    result = runner.invoke(args=["announce", "tlc", "Lunch is served"])
    assert result.exit_code == 0, result.output
    [(name, data)] = events(screen)
    assert name == "announcement" and data["announcement"]["text"] == "Lunch is served"
    assert runner.invoke(args=["announce", "nope", "x"]).exit_code == 2


# --------------------------------------------------------------------------- catch-up


def test_catch_up_returns_missed_changes_for_the_reader(conference, keynote, make_delegate,
                                                        client, api):
    ann, ben = make_delegate(conference, name="Ann"), make_delegate(conference, name="Ben")
    db.session.refresh(conference)
    seen = conference.version
    api.patch(f"/api/v1/conferences/tlc/sessions/{keynote.id}", json={"status": "cancelled"})
    signals.round_starting.send(conference, kind="cafe", session=keynote, number=1,
                                per_delegate={ann.id: {"table": 1}, ben.id: {"table": 2}})
    api.post("/api/v1/conferences/tlc/announcements", json={"text": "Doors open"})

    anonymous = client.get(f"/c/tlc/live/since/{seen}").json
    assert anonymous["reload"] is False
    assert [c["event"] for c in anonymous["changes"]] == [
        "session_changed", "round_starting", "announcement"]
    assert all("place" not in c["data"] for c in anonymous["changes"])
    assert anonymous["version"] == anonymous["changes"][-1]["version"]

    as_ann = client.get(f"/c/tlc/live/since/{seen}", headers={"X-Delegate-Token": ann.token}).json
    places = [c["data"]["place"] for c in as_ann["changes"] if "place" in c["data"]]
    assert places == [{"table": 1}]

    latest = client.get(f"/c/tlc/live/since/{anonymous['version']}").json
    assert latest["changes"] == [] and latest["reload"] is False
    assert client.get("/c/tlc/live/since/99999").json["reload"] is True
    assert client.get(f"/c/tlc/live/since/{seen}",
                      headers={"X-Delegate-Token": "forged"}).status_code == 404


def test_catch_up_and_now_screen_hide_unpublished_conferences(make_conference, make_delegate,
                                                              client):
    draft = make_conference(slug="draft", published=False)
    assert client.get("/c/draft/live/since/0").status_code == 404
    # A delegate's private page works before publication, so its catch-up does too.
    delegate = make_delegate(draft)
    own = client.get("/c/draft/live/since/0", headers={"X-Delegate-Token": delegate.token})
    assert own.status_code == 200 and own.json["conference"] == "draft"
    assert client.get("/c/draft/now").status_code == 404
    assert client.get("/c/draft/now.json").status_code == 404


# --------------------------------------------------------------------------- pages


def test_now_screen_and_pages_carry_live_hooks(conference, keynote, make_delegate, client, api):
    api.post("/api/v1/conferences/tlc/announcements", json={"text": "Coffee in the atrium"})
    now = client.get("/c/tlc/now?at=2027-03-11T11:30")
    html = now.get_data(as_text=True)
    assert now.status_code == 200
    assert 'data-live-page="now"' in html and "Coffee in the atrium" in html
    assert 'data-at-ms="1804764600000"' in html  # 11:30 GMT on 11 March 2027
    assert client.get("/c/tlc/now?at=half-past").status_code == 400
    data = client.get("/c/tlc/now.json").json
    assert data["conference"]["timezone"] == "Europe/London"
    assert [s["title"] for s in data["sessions"]] == ["Inclusive excellence"]
    assert [r["name"] for r in data["rooms"]] == ["Main Hall"]
    programme = client.get("/c/tlc/programme").get_data(as_text=True)
    assert 'data-live-page="programme"' in programme and "socket.io.min.js" in programme
    delegate = make_delegate(conference)
    page = client.get(f"/me/{delegate.token}").get_data(as_text=True)
    assert 'data-live-page="delegate"' in page and f'data-token="{delegate.token}"' in page


def test_catch_up_asks_for_reload_when_the_log_was_pruned(conference, monkeypatch, client, api):
    from events.live import services as live

    monkeypatch.setattr(live, "KEEP_CHANGES", 3)
    db.session.refresh(conference)
    seen = conference.version
    for n in range(5):
        api.post("/api/v1/conferences/tlc/announcements", json={"text": f"Note {n}"})
    missed = client.get(f"/c/tlc/live/since/{seen}").json
    assert missed["reload"] is True and missed["changes"] == []
    recent = client.get(f"/c/tlc/live/since/{missed['version'] - 2}").json
    assert recent["reload"] is False
    assert [c["data"]["announcement"]["text"] for c in recent["changes"]] == ["Note 3", "Note 4"]
