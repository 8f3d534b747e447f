"""The door scanner in a real browser: typed badge codes, repeats, bad codes, search, offline scans.

Runs against `python app.py` (the live_server fixture) with Debian's Chromium. Rows are checked
through ``live_server.app`` on the same SQLite file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-9"
WAIT = 10_000  # ms; every wait below polls until the page shows the state, up to this long

PEOPLE = [
    ("Amira Khan", "Oak Trust"),
    ("Ben Okafor", "Ash Academies"),
    ("Chloe Davies", "Oak Trust"),
    ("Dev Patel", "Elm Learning Partnership"),
    ("Esther Mensah", "Ash Academies"),
    ("Farah Hussain", "Birch Schools"),
    ("George Wright", "Oak Trust"),
]


def seed(live) -> dict:
    """A conference with an organiser, door staff attached to it and delegates with badges."""
    from events.checkin import services as checkin
    from events.conference import services
    from events.extensions import db

    with live.app.app_context():
        lead = services.create_organiser("lead@example.org", PASSWORD)
        door = services.create_organiser("door@example.org", PASSWORD, role="door_staff")
        conference = services.create_conference(lead, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        conference.organisers.append(door)
        db.session.commit()
        people = {}
        for name, organisation in PEOPLE:
            email = name.split()[0].lower() + "@example.org"
            delegate = services.create_delegate(conference, {
                "name": name, "email": email, "organisation": organisation})
            people[name] = {"id": delegate.id, "secret": checkin.secret_for(delegate).secret}
        seeded = {"lead": lead.id, "door": door.id, "people": people}
        db.session.remove()
    return seeded


def sign_in(page, live, email: str) -> None:
    page.goto(live.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")


def scan_code(page, code: str) -> None:
    page.locator("#code").fill(code)
    page.locator("#code").press("Enter")


def entries(live, delegate_id: int) -> list:
    """The door entry check-ins of a delegate, as plain tuples read from the database."""
    from sqlalchemy import select

    from events.checkin.models import Checkin
    from events.extensions import db

    with live.app.app_context():
        rows = db.session.scalars(select(Checkin).where(Checkin.delegate_id == delegate_id,
                                                        Checkin.type == "entry")).all()
        found = [{"at": r.checked_in_at, "recorded": r.recorded_at, "device": r.device,
                  "method": r.method, "organiser": r.organiser_id, "list": r.checkin_list.name}
                 for r in rows]
        db.session.remove()
    return found


def local_hhmm(live, moment: datetime) -> str:
    from events.conference.services import get_conference
    from events.extensions import db

    with live.app.app_context():
        text = f"{get_conference('tlc').local(moment):%H:%M}"
        db.session.remove()
    return text


def test_door_staff_scan_repeat_bad_code_and_search(live_server, browser):
    seeded = seed(live_server)
    amira, ben = seeded["people"]["Amira Khan"], seeded["people"]["Ben Okafor"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, "door@example.org")
    # Door staff with one conference land straight on its scanner.
    expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
    expect(page.get_by_role("heading", name="Door check-in")).to_be_visible()
    expect(page.locator("#result")).to_have_attribute("data-state", "ready")
    page.locator("#device").fill("North door")
    page.locator("#device").dispatch_event("change")

    result, title, name = page.locator("#result"), page.locator("#result-title"), page.locator(
        "#result-name")
    scan_code(page, amira["secret"])
    expect(result).to_have_attribute("data-state", "ok", timeout=WAIT)
    expect(title).to_have_text("Checked in")
    expect(name).to_have_text("Amira Khan")
    expect(page.locator("#result-detail")).to_contain_text("Oak Trust")
    expect(page.locator("#code")).to_have_value("")  # ready for the next badge
    (row,) = entries(live_server, amira["id"])
    assert row["device"] == "North door" and row["method"] == "scan"
    assert row["organiser"] == seeded["door"]

    scan_code(page, amira["secret"])
    expect(result).to_have_attribute("data-state", "warn", timeout=WAIT)
    expect(title).to_have_text(f"Already checked in at {local_hhmm(live_server, row['at'])} (North door)")
    expect(name).to_have_text("Amira Khan")
    assert len(entries(live_server, amira["id"])) == 1

    scan_code(page, "made-up-code-0000000000000000")
    expect(result).to_have_attribute("data-state", "bad", timeout=WAIT)
    expect(title).to_have_text("Not a badge for this conference")
    expect(name).to_have_text("")
    expect(page.locator("#recent li")).to_have_count(3)
    expect(page.locator("#recent li").first).to_have_attribute("data-state", "bad")

    page.locator("#q").fill("Okafor")
    page.locator("#q").press("Enter")
    hits = page.locator("#search-results li")
    expect(hits).to_have_count(1, timeout=WAIT)
    expect(hits.first).to_contain_text("Ben Okafor")
    expect(hits.first).to_contain_text("Ash Academies")
    assert entries(live_server, ben["id"]) == []
    hits.first.get_by_role("button", name="Check in Ben Okafor").click()
    expect(result).to_have_attribute("data-state", "ok", timeout=WAIT)
    expect(name).to_have_text("Ben Okafor")
    (row,) = entries(live_server, ben["id"])
    assert (row["method"], row["device"], row["list"]) == ("manual", "North door", "door")
    page.locator("#q").focus()  # the screenshot shows the search box's focus ring too
    page.screenshot(path=str(ARTIFACTS / "checkin_scanner_desktop.png"), full_page=True)
    # Searching again shows he is already in.
    page.locator("#q").press("Enter")
    expect(hits.first).to_contain_text("already in at", timeout=WAIT)

    # Door staff check people in; the arrivals dashboard is for organisers only.
    response = page.goto(live_server.url + "/organiser/tlc/checkin/")
    assert response.status == 403

    # The same scanner on a phone.
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(live_server.url + "/door/tlc/")
    expect(phone.locator("#device")).to_have_value("North door")  # the desk name was remembered
    scan_code(phone, seeded["people"]["Chloe Davies"]["secret"])
    expect(phone.locator("#result")).to_have_attribute("data-state", "ok", timeout=WAIT)
    expect(phone.locator("#result-name")).to_have_text("Chloe Davies")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the scanner is {overflow}px wider than a 390px phone"
    phone.screenshot(path=str(ARTIFACTS / "checkin_scanner_phone.png"), full_page=True)
    context.close()


def test_offline_scans_wait_on_the_device_and_upload_once_with_their_scan_time(live_server, browser):
    from sqlalchemy import select

    from events.checkin.models import CheckinNonce, ScanLog
    from events.extensions import db

    seeded = seed(live_server)
    dev, esther = seeded["people"]["Dev Patel"], seeded["people"]["Esther Mensah"]
    # No service worker: the test is about the page's own IndexedDB queue, nothing cached.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    sign_in(page, live_server, "door@example.org")
    expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
    queue, net, result = page.locator("#queue-text"), page.locator("#net"), page.locator("#result")
    expect(queue).to_have_attribute("data-count", "0", timeout=WAIT)  # IndexedDB is open
    expect(net).to_have_attribute("data-state", "online")

    context.set_offline(True)
    expect(net).to_have_attribute("data-state", "offline", timeout=WAIT)
    expect(page.locator("#net-text")).to_contain_text("Offline")
    typed_from = datetime.now(UTC)
    scan_code(page, dev["secret"])
    expect(result).to_have_attribute("data-state", "queued", timeout=WAIT)
    expect(queue).to_have_attribute("data-count", "1", timeout=WAIT)
    scan_code(page, esther["secret"])
    expect(queue).to_have_attribute("data-count", "2", timeout=WAIT)
    expect(result).to_have_attribute("data-state", "queued")
    expect(page.locator("#result-detail")).to_contain_text("2 waiting")
    expect(queue).to_have_text("2 scans waiting to upload")
    expect(page.locator("#flush")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "checkin_scanner_offline.png"), full_page=True)
    assert entries(live_server, dev["id"]) == [] and entries(live_server, esther["id"]) == []
    back_online_at = datetime.now(UTC)

    context.set_offline(False)
    expect(queue).to_have_attribute("data-count", "0", timeout=WAIT)
    expect(net).to_have_attribute("data-state", "online")
    expect(page.locator("#flush")).to_be_hidden()
    # The result box no longer says the scans are waiting.
    expect(result).to_have_attribute("data-state", "ready")
    expect(page.locator("#result-detail")).to_contain_text("2 saved scans uploaded")
    expect(page.locator("#recent li").first).to_contain_text("uploaded: Esther Mensah — Checked in")
    expect(page.locator("#recent li").nth(1)).to_contain_text("uploaded: Dev Patel — Checked in")
    nonces = []
    for person in (dev, esther):
        (row,) = entries(live_server, person["id"])
        # The time the badge was typed in offline, not the time it reached the server.
        assert typed_from - timedelta(seconds=2) <= row["at"] <= back_online_at, row
        assert row["recorded"] >= back_online_at - timedelta(seconds=1), row
        with live_server.app.app_context():
            logs = db.session.scalars(select(ScanLog).where(ScanLog.delegate_id == person["id"])).all()
            assert [log.result for log in logs] == ["ok"]
            nonces.append(logs[0].nonce)
            db.session.remove()
    assert all(len(n) == 32 for n in nonces) and nonces[0] != nonces[1]

    # An upload cut off half-way is sent again with the same nonce: same answer, nothing counted twice.
    replay = page.evaluate("""async ([api, nonce, secret]) => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const r = await fetch(api, {method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
          body: JSON.stringify({secret, nonce, list: "door", device: "Desk 1",
                                scanned_at: new Date().toISOString()})});
        return [r.status, await r.json()];
    }""", [page.locator("#scanner").get_attribute("data-api"), nonces[0], dev["secret"]])
    assert replay[0] == 201 and replay[1]["status"] == "ok", replay
    assert replay[1]["delegate"]["name"] == "Dev Patel"
    assert len(entries(live_server, dev["id"])) == 1
    with live_server.app.app_context():
        from events.checkin.services import nonce_key
        from events.conference.models import Organiser

        organisers = db.session.scalars(select(Organiser)).all()
        for nonce in nonces:
            assert db.session.scalars(select(ScanLog.result).where(ScanLog.nonce == nonce)).all() == ["ok"]
            # Stored once, under the key scoped to the desk's account and device.
            keys = [nonce_key(o, {"device": "Desk 1", "nonce": nonce}) for o in organisers]
            stored = db.session.scalars(select(CheckinNonce).where(CheckinNonce.nonce.in_(keys)))
            assert len(stored.all()) == 1
        db.session.remove()
    context.close()


def test_a_saved_scan_is_kept_when_the_desk_was_signed_out_meanwhile(live_server, browser):
    seeded = seed(live_server)
    george = seeded["people"]["George Wright"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    sign_in(page, live_server, "door@example.org")
    expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
    queue, net = page.locator("#queue-text"), page.locator("#net")
    expect(queue).to_have_attribute("data-count", "0", timeout=WAIT)
    context.set_offline(True)
    expect(net).to_have_attribute("data-state", "offline", timeout=WAIT)
    typed_from = datetime.now(UTC)
    scan_code(page, george["secret"])
    expect(queue).to_have_attribute("data-count", "1", timeout=WAIT)

    context.clear_cookies()  # signed out (in another tab, or the session ended) while offline
    context.set_offline(False)
    expect(net).to_have_attribute("data-state", "signed-out", timeout=WAIT)
    expect(page.locator("#net-text")).to_contain_text("sign in again")
    expect(queue).to_have_attribute("data-count", "1")  # still on the device, not thrown away
    assert entries(live_server, george["id"]) == []

    signed_in_at = datetime.now(UTC)
    sign_in(page, live_server, "door@example.org")  # lands on the scanner, which uploads at once
    expect(page).to_have_url(live_server.url + "/door/tlc/", timeout=WAIT)
    expect(queue).to_have_attribute("data-count", "0", timeout=WAIT)
    (row,) = entries(live_server, george["id"])
    assert typed_from - timedelta(seconds=2) <= row["at"] <= signed_in_at, row
    context.close()


def test_arrivals_dashboard_for_the_organiser(live_server, browser):
    from events.checkin import api as checkin
    from events.conference import services
    from events.conference.models import Organiser
    from events.extensions import db

    seeded = seed(live_server)
    people = seeded["people"]
    now = datetime.now(UTC).replace(microsecond=0)
    with live_server.app.app_context():
        conference = services.get_conference("tlc")
        lead = db.session.get(Organiser, seeded["lead"])
        for minutes, who, device in ((42, "Amira Khan", "Desk 1"), (38, "Ben Okafor", "Desk 2"),
                                     (36, "Chloe Davies", "Desk 1"), (21, "Dev Patel", "Desk 2"),
                                     (7, "Farah Hussain", "Desk 1")):
            status, body = checkin.redeem(conference, lead, {
                "secret": people[who]["secret"], "device": device,
                "scanned_at": (now - timedelta(minutes=minutes)).isoformat()})
            assert status == 201, body
        status, body = checkin.redeem(conference, lead, {"secret": people["Amira Khan"]["secret"],
                                                         "device": "Desk 2"})
        assert body["reason"] == "already_checked_in"
        status, body = checkin.redeem(conference, lead, {"secret": "not-a-badge-at-all-000000",
                                                         "device": "Desk 2"})
        assert body["reason"] == "invalid"
        db.session.remove()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, "lead@example.org")
    expect(page.get_by_role("heading", name="Your conferences")).to_be_visible(timeout=WAIT)
    page.goto(live_server.url + "/organiser/tlc/checkin/")
    expect(page.get_by_role("heading", name="Arrivals", exact=True)).to_be_visible()
    expect(page.locator("#arrived-count")).to_have_text("5")
    expect(page.locator("#expected-count")).to_have_text(str(len(PEOPLE)))
    latest = page.locator(".latest-scans tbody tr")
    expect(latest).to_have_count(7)
    expect(latest.first).to_contain_text("Invalid")
    expect(latest.nth(1)).to_contain_text("Already in")
    expect(page.locator(".by-org")).to_contain_text("Oak Trust")
    expect(page.locator(".arrivals-chart rect.bar")).not_to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "checkin_arrivals.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    page.screenshot(path=str(ARTIFACTS / "checkin_arrivals_phone.png"), full_page=True)
    assert overflow <= 0, f"the arrivals page is {overflow}px wider than a 390px phone"
    page.close()
