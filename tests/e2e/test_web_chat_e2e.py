"""In a real browser: a delegate without Slack asks the chat box on their page and gets the
same answers as the bot; names with markup are shown as text."""

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
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2099-03-11",
            "ends_on": "2099-03-11", "published": True, "venue": "London"})
        hall = services.create_room(conference, {"name": "Main Hall", "capacity": 300})
        speaker = services.create_speaker(conference, {"name": "Ade Adepitan", "honours": "MBE"})
        services.create_session(conference, {
            "title": "Overcoming obstacles <b>live</b>", "kind": "keynote",
            "starts_at": "2099-03-11T09:15", "ends_at": "2099-03-11T10:00", "room_id": hall.id,
            "speaker_ids": [speaker.id]})
        delegate = services.create_delegate(conference, {
            "name": "Amira Khan", "email": "amira@example.org", "organisation": "Oak Trust"})
        token = delegate.token
        db.session.remove()
    return token


def test_delegate_asks_the_chat_box(live_server, browser):
    token = seed(live_server)
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(f"{live_server.url}/me/{token}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=10000)
    box = page.get_by_label("Your question")
    box.fill("when is Ade Adepitan's keynote?")
    box.press("Enter")
    answer = page.locator("#chat-answer")
    expect(answer).to_contain_text("Overcoming obstacles <b>live</b>: 09:15", timeout=10000)
    expect(answer).to_contain_text("Main Hall")
    assert answer.locator("b").count() == 0  # the title's markup is text, not HTML
    page.wait_for_timeout(1100)  # the chat takes one question a second per connection
    box.fill("what's next?")
    page.get_by_role("button", name="Ask").click()
    expect(answer).to_contain_text("Keynote · 09:15 · Main Hall — Overcoming obstacles <b>live</b>",
                                   timeout=10000)
    expect(answer).to_contain_text("(Wed 11 Mar, in ")
    page.screenshot(path=str(ARTIFACTS / "web-chat-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
