"""The Content-Security-Policy in a real browser: the door scanner, its service worker and the
throttle on badge-code guessing; a live page's Socket.IO connection under the policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_accessibility import CSP_WATCH
from tests.e2e.test_checkin_e2e import WAIT, scan_code, seed, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def low_badge_limit(monkeypatch):
    """Start the live server with a badge-code limit of 3 unknown codes a minute per device."""
    monkeypatch.setenv("RATELIMIT_BADGE_CODES", "3 per minute")


def test_scanner_runs_under_the_policy_and_pauses_when_a_device_keeps_guessing(
        low_badge_limit, live_server, browser):
    seeded = seed(live_server)
    ben = seeded["people"]["Ben Okafor"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    sign_in(page, live_server, "door@example.org")
    expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
    result, queue = page.locator("#result"), page.locator("#queue-text")
    expect(result).to_have_attribute("data-state", "ready")
    expect(queue).to_have_attribute("data-count", "0", timeout=WAIT)  # IndexedDB is open
    for n in range(3):
        scan_code(page, f"forged-code-{n}")
        expect(page.locator("#recent li")).to_have_count(n + 1, timeout=WAIT)
        expect(result).to_have_attribute("data-state", "bad", timeout=WAIT)
    # The fourth scan is a real badge, but this device is paused: it is kept, not lost.
    scan_code(page, ben["secret"])
    expect(page.locator("#result-title")).to_contain_text("Paused", timeout=WAIT)
    expect(result).to_have_attribute("data-state", "queued")
    expect(queue).to_have_attribute("data-count", "1", timeout=WAIT)
    # The page was served by plain HTTP on 127.0.0.1 (a secure context), so its service worker
    # registered under worker-src 'self'.
    page.wait_for_function("() => navigator.serviceWorker.getRegistration().then(r => !!r)",
                           timeout=WAIT)
    assert page.evaluate("() => window.__cspBlocked") == []


def test_a_live_page_connects_its_socket_under_the_policy(live_server, browser):
    from events.conference.demo import SLUG, seed_demo

    with live_server.app.app_context():
        seed_demo()
    page = browser.new_page()
    page.add_init_script(CSP_WATCH)
    websockets = []
    page.on("websocket", lambda ws: websockets.append(ws.url))
    response = page.goto(f"{live_server.url}/c/{SLUG}/now")
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    # live.js says "Live" once Socket.IO has connected (polling first, then the WebSocket).
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT)
    page.wait_for_timeout(1500)
    assert any("/socket.io/" in url for url in websockets), websockets
    assert page.evaluate("() => window.__cspBlocked") == []
