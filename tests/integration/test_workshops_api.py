"""Carousel API: define, preferences (validation, deadline), run, move, publish, start a round."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carousels.cafe import services as cs
from carousels.workshops import services as ws
from events import signals
from events.conference import services
from events.types import utcnow


@pytest.fixture(autouse=True)
def _short_runs(app):
    app.config["CAROUSEL_TIME_LIMIT_S"] = 2.0


@pytest.fixture
def block(conference, make_session):
    return make_session(conference, "Carousels", "11:10", "12:40", kind="carousel")


@pytest.fixture
def people(conference, make_delegate):
    return [make_delegate(conference, name=f"Person {i:02d}") for i in range(6)]


@pytest.fixture
def starting():
    got: list[dict] = []

    def receiver(sender, **kw):
        got.append(kw)

    signals.round_starting.connect(receiver)
    yield got
    signals.round_starting.disconnect(receiver)


def _base(conference, block):
    return f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/carousel"


def _define(api, conference, block, make_room):
    base = _base(conference, block)
    for n, (start, end) in enumerate((("11:15", "11:40"), ("11:45", "12:10"),
                                      ("12:15", "12:40")), 1):
        r = api.post(f"{base}/slots", json={"starts_at": f"2027-03-11T{start}",
                                            "ends_at": f"2027-03-11T{end}"})
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["label"] == f"Carousel {n}"
    speaker = services.create_speaker(conference, {"name": "Pete F. Atherton", "honours": "PhD"})
    ids = []
    for i, title in enumerate(("AI in the classroom", "SEND inclusion", "Attendance",
                               "Trusts")):
        room = make_room(conference, f"Room {'ABCD'[i]}", 20)
        r = api.post(f"{base}/workshops", json={
            "title": title, "room_id": room.id, "capacity": 3, "led_by": "peer",
            **({"leader_ids": [speaker.id], "led_by": "expert"} if i == 0 else {})})
        assert r.status_code == 201, r.get_json()
        assert r.get_json()["slot_numbers"] == [1, 2, 3]
        ids.append(r.get_json()["id"])
    r = api.put(f"{base}/preferences-window", json={"open": True,
                                                    "deadline": "2027-03-10T18:00"})
    assert r.status_code == 200 and r.get_json()["preferences_open"] is True
    return ids


def test_capacity_above_the_room_is_refused(api, conference, block, make_room):
    room = make_room(conference, "Small", 5)
    r = api.post(f"{_base(conference, block)}/workshops",
                 json={"title": "Big", "room_id": room.id, "capacity": 6})
    assert r.status_code == 422
    assert r.get_json()["details"][0]["field"] == "capacity"


def test_preferences_are_validated(api, conference, block, people, make_room):
    ids = _define(api, conference, block, make_room)
    url = f"/api/v1/conferences/{conference.slug}/delegates/{people[0].id}/preferences"
    r = api.put(url, json=[ids[2], ids[0]])
    assert r.status_code == 200
    assert r.get_json() == {"session_id": block.id, "workshop_ids": [ids[2], ids[0]]}
    r = api.put(url, json=[ids[0], 999999])
    assert r.status_code == 422 and r.get_json()["code"] == "unknown_workshop"
    r = api.put(url, json=[ids[1], ids[1]])
    assert r.status_code == 422 and r.get_json()["code"] == "duplicate_workshop"
    r = api.put(url, json={"not": "a list"})
    assert r.status_code == 400
    r = api.put(url, data="[1]")
    assert r.status_code == 415
    # Refused changes leave the saved ranking alone.
    assert [w.id for w in ws.get_preferences(block, people[0].id)] == [ids[2], ids[0]]
    listed = api.get(f"/api/v1/conferences/{conference.slug}/delegates/{people[0].id}/carousels")
    [mine] = listed.get_json()
    assert mine["preferences"] == [ids[2], ids[0]] and mine["preferences_open"] is True
    assert [w["rank"] for w in mine["workshops"][:2]] == [1, 2]
    assert mine["seats"] == []


def test_after_the_deadline_rankings_cannot_change(api, conference, block, people, make_room):
    ids = _define(api, conference, block, make_room)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert api.put(f"{_base(conference, block)}/preferences-window",
                   json={"open": True, "deadline": past}).status_code == 200
    url = f"/api/v1/conferences/{conference.slug}/delegates/{people[1].id}/preferences"
    r = api.put(url, json=[ids[0]])
    assert r.status_code == 422 and r.get_json()["code"] == "after_deadline"
    assert ws.get_preferences(block, people[1].id) == []
    assert api.put(f"{_base(conference, block)}/preferences-window",
                   json={"open": False}).status_code == 200
    r = api.put(url, json=[ids[0]])
    assert r.status_code == 422 and r.get_json()["code"] == "preferences_closed"


def test_run_move_publish_list_and_start(api, conference, block, people, make_room, starting):
    ids = _define(api, conference, block, make_room)
    for p in people[:4]:
        api.put(f"/api/v1/conferences/{conference.slug}/delegates/{p.id}/preferences",
                json=[ids[0], ids[1]])
    base = _base(conference, block)
    start = f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/rounds/1/start"
    r = api.post(start)
    assert r.status_code == 422 and r.get_json()["code"] == "no_plan"
    r = api.post(f"{base}/run")
    assert r.status_code == 201, r.get_json()
    plan = r.get_json()
    assert plan["status"] == "draft" and plan["stats"]["optimal"] is True
    seated = {d for s in plan["slots"] for w in s["workshops"] for d in w["delegate_ids"]}
    assert seated == {p.id for p in people}
    # Moving someone into a workshop they attend in another slot breaks a rule.
    mover = people[0].id
    where = {s["number"]: next(w["workshop_id"] for w in s["workshops"]
                               if mover in w["delegate_ids"]) for s in plan["slots"]}
    r = api.post(f"{base}/move", json={"delegate_id": mover, "slot": 1,
                                       "workshop_id": where[2]})
    assert r.status_code == 422 and r.get_json()["code"] == "rule_broken"
    assert "twice" in r.get_json()["error"]
    r = api.post(f"{base}/publish")
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    listed = api.get(f"/api/v1/conferences/{conference.slug}/delegates/{people[0].id}/carousels")
    [mine] = listed.get_json()
    assert [s["slot"] for s in mine["seats"]] == [1, 2, 3]
    assert mine["seats"][0]["line"].startswith("Carousel 1 · 11:15 · Room ")

    r = api.post(start)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["kind"] == "carousel" and r.get_json()["delegates"] == 6
    [sent] = starting
    assert sent["kind"] == "carousel" and sent["number"] == 1 and sent["session"].id == block.id
    place = sent["per_delegate"][people[0].id]
    assert place["starts_at"].startswith("2027-03-11T11:15")
    assert set(place) >= {"slot", "workshop", "room", "leaders"}
    r = api.post(f"/api/v1/conferences/{conference.slug}/sessions/{block.id}/rounds/9/start")
    assert r.status_code == 404


def test_round_start_dispatches_to_the_world_cafe(api, conference, make_session, make_room,
                                                  people, starting):
    room = make_room(conference, "Atrium", 100)
    cafe = make_session(conference, "World Cafe", "13:30", "14:45", kind="world_cafe",
                        room_id=room.id)
    keynote = make_session(conference, "Keynote", "09:00", "10:00")
    cs.set_rounds(cafe, {"count": 2, "minutes": 20, "gap": 5})
    cs.add_tables(cafe, {"count": 2, "capacity": 4})
    url = f"/api/v1/conferences/{conference.slug}/sessions/{{}}/rounds/1/start"
    r = api.post(url.format(cafe.id))
    assert r.status_code == 422 and r.get_json()["code"] == "no_plan"
    cs.allocate(cafe, time_limit_s=1.0)
    cs.publish(cafe)
    r = api.post(url.format(cafe.id))
    assert r.status_code == 200 and r.get_json()["kind"] == "cafe"
    assert starting[-1]["kind"] == "cafe"
    assert api.post(url.format(keynote.id)).status_code == 404
    assert api.post(url.format(cafe.id), token="wrong").status_code == 401
