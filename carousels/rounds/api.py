"""One API call to start a round of any round-based block: a carousel slot or a World Cafe round.

``POST /api/v1/conferences/<slug>/sessions/<session_id>/rounds/<n>/start`` calls
``carousels.rounds.services.start``, which dispatches on the session's kind. Both formats need
a published plan (422 ``no_plan``) and send ``round_starting`` after the commit.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from carousels.rounds import services
from events import adapters
from events.errors import ConvenorError
from events.openapi import EXTRA_PATHS, INT, SCHEMAS, STR, id_param, json_body, obj, op

bp = Blueprint("rounds_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ConvenorError, adapters.convenor_error)


@bp.post("/conferences/<slug>/sessions/<int:session_id>/rounds/<int:number>/start")
@adapters.token_required
def start_round(slug, session_id, number):
    session = services.get_round_session(adapters.managed(slug), session_id)
    return jsonify(services.start(session, number))


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
