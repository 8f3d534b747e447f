"""World Cafe workflow: set up, allocate, move by hand, publish, delegate page, re-plan, API."""

from __future__ import annotations

import re

import pytest

from carousels.cafe import engine as cafe
from carousels.cafe import services as cs
from carousels.cafe.models import CafePlan
from carousels.rounds import services as rounds_services
from events import signals
from events.extensions import db

ORGS = ["Oak Trust", "Ash Trust", "Elm Trust", "Yew Trust"]


@pytest.fixture(autouse=True)
def _short_runs(app):
    app.config["CAFE_TIME_LIMIT_S"] = 0.5


@pytest.fixture
def cafe_session(conference, make_room, make_session):
    room = make_room(conference, "Atrium", 200, step_free=True)
    return make_session(conference, "World Cafe: what will it take?", "13:30", "14:45",
                        kind="world_cafe", room_id=room.id)


@pytest.fixture
def people(conference, make_delegate):
    """Twelve delegates, three from each of four trusts; the first needs step-free access."""
    return [make_delegate(conference, name=f"Person {i:02d}", organisation=ORGS[i % 4],
                          needs_step_free=(i == 0)) for i in range(12)]


@pytest.fixture
def received():
    """Capture the World Cafe signals."""
    got: dict[str, list] = {"published": [], "starting": []}

    def on_published(sender, **kw):
        got["published"].append(kw)

    def on_starting(sender, **kw):
        got["starting"].append(kw)

    signals.allocation_published.connect(on_published)
    signals.round_starting.connect(on_starting)
    yield got
    signals.allocation_published.disconnect(on_published)
    signals.round_starting.disconnect(on_starting)


def _seats(plan: CafePlan) -> set[tuple[int, int, int]]:
    return {(s.round_number, s.table_id, s.delegate_id) for s in plan.seats}


def _panel(client, delegate) -> str:
    """Return the World Cafe panel of a delegate's page."""
    page = client.get(f"/me/{delegate.token}").get_data(as_text=True)
    found = re.search(r'<section class="cafe-mine".*?</section>', page, re.S)
    return found.group(0) if found else ""


def _check(session, plan) -> list[str]:
    return cs.plan_problems(session, plan)


def _setup_by_web(client, conference, session, people):
    base = f"/organiser/{conference.slug}/cafe/{session.id}"
    r = client.post(f"{base}/setup/rounds", data={"count": 3, "minutes": 15, "gap": 5})
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.post(f"{base}/setup/tables", data={"count": 4, "capacity": 4, "step_free": 1})
    assert r.status_code == 302
    tables = cs.get_tables(session)
    # A host who needs step-free access cannot host a table with steps: the form says why.
    r = client.post(f"{base}/tables/{tables[1].id}", data={
        "number": 2, "question": "What helps pupils belong?", "host_id": people[0].id,
        "capacity": 4})
    assert r.status_code == 422
    assert "needs step-free access" in r.get_data(as_text=True)
    for table, host, question in ((tables[0], people[0], "What does inclusion look like?"),
                                  (tables[1], people[5], "What helps pupils belong?")):
        r = client.post(f"{base}/tables/{table.id}", data={
            "number": table.number, "question": question, "host_id": host.id,
            "capacity": 4, "step_free": "y" if table.step_free else ""})
        assert r.status_code == 302, r.get_data(as_text=True)
    return base


def test_web_flow_end_to_end(client, login, conference, cafe_session, people, received):
    login()
    page = client.get(f"/organiser/{conference.slug}/cafe/").get_data(as_text=True)
    assert "World Cafe: what will it take?" in page
    base = _setup_by_web(client, conference, cafe_session, people)
    setup = client.get(f"{base}/setup").get_data(as_text=True)
    assert "Round 3" in setup and "What helps pupils belong?" in setup
    assert "13:30" in setup and "14:10" in setup  # 3 × 15 min with 5 min gaps

    # Allocate: a draft that keeps every hard rule, with the counts shown.
    r = client.post(f"{base}/allocate")
    assert r.status_code == 302
    plan = cs.latest_plan(cafe_session)
    assert plan.version == 1 and plan.status == "draft"
    assert _check(cafe_session, plan) == []
    assert len(plan.seats) == 12 * 3
    page = client.get(f"{base}/").get_data(as_text=True)
    assert "repeated meetings" in page and "same-organisation pairs" in page
    assert "lowest possible" in page
    assert "Person 07" in page and "Ash Trust" in page  # names with organisation text
    assert "draft, not yet published" in page

    # A move that breaks a rule is refused with the reason, and nothing changes.
    tables = cs.get_tables(cafe_session)
    step_free_needer = people[0].id  # hosts table 1, the only step-free table
    guest = next(p for p in people[1:] if p.id != people[5].id)
    before = _seats(plan)
    r = client.post(f"{base}/move", data={"move-delegate_id": step_free_needer,
                                          "move-round_number": 2,
                                          "move-table_id": tables[2].id})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "Person 00" in text and ("step-free" in text or "hosts" in text)
    db.session.expire_all()
    assert _seats(cs.latest_plan(cafe_session)) == before

    # A legal move is saved in the draft and the counts are recomputed.
    seat = next(s for s in plan.seats if s.delegate_id == guest.id and s.round_number == 2)
    target = next(t for t in tables[1:] if t.id != seat.table_id)
    r = client.post(f"{base}/move", data={"move-delegate_id": guest.id, "move-round_number": 2,
                                          "move-table_id": target.id})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    plan = cs.latest_plan(cafe_session)
    assert plan.version == 1
    moved = next(s for s in plan.seats if s.delegate_id == guest.id and s.round_number == 2)
    assert moved.table_id == target.id
    problem = cs.build_problem(cafe_session, time_limit_s=1)
    rounds = cs.plan_rounds(plan, tables, 3)
    expected = cafe.score(problem, rounds)
    assert {k: plan.stats[k] for k in expected} == expected

    # Publish: delegates see "Round 2 — Table N: question, host Name".
    r = client.post(f"{base}/publish", data={"version": 1})
    assert r.status_code == 302
    db.session.expire_all()
    assert cs.published_plan(cafe_session).version == 1
    assert received["published"][-1]["kind"] == "cafe"
    per_delegate = received["published"][-1]["per_delegate"]
    assert set(per_delegate) == {p.id for p in people}
    first = per_delegate[guest.id][1]
    assert first["round"] == 2 and first["table"] == target.name
    assert set(first) >= {"round", "table", "question", "host", "room", "starts_at"}
    assert first["room"] == "Atrium"
    me = client.get(f"/me/{guest.token}").get_data(as_text=True)
    assert f"Round 2 — {target.name}" in me
    if target.host:
        assert f"host {target.host.name}" in me and target.question in me
    host_page = client.get(f"/me/{people[5].token}").get_data(as_text=True)
    assert "you are the host" in host_page

    # Round 1 starts; someone leaves; re-plan the rest without touching round 1.
    live = f"/organiser/{conference.slug}/live"
    assert "Start round 1" in client.get(live).get_data(as_text=True)
    r = client.post(f"{base}/rounds/1/start", data={"next": live})
    assert r.status_code == 302 and r.location.endswith(live)
    assert "Round 1 started" in client.get(live).get_data(as_text=True)
    assert received["starting"][-1]["number"] == 1
    assert received["starting"][-1]["per_delegate"][guest.id]["table"]
    leaver = people[7]
    r = client.post(f"{base}/absences", data={"absence-delegate_id": leaver.id,
                                              "absence-reason": "left",
                                              "absence-round_number": 2})
    assert r.status_code == 302
    published_round1 = {s for s in _seats(cs.published_plan(cafe_session)) if s[0] == 1}
    r = client.post(f"{base}/allocate", data={"replan-from_round": 2})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    replanned = cs.latest_plan(cafe_session)
    assert replanned.version == 2 and replanned.status == "draft"
    assert {s for s in _seats(replanned) if s[0] == 1} == published_round1
    assert not any(s[2] == leaver.id for s in _seats(replanned) if s[0] >= 2)
    assert _check(cafe_session, replanned) == []
    # Moves in a started round are refused.
    r = client.post(f"{base}/move", data={"move-delegate_id": guest.id, "move-round_number": 1,
                                          "move-table_id": tables[3].id})
    assert r.status_code == 422
    r = client.post(f"{base}/publish", data={"version": 2})
    assert r.status_code == 302
    db.session.expire_all()
    statuses = {p.version: p.status for p in cs.get_plans(cafe_session)}
    assert statuses == {1: "superseded", 2: "published"}
    old_page = client.get(f"{base}/?version=1").get_data(as_text=True)
    assert "this is an old version" in old_page and "Publish version 1 again" in old_page
    leaver_page = client.get(f"/me/{leaver.token}").get_data(as_text=True)
    assert "Round 1 — " in leaver_page and "Round 2 — " not in leaver_page

    # Printable outputs.
    sheets = client.get(f"{base}/print/tables").get_data(as_text=True)
    assert sheets.count('class="print-sheet"') == 3 * 4 and "What helps pupils belong?" in sheets
    cards = client.get(f"{base}/print/cards").get_data(as_text=True)
    assert cards.count('class="print-card"') == 12


def test_publish_is_atomic(client, login, conference, cafe_session, people, monkeypatch):
    login()
    base = _setup_by_web(client, conference, cafe_session, people)
    client.post(f"{base}/allocate")
    client.post(f"{base}/publish", data={"version": 1})
    v1 = _seats(cs.published_plan(cafe_session))
    guest = people[9]
    before_page = _panel(client, guest)
    assert "Round 1 — Table" in before_page
    client.post(f"{base}/allocate")
    assert cs.latest_plan(cafe_session).version == 2

    # The publish fails after the old version was already flipped in the transaction.
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(rounds_services, "seat_details", broken)
    with pytest.raises(RuntimeError):
        cs.publish(cafe_session, 2)
    monkeypatch.undo()
    db.session.expire_all()
    assert cs.published_plan(cafe_session).version == 1
    assert _seats(cs.published_plan(cafe_session)) == v1
    assert {p.version: p.status for p in cs.get_plans(cafe_session)} == {1: "published",
                                                                         2: "draft"}
    assert _panel(client, guest) == before_page

    # A draft that no longer fits the rules is refused, and version 1 stays published.
    seat = next(s for s in cs.get_plan(cafe_session, 2).seats
                if s.delegate_id == people[0].id and s.round_number == 1)
    seat.table_id = cs.get_tables(cafe_session)[3].id  # the host of table 1 leaves it
    db.session.commit()
    r = client.post(f"{base}/publish", data={"version": 2})
    assert r.status_code == 422
    assert "cannot be published" in r.get_data(as_text=True)
    db.session.expire_all()
    assert cs.published_plan(cafe_session).version == 1


def test_setup_errors_are_shown_next_to_fields(client, login, conference, cafe_session, people):
    login()
    base = f"/organiser/{conference.slug}/cafe/{cafe_session.id}"
    r = client.post(f"{base}/setup/rounds", data={"count": 6, "minutes": 15, "gap": 0})
    assert r.status_code == 422
    assert "outside the session" in r.get_data(as_text=True)
    client.post(f"{base}/setup/rounds", data={"count": 2, "minutes": 15})
    client.post(f"{base}/setup/tables", data={"count": 2, "capacity": 4})
    r = client.post(f"{base}/allocate")  # 12 people, 8 seats
    assert r.status_code == 422
    assert "4 short" in r.get_data(as_text=True)


def test_api_flow(api, conference, cafe_session, people, received):
    base = f"/api/v1/conferences/{conference.slug}/sessions/{cafe_session.id}/cafe"
    r = api.post(f"{base}/rounds", json={"count": 2, "minutes": 20, "gap": 5})
    assert r.status_code == 201 and len(r.json) == 2
    for i in range(4):
        body = {"capacity": 4, "step_free": i == 0, "question": f"Question {i + 1}"}
        if i == 0:
            body["host_id"] = people[0].id
        r = api.post(f"{base}/tables", json=body)
        assert r.status_code == 201, r.json
    assert r.json["number"] == 4
    r = api.post(f"{base}/allocate")
    assert r.status_code == 201, r.json
    plan = r.json
    assert plan["version"] == 1 and plan["stats"]["repeat_pairs"] == 0
    seated = [d for t in plan["rounds"][0]["tables"] for d in t["delegate_ids"]]
    assert sorted(seated) == sorted(p.id for p in people)
    host_table = plan["rounds"][0]["tables"][0]
    assert host_table["delegate_ids"][0] == people[0].id

    # The host cannot be moved away from their table.
    other = plan["rounds"][1]["tables"][2]["table_id"]
    r = api.post(f"{base}/move", json={"delegate_id": people[0].id, "round": 2,
                                       "table_id": other})
    assert r.status_code == 422 and r.json["code"] == "rule_broken"
    r = api.post(f"{base}/publish")
    assert r.status_code == 200 and r.json["status"] == "published"
    sent = len(received["published"])
    r = api.post(f"{base}/publish", json={"version": 1})  # a retry changes nothing
    assert r.status_code == 200 and r.json["version"] == 1
    assert len(received["published"]) == sent

    r = api.get(f"/api/v1/conferences/{conference.slug}/delegates/{people[3].id}/tables")
    assert r.status_code == 200
    assert [s["round"] for s in r.json] == [1, 2]
    assert r.json[0]["session_id"] == cafe_session.id and r.json[0]["table"].startswith("Table")
    assert r.json[0]["starts_at"].startswith("2027-03-11T13:30")

    r = api.post(f"{base}/absences", json={"delegate_id": people[3].id, "round": 2,
                                           "reason": "left"})
    assert r.status_code == 201 and r.json == {"added": 1}
    r = api.post(f"{base}/allocate", json={"from_round": 2})
    assert r.status_code == 201
    assert r.json["rounds"][0] == plan["rounds"][0]
    assert people[3].id not in [d for t in r.json["rounds"][1]["tables"]
                                for d in t["delegate_ids"]]
    cafe_json = api.get(base).json
    assert cafe_json["published_version"] == 1 and cafe_json["latest"]["version"] == 2

    assert api.get(base, token="nope").status_code == 401
    other_session = api.post(f"/api/v1/conferences/{conference.slug}/sessions", json={
        "title": "Keynote", "kind": "keynote", "starts_at": "2027-03-11T09:00",
        "ends_at": "2027-03-11T10:00"}).json
    assert api.get(f"/api/v1/conferences/{conference.slug}/sessions/{other_session['id']}/cafe"
                   ).status_code == 404


def test_start_round_service_for_the_carousel_route(conference, cafe_session, people, received):
    cs.set_rounds(cafe_session, {"count": 2, "minutes": 15})
    cs.add_tables(cafe_session, {"count": 3, "capacity": 5, "step_free": 1})
    with pytest.raises(Exception) as caught:
        cs.start_round(cafe_session, 1)
    assert caught.value.code == "no_plan"
    cs.publish(cafe_session, cs.allocate(cafe_session).version)
    result = cs.start_round(cafe_session, 2)
    assert result["kind"] == "cafe" and result["number"] == 2 and result["delegates"] == 12
    sent = received["starting"][-1]
    assert sent["kind"] == "cafe" and sent["session"].id == cafe_session.id
    place = sent["per_delegate"][people[4].id]
    assert place["table"].startswith("Table") and place["room"] == "Atrium"


def test_calendar_and_csv_exports_show_tables(client, login, conference, cafe_session, people):
    table = cs.add_tables(cafe_session, {"count": 3, "capacity": 5, "step_free": 1})[0]
    cs.update_table(table, {"host_id": people[0].id, "question": "Why?"})
    cs.set_rounds(cafe_session, {"count": 2, "minutes": 15})
    cs.publish(cafe_session, cs.allocate(cafe_session).version)
    ics = client.get(f"/me/{people[2].token}/agenda.ics").get_data(as_text=True)
    unfolded = ics.replace("\r\n ", "")
    seats = cs.delegate_tables(people[2])
    assert len(seats) == 2
    for seat in seats:
        host = " (host: Person 00)" if seat["table_number"] == 1 else ""
        assert f"LOCATION:Atrium — {seat['table']}{host}\r\n" in unfolded
        assert f"round {seat['round']}\\, {seat['table']}" in unfolded
    # The generic World Cafe block is replaced by the delegate's own tables.
    assert unfolded.count("SUMMARY:World Cafe: what will it take?\r\n") == 0
    login()
    csv_text = client.get(f"/organiser/{conference.slug}/allocations.csv").get_data(as_text=True)
    assert csv_text.count(",table,Table ") == 12 * 2
    assert ",host," in csv_text


def test_csrf_is_required_on_cafe_forms(tmp_path):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'csrf.db'}", {"WTF_CSRF_ENABLED": True})
    with app.app_context():
        db.create_all()
        from events.conference import services

        services.create_organiser("csrf@example.org", "correct-horse-9")
        owner = services.authenticate("csrf@example.org", "correct-horse-9")
        conf = services.create_conference(owner, {"slug": "csrf", "name": "C",
                                                  "starts_on": "2027-03-11",
                                                  "ends_on": "2027-03-11"})
        session = services.create_session(conf, {"title": "Cafe", "kind": "world_cafe",
                                                 "starts_at": "2027-03-11T13:30",
                                                 "ends_at": "2027-03-11T14:30"})
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page) or \
            re.search(r'name="csrf_token" value="([^"]+)"', login_page)
        client.post("/login", data={"email": "csrf@example.org", "password": "correct-horse-9",
                                    "csrf_token": token.group(1)})
        url = f"/organiser/csrf/cafe/{session.id}/setup/rounds"
        assert client.post(url, data={"count": 2, "minutes": 15}).status_code == 400
        page = client.get(f"/organiser/csrf/cafe/{session.id}/setup").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          page).group(1)
        r = client.post(url, data={"count": 2, "minutes": 15, "csrf_token": token})
        assert r.status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_demo_has_a_published_world_cafe(sqlite_app):
    from events.conference import demo

    demo.seed_demo()
    conference = db.session.scalar(db.select(demo.Conference))
    session = next(s for s in cs.cafe_sessions(conference)
                   if s.title.startswith("World Cafe: what will it take"))
    assert len(cs.get_rounds(session)) == 4
    tables = cs.get_tables(session)
    assert len(tables) == 38 and all(t.host_id and t.question for t in tables)
    assert any(t.step_free for t in tables) and not all(t.step_free for t in tables)
    plan = cs.published_plan(session)
    assert plan is not None and plan.stats["repeat_pairs"] == 0
    assert cs.plan_problems(session, plan) == []


def test_the_database_allows_one_published_plan_per_session(conference, cafe_session, people):
    from sqlalchemy.exc import IntegrityError

    cs.set_rounds(cafe_session, {"count": 2, "minutes": 15})
    cs.add_tables(cafe_session, {"count": 3, "capacity": 5, "step_free": 1})
    cs.publish(cafe_session, cs.allocate(cafe_session).version)
    second = cs.allocate(cafe_session)
    second.status = "published"  # what two racing publishes would both try
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert [p.version for p in cs.get_plans(cafe_session) if p.status == "published"] == [1]


def test_public_session_page_lists_the_questions_and_hosts(client, conference, cafe_session,
                                                           people):
    """A World Cafe's public page lists its tables' questions and hosts (issue 14)."""
    cs.set_rounds(cafe_session, {"count": 3, "minutes": 20, "gap": 5})
    cs.add_table(cafe_session, {"question": "What does inclusive excellence look like?",
                                "host_id": people[1].id, "step_free": True})
    cs.add_table(cafe_session, {"question": "What stops us?", "host_id": people[2].id,
                                "label": "Window table"})
    cs.add_table(cafe_session, {"question": ""})
    page = client.get(f"/c/{conference.slug}/sessions/{cafe_session.id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Questions and hosts" in text and "3 rounds" in text
    first = re.search(r"<tr[^>]*>\s*<th[^>]*>\s*Table 1.*?</tr>", page, re.S).group(0)
    assert "What does inclusive excellence look like?" in first and people[1].name in first
    assert people[1].organisation in first and "step-free" in first
    window = re.search(r"<tr[^>]*>\s*<th[^>]*>\s*Window table.*?</tr>", page, re.S).group(0)
    assert "What stops us?" in window and people[2].name in window
    assert people[2].email not in page
