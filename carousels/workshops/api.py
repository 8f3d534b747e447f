"""Carousel JSON API under /api/v1: slots, workshops, preferences, run, move, publish."""

from __future__ import annotations

from flask import Blueprint, jsonify

from carousels.rounds import adapters as shared
from carousels.workshops import services as ws
from carousels.workshops.models import CarouselPlan, CarouselSlot, CarouselWorkshop
from events import adapters
from events.errors import ConvenorError
from events.openapi import EXTRA_PATHS, INT, SCHEMAS, STR, id_param, json_body, obj, op, ref

bp = Blueprint("carousel_api", __name__, url_prefix="/api/v1")
bp.register_error_handler(ConvenorError, adapters.convenor_error)


def slot_json(s: CarouselSlot) -> dict:
    """Return a slot as API JSON, times with the conference's offset."""
    return shared.round_json(s, label=s.name)


def workshop_json(w: CarouselWorkshop) -> dict:
    """Return a workshop as API JSON."""
    return {"id": w.id, "title": w.title, "description": w.description, "led_by": w.led_by,
            "leader_ids": [s.id for s in w.leaders], "leaders": w.leaders_line,
            "room_id": w.room_id, "room": w.room.name if w.room else None,
            "capacity": w.capacity, "slot_numbers": [s.number for s in w.slots]}


def plan_json(plan: CarouselPlan, slots: list[CarouselSlot]) -> dict:
    """Return a plan version with its seats per slot and workshop."""
    seats: dict[tuple[int, int], list[int]] = {}
    for s in plan.seats:
        seats.setdefault((s.slot_id, s.workshop_id), []).append(s.delegate_id)
    return shared.plan_json(plan, slots=[
        {"number": slot.number, "workshops": [
            {"workshop_id": wid, "delegate_ids": sorted(ids)}
            for (sid, wid), ids in sorted(seats.items()) if sid == slot.id]} for slot in slots])


def _carousel_json(session) -> dict:
    slots = ws.get_slots(session)
    latest, published = ws.latest_plan(session), ws.published_plan(session)
    state = ws.preferences_state(session)
    local = session.conference.local
    return {
        "session_id": session.id, "title": session.title,
        "preferences_open": state["open"],
        "deadline": local(state["deadline"]).isoformat() if state["deadline"] else None,
        "slots": [slot_json(s) for s in slots],
        "workshops": [workshop_json(w) for w in ws.get_workshops(session)],
        "published_version": published.version if published else None,
        "latest": plan_json(latest, slots) if latest else None,
    }


def _plan_response(session, plan, status=200):
    return jsonify(plan_json(plan, ws.get_slots(session))), status


@bp.put("/conferences/<slug>/delegates/<int:delegate_id>/preferences")
@adapters.token_required
def put_preferences(slug, delegate_id):
    """Replace a delegate's ranking: a JSON list of workshop ids, or {session_id, workshop_ids}."""
    from events.conference import services

    conference = adapters.managed(slug)
    delegate = services.get_delegate(conference, delegate_id)
    data = adapters.read_json()
    session_id = None
    if isinstance(data, dict):
        session_id, data = data.get("session_id"), data.get("workshop_ids")
        if session_id is not None and (isinstance(session_id, bool)
                                       or not isinstance(session_id, int)):
            raise ConvenorError("bad_request", "session_id must be a session's id", [
                {"field": "session_id", "message": "must be a whole number"}])
    if not isinstance(data, list):
        raise ConvenorError("bad_request", "send the workshop ids in rank order as a JSON list",
                            [{"field": "workshop_ids", "message": "must be a list of ids"}])
    sessions = ws.carousel_sessions(conference)
    if session_id is not None:
        session = ws.get_carousel_session(conference, session_id)
    else:
        owners = {w.session_id for w in _workshops(sessions) if w.id in data}
        if len(owners) > 1:
            raise ConvenorError("invalid", "these workshops belong to different carousels")
        if owners:
            session = next(s for s in sessions if s.id in owners)
        elif len(sessions) == 1:
            session = sessions[0]
        elif not sessions:
            raise ConvenorError("not_found", "this conference has no carousel")
        else:
            raise ConvenorError("invalid", "send {\"session_id\": …, \"workshop_ids\": […]} "
                                "to say which carousel")
    chosen = ws.set_preferences(session, delegate, data)
    return jsonify({"session_id": session.id, "workshop_ids": [w.id for w in chosen]})


def _workshops(sessions):
    for s in sessions:
        yield from ws.get_workshops(s)


def _delegate_carousels(delegate) -> list[dict]:
    return [ws.carousel_view(c) for c in ws.delegate_carousels(delegate)]


# The calls (URLs, endpoints, bodies, statuses) are the same in shape for both formats.
shared.add_api_routes(
    bp, "carousel", ws.get_carousel_session, seats=("carousels", "delegate_carousels",
                                                    _delegate_carousels),
    show=("get_carousel", _carousel_json),
    created={"slots": ("add_slot", lambda s, data: slot_json(ws.add_slot(s, data))),
             "workshops": ("add_workshop", lambda s, data: workshop_json(ws.add_workshop(s, data)))},
    allocate=("run", "run", ws.run_assignment),
    move_keys=("delegate_id", "slot", "workshop_id"), move=ws.move_delegate, publish=ws.publish,
    respond=_plan_response)


@bp.put("/conferences/<slug>/sessions/<int:session_id>/carousel/preferences-window")
@adapters.token_required
def set_window(slug, session_id):
    session = ws.get_carousel_session(adapters.managed(slug), session_id)
    ws.set_preferences_window(session, adapters.body())
    return jsonify(_carousel_json(session))


# --------------------------------------------------------------------------- OpenAPI (carousels)
SCHEMAS["CarouselSeat"] = obj(
    {"slot": INT, "slot_label": STR, "starts_at": STR, "ends_at": STR, "workshop": STR,
     "workshop_id": INT, "room": STR, "leaders": STR, "line": STR},
    ["slot", "workshop", "starts_at"],
)
SCHEMAS["DelegateCarousel"] = obj(
    {"session_id": INT, "session": STR, "plan_version": {"type": ["integer", "null"]},
     "preferences_open": {"type": "boolean"}, "deadline": {"type": ["string", "null"]},
     "deadline_text": STR, "preferences": {"type": "array", "items": INT},
     "workshops": {"type": "array", "items": obj(
         {"id": INT, "title": STR, "description": STR, "led_by": STR, "leaders": STR,
          "room": STR, "rank": {"type": ["integer", "null"]}})},
     "seats": {"type": "array", "items": ref("CarouselSeat")}},
    ["session_id", "preferences", "workshops", "seats"],
)
SCHEMAS["CarouselSlot"] = obj({"number": INT, "label": STR, "starts_at": STR, "ends_at": STR,
                                 "started_at": {"type": ["string", "null"]}}, ["number"])
SCHEMAS["CarouselWorkshopInput"] = obj(
    {"title": STR, "description": STR, "led_by": {"type": "string", "enum": ["expert", "peer"]},
     "leader_ids": {"type": "array", "items": INT}, "room_id": {"type": ["integer", "null"]},
     "capacity": INT, "slot_numbers": {"type": "array", "items": INT}}, ["title"])
SCHEMAS["CarouselWorkshop"] = obj(
    {"id": INT, **SCHEMAS["CarouselWorkshopInput"]["properties"], "leaders": STR,
     "room": {"type": ["string", "null"]}}, ["id", "title"])
SCHEMAS["CarouselPlan"] = obj(
    {"version": INT, "status": {"type": "string", "enum": ["draft", "published", "superseded"]},
     "note": STR, "stats": {"type": "object"}, "created_at": STR,
     "published_at": {"type": ["string", "null"]},
     "slots": {"type": "array", "items": obj({"number": INT, "workshops": {
         "type": "array", "items": obj({"workshop_id": INT,
                                         "delegate_ids": {"type": "array", "items": INT}})}})}},
    ["version", "status", "slots"],
)
SCHEMAS["Carousel"] = obj(
    {"session_id": INT, "title": STR, "preferences_open": {"type": "boolean"},
     "deadline": {"type": ["string", "null"]},
     "slots": {"type": "array", "items": ref("CarouselSlot")},
     "workshops": {"type": "array", "items": ref("CarouselWorkshop")},
     "published_version": {"type": ["integer", "null"]},
     "latest": {"oneOf": [ref("CarouselPlan"), {"type": "null"}]}},
    ["session_id", "slots", "workshops"],
)
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": STR}
_CAR = [_SLUG, id_param("session_id")]
_CAR_PATH = "/conferences/{slug}/sessions/{session_id}/carousel"
_IDS = {"type": "array", "items": INT}
EXTRA_PATHS["/conferences/{slug}/delegates/{delegate_id}/carousels"] = {
    "get": op("A delegate's carousels: workshops, their ranking, the ranking window and their "
               "published workshops per slot",
               {"200": json_body({"type": "array", "items": ref("DelegateCarousel")},
                             "Their carousels")},
               params=[_SLUG, id_param("delegate_id")]),
}
EXTRA_PATHS["/conferences/{slug}/delegates/{delegate_id}/preferences"] = {
    "put": op("Replace a delegate's ranking: workshop ids, first choice first (a list, or "
               "`{session_id, workshop_ids}` when there are several carousels). 422 codes: "
               "`unknown_workshop`, `duplicate_workshop`, `after_deadline`, `preferences_closed`",
               {"200": json_body(obj({"session_id": INT, "workshop_ids": _IDS}), "Saved ranking")},
               body={"oneOf": [_IDS, obj({"session_id": INT, "workshop_ids": _IDS},
                                          ["workshop_ids"])]},
               params=[_SLUG, id_param("delegate_id")], extra=("415", "422")),
}
EXTRA_PATHS[_CAR_PATH] = {
    "get": op("A carousel's slots, workshops, ranking window, newest plan and published version",
               {"200": json_body(ref("Carousel"), "The carousel")}, params=_CAR),
}
EXTRA_PATHS[_CAR_PATH + "/slots"] = {
    "post": op("Add a rotation slot (every workshop runs in it)",
                {"201": json_body(ref("CarouselSlot"), "The new slot")},
                body=obj({"label": STR, "starts_at": STR, "ends_at": STR},
                          ["starts_at", "ends_at"]),
                params=_CAR, extra=("409", "415", "422")),
}
EXTRA_PATHS[_CAR_PATH + "/workshops"] = {
    "post": op("Add a workshop (leaders, room, seats per run, slots)",
                {"201": json_body(ref("CarouselWorkshop"), "The new workshop")},
                body=ref("CarouselWorkshopInput"), params=_CAR, extra=("409", "415", "422")),
}
EXTRA_PATHS[_CAR_PATH + "/preferences-window"] = {
    "put": op("Open or close ranking, with an optional deadline",
               {"200": json_body(ref("Carousel"), "The carousel")},
               body=obj({"open": {"type": "boolean"}, "deadline": {"type": ["string", "null"]}},
                         ["open"]),
               params=_CAR, extra=("415", "422")),
}
EXTRA_PATHS[_CAR_PATH + "/run"] = {
    "post": op("Compute a new draft plan, provably optimal, from everyone's preferences",
                {"201": json_body(ref("CarouselPlan"), "The new draft")}, params=_CAR,
                extra=("422",)),
}
EXTRA_PATHS[_CAR_PATH + "/move"] = {
    "post": shared.move_operation(
        "Move a delegate to another workshop in one slot of the newest plan (a published plan "
        "gets a new draft); hard rules enforced (422 `rule_broken`)", "CarouselPlan",
        ("delegate_id", "slot", "workshop_id"), _CAR),
}
EXTRA_PATHS[_CAR_PATH + "/publish"] = {"post": shared.publish_operation("CarouselPlan", _CAR)}
# --------------------------------------------------------------------------- end carousels
