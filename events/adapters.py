"""What every adapter shares: the one table from error code to HTTP status, JSON errors, API
token auth, the organiser guard, form error placement and the CLI's one-line failure.

Services raise ``ConvenorError(code, message, details)`` and never pick a status; the web pages,
the JSON API and the CLI translate the code here, so one code means one status everywhere.
"""

from __future__ import annotations

import sys
from functools import wraps

import click
from flask import abort, flash, g, jsonify, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

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
}


def http_status(exc: ConvenorError) -> int:
    """Return the HTTP status for a service error's code."""
    return STATUS.get(exc.code, 422)


def error(status: int, message: str, details: list | None = None, code: str | None = None):
    """Return a JSON error response ``{"error", "details"[, "code"]}``."""
    body = {"error": message, "details": details or []}
    if code:
        body["code"] = code
    return jsonify(body), status


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


def body() -> dict:
    """Return the request's JSON object or raise ``unsupported_media_type``/``bad_request``."""
    if not request.is_json:
        raise ConvenorError("unsupported_media_type",
                            "send JSON with Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConvenorError("bad_request", "the body must be a JSON object")
    return data


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
