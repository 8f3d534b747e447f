"""JSON API under /api/v1: bearer-token auth, thin translation onto the service layer."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from events import adapters
from events.adapters import body, convenor_error, managed, token_required
from events.conference import importers, services
from events.conference.models import Conference, Delegate, Room, Session, Speaker
from events.errors import ConvenorError
from events.openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# --------------------------------------------------------------------------- serialisers


def conference_json(c: Conference) -> dict:
    """Return a conference as API JSON."""
    return {
        "id": c.id,
        "slug": c.slug,
        "name": c.name,
        "tagline": c.tagline,
        "starts_on": c.starts_on.isoformat(),
        "ends_on": c.ends_on.isoformat(),
        "timezone": c.timezone,
        "venue": c.venue,
        "published": c.published,
        "version": c.version,
        "registration_open": c.registration_open,
        "registration_capacity": c.registration_capacity,
        "notify_email": c.notify_email,
        "email_reminders": c.email_reminders,
        "contact_email": c.contact_email,
    }


def room_json(r: Room) -> dict:
    """Return a room as API JSON."""
    return {"id": r.id, "name": r.name, "capacity": r.capacity, "step_free": r.step_free,
            "hearing_loop": r.hearing_loop}


def speaker_json(s: Speaker) -> dict:
    """Return a speaker as API JSON."""
    return {"id": s.id, "name": s.name, "honours": s.honours, "organisation": s.organisation,
            "bio": s.bio}


def session_json(s: Session) -> dict:
    """Return a session as API JSON, times with the conference's offset."""
    tz = s.conference.tz
    return {
        "id": s.id,
        "title": s.title,
        "kind": s.kind,
        "description": s.description,
        "room_id": s.room_id,
        "room": s.room.name if s.room else None,
        "starts_at": s.starts_at.astimezone(tz).isoformat(),
        "ends_at": s.ends_at.astimezone(tz).isoformat(),
        "speaker_ids": [sp.id for sp in s.speakers],
        "capacity": s.capacity,
        "status": s.status,
        "sequence": s.sequence,
    }


def delegate_link(d: Delegate) -> str:
    """Return the absolute private link of a delegate."""
    return url_for("views.delegate_page", token=d.token, _external=True)


def delegate_json(d: Delegate) -> dict:
    """Return a delegate as API JSON, with their private link."""
    return {
        "id": d.id,
        "name": d.name,
        "email": d.email,
        "organisation": d.organisation,
        "role": d.role,
        "region": d.region,
        "pronouns": d.pronouns,
        "access_needs": {"step_free": d.needs_step_free, "hearing_loop": d.needs_hearing_loop,
                         "other": d.access_other},
        "dietary": d.dietary,
        "slack_user_id": d.slack_user_id,
        "status": d.status,
        "link": delegate_link(d),
    }


# --------------------------------------------------------------------------- plumbing


bp.register_error_handler(ConvenorError, convenor_error)


bp.register_error_handler(HTTPException, adapters.http_exception)
bp.register_error_handler(Exception, adapters.unexpected)


# --------------------------------------------------------------------------- routes


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3 description of this API."""
    return jsonify(spec())


@bp.get("/conferences")
@token_required
def list_conferences():
    return jsonify([conference_json(c) for c in g.organiser.conferences])


@bp.post("/conferences")
@token_required
def create_conference():
    if g.organiser.role != "organiser":
        raise ConvenorError("forbidden", "door staff cannot create conferences")
    conference = services.create_conference(g.organiser, body())
    return jsonify(conference_json(conference)), 201


@bp.get("/conferences/<slug>")
@token_required
def get_conference(slug):
    return jsonify(conference_json(managed(slug)))


@bp.patch("/conferences/<slug>")
@token_required
def update_conference(slug):
    return jsonify(conference_json(services.update_conference(managed(slug), body())))


@bp.get("/conferences/<slug>/rooms")
@token_required
def list_rooms(slug):
    return jsonify([room_json(r) for r in managed(slug).rooms])


@bp.post("/conferences/<slug>/rooms")
@token_required
def create_room(slug):
    return jsonify(room_json(services.create_room(managed(slug), body()))), 201


@bp.get("/conferences/<slug>/speakers")
@token_required
def list_speakers(slug):
    return jsonify([speaker_json(s) for s in managed(slug).speakers])


@bp.post("/conferences/<slug>/speakers")
@token_required
def create_speaker(slug):
    return jsonify(speaker_json(services.create_speaker(managed(slug), body()))), 201


@bp.get("/conferences/<slug>/sessions")
@token_required
def list_sessions(slug):
    return jsonify([session_json(s) for s in services.programme_sessions(managed(slug))])


@bp.post("/conferences/<slug>/sessions")
@token_required
def create_session(slug):
    return jsonify(session_json(services.create_session(managed(slug), body()))), 201


@bp.get("/conferences/<slug>/sessions/<int:session_id>")
@token_required
def get_session(slug, session_id):
    return jsonify(session_json(services.get_session(managed(slug), session_id)))


@bp.patch("/conferences/<slug>/sessions/<int:session_id>")
@token_required
def update_session(slug, session_id):
    session = services.get_session(managed(slug), session_id)
    session, changes = services.update_session(session, body())
    return jsonify(session_json(session) | {"changes": changes})


@bp.delete("/conferences/<slug>/sessions/<int:session_id>")
@token_required
def delete_session(slug, session_id):
    services.delete_session(services.get_session(managed(slug), session_id))
    return Response(status=204)


@bp.get("/conferences/<slug>/delegates")
@token_required
def list_delegates(slug):
    conference = managed(slug)
    limit = adapters.query_int("limit", 500, maximum=5000)
    offset = adapters.query_int("offset", 0)
    delegates, total = services.search_delegates(
        conference,
        q=request.args.get("q", ""),
        organisation=request.args.get("organisation", ""),
        role=request.args.get("role", ""),
        access=request.args.get("access", ""),
        limit=limit,
        offset=offset,
    )
    response = jsonify([delegate_json(d) for d in delegates])
    response.headers["X-Total-Count"] = str(total)
    return response


@bp.post("/conferences/<slug>/delegates")
@token_required
def create_delegate(slug):
    return jsonify(delegate_json(services.create_delegate(managed(slug), body()))), 201


@bp.get("/conferences/<slug>/delegates/<int:delegate_id>")
@token_required
def get_delegate(slug, delegate_id):
    return jsonify(delegate_json(services.get_delegate(managed(slug), delegate_id)))


@bp.patch("/conferences/<slug>/delegates/<int:delegate_id>")
@token_required
def update_delegate(slug, delegate_id):
    delegate = services.get_delegate(managed(slug), delegate_id)
    return jsonify(delegate_json(services.update_delegate(delegate, body())))


@bp.post("/conferences/<slug>/delegates/import")
@token_required
def import_delegates(slug):
    conference = managed(slug)
    mimetype = request.mimetype or ""
    if mimetype not in ("text/csv", "application/csv", "text/plain"):
        raise ConvenorError("unsupported_media_type", "send the CSV with Content-Type: text/csv")
    dry_run = request.args.get("dry_run") in ("1", "true", "yes")
    if dry_run:
        preview = importers.preview_delegates(conference, request.get_data())
        status = 200 if not preview.errors else 422
        return jsonify({"dry_run": True, "would_create": len(preview.rows),
                        "error": None if not preview.errors else "the file has problems",
                        "details": preview.errors}), status
    created = importers.import_delegates(conference, request.get_data())
    total = conference.delegates.count()
    return jsonify({"created": created, "total": total}), 201


@bp.get("/conferences/<slug>/delegates.csv")
@token_required
def export_delegates(slug):
    conference = managed(slug)
    text = importers.export_delegates(conference, delegate_link)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{conference.slug}-delegates.csv"'},
    )


def route_rules(app) -> set[tuple[str, str]]:
    """Return (OpenAPI path, method) for every API route, for the spec-matches-routes test."""
    rules = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint == "api.openapi":
            continue
        path = rule.rule.replace("/api/v1", "", 1)
        for converter in ("<int:", "<"):
            path = path.replace(converter, "{")
        path = path.replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            rules.add((path, method.lower()))
    return rules



