"""*Send links* in a real browser against `python app.py` and its in-process notification
worker: the progress bar fills as the emails reach a real SMTP server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, free_port
from tests.smtp_fixtures import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_sink(monkeypatch):
    """An SMTP server the `python app.py` started next will send to (its env is read then)."""
    sink = SmtpSink(free_port())
    sink.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(sink.port))
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "events@example.org")
    try:
        yield sink
    finally:
        sink.stop()


def seed(live) -> list[str]:
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        organiser = services.create_organiser("lead@example.org", "correct-horse-9")
        conference = services.create_conference(organiser, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        emails = [f"person{n}@example.org" for n in range(6)]
        for n, address in enumerate(emails):
            services.create_delegate(conference, {"name": f"Person {n}", "email": address,
                                                  "organisation": "Oak Trust"})
        db.session.remove()
    return emails


def test_send_links_progress_with_the_in_process_worker(mail_sink, live_server, browser):
    emails = seed(live_server)
    mail_sink.handler.delay = 0.5  # slow enough to see the bar move
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("lead@example.org")
    page.get_by_label("Password").fill("correct-horse-9")
    page.keyboard.press("Enter")
    page.wait_for_url("**/organiser/")
    page.goto(live_server.url + "/organiser/tlc/delegates")
    page.get_by_text("Send links by email").click()
    page.get_by_label("Send to").select_option(label="Everyone registered")
    page.get_by_role("button", name="Send links").click()
    expect(page.get_by_role("heading", name="Sending private links")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("this page updates itself")
    expect(page.get_by_role("status")).to_contain_text("6 of 6 sent", timeout=30_000)
    expect(page.get_by_role("status")).to_contain_text("Finished.")
    assert page.locator("#links-bar").evaluate("bar => [bar.value, bar.max]") == [6, 6]
    page.screenshot(path=str(ARTIFACTS / "send-links-progress.png"), full_page=True)
    assert sorted(e.rcpt_tos[0] for e in mail_sink.envelopes) == sorted(emails)
    page.goto(live_server.url + "/organiser/tlc/delegates")
    expect(page.locator("td.link-status .sent")).to_have_count(6)
