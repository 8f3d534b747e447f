"""One API call to start a round of any round-based block: a carousel slot or a World Cafe round.

``POST /api/v1/conferences/<slug>/sessions/<session_id>/rounds/<n>/start`` dispatches on the
session's kind: "carousel" to ``workshop_services.start_slot``, "world_cafe" to
``cafe_services.start_round``. Both need a published plan (422 ``no_plan``) and send
``round_starting`` after the commit.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from events import adapters
from events.conference.models import Session
from events.errors import ConvenorError
from events.extensions import db
from events.openapi import EXTRA_PATHS, INT, SCHEMAS, STR, id_param, json_body, obj, op

bp = Blueprint("rounds_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ConvenorError, adapters.convenor_error)


def start(session: Session, number: int) -> dict:
    """Start round/slot ``number`` of a carousel or World Cafe session; return a summary."""
    if session.kind == "carousel":
        from carousels.workshops import services as workshop_services

        return workshop_services.start_slot(session, number)
    if session.kind == "world_cafe":
        from carousels.cafe import services as cafe_services

        return cafe_services.start_round(session, number)
    raise ConvenorError("not_found", "this session has no rounds: it is neither a carousel nor "
                        "a World Cafe")


@bp.post("/conferences/<slug>/sessions/<int:session_id>/rounds/<int:number>/start")
@adapters.token_required
def start_round(slug, session_id, number):
    conference = adapters.managed(slug)
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id:
        raise ConvenorError("not_found", f"no session {session_id} in this conference")
    return jsonify(start(session, number))


# --------------------------------------------------------------------------- OpenAPI (rounds)
SCHEMAS["RoundStarted"] = obj(
    {"kind": {"type": "string", "enum": ["carousel", "cafe"]}, "session_id": INT, "number": INT,
     "started_at": STR, "plan_version": INT, "delegates": INT},
    ["kind", "session_id", "number", "delegates"],
)
EXTRA_PATHS["/conferences/{slug}/sessions/{session_id}/rounds/{number}/start"] = {
    "post": op("Start carousel slot or World Cafe round `number`: every seated delegate is told "
                "where to go (signal `round_starting`). Needs a published plan (422 `no_plan`)",
                {"200": json_body({"$ref": "#/components/schemas/RoundStarted"}, "Started")},
                params=[{"name": "slug", "in": "path", "required": True, "schema": STR},
                        id_param("session_id"), id_param("number")], extra=("422",)),
}
# --------------------------------------------------------------------------- end rounds
