"""Check-in JSON API: redeem a scan, search, arrival figures, check-in lists and badge codes.

Phones and scanning apps call it with a bearer API token; the door scanner page calls it with
the session cookie and a CSRF header. The service answers in the domain's words
(``ScanResult``); this module alone turns an outcome into 201/200/404/409 and the door's text.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, Flask, Response, g, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import validate_csrf

from events import adapters
from events.checkin import services as checkin
from events.checkin.badges import qr_png, qr_svg
from events.checkin.services import ScanResult
from events.conference import services
from events.conference.models import Conference, Delegate
from events.errors import ConvenorError
from events.extensions import csrf
from events.openapi import EXTRA_PATHS, INT, STR, json_body, obj, op

api_bp = Blueprint("checkin_api", __name__, url_prefix="/api/v1/conferences/<slug>")

# --------------------------------------------------------------------------- plumbing


def _scan_error(status: int, reason: str, message: str, details: list | None = None):
    return jsonify({"status": "error", "reason": reason, "error": message,
                    "details": details or []}), status


def _caller():
    """Return the organiser calling: bearer token, or a signed-in browser with a CSRF header.

    Returns (organiser, None) or (None, error response).
    """
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        organiser = services.organiser_for_token(raw.strip()) if scheme.lower() == "bearer" else None
        if organiser is None:
            return None, _scan_error(401, "unauthorised", "the API token is not valid")
        return organiser, None
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except Exception:  # noqa: BLE001 - any CSRF failure is the same answer
                return None, _scan_error(400, "bad_request",
                                         "the page's security token is missing or expired; reload")
        return current_user._get_current_object(), None
    return None, _scan_error(401, "unauthorised",
                             "send an API token as 'Authorization: Bearer <token>' or sign in")


def _conference(slug: str) -> Conference | None:
    try:
        return services.get_conference(slug)
    except ConvenorError:
        return None


def door_access(*, organisers_only: bool = False, log: bool = False):
    """Allow organisers and door staff of the conference (or only organisers) to call a view."""

    def decorate(view):
        @wraps(view)
        def wrapper(slug, *args, **kwargs):
            conference = _conference(slug)
            organiser, failure = _caller()
            if failure is not None:
                # Authenticate before reading a body: an anonymous caller's is never parsed.
                if log and conference is not None:
                    checkin.refuse(conference, None, failure[0].json["reason"])
                return failure
            if conference is None:
                return _scan_error(404, "invalid", f"no conference called {slug!r}")
            allowed = organiser.manages(conference) and (
                organiser.role == "organiser" or (organiser.role == "door_staff" and not organisers_only))
            if not allowed:
                if log:
                    checkin.refuse(conference, organiser, "forbidden", _quiet_body())
                what = "only organisers may do this" if organiser.manages(conference) else \
                    f"you do not work on the conference {slug!r}"
                return _scan_error(403, "forbidden", what)
            g.organiser = organiser
            return view(conference, *args, **kwargs)

        return wrapper

    return decorate


def _quiet_body():
    """Return the JSON body for the scan log, or None when it cannot be read."""
    try:
        return adapters.read_json()
    except ConvenorError:
        return None


@api_bp.errorhandler(ConvenorError)
def _api_error(exc: ConvenorError):
    adapters.discard_changes()
    return _scan_error(adapters.http_status(exc), exc.code, exc.message, exc.details)


# --------------------------------------------------------------------------- API

#: HTTP status for each scan outcome (a refused scan is an answer, not an error).
SCAN_STATUS = {"ok": 201, "already_checked_in": 200, "invalid": 404, "unknown_list": 404,
               "revoked": 409, "canceled": 409, "not_checked_in": 409}

#: What the door reads for each refusal.
SCAN_MESSAGES = {
    "revoked": "This badge was replaced — ask for ID and reprint",
    "canceled": "Registration cancelled — send to the help desk",
    "not_checked_in": "Not checked in, so cannot check out",
}


def answer(result: ScanResult) -> tuple[int, dict]:
    """Return the HTTP status and JSON body for a scan's result (a replay answers as the first)."""
    if result.legacy_answer is not None:
        return result.legacy_answer
    outcome, at = result.outcome, result.at
    if outcome == "ok":
        word = "in" if result.type == "entry" else "out"
        return SCAN_STATUS[outcome], {
            "status": "ok", "type": result.type, "message": f"Checked {word}",
            "delegate": result.delegate, "list": result.list_name,
            f"checked_{word}_at": at.isoformat(timespec="seconds") if at else None}
    if outcome == "unknown_list":
        return SCAN_STATUS[outcome], {"status": "error", "reason": outcome,
                                      "message": f"No check-in list called {result.list_name!r}"}
    if outcome == "invalid":
        message = ("No such delegate at this conference" if result.manual
                   else "Not a badge for this conference")
        return SCAN_STATUS[outcome], {"status": "error", "reason": outcome, "message": message}
    if outcome == "already_checked_in":
        where = f" ({result.device})" if result.device else ""
        return SCAN_STATUS[outcome], {
            "status": "error", "reason": outcome,
            "message": f"Already checked in at {at:%H:%M}{where}",
            "first_checked_in_at": at.isoformat(timespec="seconds") if at else None,
            "device": result.device, "list": result.list_name, "delegate": result.delegate}
    return SCAN_STATUS[outcome], {"status": "error", "reason": outcome,
                                  "message": SCAN_MESSAGES[outcome], "delegate": result.delegate}


def redeem(conference: Conference, organiser, data) -> tuple[int, dict]:
    """Redeem a scan and answer it as the JSON API does: (HTTP status, JSON body)."""
    return answer(checkin.redeem(conference, organiser, data))



@api_bp.post("/checkins", endpoint="redeem")
@door_access(log=True)
def redeem_view(conference: Conference):
    """Check a badge in (or out): the answers are in the scan's JSON ``status`` and ``reason``."""
    try:
        data = adapters.read_json()
    except ConvenorError as exc:
        checkin.refuse(conference, g.organiser, "bad_request")
        return _scan_error(adapters.http_status(exc), "bad_request", exc.message, exc.details)
    status, body = redeem(conference, g.organiser, data)
    return jsonify(body), status


@api_bp.get("/checkins/search")
@door_access()
def search(conference: Conference):
    results = checkin.search(conference, request.args.get("q", ""), request.args.get("list"))
    return jsonify({"results": results})


@api_bp.get("/checkins/stats")
@door_access(organisers_only=True)
def stats(conference: Conference):
    return jsonify(checkin.arrivals(conference))


def _list_json(row) -> dict:
    return {"name": row.name, "label": row.label, "kind": row.kind,
            "day": row.day.isoformat() if row.day else None, "session_id": row.session_id,
            "number": row.number}


@api_bp.get("/checkin-lists")
@door_access()
def lists(conference: Conference):
    return jsonify([_list_json(r) for r in checkin.checkin_lists(conference)])


@api_bp.post("/checkin-lists")
@door_access(organisers_only=True)
def add_list(conference: Conference):
    return jsonify(_list_json(checkin.create_list(conference, adapters.body()))), 201


@api_bp.delete("/checkin-lists/<name>")
@door_access(organisers_only=True)
def remove_list(conference: Conference, name: str):
    checkin.delete_list(conference, name)
    return "", 204


def _delegate(conference: Conference, delegate_id: int) -> Delegate:
    return services.get_delegate(conference, delegate_id)


@api_bp.get("/delegates/<int:delegate_id>/badge.png")
@door_access(organisers_only=True)
def badge_png(conference: Conference, delegate_id: int):
    secret = checkin.secret_for(_delegate(conference, delegate_id)).secret
    size = request.args.get("size", "10")
    box = int(size) if size.isdigit() and len(size) <= 2 and 1 <= int(size) <= 40 else 10
    return Response(qr_png(secret, box), mimetype="image/png",
                    headers={"Cache-Control": "private, no-store"})


@api_bp.get("/delegates/<int:delegate_id>/badge.svg")
@door_access(organisers_only=True)
def badge_svg(conference: Conference, delegate_id: int):
    secret = checkin.secret_for(_delegate(conference, delegate_id)).secret
    return Response(qr_svg(secret), mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


@api_bp.get("/delegates/<int:delegate_id>/badge")
@door_access(organisers_only=True)
def badge_info(conference: Conference, delegate_id: int):
    """Return the badge secret (for printing elsewhere) and its image links."""
    delegate = _delegate(conference, delegate_id)
    row = checkin.secret_for(delegate)
    return jsonify({"delegate_id": delegate.id, "secret": row.secret,
                    "issued_at": row.created_at.isoformat(),
                    "png": url_for(".badge_png", slug=conference.slug, delegate_id=delegate.id),
                    "svg": url_for(".badge_svg", slug=conference.slug, delegate_id=delegate.id)})


@api_bp.post("/delegates/<int:delegate_id>/badge/reissue")
@door_access(organisers_only=True)
def reissue(conference: Conference, delegate_id: int):
    row = checkin.reissue(_delegate(conference, delegate_id))
    return jsonify({"delegate_id": delegate_id, "secret": row.secret,
                    "issued_at": row.created_at.isoformat()}), 201


@api_bp.post("/delegates/<int:delegate_id>/badge/revoke")
@door_access(organisers_only=True)
def revoke(conference: Conference, delegate_id: int):
    checkin.revoke(_delegate(conference, delegate_id))
    return "", 204


def _openapi() -> None:
    from events.openapi import SLUG, id_param

    scan = obj({"secret": STR, "delegate_id": INT, "list": STR, "nonce": STR,
                 "scanned_at": {"type": "string", "format": "date-time"}, "device": STR,
                 "type": {"type": "string", "enum": ["entry", "exit"]}})
    answer = obj({"status": {"type": "string", "enum": ["ok", "error"]}, "reason": STR,
                   "message": STR, "delegate": {"type": "object"}, "checked_in_at": STR,
                   "first_checked_in_at": STR, "device": STR}, ["status"])
    base, who = "/conferences/{slug}", [SLUG, id_param("delegate_id")]
    anything = {"200": json_body({"type": "object"}, "OK")}
    EXTRA_PATHS[base + "/checkins"] = {"post": op(
        "Check a badge (`secret`) or a delegate picked by hand (`delegate_id`) in or out; "
        "`nonce` (fresh for each scan, scoped to the caller and `device`) makes retries safe, "
        "`scanned_at` dates offline scans",
        {"201": json_body(answer, "Checked in (or out)"), "200": json_body(answer, "Already checked in"),
         "404": json_body(answer, "Invalid, tampered or foreign code"),
         "409": json_body(answer, "Revoked badge, cancelled registration, exit without entry, "
                                  "or `nonce_reused`: the nonce was used for a different scan")},
        body=scan, params=[SLUG], extra=("415",))}
    EXTRA_PATHS[base + "/checkins/search"] = {"get": op(
        "Find delegates by name, organisation or the start of their badge code", anything,
        params=[SLUG, {"name": "q", "in": "query", "required": True, "schema": STR},
                {"name": "list", "in": "query", "required": False, "schema": STR}])}
    EXTRA_PATHS[base + "/checkins/stats"] = {"get": op("Arrival figures", anything, params=[SLUG])}
    EXTRA_PATHS[base + "/checkin-lists"] = {
        "get": op("The check-in lists (the door first)", anything, params=[SLUG]),
        "post": op("Add a check-in list for a day, session, carousel slot or cafe round",
                    {"201": json_body({"type": "object"}, "The list")},
                    body=obj({"kind": {"type": "string", "enum": ["day", "session", "slot", "round"]},
                               "day": {"type": "string", "format": "date"}, "session_id": INT,
                               "number": INT}, ["kind"]), params=[SLUG], extra=("409", "415"))}
    EXTRA_PATHS[base + "/checkin-lists/{name}"] = {"delete": op(
        "Remove a check-in list (not the door)", {"204": {"description": "Removed"}},
        params=[SLUG, {"name": "name", "in": "path", "required": True, "schema": STR}])}
    image = {"200": {"description": "The QR code"}}
    EXTRA_PATHS[base + "/delegates/{delegate_id}/badge.png"] = {"get": op(
        "The badge QR code as PNG", image, params=who)}
    EXTRA_PATHS[base + "/delegates/{delegate_id}/badge.svg"] = {"get": op(
        "The badge QR code as SVG", image, params=who)}
    EXTRA_PATHS[base + "/delegates/{delegate_id}/badge"] = {"get": op(
        "The badge secret and its image links", anything, params=who)}
    EXTRA_PATHS[base + "/delegates/{delegate_id}/badge/reissue"] = {"post": op(
        "Revoke the badge and issue a new code", {"201": json_body({"type": "object"}, "New code")},
        params=who)}
    EXTRA_PATHS[base + "/delegates/{delegate_id}/badge/revoke"] = {"post": op(
        "Revoke the badge (scans then answer revoked)", {"204": {"description": "Revoked"}},
        params=who)}


def register(app: Flask) -> None:
    """Attach the check-in JSON API (CSRF-exempt: it checks the token or the CSRF header)."""
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    _openapi()
