"""World Cafe in a real browser: the floor plan, a hand move, publishing, the delegate's tables."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
TRUSTS = ["Oak Learning Trust", "Ash Academy Trust", "Elm Education Trust", "Yew Schools",
          "Beacon Trust", "Harbour Trust"]
QUESTIONS = ["What does inclusive excellence look like in your classroom?",
             "Which one change would help pupils with SEND belong?",
             "How can a trust share expertise between schools?",
             "What stops good practice from spreading?"]


def seed(live):
    from carousels.cafe import services as cs
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        organiser = services.create_organiser("lead@example.org", "correct-horse-9")
        conference = services.create_conference(organiser, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        atrium = services.create_room(conference, {"name": "Atrium", "capacity": 200,
                                                   "step_free": True})
        session = services.create_session(conference, {
            "title": "World Cafe: what will it take?", "kind": "world_cafe",
            "starts_at": "2027-03-11T13:30", "ends_at": "2027-03-11T14:45",
            "room_id": atrium.id})
        people = [services.create_delegate(conference, {
            "name": f"{first} {last}", "email": f"{first}.{last}@example.org".lower(),
            "organisation": TRUSTS[i % len(TRUSTS)], "needs_step_free": i == 5})
            for i, (first, last) in enumerate(
                (f, f_last) for f in ("Amira", "Ben", "Chloe", "Daniel", "Emeka", "Fiona")
                for f_last in ("Khan", "Jones", "Patel", "Smith"))]
        cs.set_rounds(session, {"count": 3, "minutes": 20, "gap": 5})
        tables = cs.add_tables(session, {"count": 4, "capacity": 7, "step_free": 1})
        for table, host, question in zip(tables, people[:4], QUESTIONS, strict=True):
            cs.update_table(table, {"host_id": host.id, "question": question})
        ids = session.id, people[9].token, people[9].name
        db.session.remove()
    return ids


@pytest.fixture
def short_runs(monkeypatch):
    """Keep the server's allocation runs short (read by the app at start-up)."""
    monkeypatch.setenv("CAFE_TIME_LIMIT_S", "1")


def test_floor_plan_move_publish_and_delegate_tables(short_runs, live_server, browser):
    session_id, token, name = seed(live_server)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct-horse-9")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your conferences")).to_be_visible()
    page.goto(f"{live_server.url}/organiser/tlc/cafe/")
    page.get_by_role("link", name="World Cafe: what will it take?").click()
    # While the allocation request runs, the page says so (navigation held back here).
    page.evaluate("""document.querySelector('form[data-working]')
        .addEventListener('submit', (e) => e.preventDefault())""")
    page.get_by_role("button", name="Allocate tables").click()
    working = page.locator(".cafe-working")
    expect(working).to_be_visible()
    expect(working).to_contain_text("Working… Allocating 24 delegates to 4 tables")
    expect(page.get_by_role("button", name="Allocate tables")).to_be_disabled()
    page.reload()
    page.get_by_role("button", name="Allocate tables").click()
    expect(page.locator(".flash-success")).to_contain_text("version 1 (draft)")
    rounds = page.locator(".cafe-round")
    expect(rounds).to_have_count(3)
    first = rounds.first.locator(".cafe-table")
    expect(first).to_have_count(4)
    # Every person carries their organisation in words, not only a colour.
    expect(rounds.first.locator(".cafe-people li")).to_have_count(24)
    expect(rounds.first.locator(".cafe-org").first).not_to_be_empty()
    expect(page.locator('[data-stat="repeat_pairs"] strong')).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator('[data-stat="same_org_pairs"]')).to_contain_text("lowest possible: 0")
    page.screenshot(path=str(ARTIFACTS / "cafe-floor-plan.png"), full_page=True)

    # A hand move that breaks the step-free rule is refused with the reason next to the field.
    page.locator("#move-delegate_id").select_option(label="Ben Jones — Harbour Trust")
    page.locator("#move-round_number").select_option(label="Round 2")
    page.locator("#move-table_id").select_option(label="Table 3")
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#move-table_id-error")).to_contain_text("step-free")

    page.get_by_role("button", name="Publish version 1").click()
    expect(page.locator(".flash-success")).to_contain_text("Published version 1")
    page.screenshot(path=str(ARTIFACTS / "cafe-published.png"))

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/me/{token}")
    panel = phone.locator(".cafe-mine")
    expect(panel).to_contain_text("Round 1 — Table")
    expect(panel).to_contain_text("Round 3 — Table")
    expect(panel).to_contain_text("host ")
    phone.screenshot(path=str(ARTIFACTS / "cafe-delegate-phone.png"), full_page=True)
    assert name in phone.locator("h1").inner_text()
