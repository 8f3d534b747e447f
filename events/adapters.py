"""What every adapter shares: the one table from error code to HTTP status, JSON errors, API
token auth, the organiser guard, form error placement and the CLI's one-line failure.

Services raise ``ConvenorError(code, message, details)`` and never pick a status; the web pages,
the JSON API and the CLI translate the code here, so one code means one status everywhere.
"""

from __future__ import annotations

import json
import math
import sys
from functools import wraps

import click
from flask import abort, current_app, flash, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.routing.converters import IntegerConverter

from events.conference import services
from events.conference.models import Conference
from events.errors import ConvenorError
from events.extensions import db

#: HTTP status for each error code; codes not listed map to 422.
STATUS = {
    "bad_request": 400,
    "unauthorised": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_list": 404,
    "invalid": 422,
    "room_clash": 409,
    "duplicate": 409,
    "conflict": 409,
    "full": 409,
    "revoked": 409,
    "canceled": 409,
    "not_checked_in": 409,
    "unsupported_media_type": 415,
    "nonce_reused": 409,
}

#: The database's integer range (PostgreSQL ``integer``, the narrowest id and count column).
DB_INT_MIN, DB_INT_MAX = -(2**31), 2**31 - 1
#: How deeply a JSON body may nest; no request of this API needs more than a few levels.
MAX_JSON_DEPTH = 32


def http_status(exc: ConvenorError) -> int:
    """Return the HTTP status for a service error's code."""
    return STATUS.get(exc.code, 422)


def error(status: int, message: str, details: list | None = None, code: str | None = None):
    """Return a JSON error response ``{"error", "details"[, "code"]}``."""
    body = {"error": message, "details": details or []}
    if code:
        body["code"] = code
    return jsonify(body), status


def http_exception(exc: HTTPException):
    """Answer an HTTP error (404, 405…) as JSON, keeping its headers (``Allow`` on a 405)."""
    response, status = error(exc.code or 500, exc.description or exc.name, [],
                             exc.name.lower().replace(" ", "_"))
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def unexpected(exc: Exception):
    """Log an unexpected exception with its traceback and answer a JSON 500."""
    current_app.logger.error("unhandled error on %s %s", request.method, request.path,
                             exc_info=exc)
    discard_changes()
    return error(500, "internal error", [], "internal")


def discard_changes() -> None:
    """Drop whatever a failed service call left unsaved (the one place adapters roll back)."""
    db.session.rollback()


def convenor_error(exc: ConvenorError):
    """Answer a service error as JSON with the status its code maps to."""
    discard_changes()
    return error(http_status(exc), exc.message, exc.details, exc.code)


def token_required(view):
    """Require ``Authorization: Bearer <token>`` and put the organiser on ``g``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return error(401, "send an API token as 'Authorization: Bearer <token>'", [],
                         "unauthorised")
        organiser = services.organiser_for_token(raw.strip())
        if organiser is None:
            return error(401, "the API token is not valid", [], "unauthorised")
        g.organiser = organiser
        return view(*args, **kwargs)

    return wrapper


def managed(slug: str) -> Conference:
    """Return the conference if the token's organiser manages it (404, then 403)."""
    conference = services.get_conference(slug)
    services.require_manager(g.organiser, conference)
    return conference


class NonFinite(str):
    """A number JSON should not carry (``NaN``, ``Infinity``, ``1e400``), kept to be refused by name."""


def _non_finite(text: str) -> NonFinite:
    return NonFinite(text)


def _finite_float(text: str) -> float | NonFinite:
    number = float(text)
    return number if math.isfinite(number) else NonFinite(text)


def parse_json(raw: bytes | str):
    """Parse JSON text; ``NaN``, ``Infinity`` and overflowing floats come back as ``NonFinite``.

    Raises ``ValueError`` for text that is not JSON, including nesting too deep for Python's
    parser (which raises ``RecursionError``).
    """
    try:
        return json.loads(raw, parse_constant=_non_finite, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def bad_value(value) -> str | None:
    """Return why a JSON scalar is refused at the edge, or None when it is fine.

    Text may not hold NUL characters or unpaired surrogates (PostgreSQL refuses both and
    SQLite would store them silently); integers must fit the database's integer columns;
    numbers must be finite.
    """
    if isinstance(value, NonFinite):
        return f"must be a finite number, not {value}"
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL characters"
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            return "contains an unpaired surrogate (not valid Unicode text)"
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if not DB_INT_MIN <= value <= DB_INT_MAX:
            return f"must be between {DB_INT_MIN} and {DB_INT_MAX}"
    return None


def check_json(data) -> list[dict]:
    """Return a ``details`` entry for every refused value in a parsed JSON document.

    The field is named by its path (``name``, ``workshop_ids[2]``, ``body`` for the root).
    Keys are checked like values. Walks iteratively, so depth costs no Python stack.
    """
    errors: list[dict] = []
    stack: list[tuple[str, object, int]] = [("", data, 0)]
    while stack and len(errors) < 20:
        path, value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return [{"field": "body", "message": f"nests deeper than {MAX_JSON_DEPTH} levels"}]
        if isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                why = bad_value(key)
                if why:
                    errors.append({"field": child.encode("utf-8", "replace").decode(),
                                   "message": "a key " + why})
                    continue
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((f"{path or 'body'}[{i}]", item, depth + 1))
        else:
            why = bad_value(value)
            if why:
                errors.append({"field": path or "body", "message": why})
    return sorted(errors, key=lambda e: e["field"])


def read_json():
    """Return the request's parsed JSON body (any JSON value), refusing hostile input.

    Raises ``unsupported_media_type`` when it is not JSON, ``bad_request`` naming the field for
    text that is not JSON, too deep, non-finite numbers, integers outside the database's
    range, NUL characters and unpaired surrogates.
    """
    if not request.is_json:
        raise ConvenorError("unsupported_media_type",
                            "send JSON with Content-Type: application/json")
    try:
        data = parse_json(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConvenorError("bad_request", "the body is not valid JSON",
                            [{"field": "body", "message": str(exc)[:200]}]) from None
    problems = check_json(data)
    if problems:
        summary = "; ".join(f"{p['field']} {p['message']}" for p in problems[:5])
        raise ConvenorError("bad_request", f"the body cannot be used: {summary}", problems)
    return data


def query_int(name: str, default: int | None = None, *, minimum: int = 0,
              maximum: int = DB_INT_MAX) -> int | None:
    """Read a whole number from the query string; raise ``bad_request`` naming it otherwise."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if len(raw) > 12 or not raw.lstrip("-").isdecimal() or not minimum <= int(raw) <= maximum:
        raise ConvenorError("bad_request", f"{name} must be a whole number from {minimum} to "
                            f"{maximum}", [{"field": name, "message": f"must be between "
                                                                      f"{minimum} and {maximum}"}])
    return int(raw)


def body() -> dict:
    """Return the request's JSON object or raise ``unsupported_media_type``/``bad_request``."""
    data = read_json()
    if not isinstance(data, dict):
        raise ConvenorError("bad_request", "the body must be a JSON object",
                            [{"field": "body", "message": "must be a JSON object"}])
    return data


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but parsing refuses ``NaN``/``Infinity`` and turns a ``RecursionError`` on
    deep nesting into a ``ValueError``: ``request.get_json`` then answers 400, not 500.

    Only a safety net: the API reads bodies through ``read_json``, which also names the field.
    """

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def _refuse_constant(text: str):
    raise ValueError(f"{text} is not a number JSON allows")


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in URLs, limited to the database's integer range (beyond it: 404, not 500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def install_edges(app) -> None:
    """Bound ``<int:…>`` URL parts and make ``get_json`` strict, app-wide (before any route)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)


def manager_required(view):
    """Load ``slug`` into ``g.conference``; 404 if unknown, 403 unless the user manages it."""

    @wraps(view)
    @login_required
    def wrapper(slug, *args, **kwargs):
        try:
            conference = services.get_conference(slug)
        except ConvenorError:
            abort(404)
        if current_user.role != "organiser" or not current_user.manages(conference):
            abort(403)
        g.conference = conference
        return view(conference, *args, **kwargs)

    return wrapper


def signed_in_organiser():
    """Return the organiser signed in through the browser, if any."""
    return current_user if current_user.is_authenticated else None


def public_conference(slug: str) -> Conference:
    """Return a published conference, or any conference its own organiser previews; else 404."""
    try:
        conference = services.get_conference(slug)
    except ConvenorError:
        abort(404)
    organiser = signed_in_organiser()
    if not conference.published and not (organiser and organiser.manages(conference)):
        abort(404)
    return conference


def apply_errors(form, exc: ConvenorError) -> None:
    """Show a service error next to the fields it names, or at the top of the form."""
    discard_changes()
    placed = False
    for detail in exc.details:
        field = getattr(form, str(detail.get("field", "")).split(".")[0], None)
        if field is not None:
            field.errors = list(field.errors) + [detail["message"]]
            placed = True
    if not placed:
        flash(exc.message, "error")


class ConfirmForm(FlaskForm):
    """An empty form: a POST button protected by CSRF."""


def fail(message: str) -> None:
    """Print one error line and exit with code 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
