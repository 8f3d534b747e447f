"""Hostile input (issue 13, items 3, 4 and parts of 9): every probe that once gave a 5xx, a
forged check-in or a formula in a spreadsheet, on SQLite and PostgreSQL.

Each refusal is a 4xx whose JSON names the field, and leaves the database as it was.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets

import pytest
from sqlalchemy import func, select

HUGE = "999999999999999999999999999999"
CHECKINS = "/api/v1/conferences/tlc/checkins"


# --------------------------------------------------------------------------- helpers


def snapshot() -> dict[str, int]:
    """Return the row count of every table except the scan log (refusals are logged there)."""
    from events.extensions import db

    return {t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables if t.name != "scan_log"}


def fields_of(response) -> set[str]:
    return {d.get("field") for d in (response.get_json() or {}).get("details", [])}


def refused(response, status: int, field: str | None = None) -> dict:
    """Assert a JSON 4xx answer with ``error`` and ``details`` naming ``field``."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert isinstance(body, dict) and body.get("error") and isinstance(body.get("details"), list), body
    if field is not None:
        assert field in fields_of(response), body
    return body


def raw_post(api, url, text: str, method="POST"):
    return api._call(method, url, data=text, content_type="application/json")


@pytest.fixture
def ann(conference, make_delegate):
    return make_delegate(conference, name="Ann Okafor")


@pytest.fixture
def bob(conference, make_delegate):
    return make_delegate(conference, name="Bob Mensah")


def secret_of(delegate) -> str:
    from events.checkin import services as checkin

    return checkin.secret_for(delegate).secret


def entries() -> int:
    from events.checkin.models import Checkin
    from events.extensions import db

    return db.session.scalar(select(func.count()).select_from(Checkin))


# --------------------------------------------------------------------------- item 3: nonces


def test_a_reused_nonce_with_another_badge_is_409_not_a_replay(api, ann, bob):
    first = api.post(CHECKINS, json={"secret": secret_of(ann), "nonce": "scan-1"})
    assert first.status_code == 201
    secret_of(bob)
    before = snapshot()
    for other in ({"secret": "garbage-" + "x" * 20, "nonce": "scan-1"},
                  {"secret": secret_of(bob), "nonce": "scan-1"},
                  {"delegate_id": bob.id, "nonce": "scan-1"},
                  {"secret": secret_of(ann), "nonce": "scan-1", "list": "elsewhere"}):
        response = api.post(CHECKINS, json=other)
        assert response.status_code == 409, response.get_json()
        body = response.get_json()
        assert body["reason"] == "nonce_reused" and "nonce" in fields_of(response)
        assert "Checked in" not in json.dumps(body)
    assert snapshot() == before
    # The very same request again is a retry: the first answer, nothing new written.
    again = api.post(CHECKINS, json={"secret": secret_of(ann), "nonce": "scan-1"})
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert snapshot() == before


def test_nonces_are_scoped_to_the_device_and_the_caller(api, conference, ann, bob,
                                                        make_organiser):
    from events.extensions import db

    staff, token = make_organiser("door@example.org", role="door_staff")
    conference.organisers.append(staff)
    db.session.commit()
    assert api.post(CHECKINS, json={"secret": secret_of(ann), "nonce": "1",
                                    "device": "Phone A"}).status_code == 201
    # Another device, or another caller, counting from 1 too: its own scan, not a replay.
    other_device = api.post(CHECKINS, json={"secret": secret_of(bob), "nonce": "1",
                                            "device": "Phone B"})
    assert other_device.status_code == 201
    assert other_device.get_json()["delegate"]["name"] == "Bob Mensah"
    other_caller = api.post(CHECKINS, token=token, json={"secret": secret_of(bob), "nonce": "1",
                                                         "device": "Phone A", "list": "door"})
    assert other_caller.status_code == 200  # Bob is already in: a real answer, not Ann's
    assert other_caller.get_json()["delegate"]["name"] == "Bob Mensah"
    assert entries() == 2


def test_a_thousand_tampered_and_a_thousand_unknown_codes_are_all_refused(app, conference, ann,
                                                                          organiser, monkeypatch):
    """2,000 forged codes through the redeem service and its answer: 0 accepted, 0 errors.

    Each refusal's scan-log row is flushed rather than committed (one commit at the end), so
    the 2,000 scans take seconds: the subject is the decision, not the disk.
    """
    from events.checkin import api as checkin_api
    from events.checkin.models import ScanLog
    from events.extensions import db

    real = secret_of(ann)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    rng = secrets.SystemRandom()
    tampered = []
    for _ in range(1000):
        i = rng.randrange(len(real))
        swap = rng.choice([c for c in alphabet if c != real[i]])
        tampered.append(real[:i] + swap + real[i + 1:])
    unknown = [secrets.token_urlsafe(24) for _ in range(1000)]
    statuses: dict[int, int] = {}
    with app.test_request_context(), monkeypatch.context() as patch:
        patch.setattr(db.session, "commit", db.session.flush)
        for code in tampered + unknown:
            status, body = checkin_api.redeem(conference, organiser[0], {"secret": code})
            statuses[status] = statuses.get(status, 0) + 1
            assert body["status"] == "error" and body["reason"] == "invalid"
    db.session.commit()
    assert statuses == {404: 2000}
    assert entries() == 0
    assert db.session.scalar(select(func.count()).select_from(ScanLog)) == 2000


# --------------------------------------------------------------------------- item 4: integers


@pytest.mark.parametrize("path", [
    f"/c/tlc/sessions/{HUGE}", f"/c/tlc/sessions/{HUGE}.ics", f"/c/tlc/live/since/{HUGE}",
    f"/c/tlc/sessions/{2**63}", f"/c/tlc/live/since/{2**31}",
])
def test_huge_integers_in_public_paths_are_404(client, conference, path):
    before = snapshot()
    assert client.get(path).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("path", [
    f"/api/v1/conferences/tlc/sessions/{HUGE}", f"/api/v1/conferences/tlc/sessions/{2**63}/carousel",
    f"/api/v1/conferences/tlc/delegates/{HUGE}", f"/api/v1/conferences/tlc/delegates/{2**40}/badge",
])
def test_huge_integers_in_api_paths_are_json_404(api, conference, path):
    response = api.get(path)
    refused(response, 404)


@pytest.mark.parametrize("value", [2**63, 2**31, -(2**63) - 1, 10**30])
def test_huge_integers_in_bodies_name_the_field(api, conference, make_room, make_session, value):
    make_room(conference)
    before = snapshot()
    refused(api.post("/api/v1/conferences/tlc/rooms", json={"name": "Big", "capacity": value}),
            400, "capacity")
    refused(api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "T", "starts_at": "2027-03-11T09:00", "ends_at": "2027-03-11T10:00",
        "room_id": value}), 400, "room_id")
    refused(api.post(CHECKINS, json={"delegate_id": value}), 400, "delegate_id")
    refused(api.post("/api/v1/conferences/tlc/checkin-lists",
                     json={"kind": "session", "session_id": value}), 400, "session_id")
    # Within the database's range but beyond any room: the service's own limit, 422.
    refused(api.post("/api/v1/conferences/tlc/rooms", json={"name": "Big", "capacity": 2**31 - 1}),
            422, "capacity")
    refused(api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "T", "starts_at": "2027-03-11T09:00", "ends_at": "2027-03-11T10:00",
        "room_id": 2**31 - 1}), 422, "room_id")
    assert snapshot() == before


def test_fractional_and_non_finite_numbers_are_refused(api, conference):
    before = snapshot()
    refused(api.post("/api/v1/conferences/tlc/rooms", json={"name": "Hall", "capacity": 3.7}),
            422, "capacity")
    for constant in ("Infinity", "-Infinity", "NaN", "1e400"):
        response = raw_post(api, "/api/v1/conferences/tlc/rooms",
                            '{"name": "Hall", "capacity": ' + constant + '}')
        refused(response, 400, "capacity")
    assert snapshot() == before


def test_conference_years_are_bounded(api, conference, organiser, login, client):
    before = snapshot()
    for day in ("9999-12-30", "1900-01-01"):
        refused(api.post("/api/v1/conferences", json={
            "slug": "far", "name": "Far", "starts_on": day, "ends_on": day,
            "timezone": "Europe/London"}), 422, "starts_on")
    refused(api.patch("/api/v1/conferences/tlc", json={"ends_on": "9999-12-31"}), 422, "ends_on")
    assert snapshot() == before
    assert client.get("/c/tlc/programme.ics").status_code == 200


# --------------------------------------------------------------------------- item 4: bodies


def test_deep_nesting_without_a_token_is_401_and_with_one_400(api, client, conference):
    deep = "[" * 100_000
    before = snapshot()
    response = client.post(CHECKINS, data=deep, content_type="application/json")
    assert response.status_code == 401, response.get_data(as_text=True)[:200]
    response = raw_post(api, CHECKINS, deep)
    assert response.status_code == 400 and response.get_json()["details"]
    for url in ("/api/v1/conferences/tlc/rooms", "/api/v1/conferences"):
        refused(raw_post(api, url, deep), 400, "body")
        refused(raw_post(api, url, "{" * 50_000), 400, "body")
    assert snapshot() == before


@pytest.mark.parametrize("name, message", [
    ("A\\u0000B", "NUL"), ("\\ud800", "surrogate"), ("x\\udfffy", "surrogate"),
])
def test_nul_and_lone_surrogates_in_names_are_refused(api, conference, name, message):
    before = snapshot()
    for url, payload in (
        ("/api/v1/conferences/tlc/delegates", '{"name": "%s", "email": "x@example.org"}'),
        ("/api/v1/conferences/tlc/rooms", '{"name": "%s", "capacity": 10}'),
        ("/api/v1/conferences/tlc/speakers", '{"name": "%s"}'),
    ):
        body = refused(raw_post(api, url, payload % name), 400, "name")
        assert message in json.dumps(body)
    assert snapshot() == before


def test_nul_in_a_service_call_is_refused_by_fields(conference):
    from events.conference import services
    from events.errors import ConvenorError

    before = snapshot()
    for bad in ("Ann\x00", "\ud800"):
        with pytest.raises(ConvenorError) as caught:
            services.create_delegate(conference, {"name": bad, "email": "a@example.org"})
        assert caught.value.code == "invalid"
        assert {d["field"] for d in caught.value.details} == {"name"}
    assert snapshot() == before


def test_preferences_with_an_object_for_session_id(api, conference, make_delegate, make_session):
    person = make_delegate(conference)
    make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")
    url = f"/api/v1/conferences/tlc/delegates/{person.id}/preferences"
    before = snapshot()
    for payload in ({"session_id": {}, "workshop_ids": []},
                    {"session_id": 2**63, "workshop_ids": []},
                    {"session_id": "1", "workshop_ids": []}):
        refused(api.put(url, json=payload), 400, "session_id")
    refused(api.put(url, json=[2**63]), 400, "body[0]")
    assert snapshot() == before


# --------------------------------------------------------------------------- item 4: forms


def test_organiser_form_refuses_huge_seats_and_nul(login, client, conference):
    login()
    before = snapshot()
    response = client.post("/organiser/tlc/rooms", data={"name": "Hall",
                                                         "capacity": "99999999999999999999999"})
    assert response.status_code == 422
    assert "Number must be between" in response.get_data(as_text=True)
    response = client.post("/organiser/tlc/rooms", data={"name": "Ha\x00ll", "capacity": "10"})
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    assert snapshot() == before


def test_organiser_form_refuses_year_9999(login, client, conference):
    login()
    response = client.post("/organiser/tlc/settings", data={
        "name": "TLC", "starts_on": "9999-12-30", "ends_on": "9999-12-31",
        "timezone": "Europe/London", "notify_email": "unlinked"})
    assert response.status_code == 422
    assert "2100" in response.get_data(as_text=True)
    assert client.get("/c/tlc/programme.ics").status_code == 200


# --------------------------------------------------------------------------- 500s are logged


def test_unexpected_api_errors_are_logged_with_their_traceback(api, conference, monkeypatch,
                                                               caplog):
    from events.conference import services

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(services, "list_rooms", boom, raising=False)
    monkeypatch.setattr(services, "create_room", boom)
    with caplog.at_level(logging.ERROR):
        response = api.post("/api/v1/conferences/tlc/rooms", json={"name": "A", "capacity": 5})
    assert response.status_code == 500 and response.get_json()["error"]
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "kaboom" in str(logged[0].exc_info[1])


# --------------------------------------------------------------------------- item 9 parts

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_delegates_csv_neutralises_formulas(api, login, client, conference, make_delegate):
    for i, formula in enumerate(FORMULAS):
        make_delegate(conference, name=formula if formula.strip() else f"x{i}",
                      organisation=formula, role=formula, email=f"f{i}@example.org")
    login()
    for url in ("/organiser/tlc/delegates.csv", ):
        text = client.get(url).get_data(as_text=True)
        cells = _cells(text)
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
        assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    text = api.get("/api/v1/conferences/tlc/delegates.csv").get_data(as_text=True)
    assert not [c for c in _cells(text) if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_delegates_csv_round_trips_through_the_import(api, conference, make_delegate):
    from events.conference import importers
    from events.conference.models import Delegate
    from events.extensions import db

    make_delegate(conference, name="=cmd|' /C calc'!A0", email="evil@example.org")
    text = api.get("/api/v1/conferences/tlc/delegates.csv").get_data(as_text=True)
    other = conference
    db.session.execute(Delegate.__table__.delete())
    db.session.commit()
    importers.import_delegates(other, text.encode())
    assert db.session.scalar(select(Delegate.name)) == "=cmd|' /C calc'!A0"


def test_allocation_and_attendee_csv_cells_are_safe():
    from events.csvsafe import safe_cell

    for formula in FORMULAS:
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("Ann") == "Ann" and safe_cell(3) == "3" and safe_cell(None) == ""


def test_checkin_csv_neutralises_formulas(login, client, api, conference, make_delegate):
    evil = make_delegate(conference, name="=1+2", organisation="@SUM(A1)")
    assert api.post(CHECKINS, json={"secret": secret_of(evil), "device": "+phone"}).status_code == 201
    login()
    response = client.get("/organiser/tlc/checkin/checkins.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    cells = _cells(response.get_data(as_text=True))
    assert "'=1+2" in cells and "'@SUM(A1)" in cells and "'+phone" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_cancelled_delegate_page_and_agenda_are_410(client, conference, make_delegate):
    from events.conference import services

    person = make_delegate(conference)
    assert client.get(f"/me/{person.token}").status_code == 200
    assert client.get(f"/me/{person.token}/agenda.ics").status_code == 200
    services.update_delegate(person, {"status": "cancelled"})
    page = client.get(f"/me/{person.token}")
    assert page.status_code == 410 and "cancelled" in page.get_data(as_text=True)
    feed = client.get(f"/me/{person.token}/agenda.ics")
    assert feed.status_code == 410 and "cancelled" in feed.get_data(as_text=True)


def test_405_answers_carry_allow(api, client, conference):
    for response in (client.delete("/c/tlc/programme"), api.delete("/api/v1/conferences"),
                     client.put(CHECKINS)):
        assert response.status_code == 405
        assert "GET" in response.headers.get("Allow", "") or "POST" in response.headers["Allow"]
    assert api.delete("/api/v1/conferences").get_json()["error"]


def test_ics_content_type_names_charset_once(client, conference, make_session):
    session = make_session(conference)
    for url in ("/c/tlc/programme.ics", f"/c/tlc/sessions/{session.id}.ics"):
        kind = client.get(url).headers["Content-Type"]
        assert kind.lower().count("charset") == 1, kind


def test_get_json_anywhere_refuses_deep_nesting_and_nan(app):
    with pytest.raises(ValueError):
        app.json.loads("[" * 100_000)
    with pytest.raises(ValueError):
        app.json.loads('{"a": NaN}')
    assert app.json.loads('{"a": [1, 2.5]}') == {"a": [1, 2.5]}


@pytest.mark.parametrize("query, field", [
    (f"limit={HUGE}", "limit"), ("limit=-5", "limit"), (f"offset={2**63}", "offset"),
    ("offset=abc", "offset"),
])
def test_query_numbers_are_bounded(api, conference, query, field):
    refused(api.get(f"/api/v1/conferences/tlc/delegates?{query}"), 400, field)


def test_huge_page_and_version_numbers_in_pages(login, client, conference, make_session):
    block = make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")
    login()
    assert client.get(f"/organiser/tlc/delegates?page={HUGE}").status_code == 200
    assert client.get(f"/organiser/tlc/carousels/{block.id}/?version={HUGE}").status_code in (200, 404)


def test_programme_import_of_deep_nesting_is_the_importers_own_error(api, conference):
    before = snapshot()
    response = api.post("/api/v1/conferences/tlc/programme/import", data="[" * 100_000,
                        content_type="application/json")
    assert response.status_code == 422 and response.get_json()["code"] == "invalid_file"
    assert snapshot() == before
