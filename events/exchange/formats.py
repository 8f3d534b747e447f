"""Exchange formats, pure: the frab/c3voc schedule JSON and XML writers and the frab/pretalx
and Sessionize JSON readers. Plain data in, plain data out: no Flask, no database, no files.

Exports follow what pretalx emits (https://c3voc.de/schedule/schema.json and the frab
``schedule.xml``), which Giggity, EventFahrplan and info-beamer read. Imports are read into a
plain *draft* (``parse_frab``, ``parse_sessionize``); ``events.exchange.services`` checks a
draft against the programme and saves it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from events.errors import ConvenorError
from events.exchange.calendar import KIND_CATEGORY, session_uid

SCHEMA_URL = "https://c3voc.de/schedule/schema.json"
#: Room name used in exports for sessions without a room (a carousel block, a venue-wide break).
NO_ROOM = "Whole venue"
MAX_BYTES = 5_000_000
FORMATS = ("frab", "sessionize")


@dataclass(frozen=True)
class ScheduleEvent:
    """An extra event for the schedule exports, as providers hand it over."""

    uid: str
    start: datetime
    end: datetime
    title: str
    room: str
    kind: str = "other"
    abstract: str = ""
    persons: tuple[str, ...] = ()
    url: str = ""
    replaces_session_id: int | None = None


# --------------------------------------------------------------------------- export


def _hhmm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "event"


def _room_guid(base_url: str, slug: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url.rstrip('/')}/c/{slug}/rooms/{name}"))




@dataclass(frozen=True)
class SchedulePerson:
    """A speaker as the schedule shows them."""

    id: int
    name: str
    biography: str = ""


@dataclass(frozen=True)
class ScheduleSession:
    """A programme session for the schedule export (cancelled ones are left out by the caller)."""

    id: int
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    url: str
    description: str = ""
    persons: tuple[SchedulePerson, ...] = ()


@dataclass(frozen=True)
class ScheduleConference:
    """What the schedule says about the conference; ``rooms`` are (name, seats) in order."""

    slug: str
    name: str
    tagline: str
    starts_on: date
    ends_on: date
    timezone: str
    version: int
    rooms: tuple[tuple[str, int], ...] = ()


def _start_and_id(event: dict[str, object]) -> tuple[datetime, int]:
    start, ident = event["_start"], event["id"]
    assert isinstance(start, datetime) and isinstance(ident, int)
    return start, ident


def schedule_document(conference: ScheduleConference, sessions: Sequence[ScheduleSession],
                      extra: Sequence[ScheduleEvent], *, base_url: str,
                      schedule_url: str) -> dict[str, object]:
    """Return the frab/c3voc schedule JSON document for the sessions and the providers' events.

    Sessions that an extra event ``replaces`` are left out.
    """
    tz = ZoneInfo(conference.timezone)
    slug = conference.slug
    events: list[dict[str, object]] = []
    replaced = {e.replaces_session_id for e in extra if e.replaces_session_id}
    for s in sessions:
        if s.id in replaced:
            continue
        events.append({
            "_start": s.starts_at, "id": s.id, "guid": session_uid(base_url, slug, s.id),
            "duration": _hhmm(s.ends_at - s.starts_at),
            "room": s.room if s.room else NO_ROOM,
            "slug": f"{slug}-{s.id}-{_slugify(s.title)}", "url": s.url,
            "title": s.title, "type": s.kind, "abstract": s.description,
            "persons": [
                {"id": sp.id, "code": f"S{sp.id}", "name": sp.name,
                 "public_name": sp.name, "biography": sp.biography, "answers": []}
                for sp in s.persons
            ],
        })
    for e in extra:
        digest = hashlib.sha256(e.uid.encode()).hexdigest()
        events.append({
            "_start": e.start, "id": 10_000_000 + int(digest[:7], 16),
            "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}#{e.uid}")),
            "duration": _hhmm(e.end - e.start), "room": e.room,
            "slug": f"{slug}-{digest[:8]}-{_slugify(e.title)}", "url": e.url or schedule_url,
            "title": e.title, "type": e.kind, "abstract": e.abstract,
            "persons": [{"id": 10_000_000 + i, "name": p, "public_name": p, "answers": []}
                        for i, p in enumerate(e.persons, 1)],
        })
    room_order = [name for name, _seats in conference.rooms]
    used_rooms = {str(e["room"]) for e in events}
    room_order += sorted(used_rooms - set(room_order))
    capacities = dict(conference.rooms)
    days = []
    span = (conference.ends_on - conference.starts_on).days + 1
    for index in range(span):
        day = conference.starts_on + timedelta(days=index)
        day_start = datetime.combine(day, datetime.min.time(), tz)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        rooms: dict[str, list[dict[str, object]]] = {}
        for event in sorted(events, key=_start_and_id):
            start = event["_start"]
            assert isinstance(start, datetime)
            local = start.astimezone(tz)
            if local.date() != day:
                continue
            body = {
                "id": event["id"], "guid": event["guid"], "logo": "",
                "date": local.isoformat(), "start": local.strftime("%H:%M"),
                "duration": event["duration"], "room": event["room"], "slug": event["slug"],
                "url": event["url"], "recording_license": "", "do_not_record": True,
                "title": event["title"], "subtitle": "",
                "track": KIND_CATEGORY.get(str(event["type"]), "Session"), "type": event["type"],
                "language": "en", "abstract": event["abstract"], "description": "",
                "persons": event["persons"], "links": [], "attachments": [], "answers": [],
            }
            rooms.setdefault(str(event["room"]), []).append(body)
        days.append({
            "index": index + 1, "date": day.isoformat(),
            "day_start": day_start.isoformat(), "day_end": day_end.isoformat(),
            "rooms": {name: rooms[name] for name in room_order if name in rooms},
        })
    return {
        "$schema": SCHEMA_URL,
        "schedule": {
            "url": schedule_url,
            "version": f"v{conference.version}",
            "base_url": base_url.rstrip("/") + "/",
            "conference": {
                "acronym": slug,
                "title": conference.name,
                "description": conference.tagline,
                "start": conference.starts_on.isoformat(),
                "end": conference.ends_on.isoformat(),
                "daysCount": span,
                "timeslot_duration": "00:05",
                "time_zone_name": conference.timezone,
                "url": base_url.rstrip("/") + f"/c/{slug}/",
                "rooms": [
                    {"name": name, "guid": _room_guid(base_url, slug, name), "description": "",
                     "capacity": capacities.get(name)}
                    for name in room_order if name in used_rooms or name in capacities
                ],
                "days": days,
            },
        },
    }


def schedule_xml(data: dict[str, Any]) -> bytes:
    """Return the frab schedule.xml for a document made by ``schedule_data``."""
    schedule = data["schedule"]
    conf = schedule["conference"]
    root = ET.Element("schedule")
    ET.SubElement(root, "generator", name="convenor", version="1")
    ET.SubElement(root, "version").text = schedule["version"]
    c = ET.SubElement(root, "conference")
    for tag, value in (("title", conf["title"]), ("acronym", conf["acronym"]),
                       ("start", conf["start"]), ("end", conf["end"]),
                       ("days", str(conf["daysCount"])),
                       ("timeslot_duration", conf["timeslot_duration"]),
                       ("base_url", schedule["base_url"]),
                       ("time_zone_name", conf["time_zone_name"])):
        ET.SubElement(c, tag).text = value
    for day in conf["days"]:
        d = ET.SubElement(root, "day", index=str(day["index"]), date=day["date"],
                          start=day["day_start"], end=day["day_end"])
        for room_name, events in day["rooms"].items():
            r = ET.SubElement(d, "room", name=room_name)
            for e in events:
                ev = ET.SubElement(r, "event", guid=e["guid"], id=str(e["id"]))
                for tag in ("date", "start", "duration", "room", "slug", "url", "title",
                            "subtitle", "track", "type", "language", "abstract", "description",
                            "logo"):
                    ET.SubElement(ev, tag).text = e[tag]
                rec = ET.SubElement(ev, "recording")
                ET.SubElement(rec, "license").text = e["recording_license"]
                ET.SubElement(rec, "optout").text = "true" if e["do_not_record"] else "false"
                persons = ET.SubElement(ev, "persons")
                for p in e["persons"]:
                    ET.SubElement(persons, "person", id=str(p["id"])).text = p["public_name"]
                ET.SubElement(ev, "links")
                ET.SubElement(ev, "attachments")
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document


# --------------------------------------------------------------------------- import drafts


@dataclass
class SessionDraft:
    """A session read from a file, before it is checked and saved."""

    ref: str
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    description: str = ""
    speakers: list[str] = field(default_factory=list)


@dataclass
class ProgrammeDraft:
    """Everything a programme file describes, plus the problems met while reading it."""

    format: str
    rooms: dict[str, int | None] = field(default_factory=dict)
    speakers: dict[str, dict[str, str]] = field(default_factory=dict)
    sessions: list[SessionDraft] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    new_rooms: list[str] = field(default_factory=list)
    new_speakers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the import can go ahead."""
        return not self.errors and bool(self.sessions)


def _kind(raw: str) -> str:
    key = re.sub(r"[^a-z]", "", (raw or "").lower())
    if key in {"keynote", "plenary", "panel", "workshop", "carousel", "networking", "break",
               "other"}:
        return key
    if key in {"worldcafe", "cafe"}:
        return "world_cafe"
    if key in {"pause", "lunch", "coffee", "coffeebreak", "lunchbreak", "registration"}:
        return "break"
    if key in {"paneldiscussion", "panelsession"}:
        return "panel"
    if key in {"plenarysession", "opening", "closing"}:
        return "plenary"
    if key in {"drinks", "reception", "drinksreception", "networkingreception", "social"}:
        return "networking"
    if key in {"masterclass", "handson"}:
        return "workshop"
    return "other"


def _load_json(raw: bytes | str) -> Any:
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BYTES:
        raise ConvenorError("invalid_file", "the file is larger than 5 MB", [])
    if not raw.strip():
        raise ConvenorError("invalid_file", "the file is empty", [])
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConvenorError("invalid_file", "the file is not UTF-8 text", []) from None
    except json.JSONDecodeError as exc:
        raise ConvenorError(
            "invalid_file", f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})", [{"item": f"line {exc.lineno}", "message": exc.msg}]) from None
    except RecursionError:  # Python's parser on a file of 100,000 "[" (issue 13)
        raise ConvenorError("invalid_file", "the file nests too deeply to be a schedule",
                            [{"item": "line 1", "message": "nested too deeply"}]) from None


def _moment(value: object, tz: ZoneInfo) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError("is missing")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def _duration(value: object) -> timedelta:
    match = re.fullmatch(r"(\d{1,3}):(\d{2})(?::(\d{2}))?", str(value or "").strip())
    if not match:
        raise ValueError(f"duration {value!r} is not like 01:30")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def detect_format(raw: bytes | str) -> str:
    """Return "frab" or "sessionize" for a JSON programme file; raise ``invalid_file``."""
    data = _load_json(raw)
    if isinstance(data, dict) and isinstance(data.get("schedule"), dict):
        return "frab"
    if isinstance(data, dict) and isinstance(data.get("sessions"), list):
        return "sessionize"
    raise ConvenorError("invalid_file", "this is neither a frab/pretalx schedule.json nor a "
                        "Sessionize “all data” JSON file", [])


def parse_frab(raw: bytes | str, tz: ZoneInfo) -> ProgrammeDraft:
    """Read a frab/pretalx schedule.json into a draft (never raises for a bad event)."""
    data = _load_json(raw)
    draft = ProgrammeDraft("frab")
    try:
        conf = data["schedule"]["conference"]
        days = conf["days"]
        if not isinstance(days, list):
            raise TypeError
    except (KeyError, TypeError):
        raise ConvenorError("invalid_file", "not a frab schedule: schedule.conference.days is "
                            "missing", [{"item": "schedule", "message": "no conference days"}]
                            ) from None
    for room in conf.get("rooms") or []:
        if isinstance(room, dict) and isinstance(room.get("name"), str):
            capacity = room.get("capacity")
            draft.rooms[room["name"].strip()] = capacity if isinstance(capacity, int) else None
    for d_index, day in enumerate(days, 1):
        rooms = day.get("rooms") if isinstance(day, dict) else None
        if not isinstance(rooms, dict):
            draft.errors.append({"item": f"day {d_index}", "message": "rooms must be an object"})
            continue
        for room_name, events in rooms.items():
            for e_index, event in enumerate(events if isinstance(events, list) else [], 1):
                ref = f"day {d_index}, {room_name}, event {e_index}"
                if not isinstance(event, dict):
                    draft.errors.append({"item": ref, "message": "is not an object"})
                    continue
                title = str(event.get("title") or "").strip()
                if title:
                    ref += f" (“{title[:60]}”)"
                try:
                    start = _moment(event.get("date"), tz)
                    end = start + _duration(event.get("duration"))
                except ValueError as exc:
                    draft.errors.append({"item": ref, "message": f"time: {exc}"})
                    continue
                if not title:
                    draft.errors.append({"item": ref, "message": "title is missing"})
                    continue
                room = str(event.get("room") or room_name).strip()
                names = []
                for person in event.get("persons") or []:
                    if not isinstance(person, dict):
                        continue
                    name = str(person.get("public_name") or person.get("name") or "").strip()
                    if name:
                        names.append(name[:200])
                        draft.speakers.setdefault(name[:200], {
                            "bio": str(person.get("biography") or "")[:5000]})
                abstract = str(event.get("abstract") or "").strip()
                description = str(event.get("description") or "").strip()
                text = abstract if description in ("", abstract) else "\n\n".join(
                    t for t in (abstract, description) if t)
                draft.sessions.append(SessionDraft(
                    ref=ref, title=title[:300], kind=_kind(str(event.get("type") or "")),
                    starts_at=start, ends_at=end,
                    room=None if room == NO_ROOM else room, description=text[:10000],
                    speakers=names))
                if room != NO_ROOM:
                    draft.rooms.setdefault(room, None)
    return draft


def parse_sessionize(raw: bytes | str, tz: ZoneInfo) -> ProgrammeDraft:
    """Read a Sessionize "all data" JSON export into a draft.

    ``isPlenumSession`` sessions become keynotes and ``isServiceSession`` ones breaks;
    sessions without a time are skipped with a warning.
    """
    data = _load_json(raw)
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
        raise ConvenorError("invalid_file", "not a Sessionize “all data” file: there is no "
                            "sessions list", [{"item": "sessions", "message": "missing"}])
    draft = ProgrammeDraft("sessionize")
    rooms = {}
    for room in data.get("rooms") or []:
        if isinstance(room, dict) and room.get("name"):
            rooms[room.get("id")] = str(room["name"]).strip()[:120]
    speakers = {}
    for sp in data.get("speakers") or []:
        if not isinstance(sp, dict):
            continue
        name = str(sp.get("fullName") or f"{sp.get('firstName', '')} {sp.get('lastName', '')}"
                   ).strip()[:200]
        if name:
            speakers[sp.get("id")] = name
            draft.speakers.setdefault(name, {"bio": str(sp.get("bio") or "")[:5000],
                                             "organisation": str(sp.get("tagLine") or "")[:200]})
    for index, s in enumerate(data["sessions"], 1):
        ref = f"session {index}"
        if not isinstance(s, dict):
            draft.errors.append({"item": ref, "message": "is not an object"})
            continue
        title = str(s.get("title") or "").strip()
        ref = f"session {s.get('id', index)}" + (f" (“{title[:60]}”)" if title else "")
        if not title:
            draft.errors.append({"item": ref, "message": "title is missing"})
            continue
        if not s.get("startsAt") and not s.get("endsAt"):
            draft.warnings.append({"item": ref, "message": "not scheduled yet; skipped"})
            continue
        try:
            start, end = _moment(s.get("startsAt"), tz), _moment(s.get("endsAt"), tz)
        except ValueError as exc:
            draft.errors.append({"item": ref, "message": f"time: {exc}"})
            continue
        room_id = s.get("roomId")
        room = rooms.get(room_id)
        if room_id is not None and room is None:
            draft.errors.append({"item": ref, "message": f"room {room_id} is not in the rooms list"})
            continue
        if room:
            draft.rooms.setdefault(room, None)
        names = []
        for speaker_id in s.get("speakers") or []:
            key = speaker_id.get("id") if isinstance(speaker_id, dict) else speaker_id
            if key not in speakers:
                draft.errors.append({"item": ref, "message": f"speaker {key} is not in the "
                                     "speakers list"})
                continue
            names.append(speakers[key])
        kind = "other"
        if s.get("isServiceSession"):
            kind = "break"
        elif s.get("isPlenumSession"):
            kind = "keynote"
        draft.sessions.append(SessionDraft(
            ref=ref, title=title[:300], kind=kind, starts_at=start, ends_at=end, room=room,
            description=str(s.get("description") or "").strip()[:10000], speakers=names))
    return draft


def parse_programme(raw: bytes | str, tz: ZoneInfo, fmt: str | None = None) -> ProgrammeDraft:
    """Read a programme file in ``fmt`` ("frab", "sessionize", or None to detect it)."""
    fmt = fmt or detect_format(raw)
    if fmt not in FORMATS:
        raise ConvenorError("invalid_file", f"unknown format {fmt!r}; use frab or sessionize", [])
    return parse_frab(raw, tz) if fmt == "frab" else parse_sessionize(raw, tz)


