"""A delegate at the door on a phone: their badge QR is one tap away, and first on the day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def seed(live, slug: str, day: str) -> str:
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        organiser = services.create_organiser(f"lead-{slug}@example.org", "correct-horse-9")
        conference = services.create_conference(organiser, {
            "slug": slug, "name": "Trust Leaders' Conference", "starts_on": day, "ends_on": day,
            "published": True, "venue": "London"})
        hall = services.create_room(conference, {"name": "Main Hall", "capacity": 300})
        for i, (start, end) in enumerate((("09:00", "09:45"), ("10:00", "10:45"),
                                          ("11:00", "11:45"), ("12:00", "12:45"),
                                          ("14:00", "14:45"), ("15:00", "15:45"))):
            services.create_session(conference, {
                "title": f"Session {i + 1}: what it takes to deliver inclusive excellence",
                "kind": "plenary", "starts_at": f"{day}T{start}", "ends_at": f"{day}T{end}",
                "room_id": hall.id})
        delegate = services.create_delegate(conference, {
            "name": "Amira Khan", "email": f"amira-{slug}@example.org",
            "organisation": "Oak Trust"})
        token = delegate.token
        db.session.remove()
    return token


def test_show_my_badge_jumps_to_the_qr_code(live_server, browser):
    token = seed(live_server, "later", "2099-03-11")
    phone = browser.new_page(viewport=PHONE)
    phone.goto(f"{live_server.url}/me/{token}")
    qr = phone.get_by_role("img", name="QR code for checking Amira Khan in at the door")
    assert qr.bounding_box()["y"] > PHONE["height"]  # not the day yet: the badge is further down
    phone.screenshot(path=str(ARTIFACTS / "delegate-show-badge-phone.png"))
    phone.get_by_role("link", name="Show my badge").click()
    expect(qr).to_be_in_viewport()
    expect(phone.locator("#my-badge")).to_be_focused()


def test_on_the_conference_day_the_qr_code_is_on_the_first_screen(live_server, browser):
    today = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
    token = seed(live_server, "today", today)
    phone = browser.new_page(viewport=PHONE)
    phone.goto(f"{live_server.url}/me/{token}")
    qr = phone.get_by_role("img", name="QR code for checking Amira Khan in at the door")
    expect(qr).to_be_in_viewport()
    phone.screenshot(path=str(ARTIFACTS / "delegate-badge-first-phone.png"))
