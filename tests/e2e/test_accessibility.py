"""WCAG 2.2 AA checks with axe-core on every kind of page, over the demo conference, in Chromium.

axe-core (MPL-2.0) is vendored in tests/vendor/axe-core. Automated checks find only part of
what WCAG asks (labels, names, contrast, structure, ARIA); keyboard use has its own tests.
axe misses some faults a first user met (issue 14), so every page is also checked for unique
ids, ``aria-describedby``/``aria-labelledby``/``for`` pointing at an element that exists,
pictographs Chromium may draw as an empty box, and multi-selects that need Ctrl-click — and
forms are checked in their error states and after an allocation, not only on first render.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.browser

AXE = (ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SLUG = "trust-leaders-2027"


#: Records what the page's Content-Security-Policy blocked; init scripts are not subject to it.
CSP_WATCH = """if (!window.__cspBlocked) {
  window.__cspBlocked = [];
  document.addEventListener("securitypolicyviolation", (e) =>
    window.__cspBlocked.push(e.effectiveDirective + " " + (e.blockedURI || "inline")));
}"""


def load_axe(page) -> None:
    """Put axe-core in the page from outside it (the CSP refuses an inline <script>)."""
    page.evaluate(AXE + "\n;undefined")


#: Faults axe does not report; each returns a sentence naming the offender.
STRUCTURE = r"""() => {
  const problems = [];
  const where = (el) => `<${el.tagName.toLowerCase()}${el.id ? ' id=' + el.id : ''}`
                        + `${el.name ? ' name=' + el.name : ''}>`;
  const counts = new Map();
  for (const el of document.querySelectorAll('[id]')) counts.set(el.id, (counts.get(el.id) || 0) + 1);
  for (const [id, n] of counts) if (n > 1) problems.push(`id "${id}" is used ${n} times`);
  for (const attr of ['aria-describedby', 'aria-labelledby']) {
    for (const el of document.querySelectorAll(`[${attr}]`)) {
      for (const ref of el.getAttribute(attr).split(/\s+/).filter(Boolean)) {
        if (!document.getElementById(ref)) {
          problems.push(`${attr}="${ref}" on ${where(el)} points at no element`);
        }
      }
    }
  }
  for (const label of document.querySelectorAll('label[for]')) {
    if (!document.getElementById(label.htmlFor)) {
      problems.push(`<label for="${label.htmlFor}"> points at no element`);
    }
  }
  // Emoji outside the basic plane need a colour emoji font, which Chromium on Linux often lacks.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.data;
    if (/[\u{1F000}-\u{1FAFF}]/u.test(text)) problems.push(`pictograph in "${text.trim()}"`);
  }
  for (const select of document.querySelectorAll('select[multiple]')) {
    problems.push(`${where(select)} is a multi-select that needs Ctrl-click`);
  }
  return problems.map(p => ({rule: 'structure', impact: 'serious', where: [p]}));
}"""


def check(page) -> list[dict]:
    """Return what the page's CSP blocked (if ``CSP_WATCH`` was installed before it loaded),
    axe's WCAG A/AA violations and the STRUCTURE faults of the page as it is now."""
    page.wait_for_load_state("networkidle")
    blocked = page.evaluate("() => window.__cspBlocked || []")
    if blocked:
        return [{"rule": "content-security-policy", "impact": "blocked", "where": blocked[:5]}]
    load_axe(page)
    return page.evaluate(STRUCTURE) + page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
             return r.violations.map(v => ({rule: v.id, impact: v.impact,
                                            where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
           }""", TAGS)


def violations(page, url: str) -> list[dict]:
    """Open ``url`` and return its axe violations and STRUCTURE faults (rule, impact, where).

    The page keeps its Content-Security-Policy; anything it blocked (an inline style or script
    left behind, a Socket.IO connection refused) is reported as a violation too.
    """
    page.add_init_script(CSP_WATCH)
    page.goto(url)
    return check(page)


@pytest.fixture
def demo(live_server):
    """The demo conference on the live server; return its password and some ids."""
    from sqlalchemy import select

    from events.conference.demo import seed_demo
    from events.conference.models import Delegate, Room, Session
    from events.extensions import db

    with live_server.app.app_context():
        result = seed_demo()
        delegate = db.session.scalar(select(Delegate).where(Delegate.needs_step_free.is_(True))
                                     .order_by(Delegate.id))
        cafe = db.session.scalar(select(Session).where(Session.kind == "world_cafe"))
        carousel = db.session.scalar(select(Session).where(Session.kind == "carousel")
                                     .order_by(Session.starts_at))
        looped = db.session.scalar(select(Session).join(Session.room)
                                   .where(Room.hearing_loop.is_(True)).order_by(Session.id))
        seeded = {"password": result.password, "token": delegate.token, "delegate": delegate.id,
                  "cafe": cafe.id, "carousel": carousel.id, "looped": looped.id}
        db.session.remove()
    return seeded


def test_the_structure_check_catches_what_axe_misses(live_server, browser, demo):
    page = browser.new_page()
    page.goto(f"{live_server.url}/c/{SLUG}/")
    page.evaluate("""() => { const main = document.querySelector('main');
                             main.insertAdjacentHTML('beforeend', '<p id="twice">a</p><p id="twice">b</p>'
                               + '<input aria-describedby="None" aria-label="x">'
                               + '<label for="nowhere">Lost</label><p>\U0001F9BB loop</p>'
                               + '<label>Pick <select multiple><option>a</option></select></label>'); }""")
    found = " | ".join(p["where"][0] for p in check(page))
    for fault in ('id "twice"', 'aria-describedby="None"', 'for="nowhere"', "pictograph",
                  "multi-select"):
        assert fault in found


def test_the_checker_itself_catches_a_violation(live_server, browser, demo):
    page = browser.new_page()
    page.goto(f"{live_server.url}/c/{SLUG}/")
    page.evaluate("""() => { const i = document.createElement('input'); i.type = 'text';
                             document.querySelector('main').appendChild(i); }""")
    load_axe(page)
    found = page.evaluate("async (tags) => (await axe.run(document, {runOnly: {type: 'tag', "
                          "values: tags}})).violations.map(v => v.id)", TAGS)
    assert "label" in found  # an unlabelled field is reported, so an empty list below means something


def test_the_policy_is_on_and_a_blocked_inline_style_is_reported(live_server, browser, demo):
    page = browser.new_page()
    page.add_init_script(CSP_WATCH)
    response = page.goto(f"{live_server.url}/c/{SLUG}/programme")
    assert "style-src 'self'" in response.headers["content-security-policy"]
    page.evaluate("""() => { const p = document.createElement('p'); p.textContent = 'x';
                             p.setAttribute('style', 'color: red');
                             document.querySelector('main').appendChild(p); }""")
    page.wait_for_function("() => window.__cspBlocked.length > 0")
    assert any(b.startswith("style-src") for b in page.evaluate("() => window.__cspBlocked"))


def test_public_and_delegate_pages_meet_wcag_aa(live_server, browser, demo):
    base = live_server.url
    pages = ["/", f"/c/{SLUG}/", f"/c/{SLUG}/programme", f"/c/{SLUG}/speakers",
             f"/c/{SLUG}/now", "/login", f"/me/{demo['token']}",
             f"/c/{SLUG}/sessions/{demo['looped']}", f"/c/{SLUG}/sessions/{demo['cafe']}",
             f"/c/{SLUG}/sessions/{demo['carousel']}"]
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in pages:
            assert violations(page, base + path) == [], f"{path} at {width}px"
            if "/sessions/" in path:
                name = "carousel" if path.endswith(str(demo["carousel"])) else \
                    "cafe" if path.endswith(str(demo["cafe"])) else "looped"
                page.screenshot(path=str(ARTIFACTS / f"public-session-{name}-{width}.png"),
                                full_page=True)
        page.close()


def test_organiser_and_door_pages_meet_wcag_aa(live_server, browser, demo):
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/login")
    page.get_by_label("Email").fill("organiser@example.org")
    page.get_by_label("Password").fill(demo["password"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/organiser/")
    org = f"/organiser/{SLUG}"
    pages = [f"{org}/", f"{org}/sessions", f"{org}/rooms", f"{org}/speakers", f"{org}/delegates",
             f"{org}/delegates/{demo['delegate']}", f"{org}/delegates/import", f"{org}/live",
             f"{org}/cafe/", f"{org}/cafe/{demo['cafe']}/", f"{org}/cafe/{demo['cafe']}/setup",
             f"{org}/carousels/", f"{org}/carousels/{demo['carousel']}/",
             f"{org}/carousels/{demo['carousel']}/setup", f"{org}/checkin/", f"/door/{SLUG}/"]
    for path in pages:
        assert violations(page, base + path) == [], path


def sign_in(browser, live_server, password, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill("organiser@example.org")
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/organiser/")
    return page


def test_forms_in_their_error_states_meet_wcag_aa(live_server, browser, demo):
    base = live_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/login")
    page.get_by_label("Email").fill("organiser@example.org")
    page.locator("#password").fill("not the password")
    page.keyboard.press("Enter")
    expect(page.locator(".field-error").first).to_be_visible()
    assert check(page) == [], "login with errors"
    page.close()
    page = sign_in(browser, live_server, demo["password"])
    org = f"/organiser/{SLUG}"
    page.goto(base + f"{org}/sessions/new")
    page.get_by_label("Title").fill("Drinks reception")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert check(page) == [], "new session with errors"
    page.goto(base + f"{org}/delegates/{demo['delegate']}")
    page.locator("#email").fill("not an address")
    page.locator("#name").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert check(page) == [], "delegate with errors"
    page.goto(base + f"{org}/cafe/{demo['cafe']}/setup")
    page.locator("#tables-count").fill("0")
    page.get_by_role("button", name="Add tables").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert check(page) == [], "World Cafe setup with errors"


def test_world_cafe_and_carousel_pages_after_an_allocation_meet_wcag_aa(live_server, browser, demo):
    base = live_server.url
    org = f"/organiser/{SLUG}"
    for width in (1280, 390):
        page = sign_in(browser, live_server, demo["password"], width)
        page.goto(base + f"{org}/cafe/{demo['cafe']}/")
        page.get_by_role("button", name=re.compile("Allocate")).first.click()
        expect(page.get_by_role("button", name=re.compile("Publish version"))).to_be_visible(
            timeout=60_000)
        assert check(page) == [], f"World Cafe plan after allocation at {width}px"
        assert violations(page, base + f"{org}/cafe/{demo['cafe']}/setup") == [], \
            f"World Cafe setup after allocation at {width}px"
        page.goto(base + f"{org}/carousels/{demo['carousel']}/")
        page.get_by_role("button", name=re.compile("Run the assignment")).first.click()
        expect(page.get_by_role("button", name=re.compile("Publish version"))).to_be_visible(
            timeout=60_000)
        assert check(page) == [], f"carousel plan after allocation at {width}px"
        assert violations(page, base + f"{org}/carousels/{demo['carousel']}/setup") == [], \
            f"carousel setup after allocation at {width}px"
        page.close()
