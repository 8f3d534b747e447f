"""Live updates against real servers (`python app.py`): auth, reconnect and catch-up, and two
processes sharing events through Redis with one PostgreSQL database."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import urllib.request

import pytest
import socketio

from tests.conftest import ROOT, at, free_port, wait_for_port

SECRET = "live-test-secret-key"
#: Long-polling: closing a WebSocket from python-socketio waits out a 3 s close handshake with
#: the Werkzeug server, which would triple this file's run time. The browser test covers WebSocket.
TRANSPORTS = ["polling"]


def seed(url: str) -> dict:
    """Create the schema and a small published conference; return ids and secrets."""
    from app import create_app
    from events.conference import services
    from events.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "TESTING": True})
    with app.app_context():
        db.create_all()
        owner = services.create_organiser("lead@example.org", "correct-horse-9")
        token = services.issue_api_token(owner, "live")
        conference = services.create_conference(owner, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True})
        hall = services.create_room(conference, {"name": "Main Hall", "capacity": 300})
        room_c = services.create_room(conference, {"name": "Room C", "capacity": 60})
        session = services.create_session(conference, {
            "title": "AI in the classroom", "kind": "carousel", "starts_at": at("11:15"),
            "ends_at": at("12:00"), "room_id": hall.id})
        ann = services.create_delegate(conference, {"name": "Ann", "email": "ann@example.org"})
        seeded = {"token": token, "session_id": session.id, "room_c": room_c.id,
                  "hall": hall.id, "delegate_token": ann.token}
        db.session.remove()
        db.engine.dispose()
    return seeded


class Server:
    """One `python app.py` process."""

    def __init__(self, url: str, log_path, queue_url: str | None = None):
        self.port = free_port()
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(self.port), DATABASE_URL=url,
                   SECRET_KEY=SECRET, PYTHONUNBUFFERED="1")
        env.pop("SOCKETIO_MESSAGE_QUEUE", None)
        if queue_url:
            env["SOCKETIO_MESSAGE_QUEUE"] = queue_url
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for_port(self.port, 30):
            self.stop()
            pytest.fail(f"the server did not start; see {log_path}")
        self.url = f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, token: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            self.url + path, method=method, data=json.dumps(body).encode() if body else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def get(self, path: str, headers: dict | None = None) -> dict:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
        self.log.close()


class LiveClient:
    """A python-socketio client on /live that queues every event it receives."""

    EVENTS = ("session_changed", "programme_changed", "announcement", "round_starting",
              "allocation_published", "checkin_stats")

    def __init__(self):
        self.sio = socketio.Client(reconnection=False)
        self.received: queue.Queue = queue.Queue()
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name), namespace="/live")

    def _recorder(self, name):
        return lambda data: self.received.put((name, data))

    def connect(self, server: Server, auth: dict, transports=TRANSPORTS) -> LiveClient:
        self.sio.connect(server.url, namespaces=["/live"], auth=auth, transports=transports,
                         wait_timeout=10)
        return self

    def next(self, timeout: float = 5.0):
        return self.received.get(timeout=timeout)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture
def clients():
    made: list[LiveClient] = []

    def make() -> LiveClient:
        made.append(LiveClient())
        return made[-1]

    yield make
    for client in made:
        client.close()


@pytest.fixture
def sqlite_server(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    seeded = seed(url)
    server = Server(url, tmp_path / "server.log")
    yield server, seeded
    server.stop()


def namespace_connect(server: Server, auth: dict) -> str:
    """Open an Engine.IO polling session, ask to join /live with ``auth``; return the answer.

    Done by hand because python-socketio, after a refusal, waits for its pending long-poll
    (up to the 25 s ping interval) before it gives up.
    """
    with urllib.request.urlopen(f"{server.url}/socket.io/?EIO=4&transport=polling",
                                timeout=10) as response:
        sid = json.loads(response.read().decode()[1:])["sid"]
    url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    request = urllib.request.Request(url, method="POST",
                                     data=("40/live," + json.dumps(auth)).encode())
    urllib.request.urlopen(request, timeout=10).read()
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_real_server_auth_rules(sqlite_server, clients):
    server, seeded = sqlite_server
    for auth in ({"conference": "tlc", "delegate_token": "forged"}, {"conference": "nope"},
                 {"conference": "tlc", "api_token": "cvn_forged"}, {}):
        answer = namespace_connect(server, auth)
        assert answer.startswith("44/live,"), answer  # CONNECT_ERROR
    assert namespace_connect(server, {"conference": "tlc"}).startswith("40/live,")
    delegate = clients().connect(server, {"conference": "tlc",
                                          "delegate_token": seeded["delegate_token"]})
    desk = clients().connect(server, {"conference": "tlc", "api_token": seeded["token"]})
    assert delegate.sio.connected and desk.sio.connected
    server.api("POST", "/api/v1/conferences/tlc/announcements", seeded["token"],
               {"text": "Coffee in the atrium"})
    for client in (delegate, desk):
        name, data = client.next()
        assert name == "announcement" and data["announcement"]["text"] == "Coffee in the atrium"


def test_reconnecting_page_fetches_what_it_missed(sqlite_server, clients):
    server, seeded = sqlite_server
    headers = {"X-Delegate-Token": seeded["delegate_token"]}
    auth = {"conference": "tlc", "delegate_token": seeded["delegate_token"]}
    page = clients().connect(server, auth)
    seen = server.get("/c/tlc/live/since/0", headers)["version"]
    page.close()  # the Wi-Fi drops

    path = f"/api/v1/conferences/tlc/sessions/{seeded['session_id']}"
    server.api("PATCH", path, seeded["token"], {"room_id": seeded["room_c"]})
    server.api("POST", "/api/v1/conferences/tlc/announcements", seeded["token"],
               {"text": "Carousel 1 is now in Room C"})
    assert page.received.empty()

    again = clients().connect(server, auth)  # back online: reconnect, then catch up
    missed = server.get(f"/c/tlc/live/since/{seen}", headers)
    assert missed["reload"] is False
    assert [c["event"] for c in missed["changes"]] == ["session_changed", "announcement"]
    moved = missed["changes"][0]["data"]
    assert moved["session"]["room"] == "Room C" and moved["changes"] == ["room_id"]
    assert missed["version"] > seen
    # And the reconnected page is live again.
    server.api("PATCH", path, seeded["token"], {"status": "cancelled"})
    name, data = again.next()
    assert name == "session_changed" and data["session"]["status"] == "cancelled"
    assert data["version"] == missed["version"] + 1


@pytest.mark.postgres
@pytest.mark.redis
def test_two_processes_share_events_through_redis(pg_server, redis_server, tmp_path, clients):
    url = pg_server("convenor_live_scale")
    seeded = seed(url)
    server_a = Server(url, tmp_path / "a.log", redis_server)
    server_b = Server(url, tmp_path / "b.log", redis_server)
    try:
        on_b = clients().connect(server_b, {"conference": "tlc"})
        private_b = clients().connect(server_b, {"conference": "tlc",
                                                 "delegate_token": seeded["delegate_token"]})
        on_a = clients().connect(server_a, {"conference": "tlc"})
        server_a.api("PATCH", f"/api/v1/conferences/tlc/sessions/{seeded['session_id']}",
                     seeded["token"], {"starts_at": at("11:30"), "ends_at": at("12:15")})
        for client in (on_b, private_b, on_a):
            name, data = client.next()
            assert name == "session_changed"
            assert data["session"]["starts_at"] == "2027-03-11T11:30:00+00:00"
            assert sorted(data["changes"]) == ["ends_at", "starts_at"]
        # Each event arrives once, not once per process.
        with pytest.raises(queue.Empty):
            on_b.received.get(timeout=0.5)
        # The catch-up log is shared too: B's endpoint knows what A published.
        assert server_b.get("/c/tlc/live/since/0")["changes"][-1]["event"] == "session_changed"
    finally:
        server_a.stop()
        server_b.stop()
