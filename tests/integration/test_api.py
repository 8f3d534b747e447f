"""The JSON API over the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import at


def test_create_and_fetch_conference(api):
    response = api.post("/api/v1/conferences", json={
        "slug": "tlc-2027", "name": "Trust Leaders", "starts_on": "2027-03-11",
        "ends_on": "2027-03-11", "venue": "QEII Centre"})
    assert response.status_code == 201, response.json
    assert response.json["timezone"] == "Europe/London"
    assert response.json["id"] > 0
    listed = api.get("/api/v1/conferences").json
    assert [c["slug"] for c in listed] == ["tlc-2027"]
    one = api.get("/api/v1/conferences/tlc-2027").json
    assert one["name"] == "Trust Leaders" and one["published"] is False


def test_missing_and_wrong_token_are_401(client, conference):
    assert client.get("/api/v1/conferences").status_code == 401
    response = client.get("/api/v1/conferences",
                          headers={"Authorization": "Bearer cvn_not-a-real-token"})
    assert response.status_code == 401
    assert response.json["error"] and response.json["details"] == []


def test_unknown_slug_is_404_json(api):
    response = api.get("/api/v1/conferences/nope/rooms")
    assert response.status_code == 404
    assert "nope" in response.json["error"]


def test_other_organisers_conference_is_403(api, make_organiser, make_conference):
    other, _ = make_organiser("other@example.org")
    theirs = make_conference(owner=other, slug="theirs")
    assert api.get(f"/api/v1/conferences/{theirs.slug}").status_code == 403
    response = api.post(f"/api/v1/conferences/{theirs.slug}/rooms",
                        json={"name": "Hall", "capacity": 10})
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"


def test_rooms_speakers_sessions_round_trip(api, conference):
    room = api.post("/api/v1/conferences/tlc/rooms",
                    json={"name": "Main Hall", "capacity": 300, "step_free": True}).json
    speaker = api.post("/api/v1/conferences/tlc/speakers",
                       json={"name": "Leora Cruddas", "honours": "CBE",
                             "organisation": "Confederation of School Trusts"}).json
    created = api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "Inclusive excellence", "kind": "keynote", "room_id": room["id"],
        "starts_at": at("10:00"), "ends_at": at("10:45"), "speaker_ids": [speaker["id"]],
        "capacity": 250})
    assert created.status_code == 201, created.json
    session = created.json
    # March is GMT: the offset is +00:00; the time is kept as given in the conference's zone.
    assert session["starts_at"] == "2027-03-11T10:00:00+00:00"
    assert session["speaker_ids"] == [speaker["id"]]
    assert [s["title"] for s in api.get("/api/v1/conferences/tlc/sessions").json] == [
        "Inclusive excellence"]
    assert api.get(f"/api/v1/conferences/tlc/sessions/{session['id']}").json["room"] == "Main Hall"


def test_summer_time_offset_in_responses(api, make_conference):
    make_conference(slug="summer", starts_on="2027-07-01", ends_on="2027-07-01")
    made = api.post("/api/v1/conferences/summer/sessions", json={
        "title": "Keynote", "starts_at": "2027-07-01T09:00", "ends_at": "2027-07-01T08:00:00Z"})
    # 08:00Z is 09:00 BST: the session would end when it starts.
    assert made.status_code == 422
    assert made.json["code"] == "end_before_start"
    made = api.post("/api/v1/conferences/summer/sessions", json={
        "title": "Keynote", "starts_at": "2027-07-01T09:00", "ends_at": "2027-07-01T09:00:00Z"})
    assert made.status_code == 201
    assert made.json["starts_at"] == "2027-07-01T09:00:00+01:00"
    assert made.json["ends_at"] == "2027-07-01T10:00:00+01:00"


def test_patch_moves_session_and_names_changes(api, conference, make_room, make_session):
    room_a = make_room(conference, "Room A", 40)
    room_b = make_room(conference, "Room B", 40)
    session = make_session(conference, room_id=room_a.id)
    response = api.patch(f"/api/v1/conferences/tlc/sessions/{session.id}",
                         json={"starts_at": at("09:15"), "ends_at": at("10:15"),
                               "room_id": room_b.id})
    assert response.status_code == 200, response.json
    assert set(response.json["changes"]) == {"starts_at", "ends_at", "room_id"}
    assert response.json["sequence"] == 1
    assert response.json["room"] == "Room B"


def test_room_clash_names_the_other_session(api, conference, make_room, make_session):
    room = make_room(conference, "Room A", 40)
    make_session(conference, "AI in the classroom", "11:00", "12:00", room_id=room.id)
    response = api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "Attendance and belonging", "starts_at": at("11:30"), "ends_at": at("12:30"),
        "room_id": room.id})
    assert response.status_code == 409
    assert response.json["code"] == "room_clash"
    assert "AI in the classroom" in response.json["error"]
    assert "11:00–12:00" in response.json["error"]
    assert len(api.get("/api/v1/conferences/tlc/sessions").json) == 1


def test_cancelled_session_frees_room_but_stays_listed(api, conference, make_room, make_session):
    room = make_room(conference, "Room A", 40)
    first = make_session(conference, "First", "11:00", "12:00", room_id=room.id)
    response = api.patch(f"/api/v1/conferences/tlc/sessions/{first.id}",
                         json={"status": "cancelled"})
    assert response.json["status"] == "cancelled"
    second = api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "Second", "starts_at": at("11:00"), "ends_at": at("12:00"), "room_id": room.id})
    assert second.status_code == 201
    statuses = {s["title"]: s["status"] for s in api.get("/api/v1/conferences/tlc/sessions").json}
    assert statuses == {"First": "cancelled", "Second": "scheduled"}


def test_session_rules(api, conference, make_room):
    room = make_room(conference, "Room A", 40)
    cases = [
        ({"starts_at": at("10:00"), "ends_at": at("09:00")}, 422, "end_before_start"),
        ({"starts_at": "2027-03-12T10:00", "ends_at": "2027-03-12T11:00"}, 422,
         "outside_conference_dates"),
        ({"starts_at": at("10:00"), "ends_at": at("11:00"), "room_id": room.id,
          "capacity": 41}, 422, "capacity_above_room"),
        ({"starts_at": at("10:00"), "ends_at": at("11:00"), "room_id": 9999}, 422, "invalid"),
        ({"starts_at": "tomorrow", "ends_at": at("11:00")}, 422, "invalid"),
        ({"starts_at": at("10:00"), "ends_at": at("11:00"), "kind": "party"}, 422, "invalid"),
    ]
    for extra, status, code in cases:
        response = api.post("/api/v1/conferences/tlc/sessions", json={"title": "X", **extra})
        assert (response.status_code, response.json["code"]) == (status, code), extra
        assert response.json["details"], extra
    assert api.get("/api/v1/conferences/tlc/sessions").json == []


def test_bad_timezone_and_duplicate_slug(api, conference):
    response = api.post("/api/v1/conferences", json={
        "slug": "x", "name": "X", "starts_on": "2027-01-01", "ends_on": "2027-01-01",
        "timezone": "BST"})
    assert response.status_code == 422
    assert response.json["details"][0]["field"] == "timezone"
    response = api.post("/api/v1/conferences", json={
        "slug": "tlc", "name": "X", "starts_on": "2027-01-01", "ends_on": "2027-01-01"})
    assert response.status_code == 409


def test_bad_body_is_json_error(api, conference):
    response = api.post("/api/v1/conferences/tlc/rooms", data="not json",
                        content_type="text/plain")
    assert response.status_code == 415 and "JSON" in response.json["error"]
    response = api.post("/api/v1/conferences/tlc/rooms", data="{bad",
                        content_type="application/json")
    assert response.status_code == 400 and response.is_json
    response = api.post("/api/v1/conferences/tlc/rooms", json={"name": "", "capacity": "lots"})
    assert response.status_code == 422
    assert {d["field"] for d in response.json["details"]} == {"name", "capacity"}


def test_unknown_api_route_and_method_are_json(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.is_json
    response = api.put("/api/v1/conferences")
    assert response.status_code == 405 and response.is_json


def test_delete_session(api, conference, make_session):
    session = make_session(conference)
    assert api.delete(f"/api/v1/conferences/tlc/sessions/{session.id}").status_code == 204
    assert api.get(f"/api/v1/conferences/tlc/sessions/{session.id}").status_code == 404


def test_delegates_create_list_filter(api, conference, make_delegate):
    created = api.post("/api/v1/conferences/tlc/delegates", json={
        "name": "Amira Khan", "email": "Amira.Khan@OakTrust.org.uk", "organisation": "Oak Trust",
        "role": "CEO", "access_needs": {"step_free": True, "hearing_loop": False,
                                         "other": "large print"}})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["email"] == "amira.khan@oaktrust.org.uk"
    assert body["link"].startswith("http://convenor.test/me/") and len(body["link"]) > 60
    make_delegate(conference, name="Ben Hall", organisation="Elm Trust")
    everyone = api.get("/api/v1/conferences/tlc/delegates")
    assert everyone.headers["X-Total-Count"] == "2"
    step_free = api.get("/api/v1/conferences/tlc/delegates?access=step_free").json
    assert [d["name"] for d in step_free] == ["Amira Khan"]
    elm = api.get("/api/v1/conferences/tlc/delegates?organisation=Elm%20Trust").json
    assert [d["name"] for d in elm] == ["Ben Hall"]
    duplicate = api.post("/api/v1/conferences/tlc/delegates",
                         json={"name": "Again", "email": "amira.khan@oaktrust.org.uk"})
    assert duplicate.status_code == 409


def test_session_kind_defaults_to_other_and_new_kinds(api, conference):
    """The API stays backwards compatible: no kind is "other"; the new kinds are accepted."""
    made = api.post("/api/v1/conferences/tlc/sessions", json={
        "title": "Drinks", "starts_at": at("17:00"), "ends_at": at("18:00")})
    assert made.status_code == 201 and made.json["kind"] == "other"
    for kind, start in (("workshop", "11:00"), ("panel", "12:00"), ("networking", "13:00")):
        made = api.post("/api/v1/conferences/tlc/sessions", json={
            "title": kind, "kind": kind, "starts_at": at(start), "ends_at": at(start[:2] + ":30")})
        assert made.status_code == 201 and made.json["kind"] == kind
    spec = api.get("/api/v1/openapi.json").json
    kind = spec["components"]["schemas"]["SessionInput"]["properties"]["kind"]
    assert {"workshop", "panel", "networking", "break"} <= set(kind["enum"])
    assert kind.get("default") == "other"
