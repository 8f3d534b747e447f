"""Response headers (Flask-Talisman) and rate limits (Flask-Limiter) for every page and API.

``install(app)`` runs last in ``create_app``, once every feature has registered its routes: the
limits below are attached to endpoints by name, so the table here is the one place that says
what is throttled. docs/security.md explains each header and limit.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

#: Content-Security-Policy: only this origin's files; no inline script or style anywhere.
#: ``img-src data:`` serves Pico's inline SVG icons (checkbox ticks, select arrows) and QR codes;
#: ``connect-src 'self'`` also admits the same-origin Socket.IO WebSocket (CSP level 3);
#: ``worker-src 'self'`` the door scanner's service worker at /door/<slug>/sw.js.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "media-src": "'self'",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

#: Browser features: the door scanner needs this origin's camera, nothing needs the rest.
PERMISSIONS = {
    "camera": "(self)",
    "microphone": "()",
    "geolocation": "()",
    "payment": "()",
    "usb": "()",
    "browsing-topics": "()",
}


def install(app: Flask) -> None:
    """Add the security headers and the rate limits to ``app`` (after every blueprint)."""
    production = app.config["PRODUCTION"]
    if production:
        # Whatever else the configuration says, production cookies travel over HTTPS only.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
    proxies = int(app.config.get("PROXY_COUNT") or 0)
    if proxies:
        # Behind a reverse proxy the client's address and scheme arrive in X-Forwarded-*; trust
        # exactly that many hops, or every visitor would share the proxy's address (and limits).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    # One Talisman per app, not a shared unbound one: it keeps the app and its options on the
    # instance, and tests build development and production apps in one process.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=bool(app.config.get("FORCE_HTTPS")),
        strict_transport_security=production,
        strict_transport_security_max_age=365 * 24 * 3600,
        strict_transport_security_include_subdomains=False,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        permissions_policy=PERMISSIONS,
        session_cookie_secure=production,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        x_content_type_options=True,
    )
    limiter = Limiter(
        key_func=client_ip,
        app=app,
        strategy="moving-window",
        key_prefix="convenor",
        # A broken Redis must not lock organisers out: fall back to per-process memory.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    app.extensions["convenor_limiter"] = limiter
    _limit(app, limiter, "auth.login", app.config["RATELIMIT_LOGIN_PER_IP"], client_ip,
           methods=["POST"], deduct_when=_refused_sign_in,
           message="too many sign-in attempts from this address")
    _limit(app, limiter, "auth.login", app.config["RATELIMIT_LOGIN_PER_EMAIL"], login_email,
           methods=["POST"], deduct_when=_refused_sign_in,
           message="too many sign-in attempts for this email")
    private = sorted({rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/me/<")})
    for endpoint in private:
        # One counter for every page, feed and form under /me/<token>; only misses count, so a
        # delegate opening their own page never gets near the limit.
        _limit(app, limiter, endpoint, app.config["RATELIMIT_PRIVATE_LINK"], client_ip,
               deduct_when=_not_found, scope="private-link",
               message="too many unknown private links from this address")
    if "checkin_api.redeem" in app.view_functions:
        _limit(app, limiter, "checkin_api.redeem", app.config["RATELIMIT_BADGE_CODES"], scanning_device,
               deduct_when=_not_found, message="too many unknown badge codes from this device")
    app.register_error_handler(429, too_many_requests)


def _limit(app: Flask, limiter: Limiter, endpoint: str, value: str, key, *, message: str,
           methods: list[str] | None = None, deduct_when=None, scope: str | None = None) -> None:
    """Wrap the view of ``endpoint`` in a limit (decorating in place keeps routes where they are)."""
    view = app.view_functions[endpoint]
    if scope:
        decorator = limiter.shared_limit(value, scope=scope, key_func=key, methods=methods,
                                         deduct_when=deduct_when, error_message=message)
    else:
        decorator = limiter.limit(value, key_func=key, methods=methods, deduct_when=deduct_when,
                                  error_message=message)
    app.view_functions[endpoint] = decorator(view)


def _refused_sign_in(response) -> bool:
    # A wrong password answers 422 (the form again); a success redirects and costs nothing.
    return response.status_code == 422


def _not_found(response) -> bool:
    return response.status_code == 404


def client_ip() -> str:
    """Return the caller's address (the proxy's client, when PROXY_COUNT is set)."""
    return request.remote_addr or "unknown"


def login_email() -> str:
    """Return the email being signed in to, normalised as sign-in compares it."""
    return "email:" + (request.form.get("email") or "").strip().lower()[:320]


def scanning_device() -> str:
    """Return who is scanning: the API token (hashed), else the signed-in account, else the address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()[:32]
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return "ip:" + client_ip()


def retry_after(exc: RateLimitExceeded | None = None) -> int:
    """Return the whole seconds until the breached limit lets the caller try again (at least 1)."""
    limiter = current_app.extensions.get("convenor_limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is not None and current.breached:
        return max(1, math.ceil(current.reset_at - time.time()))
    if exc is not None and getattr(exc, "limit", None) is not None:
        return max(1, int(exc.limit.limit.get_expiry()))
    return 60


def too_many_requests(exc):
    """Answer 429 with Retry-After: JSON under /api/, a page otherwise."""
    wait = retry_after(exc)
    reason = exc.description if isinstance(exc, RateLimitExceeded) else "too many requests"
    if request.path.startswith("/api/"):
        body = {"status": "error", "reason": "rate_limited", "error": reason,
                "details": [], "retry_after": wait}
        return body, 429, {"Retry-After": str(wait)}
    page = render_template(
        "error.html", title="Too many attempts",
        message=f"There were too many attempts ({reason}). Wait {wait} seconds and try again.",
    )
    return page, 429, {"Retry-After": str(wait)}
