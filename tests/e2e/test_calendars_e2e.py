"""In a real browser: a delegate finds the subscribe buttons and replaces their private link;
an organiser previews and imports a Sessionize programme (CSRF on, as in production)."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.integration.test_exchange import SESSIONIZE

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
        services.create_session(conference, {
            "title": "Making schools a safe space for everyone", "kind": "keynote",
            "starts_at": "2027-03-11T09:15", "ends_at": "2027-03-11T10:00", "room_id": hall.id})
        delegate = services.create_delegate(conference, {
            "name": "Amira Khan", "email": "amira@example.org", "organisation": "Oak Trust"})
        token = delegate.token
        db.session.remove()
    return token


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:  # noqa: S310 - local test server
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_delegate_subscribes_and_replaces_their_link(live_server, browser):
    token = seed(live_server)
    old_feed = f"{live_server.url}/me/{token}/agenda.ics"
    assert status(old_feed) == 200
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{live_server.url}/me/{token}")
    panel = page.get_by_role("article", name="Your day in your calendar")
    # The links are styled as buttons (role="button"), which is how assistive tech hears them.
    expect(panel.get_by_role("button", name="Subscribe (Apple, Thunderbird, phone)")
           ).to_have_attribute("href", f"webcal://127.0.0.1:{live_server.url.rsplit(':', 1)[1]}"
                               f"/me/{token}/agenda.ics")
    expect(panel.get_by_role("button", name="Add to Google Calendar")).to_be_visible()
    expect(panel.get_by_label("Or copy your private feed address")).to_have_value(old_feed)
    page.screenshot(path=str(ARTIFACTS / "calendar-delegate-panel.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{live_server.url}/me/{token}")
    expect(phone.get_by_role("button", name="Add to Google Calendar")).to_be_in_viewport()
    phone.screenshot(path=str(ARTIFACTS / "calendar-delegate-panel-phone.png"), full_page=True)
    phone.close()
    panel.get_by_text("Shared your link by mistake?").click()
    panel.get_by_role("button", name="Replace my private link").click()
    expect(page.locator(".flash-success")).to_contain_text("replaced")
    assert token not in page.url
    assert status(old_feed) == 404
    assert status(page.url.rstrip("/") + "/agenda.ics") == 200


def test_organiser_imports_a_sessionize_programme(live_server, browser, tmp_path):
    seed(live_server)
    clashing = tmp_path / "sessionize-all-data.json"
    clashing.write_text(json.dumps(SESSIONIZE))
    fixed = copy.deepcopy(SESSIONIZE)
    fixed["sessions"][0].update(startsAt="2027-03-11T10:30:00", endsAt="2027-03-11T11:15:00")
    good = tmp_path / "sessionize-fixed.json"
    good.write_text(json.dumps(fixed))
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct-horse-9")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your conferences")).to_be_visible()
    page.goto(live_server.url + "/organiser/tlc/")
    page.get_by_role("navigation", name="Organiser").get_by_role(
        "link", name="Import programme").click()
    page.get_by_label("File to import").set_input_files(str(clashing))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("Main Hall is already booked")
    expect(page.get_by_role("button", name="Import 3 sessions")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "calendar-import-errors.png"), full_page=True)
    page.get_by_label("File to import").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator(".flash-success")).to_contain_text("3 sessions")
    page.screenshot(path=str(ARTIFACTS / "calendar-import-preview.png"), full_page=True)
    page.get_by_role("button", name="Import 3 sessions").click()
    expect(page.locator(".flash-success")).to_contain_text("Imported 3 sessions")
