"""Security headers on every page, cookie flags, and the sign-in, private-link and badge-code limits.

Issue 13, item 9: no page had a Content-Security-Policy, X-Frame-Options or nosniff, the
remember-me cookie had no SameSite, 30 wrong passwords followed by the right one signed in, and
an unknown email answered 20 times faster than a known one. Each test below failed on that code.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

URL = "/api/v1/conferences/tlc/checkins"
CSP_MUST = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
            "connect-src 'self'", "worker-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]


def assert_security_headers(response, where: str, *, production: bool = False) -> None:
    """Assert the headers every response carries (and HSTS only in production)."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.strip() for d in csp.split(";")}
    for must in CSP_MUST:
        assert must in directives, f"{where}: CSP lacks {must!r}: {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    if production:
        assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where
    else:
        assert "Strict-Transport-Security" not in headers, where


class _Page(HTMLParser):
    """Collect a page's links and anything the CSP would block (inline script, style, handlers)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.inline: list[str] = []
        self._script_open = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "a" and names.get("href"):
            self.links.append(names["href"])
        for name, value in attrs:
            if name == "style":
                self.inline.append(f"<{tag} style={value!r}>")
            elif name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")
            elif name in ("href", "src", "action") and \
                    (value or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.inline.append("<style> element")
        self._script_open = tag == "script" and "src" not in names and \
            names.get("type") != "application/json"

    def handle_data(self, data):
        if self._script_open and data.strip():
            self.inline.append("inline <script>: " + data.strip()[:60])

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_open = False


def crawl(client, seeds: list[str], limit: int = 400) -> dict[str, int]:
    """Follow same-site links from ``seeds`` with GET; check headers and inline code on each page."""
    seen: dict[str, int] = {}
    queue = list(seeds)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        with client.get(url) as response:
            seen[url] = response.status_code
            assert response.status_code < 500, url
            assert_security_headers(response, url)
            if response.mimetype != "text/html":
                continue
            text = response.get_data(as_text=True)
        page = _Page()
        page.feed(text)
        assert page.inline == [], f"{url} has what the CSP blocks: {page.inline[:5]}"
        for href in page.links:
            href, _ = urldefrag(href)
            parts = urlsplit(href)
            if parts.scheme in ("http", "https") and parts.netloc == "convenor.test":
                href = parts.path + (f"?{parts.query}" if parts.query else "")
            elif parts.scheme or parts.netloc or not href.startswith("/"):
                continue
            if href not in seen and href not in queue:
                queue.append(href)
    return seen


@pytest.fixture
def demo(sqlite_app):
    """The demo conference: its organiser's password and a delegate's private token."""
    from sqlalchemy import select

    from events.conference.demo import seed_demo
    from events.conference.models import Delegate
    from events.extensions import db

    result = seed_demo()
    delegate = db.session.scalar(select(Delegate).order_by(Delegate.id))
    return {"password": result.password, "token": delegate.token, "slug": "trust-leaders-2027"}


def test_every_page_of_the_demo_carries_the_security_headers(sqlite_app, demo):
    slug = demo["slug"]
    public = sqlite_app.test_client()
    seen = crawl(public, ["/", f"/c/{slug}/", "/login", f"/me/{demo['token']}"])
    assert f"/c/{slug}/programme" in seen and f"/me/{demo['token']}" in seen

    organiser = sqlite_app.test_client()
    signed_in = organiser.post("/login", data={"email": "organiser@example.org",
                                               "password": demo["password"]})
    assert signed_in.status_code == 302
    assert_security_headers(signed_in, "POST /login")
    pages = crawl(organiser, ["/organiser/", f"/organiser/{slug}/", f"/door/{slug}/"])
    html = [url for url in pages if pages[url] == 200]
    # The organiser's pages, the door scanner and its service worker were all walked.
    assert f"/door/{slug}/" in pages and len(html) > 20, sorted(pages)
    assert any("/cafe/" in url for url in html) and any("/carousels/" in url for url in html)
    worker = organiser.get(f"/door/{slug}/sw.js")
    assert worker.status_code == 200
    assert_security_headers(worker, "sw.js")


def test_no_template_has_inline_script_style_or_handlers():
    """Pages the walk cannot reach (a badge job, print sheets) follow the policy too."""
    from tests.conftest import ROOT

    emails = {"notify/_email.html", "notify/_links.html"}  # mail clients need inline styles
    checked = 0
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        if name in emails or name.startswith("notify/email_"):
            continue
        page = _Page()
        page.feed(path.read_text())
        assert page.inline == [], f"{name}: {page.inline[:5]}"
        checked += 1
    assert checked > 50


def test_error_pages_and_the_api_carry_the_headers_too(client, api, conference):
    assert_security_headers(client.get("/no/such/page"), "404")
    assert_security_headers(api.get("/api/v1/conferences"), "API")
    with client.get("/static/css/convenor.css") as static:
        assert_security_headers(static, "static file")


def test_cookies_are_httponly_and_samesite_lax(client, organiser):
    response = client.post("/login", data={"email": "lead@example.org",
                                           "password": "correct-horse-9", "remember": "y"})
    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert {"session", "remember_token"} <= set(cookies), cookies
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name], "development cookies must work over plain HTTP"


def test_production_adds_hsts_and_secure_cookies_without_redirecting(monkeypatch, tmp_path):
    from app import create_app
    from events.conference import services
    from events.extensions import db

    monkeypatch.setenv("CONVENOR_ENV", "production")
    app = create_app({"TESTING": True, "SECRET_KEY": "prod-test-key", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}"})
    with app.app_context():
        db.create_all()
        services.create_organiser("prod@example.org", "correct-horse-9")
        secure = app.test_client().post("/login", base_url="https://convenor.example",
                                        data={"email": "prod@example.org",
                                              "password": "correct-horse-9", "remember": "y"})
        assert secure.status_code == 302
        assert_security_headers(secure, "production over HTTPS", production=True)
        for cookie in secure.headers.getlist("Set-Cookie"):
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        # No redirect forced by the app (the proxy terminates TLS); a plain request is served.
        plain = app.test_client().get("/login", base_url="http://convenor.example")
        assert plain.status_code == 200
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- sign-in throttling


def later(monkeypatch, seconds: float) -> None:
    """Move the clock the rate limiter reads forward by ``seconds``."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_the_eleventh_wrong_sign_in_from_one_address_is_refused_until_the_window_passes(
        client, organiser, monkeypatch):
    for n in range(10):  # ten different emails, so only the per-address limit counts
        wrong = client.post("/login", data={"email": f"guess{n}@example.org", "password": "nope"})
        assert wrong.status_code == 422, n
    blocked = client.post("/login", data={"email": "guess10@example.org", "password": "nope"})
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)
    assert_security_headers(blocked, "429")
    # The right password does not get through while the limit holds...
    right = {"email": "lead@example.org", "password": "correct-horse-9"}
    assert client.post("/login", data=right).status_code == 429
    # ...nor does another address's limit spill over, and the form can still be read.
    assert client.get("/login").status_code == 200
    other = client.post("/login", data=right, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 302
    later(monkeypatch, 61)
    assert client.post("/login", data=right).status_code == 302


def test_five_wrong_passwords_for_one_email_lock_that_email_from_every_address(client, organiser):
    for n in range(5):
        wrong = client.post("/login", data={"email": "Lead@Example.org", "password": f"nope{n}"},
                            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        assert wrong.status_code == 422
    blocked = client.post("/login", data={"email": "lead@example.org", "password": "correct-horse-9"},
                          environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert blocked.status_code == 429 and blocked.headers["Retry-After"]
    fine = client.post("/login", data={"email": "someone@example.org", "password": "nope"},
                       environ_base={"REMOTE_ADDR": "198.51.100.99"})
    assert fine.status_code == 422


def test_successful_sign_ins_cost_nothing(client, organiser, login):
    for _ in range(11):  # the suite's `login` fixture signs in freely
        login()
        client.post("/logout")


def test_the_limits_are_on_in_tests_and_can_be_switched_off(sqlite_app, tmp_path):
    from app import create_app
    from events.extensions import db

    assert sqlite_app.config["RATELIMIT_ENABLED"] is True  # the suite runs with the limits on
    off = create_app({"TESTING": True, "SECRET_KEY": "k", "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'off.db'}"})
    assert off.config["RATELIMIT_STORAGE_URI"] == "memory://"
    with off.app_context():
        db.create_all()
        client = off.test_client()
        answers = {client.post("/login", data={"email": f"x{n}@example.org", "password": "no"}).status_code
                   for n in range(12)}
        assert answers == {422}
        db.session.remove()
        db.engine.dispose()


def test_redis_stores_the_counters_when_the_app_has_redis(monkeypatch, tmp_path):
    from app import create_app

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    app = create_app({"TESTING": True, "SECRET_KEY": "k",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.db'}"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:1/0"
    monkeypatch.delenv("REDIS_URL")
    queue = create_app({"TESTING": True, "SECRET_KEY": "k", "SOCKETIO_MESSAGE_QUEUE": None,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    assert queue.config["RATELIMIT_STORAGE_URI"] == "memory://"


# --------------------------------------------------------------------------- timing


def test_unknown_and_known_emails_both_pay_for_a_password_hash(client, organiser, monkeypatch):
    from events.conference import services

    calls: list[str] = []
    real = services.check_password_hash

    def counting(stored, password):
        calls.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    assert client.post("/login", data={"email": "nobody@example.org", "password": "x"}).status_code == 422
    assert client.post("/login", data={"email": "lead@example.org", "password": "x"}).status_code == 422
    assert len(calls) == 2
    # The dummy hash uses the same method and cost as a real one, so both take as long.
    assert calls[0] == calls[1] == services.generate_password_hash("x").split("$", 1)[0]


# --------------------------------------------------------------------------- guessing


def test_a_device_guessing_badge_codes_gets_429(api, conference, make_organiser):
    for n in range(30):
        miss = api.post(URL, json={"secret": f"forged-{n:04d}", "device": "Desk 1"})
        assert miss.status_code == 404, miss.get_json()
    blocked = api.post(URL, json={"secret": "forged-9999", "device": "Desk 1"})
    assert blocked.status_code == 429
    body = blocked.get_json()
    assert body["error"] and body["details"] == [] and body["reason"] == "rate_limited"
    assert int(blocked.headers["Retry-After"]) >= 1
    # The limit is the device's (its token), not everyone's: another token is still answered.
    _, other_token = make_organiser("desk2@example.org")
    other = api.post(URL, token=other_token, json={"secret": "forged-0001", "device": "Desk 2"})
    assert other.status_code == 403  # not a manager of this conference, but not throttled


def test_guessing_private_links_gets_429_and_real_links_still_open(app, client, conference,
                                                                   make_delegate):
    ann = make_delegate(conference)
    allowed = int(app.config["RATELIMIT_PRIVATE_LINK"].split()[0])
    for n in range(allowed):
        assert client.get(f"/me/not-a-token-{n}").status_code == 404
    blocked = client.get(f"/me/not-a-token-{allowed}")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert re.search(r"[Tt]oo many", blocked.get_data(as_text=True))
    assert client.get(f"/me/{ann.token}/agenda.ics").status_code == 429  # one limit for all /me pages
    elsewhere = client.get(f"/me/{ann.token}", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert elsewhere.status_code == 200
