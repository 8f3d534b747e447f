"""Carousel workflow on the web: define, rank on the delegate page, run, move, publish, see."""

from __future__ import annotations

import csv
import io
import re

import pytest

from carousels.rounds import services as rounds_services
from carousels.workshops import services as ws
from carousels.workshops.models import CarouselPlan
from events import signals
from events.conference import services
from events.errors import ConvenorError
from events.extensions import db


@pytest.fixture(autouse=True)
def _short_runs(request):
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["CAROUSEL_TIME_LIMIT_S"] = 2.0


@pytest.fixture
def block(conference, make_session):
    return make_session(conference, "Carousels: AI and technology, and peer-led workshops",
                        "11:10", "12:40", kind="carousel")


@pytest.fixture
def rooms(conference, make_room):
    return [make_room(conference, "Room A", 10, step_free=True),
            make_room(conference, "Room B", 10, step_free=True, hearing_loop=True),
            make_room(conference, "Room C", 10),
            make_room(conference, "Room D", 10, step_free=True, hearing_loop=True)]


@pytest.fixture
def atherton(conference):
    return services.create_speaker(conference, {"name": "Pete F. Atherton", "honours": "PhD"})


@pytest.fixture
def people(conference, make_delegate):
    """Nine delegates from three trusts."""
    return [make_delegate(conference, name=f"Person {i:02d}",
                          organisation=["Oak Trust", "Ash Trust", "Elm Trust"][i % 3])
            for i in range(9)]


@pytest.fixture
def received():
    """Capture the carousel signals."""
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


def _seats(plan: CarouselPlan) -> set[tuple[int, int, int]]:
    return {(s.slot_id, s.workshop_id, s.delegate_id) for s in plan.seats}


def _panel(client, delegate) -> str:
    page = client.get(f"/me/{delegate.token}").get_data(as_text=True)
    found = re.search(r'<section class="ws-mine".*?</section>', page, re.S)
    return found.group(0) if found else ""


TITLES = ["AI in the classroom", "SEND inclusion", "Attendance and belonging",
          "The role of trusts"]


def _define_by_web(client, conference, block, rooms, atherton):
    base = f"/organiser/{conference.slug}/carousels/{block.id}"
    r = client.post(f"{base}/setup/slots", data={"count": 3, "minutes": 25, "gap": 5,
                                                 "starts_at": "2027-03-11T11:15"})
    assert r.status_code == 302, r.get_data(as_text=True)
    # A workshop cannot seat more people than its room holds: the form says why.
    r = client.post(f"{base}/setup/workshop", data={
        "title": "Too big", "led_by": "peer", "room_id": rooms[0].id, "capacity": 11,
        "slot_numbers": [1, 2, 3]})
    assert r.status_code == 422
    assert "must be at most 10, the seats in Room A" in r.get_data(as_text=True)
    for i, title in enumerate(TITLES):
        data = {"title": title, "led_by": "expert" if i == 0 else "peer",
                "room_id": rooms[(i + 1) % 4].id, "capacity": 3, "slot_numbers": [1, 2, 3]}
        if i == 0:
            data["leader_ids"] = [atherton.id]
        r = client.post(f"{base}/setup/workshop", data=data)
        assert r.status_code == 302, r.get_data(as_text=True)
    r = client.post(f"{base}/setup/window", data={"open": "y", "deadline": "2027-03-10T18:00"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return base


def test_web_flow_end_to_end(client, login, conference, block, rooms, atherton, people,
                             received):
    login()
    assert "Carousels: AI and technology" in client.get(
        f"/organiser/{conference.slug}/carousels/").get_data(as_text=True)
    base = _define_by_web(client, conference, block, rooms, atherton)
    setup = client.get(f"{base}/setup").get_data(as_text=True)
    assert "11:15" in setup and "12:15" in setup and "Pete F. Atherton PhD" in setup
    assert "Open" in setup
    workshops = {w.title: w for w in ws.get_workshops(block)}

    # A delegate ranks on their page with one rank select per workshop.
    me = people[0]
    panel = _panel(client, me)
    assert "Rank for AI in the classroom" in panel and "Not ranked" in panel
    url = f"/me/{me.token}/carousels/{block.id}/preferences"
    clash = {f"rank-{workshops['AI in the classroom'].id}": "1",
             f"rank-{workshops['SEND inclusion'].id}": "1"}
    r = client.post(url, data=clash, follow_redirects=True)
    assert "two workshops have rank 1" in r.get_data(as_text=True)
    assert ws.get_preferences(block, me.id) == []
    ranking = {f"rank-{workshops['AI in the classroom'].id}": "1",
               f"rank-{workshops['The role of trusts'].id}": "2",
               f"rank-{workshops['SEND inclusion'].id}": "3"}
    r = client.post(url, data=ranking, follow_redirects=True)
    assert "Your ranking is saved" in r.get_data(as_text=True)
    assert [w.title for w in ws.get_preferences(block, me.id)] == [
        "AI in the classroom", "The role of trusts", "SEND inclusion"]
    assert re.search(r'<option value="1" selected>1 \(first choice\)</option>', _panel(client, me))
    for p in people[1:5]:
        ws.set_preferences(block, p, [workshops["AI in the classroom"].id])

    # Run: a draft with everyone in one workshop per slot, proven optimal.
    r = client.post(f"{base}/run")
    assert r.status_code == 302, r.get_data(as_text=True)
    plan = ws.latest_plan(block)
    assert plan.status == "draft" and len(plan.seats) == 9 * 3
    assert ws.plan_problems(block, plan) == []
    assert plan.stats["optimal"] is True
    page = client.get(f"{base}/").get_data(as_text=True)
    assert "Ranks received" in page and "Choice 1" in page
    assert "Seats per rank received" in page  # the chart's table
    assert "draft, not yet published" in page
    assert re.search(r"\d / 3", page)  # fill per workshop per slot

    # A move that puts someone in a workshop they already attend is refused with the reason.
    seat = next(s for s in plan.seats if s.delegate_id == me.id and s.slot.number == 1)
    other = next(s for s in plan.seats if s.delegate_id == me.id and s.slot.number == 2)
    before = _seats(plan)
    r = client.post(f"{base}/move", data={"move-delegate_id": me.id, "move-slot_number": 1,
                                          "move-workshop_id": other.workshop_id})
    assert r.status_code == 422
    assert "Person 00 attends" in r.get_data(as_text=True)
    assert "twice" in r.get_data(as_text=True)
    db.session.expire_all()
    assert _seats(ws.latest_plan(block)) == before
    assert seat.workshop_id != other.workshop_id

    # Publish: delegates see their line; the signal carries everyone's workshops.
    r = client.post(f"{base}/publish", data={"version": plan.version})
    assert r.status_code == 302
    assert ws.published_plan(block).version == plan.version
    [sent] = received["published"]
    assert sent["kind"] == "carousel" and sent["version"] == plan.version
    assert set(sent["per_delegate"]) == {p.id for p in people}
    first = sent["per_delegate"][me.id][0]
    assert set(first) >= {"slot", "starts_at", "ends_at", "workshop", "room", "leaders"}
    panel = _panel(client, me)
    lines = re.findall(r'<li class="ws-line">(.*?)</li>', panel)
    assert len(lines) == 3
    assert lines[0].startswith("Carousel 1 · 11:15 · ")
    ai = [line for line in lines if "AI in the classroom" in line]
    assert ai and ai[0].endswith("Room B — AI in the classroom with Pete F. Atherton PhD")

    # Leaders' lists: printable page and CSV.
    sheet = client.get(f"{base}/attendees").get_data(as_text=True)
    assert "AI in the classroom" in sheet and "led by Pete F. Atherton PhD" in sheet
    r = client.get(f"{base}/attendees.csv")
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 27 and {row["room"] for row in rows} == {"Room B", "Room C", "Room D",
                                                                  "Room A"}


def test_publish_is_atomic(client, login, conference, block, rooms, atherton, people,
                           monkeypatch, received):
    login()
    base = _define_by_web(client, conference, block, rooms, atherton)
    first = ws.run_assignment(block)
    ws.publish(block)
    second = ws.run_assignment(block)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rounds_services, "seat_details", broken)
    with pytest.raises(RuntimeError):
        ws.publish(block, second.version)
    monkeypatch.undo()
    db.session.expire_all()
    assert ws.published_plan(block).version == first.version
    assert db.session.get(CarouselPlan, second.id).status == "draft"
    assert len(received["published"]) == 1
    r = client.post(f"{base}/publish", data={"version": second.version})
    assert r.status_code == 302
    db.session.expire_all()
    statuses = {p.version: p.status for p in ws.get_plans(block)}
    assert statuses == {first.version: "superseded", second.version: "published"}
    # Publishing the published version again sends nothing new.
    ws.publish(block, second.version)
    assert len(received["published"]) == 2


def test_access_needs_keep_people_out_of_rooms_without_them(conference, block, rooms, people,
                                                            make_delegate):
    ws.set_slots(block, {"count": 2, "minutes": 30, "gap": 5})
    for i, title in enumerate(TITLES[:3]):
        ws.add_workshop(block, {"title": title, "room_id": rooms[i + 1].id, "capacity": 6})
    wheel = make_delegate(conference, name="Wheel Chair", needs_step_free=True)
    loop = make_delegate(conference, name="Hear Loop", needs_hearing_loop=True)
    problem = ws.build_problem(block, time_limit_s=1)
    by_id = {d["id"]: d for d in problem["delegates"]}
    room_c = next(w for w in ws.get_workshops(block) if w.room.name == "Room C")
    assert by_id[wheel.id]["exclude"] == [room_c.engine_id]
    assert set(by_id[loop.id]["exclude"]) == {
        w.engine_id for w in ws.get_workshops(block) if not w.room.hearing_loop}
    assert "exclude" not in by_id[people[0].id]
    ws.run_assignment(block)
    plan = ws.latest_plan(block)
    slot = ws.get_slots(block)[0]
    assert not any(s.delegate_id == wheel.id and s.workshop_id == room_c.id for s in plan.seats)
    assert not any(s.delegate_id == loop.id and not s.workshop.room.hearing_loop
                   for s in plan.seats)
    assert ws.plan_problems(block, plan) == []
    with pytest.raises(ConvenorError) as refused:
        ws.move_delegate(block, wheel.id, slot.number, room_c.id)
    assert refused.value.code == "rule_broken"
    assert "needs step-free access and Room C has none" in refused.value.message


def test_delegates_without_preferences_get_a_balanced_schedule(conference, block, make_room,
                                                               make_delegate):
    ws.set_slots(block, {"count": 3, "minutes": 25, "gap": 5})
    for i in range(4):
        room = make_room(conference, f"Hall {i}", 40)
        ws.add_workshop(block, {"title": f"Workshop {i}", "room_id": room.id})
    for i in range(60):
        make_delegate(conference, name=f"Quiet {i:02d}")
    plan = ws.run_assignment(block)
    fills = [c["count"] for row in ws.fill(block, plan) for c in row["cells"]]
    assert max(fills) - min(fills) <= 1  # 60 people over 4 workshops: 15 each per slot
    assert ws.plan_problems(block, plan) == []


def test_csrf_protects_the_ranking_form(app, conference, block, people):
    app.config["WTF_CSRF_ENABLED"] = True
    ws.set_slots(block, {"count": 3, "minutes": 25, "gap": 5})
    workshop = ws.add_workshop(block, {"title": "AI in the classroom", "capacity": 30})
    ws.set_preferences_window(block, {"open": True})
    client = app.test_client()
    me = people[0]
    url = f"/me/{me.token}/carousels/{block.id}/preferences"
    assert client.post(url, data={f"rank-{workshop.id}": "1"}).status_code == 400
    page = client.get(f"/me/{me.token}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(url, data={f"rank-{workshop.id}": "1", "csrf_token": token})
    assert r.status_code == 302
    assert [w.id for w in ws.get_preferences(block, me.id)] == [workshop.id]


def test_demo_has_a_published_carousel(sqlite_app):
    from events.conference import demo

    demo.seed_demo()
    conference = db.session.scalar(db.select(demo.Conference))
    [block] = ws.carousel_sessions(conference)
    slots = ws.get_slots(block)
    assert [(conference.local(s.starts_at).strftime("%H:%M"),
             conference.local(s.ends_at).strftime("%H:%M")) for s in slots] == [
        ("11:10", "11:35"), ("11:40", "12:05"), ("12:10", "12:35")]
    leaders = {w.leaders_line for w in ws.get_workshops(block)}
    assert {"Kieron White", "Pete F. Atherton PhD", "Cheryl Shirley"} <= leaders
    plan = ws.published_plan(block)
    assert plan is not None and ws.plan_problems(block, plan) == []
    people = ws.active_delegates(conference)
    assert len({s.delegate_id for s in plan.seats}) == len(people)
    assert 0.85 * len(people) <= len(ws.all_preferences(block)) <= 0.95 * len(people)


def test_calendar_schedule_and_csv_exports_show_the_workshops(client, login, conference, block,
                                                               rooms, atherton, people):
    services.update_conference(conference, {"published": True})
    login()
    _define_by_web(client, conference, block, rooms, atherton)
    ws.run_assignment(block)
    ws.publish(block)
    me = people[0]
    ics = client.get(f"/me/{me.token}/agenda.ics").get_data(as_text=True).replace("\r\n ", "")
    assert ics.count("Carousel ") >= 3 and "carousel-" in ics
    schedule = client.get(f"/c/{conference.slug}/schedule.json").get_json()
    titles = [e["title"] for day in schedule["schedule"]["conference"]["days"]
              for events in day["rooms"].values() for e in events]
    assert titles.count("AI in the classroom (Carousel 1)") == 1
    assert len([t for t in titles if "(Carousel" in t]) == 4 * 3
    assert block.title not in titles  # the block is replaced by its workshops
    rows = client.get(f"/organiser/{conference.slug}/allocations.csv").get_data(as_text=True)
    assert rows.count("carousel") >= 27


def test_edit_a_workshop_and_close_ranking(client, login, conference, block, rooms, atherton,
                                           people):
    login()
    base = _define_by_web(client, conference, block, rooms, atherton)
    workshop = next(w for w in ws.get_workshops(block) if w.title == "SEND inclusion")
    page = client.get(f"{base}/workshops/{workshop.id}").get_data(as_text=True)
    assert 'value="SEND inclusion"' in page
    # Room D holds "Attendance and belonging" in every slot: the form says so (issue 13).
    r = client.post(f"{base}/workshops/{workshop.id}", data={
        "title": "SEND inclusion in practice", "led_by": "peer", "room_id": rooms[3].id,
        "capacity": 3, "slot_numbers": [1, 3]})
    assert r.status_code == 422
    assert "Room D is already booked for “Attendance and belonging, Carousel 1”" in \
        r.get_data(as_text=True)
    r = client.post(f"{base}/workshops/{workshop.id}", data={
        "title": "SEND inclusion in practice", "led_by": "peer", "room_id": rooms[2].id,
        "capacity": 3, "slot_numbers": [1, 3]})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    assert workshop.title == "SEND inclusion in practice"
    assert [s.number for s in workshop.slots] == [1, 3]
    setup = client.get(f"{base}/setup").get_data(as_text=True)
    assert "Carousel 1, Carousel 3" in setup
    # Closing ranking: the delegate sees their ranking but can no longer change it.
    ws.set_preferences(block, people[0], [workshop.id])
    r = client.post(f"{base}/setup/window", data={"deadline": ""})
    assert r.status_code == 302
    panel = _panel(client, people[0])
    assert "<select" not in panel and "SEND inclusion in practice" in panel
    assert "once the organisers publish" in panel
    r = client.post(f"/me/{people[0].token}/carousels/{block.id}/preferences", data={},
                    follow_redirects=True)
    assert "ranking workshops is not open" in r.get_data(as_text=True)
    assert [w.id for w in ws.get_preferences(block, people[0].id)] == [workshop.id]


def test_start_a_slot_from_the_live_page(client, login, conference, block, rooms, atherton,
                                         people, received):
    login()
    _define_by_web(client, conference, block, rooms, atherton)
    live = f"/organiser/{conference.slug}/live"
    assert "No published assignment yet" in client.get(live).get_data(as_text=True)
    ws.run_assignment(block)
    ws.publish(block)
    page = client.get(live).get_data(as_text=True)
    assert "Start Carousel 1 (11:15)" in page
    r = client.post(f"/organiser/{conference.slug}/carousels/{block.id}/slots/1/start",
                    data={"next": live})
    assert r.status_code == 302 and r.headers["Location"].endswith(live)
    assert "Carousel 1 started" in client.get(live).get_data(as_text=True)
    [sent] = received["starting"]
    assert sent["kind"] == "carousel" and len(sent["per_delegate"]) == len(people)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_plan_headline_says_per_delegate_and_chart_says_per_seat(client, login, conference, block,
                                                                rooms, atherton, people):
    """"96.0% got their first choice" beside "Choice 1: 29.1%" read as a contradiction (issue 14)."""
    login()
    base = _define_by_web(client, conference, block, rooms, atherton)
    for p in people:
        ws.set_preferences(block, p, [w.id for w in ws.get_workshops(block)])
    assert client.post(f"{base}/run").status_code == 302
    stats = ws.latest_plan(block).stats
    text = _text(client.get(f"{base}/").get_data(as_text=True))
    assert (f"{stats['first_choice_pct']}% of delegates who ranked got their first choice in one "
            "of their slots") in text
    assert "Per delegate" in text and "Per seat" in text
    total = sum(stats["rank_histogram"].values())
    first = stats["rank_histogram"]["1"]
    assert f"Choice 1 {first} seats ({round(100 * first / total, 1)}% of seats)" in text


def test_public_session_page_lists_the_workshops_on_offer(client, login, conference, block,
                                                          rooms, atherton):
    """The carousel's public page says what is on offer: title, leaders, room, seats (issue 14)."""
    login()
    _define_by_web(client, conference, block, rooms, atherton)
    ai = next(w for w in ws.get_workshops(block) if w.title == "AI in the classroom")
    ws.update_workshop(ai, {"slot_numbers": [1, 2]})
    page = client.get(f"/c/{conference.slug}/sessions/{block.id}").get_data(as_text=True)
    text = _text(page)
    assert "Workshops on offer" in text
    for title in TITLES:
        assert title in text
    row = re.search(r"<tr[^>]*>\s*<th[^>]*>\s*AI in the classroom.*?</tr>", page, re.S).group(0)
    row_text = _text(row)
    assert "Pete F. Atherton PhD" in row_text and "Room B" in row_text
    assert "3 seats" in row_text and "Carousel 1 and Carousel 2" in row_text
    assert "Peer-led" in _text(re.search(r"<tr[^>]*>\s*<th[^>]*>\s*SEND inclusion.*?</tr>",
                                         page, re.S).group(0))
    other = services.create_session(conference, {"title": "Lunch", "kind": "break",
                                                 "starts_at": "2027-03-11T12:45",
                                                 "ends_at": "2027-03-11T13:30"})
    assert "Workshops on offer" not in client.get(
        f"/c/{conference.slug}/sessions/{other.id}").get_data(as_text=True)
