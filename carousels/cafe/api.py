"""World Cafe JSON API under /api/v1: set up, allocate, move, publish; a delegate's tables."""

from __future__ import annotations

from flask import Blueprint, jsonify

from carousels.cafe import services as cs
from carousels.cafe.models import CafePlan, CafeRound, CafeTable
from carousels.rounds import adapters as shared
from events import adapters
from events.errors import ConvenorError
from events.openapi import EXTRA_PATHS, INT, SCHEMAS, STR, id_param, json_body, obj, op, ref

bp = Blueprint("cafe_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ConvenorError, adapters.convenor_error)


def round_json(r: CafeRound) -> dict:
    """Return a round as API JSON, times with the conference's offset."""
    return shared.round_json(r)


def table_json(t: CafeTable) -> dict:
    """Return a table as API JSON."""
    return {"id": t.id, "number": t.number, "name": t.name, "label": t.label,
            "question": t.question, "host_id": t.host_id,
            "host": t.host.name if t.host else None, "step_free": t.step_free,
            "capacity": t.capacity}


def plan_json(plan: CafePlan, tables: list[CafeTable], round_count: int) -> dict:
    """Return a plan version with its seats per round and table."""
    seats: dict[tuple[int, int], list[int]] = {}
    for s in plan.seats:
        seats.setdefault((s.round_number, s.table_id), []).append(s.delegate_id)
    return shared.plan_json(plan, rounds=[
        {"number": n, "tables": [
            {"table_id": t.id, "number": t.number, "name": t.name,
             "delegate_ids": sorted(seats.get((n, t.id), []),
                                    key=lambda d, h=t.host_id: (d != h, d))}
            for t in tables]} for n in range(1, round_count + 1)])


def _cafe_json(session) -> dict:
    rounds, tables = cs.get_rounds(session), cs.get_tables(session)
    latest, published = cs.latest_plan(session), cs.published_plan(session)
    return {
        "session_id": session.id, "title": session.title,
        "rounds": [round_json(r) for r in rounds], "tables": [table_json(t) for t in tables],
        "published_version": published.version if published else None,
        "latest": plan_json(latest, tables, len(rounds)) if latest else None,
    }


def _plan_response(session, plan, status=200):
    return jsonify(plan_json(plan, cs.get_tables(session), len(cs.get_rounds(session)))), status


def _from_round() -> int | None:
    from_round = shared.optional_body().get("from_round")
    if from_round is not None and (not isinstance(from_round, int) or isinstance(from_round, bool)):
        raise ConvenorError("bad_request", "from_round must be a round number")
    return from_round


def _absence(session, data: dict) -> dict:
    return {"added": cs.mark_absence(session, {"delegate_id": data.get("delegate_id"),
                                               "round_number": data.get("round"),
                                               "reason": data.get("reason")})}


# The calls (URLs, endpoints, bodies, statuses) are the same in shape for both formats.
shared.add_api_routes(
    bp, "cafe", cs.get_cafe_session, seats=("tables", "delegate_tables", cs.delegate_tables),
    show=("get_cafe", _cafe_json),
    created={"rounds": ("set_rounds", lambda s, data: [round_json(r) for r in cs.set_rounds(s, data)]),
             "tables": ("add_table", lambda s, data: table_json(cs.add_table(s, data))),
             "absences": ("mark_absence", _absence)},
    allocate=("allocate", "allocate", lambda s: cs.allocate(s, from_round=_from_round())),
    move_keys=("delegate_id", "round", "table_id"), move=cs.move_delegate, publish=cs.publish,
    respond=_plan_response)


# --------------------------------------------------------------------------- OpenAPI (World Cafe)
SCHEMAS["CafeSeat"] = obj(
    {"session_id": INT, "session": STR, "plan_version": INT, "round": INT, "table": STR,
     "table_number": INT, "question": STR, "host": STR, "is_host": {"type": "boolean"},
     "room": STR, "starts_at": STR, "ends_at": STR},
    ["session_id", "round", "table", "starts_at"],
)
SCHEMAS["CafeRound"] = obj({"number": INT, "starts_at": STR, "ends_at": STR,
                              "started_at": {"type": ["string", "null"]}}, ["number"])
SCHEMAS["CafeTableInput"] = obj(
    {"number": INT, "label": STR, "question": STR, "host_id": {"type": ["integer", "null"]},
     "step_free": {"type": "boolean"}, "capacity": INT})
SCHEMAS["CafeTable"] = obj({"id": INT, **SCHEMAS["CafeTableInput"]["properties"], "name": STR,
                              "host": {"type": ["string", "null"]}}, ["id", "number", "name"])
SCHEMAS["CafePlan"] = obj(
    {"version": INT, "status": {"type": "string", "enum": ["draft", "published", "superseded"]},
     "note": STR,
     "stats": obj({"repeat_pairs": INT, "same_org_pairs": INT, "same_org_lower_bound": INT,
                    "max_table_imbalance": INT, "seconds": {"type": "number"}}),
     "created_at": STR, "published_at": {"type": ["string", "null"]},
     "rounds": {"type": "array", "items": obj({"number": INT, "tables": {
         "type": "array", "items": obj({"table_id": INT, "number": INT, "name": STR,
                                         "delegate_ids": {"type": "array", "items": INT}})}})}},
    ["version", "status", "rounds"],
)
SCHEMAS["Cafe"] = obj(
    {"session_id": INT, "title": STR,
     "rounds": {"type": "array", "items": ref("CafeRound")},
     "tables": {"type": "array", "items": ref("CafeTable")},
     "published_version": {"type": ["integer", "null"]},
     "latest": {"oneOf": [ref("CafePlan"), {"type": "null"}]}},
    ["session_id", "rounds", "tables"],
)
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": STR}
_CAFE = [_SLUG, id_param("session_id")]
_CAFE_PATH = "/conferences/{slug}/sessions/{session_id}/cafe"
EXTRA_PATHS["/conferences/{slug}/delegates/{delegate_id}/tables"] = {
    "get": op("A delegate's World Cafe tables in every published plan, in time order",
               {"200": json_body({"type": "array", "items": ref("CafeSeat")}, "Their seats")},
               params=[_SLUG, id_param("delegate_id")]),
}
EXTRA_PATHS[_CAFE_PATH] = {
    "get": op("A World Cafe's rounds, tables, newest plan and published version",
               {"200": json_body(ref("Cafe"), "The World Cafe")}, params=_CAFE),
}
EXTRA_PATHS[_CAFE_PATH + "/rounds"] = {
    "post": op("Replace the rounds: `count` rounds of `minutes`, `gap` minutes apart, from "
                "`starts_at` (default the session start)",
                {"201": json_body({"type": "array", "items": ref("CafeRound")}, "The rounds")},
                body=obj({"count": INT, "minutes": INT, "gap": INT, "starts_at": STR},
                          ["count", "minutes"]),
                params=_CAFE, extra=("415", "422")),
}
EXTRA_PATHS[_CAFE_PATH + "/tables"] = {
    "post": op("Add a table (question, host, step-free, seats)",
                {"201": json_body(ref("CafeTable"), "The new table")},
                body=ref("CafeTableInput"), params=_CAFE, extra=("415", "422")),
}
EXTRA_PATHS[_CAFE_PATH + "/allocate"] = {
    "post": {**op("Compute a new draft plan; rounds before `from_round` (default: the first "
                   "round not started) are kept from the published plan",
                   {"201": json_body(ref("CafePlan"), "The new draft")},
                   params=_CAFE, extra=("415", "422")),
             "requestBody": {"required": False, "content": {"application/json": {
                 "schema": obj({"from_round": INT})}}}},
}
EXTRA_PATHS[_CAFE_PATH + "/move"] = {
    "post": shared.move_operation(
        "Move a delegate to another table in one round of the newest plan (a published plan "
        "gets a new draft); hard rules enforced (422 `rule_broken`)", "CafePlan",
        ("delegate_id", "round", "table_id"), _CAFE),
}
EXTRA_PATHS[_CAFE_PATH + "/absences"] = {
    "post": op("Mark a delegate who `left` before round N, arrives `late` at round N, or is "
                "`absent` in round N",
                {"201": json_body(obj({"added": INT}), "Round absences added")},
                body=obj({"delegate_id": INT, "round": INT,
                           "reason": {"type": "string", "enum": ["left", "late", "absent"]}},
                          ["delegate_id", "round"]),
                params=_CAFE, extra=("415", "422")),
}
EXTRA_PATHS[_CAFE_PATH + "/publish"] = {"post": shared.publish_operation("CafePlan", _CAFE)}
# --------------------------------------------------------------------------- end World Cafe
