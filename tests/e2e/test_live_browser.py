"""Browser test: an organiser moves a session; a delegate's phone and the venue's Now & Next screen
show it within 2 s without reloading (Playwright driving Debian's Chromium, real server)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ARTIFACTS, ROOT, at, free_port, wait_for_port

pytestmark = pytest.mark.browser
SECRET = "live-browser-secret"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
#: The bar from the issue: every open page shows a change within 2 s.
LIVE_MS = 2000


def seed(url: str) -> dict:
    """Create a small published programme: keynote, carousel, lunch, World Cafe."""
    from app import create_app
    from events.conference import services
    from events.extensions import db
    from events.live import services as live_services

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "TESTING": True})
    with app.app_context():
        db.create_all()
        owner = services.create_organiser("lead@example.org", "correct-horse-9", name="Lead")
        conference = services.create_conference(owner, {
            "slug": "tlc", "name": "Trust Leaders' Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "published": True, "venue": "London"})
        rooms = {name: services.create_room(conference, {"name": name, "capacity": seats,
                                                         "step_free": True})
                 for name, seats in (("Main Hall", 400), ("Room B", 40), ("Room C", 40))}
        cruddas = services.create_speaker(conference, {"name": "Leora Cruddas", "honours": "CBE"})
        atherton = services.create_speaker(conference, {"name": "Pete F. Atherton",
                                                        "honours": "PhD"})

        def add(title, kind, start, end, room, speakers=()):
            return services.create_session(conference, {
                "title": title, "kind": kind, "starts_at": at(start), "ends_at": at(end),
                "room_id": rooms[room].id if room else None,
                "speaker_ids": [s.id for s in speakers]})

        add("Inclusive excellence in trusts", "keynote", "09:30", "10:15", "Main Hall", [cruddas])
        add("Coffee", "break", "10:15", "10:45", None)
        carousel = add("AI in the classroom", "carousel", "11:15", "12:00", "Main Hall",
                       [atherton])
        add("AI and trust strategy", "carousel", "11:15", "12:00", "Room B")
        add("Lunch", "break", "12:00", "13:00", None)
        add("World Cafe: what will it take?", "world_cafe", "13:00", "14:30", "Main Hall")
        delegate = services.create_delegate(conference, {
            "name": "Ann Example", "email": "ann@example.org", "organisation": "Oak Trust",
            "role": "Headteacher"})
        live_services.create_announcement(conference, {"text": "Welcome! Coffee is in the atrium."})
        seeded = {"session_id": carousel.id, "room_c": rooms["Room C"].id,
                  "delegate_token": delegate.token}
        db.session.remove()
        db.engine.dispose()
    return seeded


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    seeded = seed(url)
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), DATABASE_URL=url, SECRET_KEY=SECRET)
    env.pop("SOCKETIO_MESSAGE_QUEUE", None)
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            if not wait_for_port(port, 30):
                pytest.fail("the server did not start")
            yield f"http://127.0.0.1:{port}", seeded
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield chromium
        chromium.close()


def wait_live(page) -> None:
    """Wait until the page's Socket.IO connection is up, and mark the page to detect reloads."""
    from playwright.sync_api import expect

    expect(page.locator('#live-status[data-state="live"]')).to_be_visible(timeout=10_000)
    page.evaluate("window.__notReloaded = true")


def test_moved_session_shows_on_phone_and_screen_without_reload(server, browser):
    from playwright.sync_api import expect

    base, seeded = server
    session_id = seeded["session_id"]

    organiser = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = organiser.new_page()
    desk.goto(f"{base}/login")
    desk.get_by_label("Email").fill("lead@example.org")
    desk.get_by_label("Password").fill("correct-horse-9")
    desk.get_by_role("button", name="Sign in").click()
    desk.wait_for_url(f"{base}/organiser/")

    public = browser.new_context(viewport={"width": 1280, "height": 900})
    phone = public.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{base}/me/{seeded['delegate_token']}")
    screen = public.new_page()
    screen.set_viewport_size({"width": 1600, "height": 900})
    screen.goto(f"{base}/c/tlc/now?at=2027-03-11T11:20")
    programme = public.new_page()
    programme.goto(f"{base}/c/tlc/programme")
    for page in (phone, screen, programme):
        wait_live(page)
    rows = screen.locator("#now-rows tr")
    expect(rows.filter(has_text="Main Hall")).to_contain_text("AI in the classroom")
    screen.screenshot(path=str(ARTIFACTS / "live_now_before.png"))

    # The organiser moves the 11:15 carousel to Room C through the organiser form.
    desk.goto(f"{base}/organiser/tlc/sessions/{session_id}")
    desk.get_by_label("Room").select_option(str(seeded["room_c"]))
    desk.get_by_role("button", name="Save").click()
    expect(desk.locator(".flash-success")).to_contain_text("changed room")

    banner = phone.locator("#live-message")
    expect(banner).to_contain_text("Your 11:15 carousel “AI in the classroom” moved to Room C.",
                                   timeout=LIVE_MS)
    item = phone.locator(f'li[data-session-id="{session_id}"] .where')
    expect(item).to_have_text("Room C", timeout=LIVE_MS)
    expect(rows.filter(has_text="Room C")).to_contain_text("AI in the classroom", timeout=LIVE_MS)
    expect(rows.filter(has_text="Main Hall")).not_to_contain_text("AI in the classroom",
                                                                  timeout=LIVE_MS)
    cell = programme.locator(f'.programme a.tt-session[data-session-id="{session_id}"]')
    expect(cell).to_contain_text("Room C", timeout=LIVE_MS)

    # An announcement from the Live page reaches the screen and the phone too.
    desk.goto(f"{base}/organiser/tlc/live")
    desk.get_by_role("textbox", name="Announcement").fill("World Cafe starts at 13:00 in the Main Hall")
    desk.get_by_role("button", name="Send to every screen").click()
    expect(desk.locator(".flash-success")).to_be_visible()
    for page in (screen, phone):
        expect(page.locator("#live-announcements li").first).to_contain_text(
            "World Cafe starts at 13:00", timeout=LIVE_MS)

    for page in (phone, screen, programme):
        assert page.evaluate("window.__notReloaded === true"), "the page reloaded"

    phone.screenshot(path=str(ARTIFACTS / "live_delegate_phone.png"), full_page=True)
    screen.screenshot(path=str(ARTIFACTS / "live_now_after.png"))
    programme.screenshot(path=str(ARTIFACTS / "live_programme.png"))
    desk.screenshot(path=str(ARTIFACTS / "live_organiser_live.png"), full_page=True)
    desk.goto(f"{base}/organiser/tlc/")
    wait_live(desk)
    desk.screenshot(path=str(ARTIFACTS / "live_dashboard.png"))
    organiser.close()
    public.close()


def test_now_screen_advances_and_keeps_contrast(server, browser):
    from playwright.sync_api import expect

    base, _ = server
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    screen = context.new_page()
    screen.goto(f"{base}/c/tlc/now?at=2027-03-11T10:14:57")
    rows = screen.locator("#now-rows tr")
    expect(rows.filter(has_text="Main Hall")).to_contain_text("Inclusive excellence in trusts")
    expect(screen.locator("#now-clock")).to_have_text("10:14")
    # Seconds later the keynote is over and coffee is on: the screen moves on by itself.
    expect(rows.filter(has_text="Across the venue").locator(".now-now")).to_contain_text(
        "Coffee", timeout=30_000)
    expect(screen.locator("#now-clock")).to_have_text("10:15")
    colours = screen.evaluate("""() => {
        const s = getComputedStyle(document.querySelector('.now-title'));
        return [s.color, getComputedStyle(document.body).backgroundColor, s.fontSize];
    }""")
    assert colours[0] == "rgb(244, 246, 248)" and colours[1] == "rgb(15, 21, 28)"
    assert float(colours[2].rstrip("px")) >= 30  # readable across a room on a 1080p screen
    screen.screenshot(path=str(ARTIFACTS / "live_now_1080p.png"))
    # The renderer for a World Cafe round start (the payload shape is tested in test_live.py).
    screen.evaluate("""() => window.ConvenorNow.roundStarting({kind: "cafe", number: 3,
        session: {title: "World Cafe", ends_at: "2027-03-11T14:30:00+00:00"},
        places: [{table: "Table 4", room: "Atrium", host: "Sam Host", question: "Who is missing?"},
                 {table: "Table 7", room: "Atrium", host: "Kim Host", question: "What helps?"}]})""")
    plan = screen.locator("#now-round")
    expect(plan).to_contain_text("World Cafe round 3")
    expect(plan.locator("li")).to_have_count(2)
    expect(plan.locator("li").first).to_contain_text("Host: Sam Host")
    screen.screenshot(path=str(ARTIFACTS / "live_now_round.png"))
    context.close()
