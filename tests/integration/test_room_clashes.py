"""A room holds one booking at a time: sessions and carousel workshops, under races too.

Issue 13, items 1 and 2. The races use real threads, each with its own app context and database
connection, released together at a barrier, on SQLite and on PostgreSQL. Each race has a
negative control: with the room lock switched off (``CONVENOR_TEST_NO_ROOM_LOCK``, honoured only
under ``TESTING``) and, on PostgreSQL, the exclusion constraint dropped, the same race books the
room more than once, so the race test can fail.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import delete, func, select, text

from carousels.workshops import services as ws
from carousels.workshops.models import CarouselWorkshop
from events.conference import services
from events.conference.models import ROOM_BOOKING_CONSTRAINT, Session
from events.errors import ConvenorError
from events.extensions import db
from tests.conftest import _make_app, _truncate_all, at

#: Attempts of the negative control before it gives up showing a double booking.
CONTROL_ATTEMPTS = 6
#: What each race and control saw, printed at the end of the session (``pytest -s``) for
#: docs/reliability.md.
FIGURES: list[str] = []



@pytest.fixture
def pg_only_app(app):
    """The app of a test that runs on PostgreSQL only (see ``ON_POSTGRESQL``)."""
    assert _is_postgres()
    return app


#: Runs the test on PostgreSQL only (no SQLite variant is collected, so nothing is skipped).
ON_POSTGRESQL = pytest.mark.parametrize(
    "app", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path):
    """The app as in conftest, with a pool as large as the biggest race: a connection each."""
    extra = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 55, "max_overflow": 5,
                                           "pool_timeout": 60}}
    if request.param == "sqlite":
        application = _make_app(f"sqlite:///{tmp_path / 'test.db'}", extra)
        with application.app_context():
            db.create_all()
            yield application
            db.session.remove()
            db.engine.dispose()
    else:
        application = _make_app(request.getfixturevalue("pg_url"), extra)
        with application.app_context():
            _truncate_all(db)
            yield application
            db.session.remove()
            _truncate_all(db)
            db.engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _print_figures():
    yield
    if FIGURES:
        print("\n" + "\n".join(FIGURES))


@pytest.fixture
def hall(conference, make_room):
    return make_room(conference, "Main Hall", 100)


@pytest.fixture
def abbey(conference, make_room):
    return make_room(conference, "Abbey Room", 40)


@pytest.fixture
def carousel(conference, abbey, make_session):
    """A carousel 11:10–12:40 (no room) with slots 11:10–11:35 and 11:40–12:05, and one
    workshop in the Abbey Room in both."""
    block = make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")
    ws.add_slot(block, {"starts_at": at("11:10"), "ends_at": at("11:35")})
    ws.add_slot(block, {"starts_at": at("11:40"), "ends_at": at("12:05")})
    workshop = ws.add_workshop(block, {"title": "AI in the classroom", "room_id": abbey.id,
                                       "capacity": 30})
    assert [s.number for s in workshop.slots] == [1, 2]
    return block, workshop


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _sessions_in(room_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Session.id)).where(
        Session.room_id == room_id, Session.status != "cancelled")) or 0


def _race(app, slug: str, token: str, room_id: int, threads: int) -> Counter:
    """Post ``threads`` bookings of one room and time at once; return the statuses seen
    (plus ``"room_clash"`` for each 409 with that code)."""
    barrier = threading.Barrier(threads, timeout=120)
    seen: Counter = Counter()
    lock = threading.Lock()

    def book(n: int) -> None:
        with app.app_context():
            client = app.test_client()
            try:
                barrier.wait()
                r = client.post(f"/api/v1/conferences/{slug}/sessions",
                                headers={"Authorization": f"Bearer {token}"},
                                json={"title": f"Talk {n}", "kind": "other",
                                      "starts_at": at("14:00"), "ends_at": at("15:00"),
                                      "room_id": room_id})
                body = r.get_json(silent=True) or {}
                with lock:
                    seen[r.status_code] += 1
                    if r.status_code == 409 and body.get("code") == "room_clash" \
                            and "Main Hall is already booked for “Talk " in body["error"]:
                        seen["room_clash"] += 1
            except Exception as exc:  # noqa: BLE001 - counted as a failure below
                with lock:
                    seen[f"error: {exc!r}"[:200]] += 1
            finally:
                db.session.remove()

    workers = [threading.Thread(target=book, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return seen


def _warm(client, conference, token):
    # The token's first use is a write (last_used_at); make it now, not inside the race.
    assert client.get(f"/api/v1/conferences/{conference.slug}",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --------------------------------------------------------------------------- item 1: races


@pytest.mark.parametrize("threads", [10, 50])
def test_simultaneous_bookings_of_one_room_give_one_session(app, client, conference, organiser,
                                                            hall, threads):
    _warm(client, conference, organiser[1])
    seen = _race(app, conference.slug, organiser[1], hall.id, threads)
    FIGURES.append(f"{db.engine.dialect.name} lock on, {threads} threads: {dict(seen)}")
    assert seen[201] == 1, seen
    assert seen[409] == threads - 1 and seen["room_clash"] == threads - 1, seen
    assert sum(n for k, n in seen.items() if k not in (201, 409, "room_clash")) == 0, seen
    assert _sessions_in(hall.id) == 1


@pytest.mark.postgres
@ON_POSTGRESQL
def test_the_exclusion_constraint_alone_refuses_the_losers_with_409(pg_only_app, client,
                                                                    conference, organiser, hall):
    """PostgreSQL's constraint stands behind the lock: without the lock, still one session, and
    the losers get a 409 naming the winner (the ExclusionViolation caught), never a 500."""
    pg_only_app.config["CONVENOR_TEST_NO_ROOM_LOCK"] = True
    _warm(client, conference, organiser[1])
    seen = _race(pg_only_app, conference.slug, organiser[1], hall.id, 10)
    FIGURES.append(f"postgresql lock off, constraint on, 10 threads: {dict(seen)}")
    assert seen[201] == 1 and seen[409] == 9 and seen["room_clash"] == 9, seen
    assert _sessions_in(hall.id) == 1




def test_negative_control_without_the_lock_the_race_double_books(app, client, conference,
                                                                  organiser, hall):
    """Switch the lock (and PostgreSQL's constraint) off: the same race must double-book."""
    app.config["CONVENOR_TEST_NO_ROOM_LOCK"] = True
    _warm(client, conference, organiser[1])
    if _is_postgres():
        db.session.execute(text(f"ALTER TABLE sessions DROP CONSTRAINT {ROOM_BOOKING_CONSTRAINT}"))
        db.session.commit()
    created, statuses = [], Counter()
    try:
        for _ in range(CONTROL_ATTEMPTS):
            statuses.update(_race(app, conference.slug, organiser[1], hall.id, 10))
            created.append(_sessions_in(hall.id))
            db.session.execute(delete(Session).where(Session.room_id == hall.id))
            db.session.commit()
            if created[-1] > 1:
                break
    finally:
        if _is_postgres():
            db.session.rollback()
            db.session.execute(delete(Session))
            db.session.execute(text(
                f"ALTER TABLE sessions ADD CONSTRAINT {ROOM_BOOKING_CONSTRAINT} EXCLUDE USING "
                "gist (room_id WITH =, tsrange(starts_at, ends_at) WITH &&) "
                "WHERE (status <> 'cancelled')"))
            db.session.commit()
    FIGURES.append(f"{db.engine.dialect.name} lock off (control), 10 threads: sessions "
                   f"created per run {created}, statuses {dict(statuses)}")
    assert max(created) > 1, f"the race never double-booked without the lock: {created}"


def test_the_switch_is_ignored_outside_tests(app, conference, hall, make_session):
    app.config.update(CONVENOR_TEST_NO_ROOM_LOCK=True, TESTING=False)
    try:
        make_session(conference, "Talk", "14:00", "15:00", room_id=hall.id)
        with pytest.raises(ConvenorError) as caught:
            make_session(conference, "Other", "14:30", "15:30", room_id=hall.id)
        assert caught.value.code == "room_clash"
        assert services._room_lock_off() is False  # the lock is taken whatever the flag says
    finally:
        app.config["TESTING"] = True


def _mixed_race(app, conference, room, workshop_ids) -> tuple[Counter, int]:
    """Half of 20 threads book a session in ``room`` at 11:15–11:30, half give one workshop
    each (slot 11:10–11:35) that room; return the outcomes and how many bookings the room got."""
    conference_id, room_id = conference.id, room.id
    barrier = threading.Barrier(20, timeout=120)
    results: Counter = Counter()
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                if n % 2:
                    mine = db.session.get(services.Conference, conference_id)
                    services.create_session(mine, {
                        "title": f"Talk {n}", "kind": "other", "starts_at": at("11:15"),
                        "ends_at": at("11:30"), "room_id": room_id})
                else:
                    workshop = db.session.get(CarouselWorkshop, workshop_ids[n // 2])
                    ws.update_workshop(workshop, {"room_id": room_id})
                outcome = "booked"
            except ConvenorError as exc:
                outcome = exc.code
            except Exception as exc:  # noqa: BLE001 - counted as a failure below
                outcome = f"error: {exc!r}"[:200]
            finally:
                db.session.remove()
            with lock:
                results[outcome] += 1

    workers = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    db.session.expire_all()
    in_room = db.session.scalar(select(func.count(CarouselWorkshop.id)).where(
        CarouselWorkshop.room_id == room_id)) or 0
    return results, in_room + _sessions_in(room_id)


@pytest.fixture
def ten_workshops(conference, make_session):
    block = make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")
    ws.add_slot(block, {"starts_at": at("11:10"), "ends_at": at("11:35")})
    return [ws.add_workshop(block, {"title": f"Workshop {n}", "capacity": 20}).id
            for n in range(10)]


def test_a_room_race_mixing_sessions_and_workshops_books_once(app, conference, abbey,
                                                              ten_workshops):
    """Sessions and workshops race for one room and time: exactly one booking wins."""
    results, booked = _mixed_race(app, conference, abbey, ten_workshops)
    FIGURES.append(f"{db.engine.dialect.name} sessions vs workshops, 20 threads: {dict(results)}")
    assert results == Counter({"booked": 1, "room_clash": 19}), results
    assert booked == 1


def test_negative_control_sessions_and_workshops_double_book_without_the_lock(
        app, conference, abbey, ten_workshops):
    """Without the lock the mixed race books the room more than once, PostgreSQL's constraint
    notwithstanding (it sees sessions only): the lock is what keeps workshops and sessions apart."""
    app.config["CONVENOR_TEST_NO_ROOM_LOCK"] = True
    booked = []
    for _ in range(CONTROL_ATTEMPTS):
        _, count = _mixed_race(app, conference, abbey, ten_workshops)
        booked.append(count)
        db.session.execute(delete(Session).where(Session.room_id == abbey.id))
        for workshop in db.session.scalars(select(CarouselWorkshop)):
            workshop.room_id = None
        db.session.commit()
        if count > 1:
            break
    FIGURES.append(f"{db.engine.dialect.name} sessions vs workshops, lock off (control), "
                   f"20 threads: bookings per run {booked}")
    assert max(booked) > 1, f"the mixed race never double-booked without the lock: {booked}"


@pytest.mark.postgres
def test_the_migration_adds_the_exclusion_constraint(pg_server):
    from flask_migrate import upgrade

    from app import create_app

    migrated = create_app({"SQLALCHEMY_DATABASE_URI": pg_server("convenor_rooms_migration"),
                           "TESTING": True})
    with migrated.app_context():
        upgrade()
        with db.engine.connect() as conn:
            found = conn.execute(text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
                {"name": ROOM_BOOKING_CONSTRAINT}).scalar()
        db.engine.dispose()
    assert found is not None
    assert "EXCLUDE USING gist (room_id WITH =, tsrange(starts_at, ends_at) WITH &&)" in found
    assert "cancelled" in found


# --------------------------------------------------------------------------- rules, one at a time


def test_cancelled_sessions_do_not_block_and_touching_ones_do_not_clash(conference, hall,
                                                                        make_session):
    first = make_session(conference, "Talk", "14:00", "15:00", room_id=hall.id)
    with pytest.raises(ConvenorError) as caught:
        make_session(conference, "Other", "14:30", "15:30", room_id=hall.id)
    assert caught.value.code == "room_clash" and "“Talk” (14:00–15:00)" in caught.value.message
    make_session(conference, "Next", "15:00", "16:00", room_id=hall.id)  # touching is fine
    services.cancel_session(first)
    make_session(conference, "Other", "14:30", "15:00", room_id=hall.id)
    # Restoring the cancelled one now clashes with its replacement.
    with pytest.raises(ConvenorError) as caught:
        services.update_session(first, {"status": "scheduled"})
    assert caught.value.code == "room_clash" and "“Other”" in caught.value.message


def test_a_session_is_refused_where_a_workshop_runs(conference, abbey, carousel, make_session):
    with pytest.raises(ConvenorError) as caught:
        make_session(conference, "Surgery", "11:15", "11:30", room_id=abbey.id)
    error = caught.value
    assert error.code == "room_clash"
    assert error.message == ("Abbey Room is already booked for “AI in the classroom, "
                             "Carousel 1” (11:10–11:35)")
    assert error.details[0]["field"] == "room_id"
    # Between the slots (11:35–11:40) the room is free; touching the slots is fine.
    make_session(conference, "Quick chat", "11:35", "11:40", room_id=abbey.id)


def test_moving_a_session_into_a_workshops_room_is_refused(conference, abbey, hall, carousel,
                                                          make_session):
    talk = make_session(conference, "Surgery", "11:15", "11:30", room_id=hall.id)
    with pytest.raises(ConvenorError) as caught:
        services.update_session(talk, {"room_id": abbey.id})
    assert caught.value.code == "room_clash" and "AI in the classroom" in caught.value.message
    db.session.expire_all()
    assert talk.room_id == hall.id
    later = make_session(conference, "Lunch talk", "13:00", "13:30", room_id=abbey.id)
    with pytest.raises(ConvenorError) as caught:
        services.update_session(later, {"starts_at": at("11:50"), "ends_at": at("12:20")})
    assert "Carousel 2” (11:40–12:05)" in caught.value.message


def test_the_api_refuses_a_session_in_a_workshops_room_with_409(api, conference, abbey, hall,
                                                                carousel):
    r = api.post(f"/api/v1/conferences/{conference.slug}/sessions", json={
        "title": "Surgery", "kind": "other", "starts_at": at("11:15"), "ends_at": at("11:30"),
        "room_id": abbey.id})
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["code"] == "room_clash"
    assert "AI in the classroom, Carousel 1" in r.get_json()["error"]
    made = api.post(f"/api/v1/conferences/{conference.slug}/sessions", json={
        "title": "Surgery", "kind": "other", "starts_at": at("11:15"), "ends_at": at("11:30"),
        "room_id": hall.id}).get_json()
    r = api.patch(f"/api/v1/conferences/{conference.slug}/sessions/{made['id']}",
                  json={"room_id": abbey.id})
    assert r.status_code == 409 and r.get_json()["code"] == "room_clash", r.get_json()


def test_a_workshop_is_refused_a_room_booked_by_a_session(api, conference, abbey, hall,
                                                          make_session):
    make_session(conference, "Surgery", "11:15", "11:30", room_id=abbey.id)
    block = make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")
    ws.add_slot(block, {"starts_at": at("11:10"), "ends_at": at("11:35")})
    ws.add_slot(block, {"starts_at": at("11:40"), "ends_at": at("12:05")})
    with pytest.raises(ConvenorError) as caught:
        ws.add_workshop(block, {"title": "AI in the classroom", "room_id": abbey.id,
                                "capacity": 30})
    assert caught.value.code == "room_clash"
    assert caught.value.message == ("AI in the classroom: Carousel 1 — Abbey Room is already "
                                    "booked for “Surgery” (11:15–11:30)")
    # Through the API: 409 naming the session.
    base = f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/carousel"
    r = api.post(f"{base}/workshops", json={"title": "AI in the classroom",
                                            "room_id": abbey.id, "capacity": 30})
    assert r.status_code == 409 and r.get_json()["code"] == "room_clash", r.get_json()
    assert "“Surgery”" in r.get_json()["error"]
    assert ws.get_workshops(block) == []
    # In slot 2 only it fits; ticking slot 1 as well, or moving into the room, is refused.
    workshop = ws.add_workshop(block, {"title": "AI in the classroom", "room_id": abbey.id,
                                       "capacity": 30, "slot_numbers": [2]})
    with pytest.raises(ConvenorError) as caught:
        ws.update_workshop(workshop, {"slot_numbers": [1, 2]})
    assert caught.value.code == "room_clash"
    db.session.expire_all()
    assert [s.number for s in workshop.slots] == [2]
    other = ws.add_workshop(block, {"title": "Attendance", "room_id": hall.id, "capacity": 30})
    with pytest.raises(ConvenorError) as caught:
        ws.update_workshop(other, {"room_id": abbey.id})
    assert caught.value.code == "room_clash"
    db.session.expire_all()
    assert other.room_id == hall.id


def test_two_workshops_cannot_share_a_room_in_one_slot(conference, abbey, carousel):
    block, first = carousel
    with pytest.raises(ConvenorError) as caught:
        ws.add_workshop(block, {"title": "Trusts", "room_id": abbey.id, "capacity": 20})
    assert caught.value.code == "room_clash"
    assert "“AI in the classroom, Carousel 1”" in caught.value.message
    # Running in alternate slots, they share the room.
    ws.update_workshop(first, {"slot_numbers": [1]})
    ws.add_workshop(block, {"title": "Trusts", "room_id": abbey.id, "capacity": 20,
                            "slot_numbers": [2]})
    # A slot added later runs every workshop: both would be in the Abbey Room at once.
    with pytest.raises(ConvenorError) as caught:
        ws.add_slot(block, {"starts_at": at("12:10"), "ends_at": at("12:35")})
    assert caught.value.code == "room_clash"
    assert len(ws.get_slots(block)) == 2


def test_new_slot_times_are_refused_where_a_session_holds_the_room(conference, abbey, carousel,
                                                                  make_session):
    block, _ = carousel
    make_session(conference, "Surgery", "12:15", "12:30", room_id=abbey.id)
    with pytest.raises(ConvenorError) as caught:
        ws.set_slots(block, {"count": 3, "minutes": 25, "gap": 5})
    assert caught.value.code == "room_clash" and "“Surgery”" in caught.value.message
    db.session.expire_all()
    assert [(s.number, s.starts_at.minute) for s in ws.get_slots(block)] == [(1, 10), (2, 40)]


def test_a_block_never_clashes_with_its_own_workshops(conference, abbey, make_session):
    block = make_session(conference, "Carousels", "11:10", "12:40", kind="carousel",
                         room_id=abbey.id)
    ws.add_slot(block, {"starts_at": at("11:10"), "ends_at": at("11:35")})
    workshop = ws.add_workshop(block, {"title": "In the block's room", "room_id": abbey.id,
                                       "capacity": 30})
    services.update_session(block, {"title": "Carousels: AI", "ends_at": at("12:45")})
    ws.update_workshop(workshop, {"capacity": 25, "room_id": abbey.id})
    # Another session in the room still clashes with both.
    with pytest.raises(ConvenorError):
        make_session(conference, "Surgery", "11:15", "11:30", room_id=abbey.id)


def test_cancelled_bookings_free_the_room_both_ways(conference, abbey, carousel, make_session):
    block, workshop = carousel
    services.cancel_session(block)  # a cancelled carousel's workshops hold nothing
    surgery = make_session(conference, "Surgery", "11:15", "11:30", room_id=abbey.id)
    with pytest.raises(ConvenorError):
        ws.add_workshop(block, {"title": "Trusts", "room_id": abbey.id, "capacity": 20})
    # Restoring the carousel takes its workshops' rooms back: refused while Surgery holds one.
    with pytest.raises(ConvenorError) as caught:
        services.update_session(block, {"status": "scheduled"})
    assert caught.value.code == "room_clash"
    assert caught.value.message == ("AI in the classroom, Carousel 1: Abbey Room is already "
                                    "booked for “Surgery” (11:15–11:30)")
    db.session.expire_all()
    assert block.status == "cancelled"
    services.cancel_session(surgery)  # a cancelled session holds nothing either
    services.update_session(block, {"status": "scheduled"})
    # And now the workshop holds the room: Surgery cannot come back.
    with pytest.raises(ConvenorError) as caught:
        services.update_session(surgery, {"status": "scheduled"})
    assert "AI in the classroom, Carousel 1" in caught.value.message


def test_the_organiser_form_shows_the_clash_on_the_room_field(client, login, conference, abbey,
                                                             hall, carousel, make_session):
    block, _ = carousel
    other = ws.add_workshop(block, {"title": "Attendance", "room_id": hall.id, "capacity": 20})
    login()
    r = client.post(f"/organiser/{conference.slug}/carousels/{block.id}/workshops/{other.id}",
                    data={"title": "Attendance", "led_by": "peer", "room_id": abbey.id,
                          "capacity": 20, "slot_numbers": [1, 2]})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Abbey Room is already booked for" in page and "AI in the classroom" in page


def test_a_programme_import_is_refused_where_a_workshop_runs(conference, abbey, carousel):
    import json

    from events.exchange import services as exchange

    doc = {"sessions": [{"id": "1", "title": "Surgery", "description": "",
                         "startsAt": "2027-03-11T11:15:00", "endsAt": "2027-03-11T11:30:00",
                         "isServiceSession": False, "isPlenumSession": False, "speakers": [],
                         "categoryItems": [], "questionAnswers": [], "roomId": 1,
                         "status": "Accepted"}],
           "speakers": [], "questions": [], "categories": [],
           "rooms": [{"id": 1, "name": "Abbey Room", "sort": 1}]}
    with pytest.raises(ConvenorError) as caught:
        exchange.import_programme(conference, json.dumps(doc), "sessionize")
    assert caught.value.code == "invalid_file"
    assert [d.get("code") for d in caught.value.details] == ["room_clash"]
    assert "AI in the classroom, Carousel 1" in caught.value.details[0]["message"]
    assert _sessions_in(abbey.id) == 0
