"""An organiser's first steps in a real browser: sign in, move a session, see the programme."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def seed(live):
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        organiser = services.create_organiser("lead@example.org", "correct-horse-9")
        conference = services.create_conference(organiser, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        hall = services.create_room(conference, {"name": "Main Hall", "capacity": 300})
        services.create_room(conference, {"name": "Room B", "capacity": 40, "step_free": True})
        session = services.create_session(conference, {
            "title": "Making schools a safe space for everyone", "kind": "keynote",
            "starts_at": "2027-03-11T09:15", "ends_at": "2027-03-11T10:00", "room_id": hall.id})
        delegate = services.create_delegate(conference, {
            "name": "Amira Khan", "email": "amira@example.org", "organisation": "Oak Trust"})
        ids = session.id, delegate.token
        db.session.remove()
    return ids


def test_organiser_moves_a_session_and_the_programme_shows_it(live_server, browser):
    session_id, token = seed(live_server)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct-horse-9")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your conferences")).to_be_visible()
    page.goto(f"{live_server.url}/organiser/tlc/sessions/{session_id}")
    page.get_by_label("Starts").fill("2027-03-11T09:30")
    page.get_by_label("Ends").fill("2027-03-11T10:15")
    page.get_by_label("Room").select_option(label="Room B (40 seats, step-free)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("changed")
    page.screenshot(path=str(ARTIFACTS / "organiser-sessions-grid.png"), full_page=True)
    page.goto(live_server.url + "/c/tlc/programme")
    block = page.locator(f'.tt-session[data-session-id="{session_id}"]')
    expect(block).to_contain_text("09:30–10:15")
    expect(page.locator(".tt-room")).to_contain_text(["Room B"])
    page.screenshot(path=str(ARTIFACTS / "public-programme.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/me/{token}")
    expect(phone.get_by_role("heading", name="Amira Khan")).to_be_visible()
    expect(phone.locator(f'.session-item[data-session-id="{session_id}"]')).to_contain_text(
        "09:30")
    phone.screenshot(path=str(ARTIFACTS / "delegate-page-phone.png"), full_page=True)


def test_forms_work_with_the_keyboard_alone(live_server, browser):
    seed(live_server)
    page = browser.new_page()
    page.goto(live_server.url + "/login")
    expect(page.get_by_label("Email")).to_be_focused()  # autofocus on the first field
    page.keyboard.type("lead@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("wrong-password")
    page.keyboard.press("Enter")
    error = page.locator("#password-error")
    expect(error).to_contain_text("not right")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    page.goto(live_server.url + "/c/tlc/programme")
    page.keyboard.press("Tab")  # the skip link is the first stop on every page
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(".brand")).to_be_focused()
