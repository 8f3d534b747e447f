"""Carousel ranking in a real browser, by keyboard only: rank, swap, save, see it kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
TITLES = ["AI in the classroom", "SEND inclusion", "Attendance and belonging"]


def seed(live):
    from carousels.workshops import services as ws
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        organiser = services.create_organiser("lead@example.org", "correct-horse-9")
        conference = services.create_conference(organiser, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        block = services.create_session(conference, {
            "title": "Carousels", "kind": "carousel", "starts_at": "2027-03-11T11:10",
            "ends_at": "2027-03-11T12:40"})
        ws.set_slots(block, {"count": 3, "minutes": 25, "gap": 5})
        for i, title in enumerate(TITLES):
            room = services.create_room(conference, {"name": f"Room {'ABC'[i]}", "capacity": 20})
            ws.add_workshop(block, {"title": title, "room_id": room.id})
        ws.set_preferences_window(block, {"open": True, "deadline": "2027-03-10T18:00"})
        delegate = services.create_delegate(conference, {"name": "Amira Khan",
                                                         "email": "amira@example.org"})
        ids = delegate.token, [w.id for w in ws.get_workshops(block)], block.id
        db.session.remove()
    return ids


def _tab_to(page, element_id: str, limit: int = 80) -> None:
    """Press Tab until ``element_id`` has focus (keyboard only, as a user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"could not reach #{element_id} with the Tab key")


def test_delegate_ranks_workshops_with_the_keyboard(live_server, browser):
    token, ids, block_id = seed(live_server)
    by_title = dict(zip(sorted(TITLES), ids, strict=True))
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(f"{live_server.url}/me/{token}")
    first = f"rank-{block_id}-{by_title['SEND inclusion']}"
    second = f"rank-{block_id}-{by_title['AI in the classroom']}"
    # Rank "SEND inclusion" 1 and "AI in the classroom" 2 by typing; then step "AI in the
    # classroom" up to 1 with the arrow keys: leaving it swaps the two, and says so.
    _tab_to(page, first)
    page.keyboard.type("1")
    _tab_to(page, second)
    page.keyboard.type("2")
    page.keyboard.press("Tab")
    expect(page.locator(f"#{first}")).to_have_value("1")
    expect(page.locator(f"#{second}")).to_have_value("2")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowUp")
    expect(page.locator(f"#{second}")).to_have_value("1")
    expect(page.locator(f"#{first}")).to_have_value("1")  # nothing moves while stepping
    page.keyboard.press("Tab")
    expect(page.locator(f"#{first}")).to_have_value("2")
    expect(page.locator(".ws-rank-status")).to_contain_text("SEND inclusion is now rank 2")
    page.screenshot(path=str(ARTIFACTS / "workshops_ranking.png"), full_page=True)
    # Save with the keyboard: Tab to the button and press Enter.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Save my ranking":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your ranking is saved")).to_be_visible()
    expect(page.locator(f"#{second}")).to_have_value("1")
    expect(page.locator(f"#{first}")).to_have_value("2")
    rows = page.locator(".ws-rank tbody tr strong")
    expect(rows.first).to_have_text("AI in the classroom")
    page.screenshot(path=str(ARTIFACTS / "workshops_ranking_saved.png"), full_page=True)
