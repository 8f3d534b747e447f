"""Services the Slack bot calls: a delegate's table and a host's roster, rankings from ranks,
the round-based blocks by name, allocate/publish/stats for organisers, and agenda entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carousels.cafe import services as cs
from carousels.rounds import services as rounds
from carousels.workshops import services as ws
from events.conference import services
from events.errors import ConvenorError
from events.extensions import db
from tests.integration.test_cafe_workflow import ORGS, _setup_by_web
from tests.integration.test_workshops_api import _define


def utc(hhmm: str) -> datetime:
    """Return 11 March 2027 at ``hhmm`` (London is on UTC then)."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2027, 3, 11, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _short_runs(app):
    app.config["CAFE_TIME_LIMIT_S"] = 0.5
    app.config["CAROUSEL_TIME_LIMIT_S"] = 2.0


@pytest.fixture
def people(conference, make_delegate):
    """Twelve delegates, three from each of four trusts; the first needs step-free access."""
    return [make_delegate(conference, name=f"Person {i:02d}", organisation=ORGS[i % 4],
                          needs_step_free=(i == 0)) for i in range(12)]


@pytest.fixture
def cafe(client, login, conference, make_room, make_session, people):
    """A World Cafe 13:30–14:45 with 3 rounds, 4 tables; Person 00 and Person 05 host."""
    room = make_room(conference, "Atrium", 200, step_free=True)
    session = make_session(conference, "World Cafe: what will it take?", "13:30", "14:45",
                           kind="world_cafe", room_id=room.id)
    login()
    _setup_by_web(client, conference, session, people)
    return session


@pytest.fixture
def carousel(api, conference, make_room, make_session, people):
    """A carousel 11:10–12:40 with 3 slots and 4 workshops of 3 seats; ranking open."""
    session = make_session(conference, "Carousels: AI and peer-led workshops", "11:10", "12:40",
                           kind="carousel")
    # Step-free rooms: Person 00 needs step-free access.
    _define(api, conference, session,
            lambda conf, name, seats: make_room(conf, name, seats, step_free=True))
    return session


def _published_cafe(cafe):
    rounds.allocate(cafe)
    rounds.publish(cafe)
    return cafe


# --------------------------------------------------------------------------- World Cafe


def test_delegate_table_picks_the_round_asked_for_in_progress_or_next(cafe, people):
    guest = people[3]
    assert cs.delegate_table(guest, now=utc("13:00")) is None  # nothing published yet
    _published_cafe(cafe)
    first = cs.delegate_table(guest, now=utc("13:00"))
    assert set(first) == {"round", "title", "table", "table_number", "room", "host", "is_host",
                          "question", "starts_at", "ends_at", "session_id"}
    assert first["round"] == 1 and first["title"] == "World Cafe: what will it take?"
    assert first["session_id"] == cafe.id and first["room"] == "Atrium"
    assert first["table"] == f"Table {first['table_number']}"
    assert first["starts_at"] == "2027-03-11T13:30:00+00:00"
    assert first["ends_at"] == "2027-03-11T13:45:00+00:00"
    assert first["is_host"] is False
    assert cs.delegate_table(guest, now=utc("13:55"))["round"] == 2  # in progress
    assert cs.delegate_table(guest, now=utc("13:47"))["round"] == 2  # between rounds: next
    assert cs.delegate_table(guest, now=utc("16:00"))["round"] == 3  # after: the last
    assert cs.delegate_table(guest, round_number=2, now=utc("13:00"))["round"] == 2
    with pytest.raises(ConvenorError) as err:
        cs.delegate_table(guest, round_number=4, now=utc("13:00"))
    assert err.value.code == "not_found"


def test_delegate_table_names_the_host(cafe, people, make_delegate, conference):
    _published_cafe(cafe)
    host = cs.delegate_table(people[0], now=utc("13:00"))
    assert host["is_host"] is True and host["host"] == "Person 00"
    assert host["question"] == "What does inclusion look like?"
    seats = {cs.delegate_table(p, now=utc("13:00"))["table_number"]: p for p in people}
    hosted = cs.delegate_table(seats[2], now=utc("13:00"))
    if hosted["is_host"] is False:
        assert hosted["host"] == "Person 05"
    unhosted = [cs.delegate_table(p, now=utc("13:00")) for p in people]
    assert all(t["host"] is None for t in unhosted if t["table_number"] in (3, 4))
    latecomer = make_delegate(conference, name="Late Comer")
    assert cs.delegate_table(latecomer, now=utc("13:00")) is None


def test_table_roster_is_for_the_host_only(cafe, people):
    with pytest.raises(ConvenorError) as err:
        cs.table_roster(people[0], 1)
    assert err.value.code == "no_plan"
    _published_cafe(cafe)
    roster = cs.table_roster(people[5], 2)
    assert set(roster) == {"round", "table", "table_number", "room", "question", "people"}
    assert roster["round"] == 2 and roster["table_number"] == 2 and roster["room"] == "Atrium"
    assert roster["question"] == "What helps pupils belong?"
    plan = cs.published_plan(cafe)
    table = next(t for t in cs.get_tables(cafe) if t.number == 2)
    expected = sorted((s.delegate for s in plan.seats
                       if s.round_number == 2 and s.table_id == table.id
                       and s.delegate_id != people[5].id), key=lambda d: d.name)
    assert roster["people"] == [{"name": d.name, "organisation": d.organisation}
                                for d in expected]
    assert "Person 05" not in [p["name"] for p in roster["people"]] and roster["people"]
    guest = next(p for p in people if not cs.delegate_table(p, now=utc("13:00"))["is_host"])
    with pytest.raises(ConvenorError) as err:
        cs.table_roster(guest, 1)
    assert err.value.code == "forbidden"


# --------------------------------------------------------------------------- carousels


def test_ranking_from_ranks_orders_and_refuses_repeats():
    assert ws.ranking_from_ranks({7: 2, 8: None, 9: 1}) == [9, 7]
    assert ws.ranking_from_ranks({7: None, 8: None}) == []
    assert ws.ranking_from_ranks({7: 3, 8: 1, 9: None}) == [8, 7]  # gaps close
    with pytest.raises(ConvenorError) as err:
        ws.ranking_from_ranks({7: 1, 8: 2, 9: 1})
    assert err.value.code == "duplicate_rank" and "rank 1" in err.value.message
    assert [d["workshop_id"] for d in err.value.details] == [7, 9]
    for bad in (0, 4, -1, True):
        with pytest.raises(ConvenorError) as err:
            ws.ranking_from_ranks({7: bad, 8: None, 9: None})
        assert err.value.code == "invalid"


def test_ranking_page_uses_the_shared_rule(client, conference, carousel, people):
    ids = [w.id for w in ws.get_workshops(carousel)]
    url = f"/me/{people[1].token}/carousels/{carousel.id}/preferences"
    r = client.post(url, data={f"rank-{ids[0]}": "1", f"rank-{ids[1]}": "1"},
                    follow_redirects=True)
    assert "two workshops have rank 1" in r.get_data(as_text=True)
    assert ws.get_preferences(carousel, people[1].id) == []
    client.post(url, data={f"rank-{ids[2]}": "1", f"rank-{ids[0]}": "2"})
    assert [w.id for w in ws.get_preferences(carousel, people[1].id)] == [ids[2], ids[0]]


def test_delegate_carousels_expose_the_models_for_the_ranking_modal(carousel, people):
    workshops = ws.get_workshops(carousel)
    ws.set_preferences(carousel, people[2], [workshops[1].id, workshops[0].id],
                       now=utc("09:00").replace(day=1))
    [entry] = ws.delegate_carousels(people[2], now=utc("09:00").replace(day=1))
    assert entry["session"] is carousel and entry["session_id"] == carousel.id
    assert entry["ranking"] == [workshops[1].id, workshops[0].id]
    assert entry["workshops"][:2] == [workshops[1], workshops[0]]
    assert {w.id for w in entry["workshops"]} == {w.id for w in workshops}
    assert entry["preferences_open"] is True and entry["deadline_text"] == "18:00 on 10 March"
    ai = next(w for w in workshops if w.title == "AI in the classroom")
    assert ws.leaders_text(ai) == "Pete F. Atherton PhD"
    assert ai.room.name.startswith("Room ")
    [closed] = ws.delegate_carousels(people[2], now=utc("09:00"))
    assert closed["preferences_open"] is False


# --------------------------------------------------------------------------- organiser verbs


def test_get_block_by_word_or_id(conference, cafe, carousel, make_session):
    assert rounds.get_block(conference, "cafe") == cafe
    assert rounds.get_block(conference, "World_Cafe") == cafe
    assert rounds.get_block(conference, "carousel") == carousel
    assert rounds.get_block(conference, str(carousel.id)) == carousel
    assert rounds.get_block(conference, cafe.id) == cafe
    keynote = make_session(conference, "Keynote", "09:00", "10:00")
    for ref in (str(keynote.id), "99999", "lunch"):
        with pytest.raises(ConvenorError) as err:
            rounds.get_block(conference, ref)
        assert err.value.code == "not_found"
    second = make_session(conference, "Second carousel", "15:00", "16:00", kind="carousel")
    with pytest.raises(ConvenorError) as err:
        rounds.get_block(conference, "carousel")
    assert err.value.code == "ambiguous"
    assert err.value.details == [{"id": carousel.id, "title": carousel.title},
                                 {"id": second.id, "title": second.title}]


def test_allocate_and_publish_either_format(conference, cafe, carousel, people):
    with pytest.raises(ConvenorError) as err:
        rounds.publish(cafe)
    assert err.value.code == "no_plan"
    plan = rounds.allocate(cafe)
    assert plan.version == 1 and plan.status == "draft"
    assert {"repeat_pairs", "same_org_pairs", "seconds"} <= set(plan.stats)
    assert rounds.publish(cafe) == {"version": 1, "delegates": 12}
    assert rounds.publish(cafe, 1) == {"version": 1, "delegates": 12}  # a repeat: no change

    drafted = rounds.allocate(carousel, time_limit_s=2.0)
    assert drafted.version == 1 and "first_choice_pct" in drafted.stats
    # Fewer seats than the draft uses: publishing it would break a rule.
    for workshop in ws.get_workshops(carousel):
        ws.update_workshop(workshop, {"capacity": 2})
    with pytest.raises(ConvenorError) as err:
        rounds.publish(carousel)
    assert err.value.code == "rule_broken"
    assert err.value.message.startswith("this plan cannot be published: ")
    assert ws.published_plan(carousel) is None


def test_allocate_uses_the_configured_time_limit(app, cafe, monkeypatch):
    seen = {}
    monkeypatch.setitem(app.config, "CAFE_TIME_LIMIT_S", 0.25)
    real = cs._problem

    def spy(session, **kw):
        seen["cafe"] = kw["time_limit_s"]
        return real(session, **kw)

    monkeypatch.setattr(cs, "_problem", spy)
    rounds.allocate(cafe)
    assert seen["cafe"] == 0.25


def test_organiser_stats(conference, cafe, carousel, people):
    services.update_delegate(people[0], {"slack_user_id": "U0001"})
    db.session.refresh(conference)
    ranked = ws.get_workshops(carousel)
    ws.set_preferences(carousel, people[1], [ranked[0].id], now=utc("09:00").replace(day=1))
    _published_cafe(cafe)
    stats = rounds.organiser_stats(conference)
    assert stats["door"] == {"arrived": 0, "expected": 12}
    assert stats["slack"] == {"linked": 1, "active": 12}
    carousel_block, cafe_block = stats["blocks"]  # in time order
    assert carousel_block == {"kind": "carousel", "session_id": carousel.id,
                              "title": carousel.title, "published_version": None,
                              "rankings_received": 1, "active_delegates": 12}
    plan = cs.published_plan(cafe)
    assert cafe_block == {"kind": "cafe", "session_id": cafe.id, "title": cafe.title,
                          "published_version": 1,
                          "repeat_pairs": plan.stats["repeat_pairs"],
                          "same_org_pairs": plan.stats["same_org_pairs"],
                          "active_delegates": 12}
    rounds.allocate(carousel)
    figures = rounds.organiser_stats(conference)["blocks"][0]
    assert {"first_choice_pct", "optimal"} <= set(figures)


# --------------------------------------------------------------------------- the day


def test_agenda_shows_the_seats_instead_of_the_blocks(conference, cafe, carousel, people,
                                                      make_session):
    make_session(conference, "Opening keynote", "09:00", "10:00")
    guest = people[4]
    before = services.delegate_agenda(guest)
    assert [(e["kind"], e.get("allocation")) for e in before] == [
        ("keynote", None), ("carousel", "not_published"), ("world_cafe", "not_published")]

    _published_cafe(cafe)
    rounds.allocate(carousel)
    rounds.publish(carousel)
    services.update_session(cafe, {"status": "cancelled"})
    agenda = services.delegate_agenda(guest)
    assert [e["kind"] for e in agenda] == ["keynote"] + ["carousel"] * 3 + ["world_cafe"] * 3
    assert all("allocation" not in e for e in agenda)
    slots = [e for e in agenda if e["kind"] == "carousel"]
    assert [e["slot"] for e in slots] == [1, 2, 3]
    first = slots[0]
    assert {"kind", "session_id", "replaces_session_id", "title", "starts_at", "ends_at", "room",
            "speakers", "status", "slot", "slot_label", "workshop", "leaders",
            "line"} <= set(first)
    assert first["replaces_session_id"] == first["session_id"] == carousel.id
    assert first["title"] == carousel.title and first["status"] == "scheduled"
    assert first["starts_at"] == "2027-03-11T11:15:00+00:00" and first["slot_label"] == "Carousel 1"
    assert first["line"].startswith("Carousel 1 · 11:15 · Room ")
    assert isinstance(first["speakers"], list)
    tables = [e for e in agenda if e["kind"] == "world_cafe"]
    assert [e["round"] for e in tables] == [1, 2, 3]
    assert {"round", "table", "table_number", "host", "is_host", "question",
            "speakers"} <= set(tables[0])
    assert tables[0]["speakers"] == [] and tables[0]["room"] == "Atrium"
    assert all(e["status"] == "cancelled" for e in tables)  # the block is cancelled


def test_a_round_start_advances_the_version_once_in_its_own_commit(client, conference, cafe):
    _published_cafe(cafe)
    db.session.refresh(conference)
    before = conference.version
    result = rounds.start(cafe, 1)
    db.session.expire_all()
    assert conference.version == before + 1
    # Pages that catch up see the start, stamped with the version the service advanced.
    changes = client.get(f"/c/{conference.slug}/live/since/{before}").get_json()["changes"]
    assert [c["event"] for c in changes] == ["round_starting"]
    assert changes[0]["version"] == before + 1 and result["number"] == 1
    rounds.start(cafe, 1)  # told again: counted again
    db.session.expire_all()
    assert conference.version == before + 2
