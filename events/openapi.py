"""The OpenAPI 3.1 description of /api/v1, kept beside the routes and tested against them."""

from __future__ import annotations

from copy import deepcopy

from events.conference.programme import KINDS

STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}


def obj(props: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "403": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
}
SLUG = {"name": "slug", "in": "path", "required": True, "schema": STR}


def id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": INT}


def op(summary: str, responses: dict, *, body: dict | None = None, params=None, extra=()) -> dict:
    op = {"summary": summary, "parameters": list(params or []), "responses": dict(responses)}
    for code in ("400", "401", "403", "404", *extra):
        op["responses"].setdefault(code, {"$ref": "#/components/responses/Error"})
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _list_and_create(noun: str, schema: str, params) -> dict:
    return {
        "get": op(f"List {noun}s", {"200": json_body({"type": "array", "items": ref(schema)},
                                                   f"The {noun}s")}, params=params),
        "post": op(f"Add a {noun}", {"201": json_body(ref(schema), f"The new {noun}")},
                    body=ref(schema + "Input"), params=params, extra=("409", "415", "422")),
    }


SCHEMAS = {
    "Error": obj({"error": STR, "code": STR, "details": {"type": "array", "items": {}}},
                  ["error", "details"]),
    "ConferenceInput": obj(
        {"slug": STR, "name": STR, "tagline": STR, "starts_on": {"type": "string", "format": "date"},
         "ends_on": {"type": "string", "format": "date"},
         "timezone": {"type": "string", "description": "IANA zone, default Europe/London"},
         "venue": STR, "published": BOOL,
         "registration_open": {"type": "boolean",
                               "description": "people may sign up themselves (Slack /convenor signup)"},
         "registration_capacity": {"type": ["integer", "null"], "minimum": 1,
                                   "description": "places; later sign-ups join the waitlist"},
         "notify_email": {"type": "string", "enum": ["unlinked", "always", "never"],
                          "description": "who is told of changes by email: delegates not "
                                         "linked to Slack (default), everyone, or nobody"},
         "email_reminders": {"type": "boolean",
                             "description": "email reminders 5 minutes before each round too"},
         "contact_email": {"type": "string",
                           "description": "the organisers' address printed on every email "
                                          "(empty: none)"}},
        ["slug", "name", "starts_on", "ends_on"],
    ),
    "RoomInput": obj({"name": STR, "capacity": INT, "step_free": BOOL, "hearing_loop": BOOL},
                      ["name", "capacity"]),
    "SpeakerInput": obj({"name": STR, "honours": STR, "organisation": STR, "bio": STR}, ["name"]),
    "SessionInput": obj(
        {"title": STR,
         "kind": {"type": "string", "enum": list(KINDS), "default": "other",
                  "description": "what the session is; without it a session is \"other\" "
                                 "(the organiser's form makes it a required choice)"},
         "description": STR, "room_id": {"type": ["integer", "null"]},
         "starts_at": {"type": "string", "description": "ISO 8601; without offset = conference zone"},
         "ends_at": {"type": "string"}, "speaker_ids": {"type": "array", "items": INT},
         "capacity": {"type": ["integer", "null"]},
         "status": {"type": "string", "enum": ["scheduled", "cancelled"]}},
        ["title", "starts_at", "ends_at"],
    ),
    "AccessNeeds": obj({"step_free": BOOL, "hearing_loop": BOOL, "other": STR}),
    "DelegateInput": obj(
        {"name": STR, "email": {"type": "string", "format": "email"}, "organisation": STR,
         "role": STR, "region": STR, "pronouns": STR, "access_needs": ref("AccessNeeds"),
         "dietary": STR,
         "slack_user_id": {"type": ["string", "null"]},
         "status": {"type": "string", "enum": ["active", "cancelled", "waitlisted"]}},
        ["name", "email"],
    ),
}
SCHEMAS["Conference"] = obj(
    {"id": INT, **SCHEMAS["ConferenceInput"]["properties"], "version": INT}, ["id", "slug"]
)
SCHEMAS["Room"] = obj({"id": INT, **SCHEMAS["RoomInput"]["properties"]}, ["id"])
SCHEMAS["Speaker"] = obj({"id": INT, **SCHEMAS["SpeakerInput"]["properties"]}, ["id"])
SCHEMAS["Session"] = obj(
    {"id": INT, **SCHEMAS["SessionInput"]["properties"], "room": {"type": ["string", "null"]},
     "sequence": INT, "changes": {"type": "array", "items": STR}},
    ["id", "title", "starts_at", "ends_at", "status"],
)
SCHEMAS["Delegate"] = obj(
    {"id": INT, **SCHEMAS["DelegateInput"]["properties"], "status": STR,
     "link": {"type": "string", "format": "uri"}},
    ["id", "name", "email", "link"],
)

_SESSION = [SLUG, id_param("session_id")]
_DELEGATE = [SLUG, id_param("delegate_id")]

_PATHS = {
    "/conferences": {
        "get": op("List the conferences you manage",
                   {"200": json_body({"type": "array", "items": ref("Conference")}, "Conferences")}),
        "post": op("Create a conference (you become its organiser)",
                    {"201": json_body(ref("Conference"), "The new conference")},
                    body=ref("ConferenceInput"), extra=("409", "415", "422")),
    },
    "/conferences/{slug}": {
        "get": op("Get a conference", {"200": json_body(ref("Conference"), "The conference")},
                   params=[SLUG]),
        "patch": op("Change a conference", {"200": json_body(ref("Conference"), "Changed")},
                     body=ref("ConferenceInput"), params=[SLUG], extra=("415", "422")),
    },
    "/conferences/{slug}/rooms": _list_and_create("room", "Room", [SLUG]),
    "/conferences/{slug}/speakers": _list_and_create("speaker", "Speaker", [SLUG]),
    "/conferences/{slug}/sessions": _list_and_create("session", "Session", [SLUG]),
    "/conferences/{slug}/sessions/{session_id}": {
        "get": op("Get a session", {"200": json_body(ref("Session"), "The session")},
                   params=_SESSION),
        "patch": op(
            "Change a session (move, re-room, cancel); `changes` names what changed",
            {"200": json_body(ref("Session"), "The changed session")},
            body=ref("SessionInput"), params=_SESSION, extra=("409", "415", "422"),
        ),
        "delete": op("Remove a session", {"204": {"description": "Removed"}}, params=_SESSION),
    },
    "/conferences/{slug}/delegates": {
        "get": op(
            "List and search delegates (X-Total-Count has the total)",
            {"200": json_body({"type": "array", "items": ref("Delegate")}, "Delegates")},
            params=[SLUG] + [
                {"name": n, "in": "query", "required": False, "schema": s}
                for n, s in (("q", STR), ("organisation", STR), ("role", STR),
                             ("access", {"type": "string",
                                         "enum": ["step_free", "hearing_loop", "other", "any"]}),
                             ("limit", INT), ("offset", INT))
            ],
        ),
        "post": op("Register a delegate", {"201": json_body(ref("Delegate"), "The new delegate")},
                    body=ref("DelegateInput"), params=[SLUG], extra=("409", "415", "422")),
    },
    "/conferences/{slug}/delegates/{delegate_id}": {
        "get": op("Get a delegate", {"200": json_body(ref("Delegate"), "The delegate")},
                   params=_DELEGATE),
        "patch": op("Change a delegate", {"200": json_body(ref("Delegate"), "Changed")},
                     body=ref("DelegateInput"), params=_DELEGATE, extra=("409", "415", "422")),
    },
    "/conferences/{slug}/delegates/import": {
        "post": {
            "summary": "Import delegates from CSV, all or nothing (?dry_run=1 to preview)",
            "parameters": [SLUG, {"name": "dry_run", "in": "query", "required": False,
                                  "schema": STR}],
            "requestBody": {"required": True,
                            "content": {"text/csv": {"schema": {"type": "string"}}}},
            "responses": {
                "201": json_body(obj({"created": INT, "total": INT}), "Imported"),
                "200": json_body(obj({"dry_run": BOOL, "would_create": INT}), "Dry run"),
                "422": {"$ref": "#/components/responses/Error"},
                **ERRORS,
                "415": {"$ref": "#/components/responses/Error"},
            },
        }
    },
    "/conferences/{slug}/delegates.csv": {
        "get": {
            "summary": "Export delegates as CSV (re-importable)",
            "parameters": [SLUG],
            "responses": {"200": {"description": "CSV",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **ERRORS},
        }
    },
}


# --------------------------------------------------------------------------- live updates (issue 6)
SCHEMAS["AnnouncementInput"] = obj(
    {"text": {"type": "string", "maxLength": 280, "description": "Shown on every open page"}},
    ["text"],
)
SCHEMAS["Announcement"] = obj(
    {"id": INT, "text": STR, "created_at": {"type": "string", "format": "date-time"}},
    ["id", "text", "created_at"],
)
_PATHS["/conferences/{slug}/announcements"] = {
    "get": op("List the latest announcements, newest first",
               {"200": json_body({"type": "array", "items": ref("Announcement")}, "Announcements")},
               params=[SLUG]),
    "post": op("Send an announcement to every open page and venue screen (Socket.IO `announcement`)",
                {"201": json_body(ref("Announcement"), "The announcement, already pushed")},
                body=ref("AnnouncementInput"), params=[SLUG], extra=("415", "422")),
}
# --------------------------------------------------------------------------- end live updates


def spec() -> dict:
    """Return the OpenAPI document (a fresh copy, so callers may extend it)."""
    return deepcopy({
        "openapi": "3.1.0",
        "info": {
            "title": "Convenor API",
            "version": "1.0.0",
            "description": "Programme, delegates and allocations for Convenor conferences. "
            "Authenticate with `Authorization: Bearer <token>` "
            "(`flask --app app create-organiser` prints one).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": json_body(ref("Error"), "An error with details")},
        },
    })


#: Other features add their paths here at import time (path -> operations).
EXTRA_PATHS = _PATHS
