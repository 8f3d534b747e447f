"""Races (issue 13, items 5–7): simultaneous requests on SQLite and PostgreSQL.

Each race runs real threads, each with its own app context and database connection, released
together at a ``threading.Barrier``. Every race has a **negative control**: the same race with
its guard switched off (``CONVENOR_TEST_NO_LOCK``, honoured only when ``app.testing``) must
break the invariant at least once in a few tries, or the test could not fail and proves nothing.

Figures and how to rerun them: docs/reliability.md, "Races".
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from carousels.cafe import services as cs
from carousels.cafe.models import CafePlan, CafeSeat
from carousels.workshops import services as ws
from carousels.workshops.models import CarouselPlan, CarouselSeat
from events import signals
from events.conference import services
from events.conference.models import Delegate
from events.extensions import db, socketio
from events.live import sockets
from tests.conftest import ARTIFACTS

#: How many times a negative control may run before it must have broken the invariant.
CONTROL_TRIES = 8


def figure(app, what: str, outcome) -> None:
    """Append one observed race outcome to tests/artifacts/races.log (docs/reliability.md)."""
    database = db.engine.dialect.name
    with open(ARTIFACTS / "races.log", "a", encoding="utf-8") as log:
        log.write(f"{database}\t{what}\t{outcome}\n")


def tally(results) -> dict:
    return dict(sorted(Counter(status for status, _ in results).items()))


def race(app, requests: list) -> list:
    """Send ``requests`` (``(method, path, token, json)``) at once from one thread each.

    Returns ``(status, json)`` per request, in order. Each thread has its own test client, so
    its own app context, SQLAlchemy session and pooled connection.
    """
    barrier = threading.Barrier(len(requests), timeout=60)
    out: list = [None] * len(requests)

    def run(i: int, method: str, path: str, token: str, body: dict | None) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            r = client.open(path, method=method, json=body,
                            headers={"Authorization": f"Bearer {token}"})
            out[i] = (r.status_code, r.get_json(silent=True))
        except Exception as exc:  # noqa: BLE001 - raised through the test client: a 500
            out[i] = (500, {"error": repr(exc)})

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    return out


def unguarded(app, guard: str):
    """Switch ``guard`` off for the negative control (only honoured in testing)."""
    class Switch:
        def __enter__(self):
            app.config["CONVENOR_TEST_NO_LOCK"] = {guard}

        def __exit__(self, *exc):
            app.config.pop("CONVENOR_TEST_NO_LOCK", None)

    return Switch()


@pytest.fixture
def token(api, conference):
    # Touch the token once, so its "last used" write is not part of the race.
    assert api.get(f"/api/v1/conferences/{conference.slug}").status_code == 200
    return api.token


# --------------------------------------------------------------------------- blocks


def cafe_block(conference, make_session, make_delegate, *, seated: int, movers: int,
               capacity: int = 8, published: bool = False):
    """A one-round World Cafe: ``seated`` people at a small table, ``movers`` at a big one."""
    block = make_session(conference, "World Cafe", "13:30", "15:00", kind="world_cafe")
    cs.set_rounds(block, {"count": 1, "minutes": 30})
    small = cs.add_table(block, {"capacity": capacity})
    big = cs.add_table(block, {"capacity": 50})
    people = [make_delegate(conference) for _ in range(seated + movers)]
    plan = CafePlan(session_id=block.id, version=1, status="draft", note="Set up", stats={})
    plan.seats = [CafeSeat(round_number=1, table_id=(small if i < seated else big).id,
                           delegate_id=p.id) for i, p in enumerate(people)]
    db.session.add(plan)
    db.session.commit()
    if published:
        cs.publish(block)
    base = f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/cafe"
    moves = [("POST", f"{base}/move", None,
              {"delegate_id": p.id, "round": 1, "table_id": small.id}) for p in people[seated:]]
    return block, small.id, moves


def carousel_block(conference, make_session, make_room, make_delegate, *, seated: int,
                   movers: int, capacity: int = 8, published: bool = False):
    """A one-slot carousel: ``seated`` people in a small workshop, ``movers`` in a big one."""
    block = make_session(conference, "Carousel", "11:00", "12:00", kind="carousel")
    ws.set_slots(block, {"count": 1, "minutes": 30})
    [slot] = ws.get_slots(block)
    n = len(conference.rooms)
    small = ws.add_workshop(block, {"title": "Small", "capacity": capacity,
                                    "room_id": make_room(conference, f"Room {n}", 60).id})
    big = ws.add_workshop(block, {"title": "Big", "capacity": 50,
                                  "room_id": make_room(conference, f"Room {n + 1}", 60).id})
    people = [make_delegate(conference) for _ in range(seated + movers)]
    plan = CarouselPlan(session_id=block.id, version=1, status="draft", note="Set up", stats={})
    plan.seats = [CarouselSeat(slot_id=slot.id, workshop_id=(small if i < seated else big).id,
                               delegate_id=p.id) for i, p in enumerate(people)]
    db.session.add(plan)
    db.session.commit()
    if published:
        ws.publish(block)
    base = f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/carousel"
    moves = [("POST", f"{base}/move", None,
              {"delegate_id": p.id, "slot": 1, "workshop_id": small.id}) for p in people[seated:]]
    return block, small.id, moves


def seated_at(kind: str, block, place_id: int) -> dict[int, int]:
    """Return, per plan version of ``block``, how many people sit at table/workshop ``place_id``."""
    plan_model, seat_model, column = (
        (CafePlan, CafeSeat, CafeSeat.table_id) if kind == "cafe"
        else (CarouselPlan, CarouselSeat, CarouselSeat.workshop_id))
    rows = db.session.execute(
        select(plan_model.version, func.count(seat_model.id))
        .join(seat_model, seat_model.plan_id == plan_model.id)
        .where(plan_model.session_id == block.id, column == place_id)
        .group_by(plan_model.version)).all()
    return {version: count for version, count in rows}


def make_block(kind, conference, make_session, make_room, make_delegate, **kw):
    if kind == "cafe":
        return cafe_block(conference, make_session, make_delegate, **kw)
    return carousel_block(conference, make_session, make_room, make_delegate, **kw)


def run_moves(app, token, moves):
    return race(app, [(m, p, token, b) for m, p, _, b in moves])


# --------------------------------------------------------------------------- item 5: moves


@pytest.mark.parametrize("kind", ["cafe", "carousel"])
@pytest.mark.parametrize("movers,free", [(10, 1), (30, 3)])
def test_simultaneous_moves_fill_exactly_the_free_seats(app, conference, make_session, make_room,
                                                       make_delegate, token, kind, movers, free):
    block, place, moves = make_block(kind, conference, make_session, make_room, make_delegate,
                                     seated=8 - free, movers=movers)
    results = run_moves(app, token, moves)
    statuses = Counter(status for status, _ in results)
    figure(app, f"{kind} {movers} moves into {free} free seat(s), locked",
           f"{tally(results)} seated {seated_at(kind, block, place)[1]}/8")
    assert statuses == {200: free, 409: movers - free}, results
    assert {body["code"] for status, body in results if status == 409} == {"full"}
    assert seated_at(kind, block, place) == {1: 8}  # the draft changed in place, never over


@pytest.mark.parametrize("kind", ["cafe", "carousel"])
def test_simultaneous_first_moves_on_a_published_plan_make_one_draft(
        app, conference, make_session, make_room, make_delegate, token, kind):
    block, place, moves = make_block(kind, conference, make_session, make_room, make_delegate,
                                     seated=6, movers=10, published=True)
    results = run_moves(app, token, moves)
    statuses = Counter(status for status, _ in results)
    figure(app, f"{kind} 10 first moves into 2 free seats of a published plan, locked",
           f"{tally(results)} seated per version {seated_at(kind, block, place)}")
    assert statuses == {200: 2, 409: 8}, results
    # The first winner made version 2; everyone after it moved within that draft.
    assert {body["version"] for status, body in results if status == 200} == {2}
    assert seated_at(kind, block, place) == {1: 6, 2: 8}


@pytest.mark.parametrize("kind", ["cafe", "carousel"])
def test_negative_control_moves_without_the_lock_overbook(app, conference, make_session,
                                                          make_room, make_delegate, token, kind):
    """NEGATIVE CONTROL: with the move lock off, the race above must break at least once."""
    broken = []
    with unguarded(app, "move"):
        for _ in range(CONTROL_TRIES):
            block, place, moves = make_block(kind, conference, make_session, make_room,
                                             make_delegate, seated=7, movers=10)
            results = run_moves(app, token, moves)
            over = max(seated_at(kind, block, place).values()) > 8
            errors = sum(1 for status, _ in results if status >= 500)
            figure(app, f"{kind} 10 moves into 1 free seat, NO LOCK",
                   f"{tally(results)} seated {seated_at(kind, block, place)[1]}/8")
            if over or errors:
                broken.append((max(seated_at(kind, block, place).values()), errors))
                break
    assert broken, "the move race held without its lock: this test cannot fail"


# --------------------------------------------------------------------------- item 6: conflicts


def publish_race(app, conference, make_session, make_room, make_delegate, token, kind, n=10):
    """Publish one draft ``n`` times at once; return (block, results, signals sent)."""
    block, _, _ = make_block(kind, conference, make_session, make_room, make_delegate,
                             seated=4, movers=4)
    path = f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/{kind}/publish"
    published = []

    def receiver(sender, **kw):
        published.append(kw["version"])

    signals.allocation_published.connect(receiver)
    try:
        results = race(app, [("POST", path, token, None)] * n)
    finally:
        signals.allocation_published.disconnect(receiver)
    return block, results, published


@pytest.mark.parametrize("kind", ["cafe", "carousel"])
def test_simultaneous_publishes_one_wins_the_others_get_409(app, conference, make_session,
                                                            make_room, make_delegate, token,
                                                            kind):
    block, results, published = publish_race(app, conference, make_session, make_room,
                                             make_delegate, token, kind)
    statuses = Counter(status for status, _ in results)
    figure(app, f"{kind} 10 publishes of one draft, locked",
           f"{tally(results)} publish signals {len(published)}")
    assert statuses == {200: 1, 409: 9}, results
    assert {body["code"] for status, body in results if status == 409} == {"conflict"}
    assert len(published) == 1  # one publish, one set of notices
    fmt = cs if kind == "cafe" else ws
    assert [p.status for p in fmt.get_plans(block)] == ["published"]


@pytest.mark.parametrize("kind", ["cafe", "carousel"])
def test_negative_control_publishes_without_the_lock(app, conference, make_session, make_room,
                                                    make_delegate, token, kind):
    """NEGATIVE CONTROL: with the publish lock off, the race above must break at least once."""
    broken = []
    with unguarded(app, "publish"):
        for _ in range(CONTROL_TRIES):
            _, results, published = publish_race(app, conference, make_session, make_room,
                                                 make_delegate, token, kind)
            statuses = Counter(status for status, _ in results)
            figure(app, f"{kind} 10 publishes of one draft, NO LOCK",
                   f"{tally(results)} publish signals {len(published)}")
            if statuses != {200: 1, 409: 9} or len(published) != 1:
                broken.append(statuses)
                break
    assert broken, "the publish race held without its lock: this test cannot fail"


def create_race(app, conference, token, email: str, n: int = 30) -> list:
    path = f"/api/v1/conferences/{conference.slug}/delegates"
    return race(app, [("POST", path, token, {"name": f"Racer {i}", "email": email})
                      for i in range(n)])


def test_simultaneous_creates_of_one_email_give_one_delegate(app, conference, token):
    results = create_race(app, conference, token, "twin@example.org")
    statuses = Counter(status for status, _ in results)
    figure(app, "30 creates of one email, locked", tally(results))
    assert statuses == {201: 1, 409: 29}, results
    [winner] = [body for status, body in results if status == 201]
    refusals = [body for status, body in results if status == 409]
    assert {body["code"] for body in refusals} == {"duplicate"}
    # Each refusal names what won.
    assert all(body["details"][0]["delegate_id"] == winner["id"] for body in refusals)
    assert db.session.scalar(select(func.count(Delegate.id))
                             .where(Delegate.email == "twin@example.org")) == 1


def test_negative_control_creates_without_the_guard(app, conference, token):
    """NEGATIVE CONTROL: without the lock and the integrity catch, some creates answer 500."""
    broken = []
    with unguarded(app, "delegate"):
        for n in range(CONTROL_TRIES):
            results = create_race(app, conference, token, f"twin{n}@example.org")
            errors = sum(1 for status, _ in results if status >= 500)
            created = sum(1 for status, _ in results if status == 201)
            figure(app, "30 creates of one email, NO LOCK OR CATCH", tally(results))
            if errors or created != 1:
                broken.append((created, errors))
                break
    assert broken, "the create race held without its guard: this test cannot fail"


# --------------------------------------------------------------------------- item 7: live link


@pytest.fixture
def live_delegate(app, conference, make_delegate):
    return make_delegate(conference, name="Live Lou")


def connect(app, conference, delegate):
    client = socketio.test_client(app, namespace=sockets.NAMESPACE,
                                  auth={"conference": conference.slug,
                                        "delegate_token": delegate.token})
    assert client.is_connected(sockets.NAMESPACE)
    return client


def private_event(conference, delegate) -> None:
    """Send the delegate a private event (a round starting), as a service would."""
    signals.round_starting.send(conference, kind="cafe", session=None, number=1,
                                per_delegate={delegate.id: {"table": "Table 1"}})


def received(client) -> list:
    """Return and clear what the server sent the client, connected or not (the test client's
    ``get_received`` refuses once the server has cut it)."""
    got = [p for p in client.queue if p["namespace"] == sockets.NAMESPACE]
    client.queue = [p for p in client.queue if p not in got]
    return got


def private_events(client) -> list:
    return [e for e in received(client) if e["name"] == "round_starting"
            and "place" in e["args"][0]]


def test_private_event_reaches_a_connected_delegate(app, conference, live_delegate):
    client = connect(app, conference, live_delegate)
    private_event(conference, live_delegate)
    assert len(private_events(client)) == 1
    client.disconnect(sockets.NAMESPACE)


@pytest.mark.parametrize("how", ["service", "page", "own_page"])
def test_rotating_the_link_cuts_live_connections(app, conference, live_delegate, login, how):
    first, second = (connect(app, conference, live_delegate) for _ in range(2))
    old = live_delegate.token
    if how == "service":
        services.rotate_delegate_token(live_delegate)
    elif how == "page":
        r = login().post(f"/organiser/{conference.slug}/delegates/{live_delegate.id}/rotate-link")
        assert r.status_code == 302
    else:
        r = app.test_client().post(f"/me/{old}/new-link")
        assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Delegate, live_delegate.id).token != old
    for client in (first, second):
        assert not client.is_connected(sockets.NAMESPACE)
        assert [e["args"][0]["reason"] for e in received(client)
                if e["name"] == "link_revoked"] == ["rotated"]
    private_event(conference, live_delegate)
    assert private_events(first) == [] and private_events(second) == []
    # The old link no longer connects; the new one does.
    refused = socketio.test_client(app, namespace=sockets.NAMESPACE,
                                   auth={"conference": conference.slug, "delegate_token": old})
    assert not refused.is_connected(sockets.NAMESPACE)
    fresh = connect(app, conference, db.session.get(Delegate, live_delegate.id))
    private_event(conference, live_delegate)
    assert len(private_events(fresh)) == 1
    fresh.disconnect(sockets.NAMESPACE)


def test_cancelling_a_delegate_cuts_live_connections(app, conference, live_delegate, make_delegate):
    other = make_delegate(conference, name="Other Olu")
    mine, theirs = connect(app, conference, live_delegate), connect(app, conference, other)
    services.update_delegate(live_delegate, {"status": "cancelled"})
    assert not mine.is_connected(sockets.NAMESPACE)
    assert theirs.is_connected(sockets.NAMESPACE)  # only that delegate's sockets
    assert [e["args"][0]["reason"] for e in received(mine)
            if e["name"] == "link_revoked"] == ["cancelled"]
    private_event(conference, live_delegate)
    assert private_events(mine) == []
    theirs.disconnect(sockets.NAMESPACE)


def test_revocation_is_announced_and_the_room_closed(app, conference, live_delegate, monkeypatch):
    """Across processes (a Redis queue) the room is closed and the page told, through the queue."""
    closed, emitted = [], []
    monkeypatch.setattr(socketio, "close_room",
                        lambda room, namespace=None: closed.append((room, namespace)))
    real_emit = socketio.emit

    def spy(event, *args, **kwargs):
        emitted.append((event, kwargs.get("to")))
        return real_emit(event, *args, **kwargs)

    monkeypatch.setattr(socketio, "emit", spy)
    services.rotate_delegate_token(live_delegate)
    room = sockets.delegate_room(live_delegate.id)
    assert closed == [(room, sockets.NAMESPACE)]
    assert ("link_revoked", room) in emitted


@pytest.mark.postgres
@pytest.mark.redis
def test_revocation_reaches_sockets_held_by_another_process(pg_server, redis_server, tmp_path):
    """Two `python app.py` processes sharing PostgreSQL and a Redis queue: cancelling a delegate
    through A cuts the socket A holds, and the socket B holds hears ``link_revoked`` and, even
    if it ignores it, no private event again (B closed the room through the queue)."""
    import queue

    import socketio as socketio_client

    from tests.integration.test_live_server import TRANSPORTS, Server, seed

    url = pg_server("convenor_races_revoke")
    seeded = seed(url)
    auth = {"conference": "tlc", "delegate_token": seeded["delegate_token"]}
    server_a = Server(url, tmp_path / "a.log", redis_server)
    server_b = Server(url, tmp_path / "b.log", redis_server)
    made = []

    def client(server):
        got: queue.Queue = queue.Queue()
        sio = socketio_client.Client(reconnection=False)
        for name in ("link_revoked", "round_starting"):
            sio.on(name, lambda data, name=name: got.put((name, data)), namespace="/live")
        sio.connect(server.url, namespaces=["/live"], auth=auth, transports=TRANSPORTS,
                    wait_timeout=10)
        made.append(sio)
        return sio, got

    try:
        on_a, got_a = client(server_a)
        on_b, got_b = client(server_b)
        listed = server_a.api("GET", "/api/v1/conferences/tlc/delegates", seeded["token"])
        delegate_id = next(d["id"] for d in listed if d["email"] == "ann@example.org")
        # A private event for that delegate, emitted through the queue as any process would.
        emitter = socketio_client.RedisManager(redis_server, channel="flask-socketio",
                                               write_only=True)

        def private() -> None:
            emitter.emit("round_starting", {"conference": "tlc", "place": {"table": "Table 1"}},
                         room=sockets.delegate_room(delegate_id), namespace="/live")

        private()
        assert got_a.get(timeout=5)[0] == got_b.get(timeout=5)[0] == "round_starting"
        server_a.api("PATCH", f"/api/v1/conferences/tlc/delegates/{delegate_id}",
                     seeded["token"], {"status": "cancelled"})
        assert got_b.get(timeout=5) == ("link_revoked", {"conference": "tlc",
                                                         "reason": "cancelled"})
        deadline = time.monotonic() + 5
        while on_a.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not on_a.connected  # A's own socket: cut by the server
        private()
        with pytest.raises(queue.Empty):
            got_b.get(timeout=1.5)
        assert on_b.connected  # the ignoring client held on, but hears nothing private
    finally:
        for sio in made:
            if sio.connected:
                sio.disconnect()
        server_a.stop()
        server_b.stop()
