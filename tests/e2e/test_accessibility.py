"""WCAG 2.2 AA checks with axe-core on every kind of page, over the demo conference, in Chromium.

axe-core (MPL-2.0) is vendored in tests/vendor/axe-core. Automated checks find only part of
what WCAG asks (labels, names, contrast, structure, ARIA); keyboard use has its own tests.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

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


def violations(page, url: str) -> list[dict]:
    """Open ``url`` and return axe's WCAG A/AA violations (rule, impact, first offenders).

    The page keeps its Content-Security-Policy; anything it blocked (an inline style or script
    left behind, a Socket.IO connection refused) is reported as a violation too.
    """
    page.add_init_script(CSP_WATCH)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    blocked = page.evaluate("() => window.__cspBlocked")
    if blocked:
        return [{"rule": "content-security-policy", "impact": "blocked", "where": blocked[:5]}]
    load_axe(page)
    return page.evaluate(
        """async (tags) => {
             const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
             return r.violations.map(v => ({rule: v.id, impact: v.impact,
                                            where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
           }""", TAGS)


@pytest.fixture
def demo(live_server):
    """The demo conference on the live server; return its password and some ids."""
    from sqlalchemy import select

    from events.conference.demo import seed_demo
    from events.conference.models import Delegate, Session
    from events.extensions import db

    with live_server.app.app_context():
        result = seed_demo()
        delegate = db.session.scalar(select(Delegate).where(Delegate.needs_step_free.is_(True))
                                     .order_by(Delegate.id))
        cafe = db.session.scalar(select(Session).where(Session.kind == "world_cafe"))
        carousel = db.session.scalar(select(Session).where(Session.kind == "carousel")
                                     .order_by(Session.starts_at))
        seeded = {"password": result.password, "token": delegate.token, "delegate": delegate.id,
                  "cafe": cafe.id, "carousel": carousel.id}
        db.session.remove()
    return seeded


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
             f"/c/{SLUG}/now", "/login", f"/me/{demo['token']}"]
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        for path in pages:
            assert violations(page, base + path) == [], f"{path} at {width}px"
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
