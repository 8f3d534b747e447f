"""The arrivals page follows the door live: a scan at a desk shows up without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_checkin_e2e import scan_code, seed, sign_in

pytestmark = pytest.mark.browser
WAIT = 10_000


def test_arrivals_page_updates_when_the_door_scans(live_server, browser):
    seeded = seed(live_server)
    people = seeded["people"]
    organiser = browser.new_context(viewport={"width": 1280, "height": 900})
    dashboard = organiser.new_page()
    sign_in(dashboard, live_server, "lead@example.org")
    dashboard.wait_for_url("**/organiser/")
    dashboard.goto(live_server.url + "/organiser/tlc/checkin/")
    expect(dashboard.locator("#arrived-count")).to_have_text("0")
    expect(dashboard.locator("#expected-count")).to_have_text(str(len(people)))
    expect(dashboard.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT)
    dashboard.evaluate("window.__notReloaded = true")

    desk = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    scanner = desk.new_page()
    sign_in(scanner, live_server, "door@example.org")
    scanner.wait_for_url("**/door/tlc/")
    expect(scanner.locator("#code")).to_be_visible()
    scan_code(scanner, people["Amira Khan"]["secret"])
    expect(scanner.locator("#result")).to_have_attribute("data-state", "ok", timeout=WAIT)
    scan_code(scanner, "not-a-badge-code-at-all")
    expect(scanner.locator("#result")).to_have_attribute("data-state", "bad", timeout=WAIT)

    # The organiser's page changes by itself: the count, the latest scans, the organisation row.
    expect(dashboard.locator("#arrived-count")).to_have_text("1", timeout=WAIT)
    latest = dashboard.locator(".latest-scans tbody tr")
    expect(latest.first).to_contain_text("Amira Khan", timeout=WAIT)
    expect(dashboard.locator(".by-org")).to_contain_text("Oak Trust")
    # (within WAIT, shorter than the page's 30 s safety refresh: the Socket.IO event did this)
    assert dashboard.evaluate("window.__notReloaded") is True  # no page reload happened
    organiser.close()
    desk.close()
