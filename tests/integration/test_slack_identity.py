"""Services the Slack bot calls: who a Slack user is, link codes, self-registration, the day."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from events import hooks, signals
from events.conference import services
from events.conference.models import Delegate, SlackLinkCode
from events.errors import ConvenorError
from events.extensions import db
from tests.conftest import at


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ConvenorError) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value.code


# --------------------------------------------------------------------------- linking


def test_link_by_slack_email_is_idempotent_and_refuses_conflicts(conference, make_delegate):
    ada = make_delegate(conference, name="Ada", email="ada@example.org")
    bob = make_delegate(conference, name="Bob", email="bob@example.org")
    assert services.delegate_for_slack_user(conference, "U0USER01") is None

    assert services.link_slack_user(conference, "U0USER01", "ADA@Example.org ").id == ada.id
    assert services.link_slack_user(conference, "U0USER01", "ada@example.org").id == ada.id
    assert services.delegate_for_slack_user(conference, "U0USER01").id == ada.id

    assert _code(services.link_slack_user, conference, "U0USER02", "ada@example.org") == "conflict"
    assert _code(services.link_slack_user, conference, "U0USER01", "bob@example.org") == "conflict"
    assert _code(services.link_slack_user, conference, "U0USER03", "nobody@example.org") == "not_found"
    services.update_delegate(bob, {"status": "cancelled"})
    assert _code(services.link_slack_user, conference, "U0USER03", "bob@example.org") == "canceled"
    assert db.session.get(Delegate, bob.id).slack_user_id is None


def test_link_code_links_once_then_is_invalid(conference, make_delegate):
    ada = make_delegate(conference, email="ada@example.org")
    code = services.issue_slack_link_code(ada)
    assert len(code) == 9 and code[4] == "-"
    stored = db.session.scalar(select(SlackLinkCode).where(SlackLinkCode.delegate_id == ada.id))
    assert stored.digest != code and code not in stored.digest

    assert services.redeem_slack_link_code(conference, code.lower(), "U0USER09").id == ada.id
    assert services.delegate_for_slack_user(conference, "U0USER09").id == ada.id
    assert _code(services.redeem_slack_link_code, conference, code, "U0USER08") == "invalid_code"


def test_link_code_expires_and_a_new_code_replaces_the_old(conference, make_delegate):
    ada = make_delegate(conference)
    start = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    old = services.issue_slack_link_code(ada, now=start)
    new = services.issue_slack_link_code(ada, now=start)
    assert _code(services.redeem_slack_link_code, conference, old, "U0USER01", now=start) == "invalid_code"
    late = start + timedelta(minutes=16)
    assert _code(services.redeem_slack_link_code, conference, new, "U0USER01", now=late) == "invalid_code"
    assert services.delegate_for_slack_user(conference, "U0USER01") is None


def test_five_wrong_codes_lock_the_slack_user_out(conference, make_delegate):
    ada = make_delegate(conference)
    good = services.issue_slack_link_code(ada)
    for _ in range(5):
        assert _code(services.redeem_slack_link_code, conference, "AAAA-AAAA", "U0USER07") == "invalid_code"
    assert _code(services.redeem_slack_link_code, conference, good, "U0USER07") == "too_many_attempts"
    assert services.delegate_for_slack_user(conference, "U0USER07") is None
    # Another Slack user is not locked out by U7's mistakes.
    assert services.redeem_slack_link_code(conference, good, "U0USER06").id == ada.id


def test_link_code_of_another_conference_is_invalid(conference, make_conference, make_delegate):
    other = make_conference(slug="other")
    code = services.issue_slack_link_code(make_delegate(other))
    assert _code(services.redeem_slack_link_code, conference, code, "U0USER01") == "invalid_code"


def test_one_slack_account_is_one_delegate_per_conference(conference, make_delegate):
    make_delegate(conference, slack_user_id="U123ABC")
    with pytest.raises(ConvenorError):
        make_delegate(conference, slack_user_id="U123ABC")
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(Delegate.id))
                             .where(Delegate.slack_user_id == "U123ABC")) == 1


# --------------------------------------------------------------------------- self-registration


def test_self_register_needs_open_registration(conference):
    data = {"name": "Cara", "organisation": "Elm Trust"}
    assert _code(services.self_register, conference, data, slack_user_id="U0USER01",
                 email="cara@example.org") == "registration_closed"
    services.update_conference(conference, {"registration_open": True, "published": False})
    assert _code(services.self_register, conference, data, slack_user_id="U0USER01",
                 email="cara@example.org") == "registration_closed"
    assert conference.delegates.count() == 0


def test_self_register_creates_once_and_links_an_existing_registration(conference, make_delegate):
    services.update_conference(conference, {"registration_open": True})
    sent = []

    def receiver(sender, **kwargs):
        sent.append(kwargs)

    signals.delegates_changed.connect(receiver)
    try:
        delegate, created = services.self_register(
            conference, {"name": "Cara", "organisation": "Elm Trust", "email": "typed@evil.org",
                         "access_needs": {"step_free": True}},
            slack_user_id="U0USER01", email="Cara@Example.org")
        assert created and delegate.email == "cara@example.org" and delegate.needs_step_free
        assert delegate.slack_user_id == "U0USER01"
        again, created_again = services.self_register(conference, {"name": "Cara"},
                                                      slack_user_id="U0USER01", email="cara@example.org")
        assert again.id == delegate.id and not created_again
        assert sent == [{"count": 1}]
    finally:
        signals.delegates_changed.disconnect(receiver)

    existing = make_delegate(conference, email="dan@example.org")
    linked, created = services.self_register(conference, {"name": "Dan"}, slack_user_id="U0USER02",
                                             email="dan@example.org")
    assert linked.id == existing.id and not created and linked.slack_user_id == "U0USER02"
    assert _code(services.self_register, conference, {"name": ""}, slack_user_id="U0USER03",
                 email="eve@example.org") == "invalid"


def test_twenty_simultaneous_signups_give_one_delegate(app, conference):
    services.update_conference(conference, {"registration_open": True})
    results, errors = [], []
    barrier = threading.Barrier(20, timeout=60)
    conference_id = conference.id  # read here: the test's session must not cross threads

    def sign_up():
        with app.app_context():
            from events.conference.models import Conference

            barrier.wait()  # before taking a connection: the pool holds fewer than 20
            try:
                mine = db.session.get(Conference, conference_id)
                delegate, created = services.self_register(
                    mine, {"name": "Fay"}, slack_user_id="U0USER05", email="fay@example.org")
                results.append((delegate.id, created))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sign_up) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(1 for _, created in results if created) == 1
    assert len({delegate_id for delegate_id, _ in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count(Delegate.id))
                             .where(Delegate.email == "fay@example.org")) == 1


# --------------------------------------------------------------------------- the delegate's day


@pytest.fixture
def day(conference, make_room, make_session, make_delegate):
    hall = make_room(conference, "Main Hall")
    atrium = make_room(conference, "Atrium")
    speaker = services.create_speaker(conference, {"name": "Ade Adepitan", "honours": "MBE"})
    sessions = {
        "keynote": make_session(conference, "Overcoming obstacles", "09:30", "10:15",
                                room_id=hall.id, speaker_ids=[speaker.id]),
        "coffee": make_session(conference, "Coffee", "10:15", "10:45", kind="break",
                               room_id=atrium.id),
        "carousel": make_session(conference, "Carousel", "11:00", "12:00", kind="carousel"),
        "lunch": make_session(conference, "Lunch", "12:30", "13:30", kind="break",
                              room_id=atrium.id),
        "plenary": make_session(conference, "Café plenary", "14:00", "15:00", kind="plenary",
                                room_id=hall.id),
    }
    return sessions, make_delegate(conference, name="Ada")


def _utc(hhmm: str) -> datetime:
    return datetime.fromisoformat(at(hhmm) + ":00+00:00")  # London is on GMT on 11 March


def test_agenda_lists_the_programme_with_offsets_and_keeps_cancelled(day):
    sessions, ada = day
    services.cancel_session(sessions["plenary"])
    agenda = services.delegate_agenda(ada)
    assert [e["title"] for e in agenda] == ["Overcoming obstacles", "Coffee", "Carousel", "Lunch",
                                            "Café plenary"]
    keynote = agenda[0]
    assert keynote["starts_at"] == "2027-03-11T09:30:00+00:00" and keynote["room"] == "Main Hall"
    assert keynote["speakers"] == ["Ade Adepitan MBE"] and keynote["kind"] == "keynote"
    assert agenda[2]["allocation"] == "not_published"
    assert agenda[-1]["status"] == "cancelled"
    assert services.delegate_agenda(ada, day=datetime(2027, 3, 12).date()) == []


def test_agenda_providers_replace_their_block(day, monkeypatch):
    sessions, ada = day
    carousel = sessions["carousel"]

    def seats(delegate):
        return [{"kind": "carousel", "session_id": carousel.id, "replaces_session_id": carousel.id,
                 "title": "Carousel", "slot": n, "workshop": f"Workshop {n}",
                 "starts_at": f"2027-03-11T{h}:00+00:00", "ends_at": f"2027-03-11T{h}:25+00:00",
                 "room": "Room B", "speakers": [], "status": "scheduled"}
                for n, h in ((2, "11:30"), (1, "11:00"))]

    monkeypatch.setattr(hooks, "AGENDA_ENTRIES", [seats])
    agenda = services.delegate_agenda(ada)
    carousel_entries = [e for e in agenda if e["kind"] == "carousel"]
    assert [e["workshop"] for e in carousel_entries] == ["Workshop 1", "Workshop 2"]
    assert all("allocation" not in e for e in carousel_entries)


def test_next_is_the_entry_in_progress_then_the_next_then_none(day):
    sessions, ada = day
    first = services.next_for_delegate(ada, now=_utc("09:00"))
    assert first["title"] == "Overcoming obstacles" and first["starts_in_min"] == 30
    assert not first["in_progress"]
    during = services.next_for_delegate(ada, now=_utc("09:40"))
    assert during["title"] == "Overcoming obstacles" and during["in_progress"]
    assert services.next_for_delegate(ada, now=_utc("09:40"), kind="break")["title"] == "Coffee"
    assert services.next_for_delegate(ada, now=_utc("16:00")) is None
    services.cancel_session(sessions["plenary"])
    assert services.next_for_delegate(ada, now=_utc("13:45")) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("adepitan", "Overcoming obstacles"),
    ("When is Ade Adepitan's keynote?", "Overcoming obstacles"),
    ("ADEPITAN", "Overcoming obstacles"),
    ("lunch", "Lunch"),
    ("where is coffee", "Coffee"),
    ("cafe plenary", "Café plenary"),
])
def test_search_programme_ignores_case_accents_and_filler(day, conference, text, expected):
    found = services.search_programme(conference, text)
    assert found and found[0].title == expected


def test_search_programme_filters_by_kind_and_finds_nothing_for_noise(day, conference):
    assert [s.title for s in services.search_programme(conference, "coffee lunch", kind="break")] \
        == ["Coffee", "Lunch"]
    assert services.search_programme(conference, "when is the") == []
    assert services.search_programme(conference, "zebra") == []


def test_delegate_csv_reports_a_repeated_or_taken_slack_id(conference, make_delegate):
    from events.conference import importers

    make_delegate(conference, slack_user_id="U0TAKEN1")
    csv_text = ("name,email,organisation,role,slack_user_id\n"
                "Ann,ann@example.org,Oak Trust,CEO,U0NEW0001\n"
                "Ben,ben@example.org,Oak Trust,CEO,U0NEW0001\n"
                "Cat,cat@example.org,Oak Trust,CEO,U0TAKEN1\n")
    preview = importers.preview_delegates(conference, csv_text)
    messages = [(e["line"], e["message"]) for e in preview.errors]
    assert (3, "Slack id U0NEW0001 also appears on line 2") in messages
    assert (4, "Slack id U0TAKEN1 is linked to another delegate") in messages


# --------------------------------------------------------------------------- capacity and waitlist


def test_full_conference_waitlists_and_a_cancellation_promotes_the_first(conference):
    services.update_conference(conference, {"registration_open": True, "registration_capacity": 2})
    people = [services.self_register(conference, {"name": f"P{n}"}, slack_user_id=None,
                                     email=f"p{n}@example.org")[0] for n in range(4)]
    assert [p.status for p in people] == ["active", "active", "waitlisted", "waitlisted"]
    assert [services.waitlist_position(p) for p in people] == [None, None, 1, 2]
    promoted = []

    def receiver(sender, delegate=None, **_):
        promoted.append(delegate.email)

    signals.delegate_promoted.connect(receiver)
    try:
        services.update_delegate(people[0], {"status": "cancelled"})
    finally:
        signals.delegate_promoted.disconnect(receiver)
    db.session.expire_all()
    assert [db.session.get(Delegate, p.id).status for p in people] == [
        "cancelled", "active", "active", "waitlisted"]
    assert promoted == ["p2@example.org"]
    assert services.waitlist_position(db.session.get(Delegate, people[3].id)) == 1


def test_cancel_registration_promotes_the_first_waiting_once(conference):
    services.update_conference(conference, {"registration_open": True, "registration_capacity": 2})
    people = [services.self_register(conference, {"name": f"P{n}"}, slack_user_id=None,
                                     email=f"p{n}@example.org")[0] for n in range(5)]
    promoted = []

    def receiver(sender, delegate=None, **_):
        promoted.append(delegate.email)

    signals.delegate_promoted.connect(receiver)
    try:
        delegate, cancelled = services.cancel_registration(people[0])
        assert cancelled and delegate.status == "cancelled"
        # A second press, a retry: nothing changes, nobody else is promoted.
        assert services.cancel_registration(people[0])[1] is False
        # A waitlisted person who withdraws just leaves the waitlist.
        assert services.cancel_registration(people[4])[1] is True
    finally:
        signals.delegate_promoted.disconnect(receiver)
    db.session.expire_all()
    assert [db.session.get(Delegate, p.id).status for p in people] == [
        "cancelled", "active", "active", "waitlisted", "cancelled"]
    assert promoted == ["p2@example.org"]
    assert services.waitlist_position(db.session.get(Delegate, people[3].id)) == 1


def test_simultaneous_cancellations_of_one_registration_promote_one(app, conference):
    services.update_conference(conference, {"registration_open": True, "registration_capacity": 1})
    people = [services.self_register(conference, {"name": f"P{n}"}, slack_user_id=None,
                                     email=f"p{n}@example.org")[0] for n in range(4)]
    leaver_id = people[0].id
    barrier = threading.Barrier(6, timeout=30)
    results, errors = [], []

    def press():
        with app.app_context():
            try:
                barrier.wait()
                results.append(services.cancel_registration(db.session.get(Delegate, leaver_id))[1])
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(results) == [False] * 5 + [True]
    db.session.expire_all()
    assert [db.session.get(Delegate, p.id).status for p in people] == [
        "cancelled", "active", "waitlisted", "waitlisted"]


def test_organiser_moves_someone_to_the_waitlist_by_hand(api, conference, make_delegate):
    services.update_conference(conference, {"registration_capacity": 1})
    ada = make_delegate(conference, name="Ada")
    ben = make_delegate(conference, name="Ben", status="waitlisted")
    moved = api.patch(f"/api/v1/conferences/tlc/delegates/{ada.id}", json={"status": "waitlisted"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "waitlisted"
    db.session.expire_all()
    assert db.session.get(Delegate, ben.id).status == "active"
    assert api.get("/api/v1/conferences/tlc").get_json()["registration_capacity"] == 1


def test_two_hundred_signups_for_twenty_five_places(app, conference):
    services.update_conference(conference, {"registration_open": True, "registration_capacity": 25})
    conference_id = conference.id
    barrier = threading.Barrier(40, timeout=60)
    errors = []
    emails = iter(f"racer{n:03d}@example.org" for n in range(200))
    lock = threading.Lock()

    def worker():
        with app.app_context():
            from events.conference.models import Conference

            barrier.wait()
            while True:
                with lock:
                    email = next(emails, None)
                if email is None:
                    break
                try:
                    services.self_register(db.session.get(Conference, conference_id),
                                           {"name": email}, slack_user_id=None, email=email)
                except Exception as exc:  # noqa: BLE001 - asserted below
                    errors.append(exc)
                    db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    statuses = [d.status for d in db.session.scalars(
        select(Delegate).where(Delegate.conference_id == conference_id).order_by(Delegate.id))]
    assert statuses.count("active") == 25 and statuses.count("waitlisted") == 175
    # Places go in order of arrival: nobody registered after someone who was waitlisted.
    assert statuses == ["active"] * 25 + ["waitlisted"] * 175
