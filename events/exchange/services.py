"""Exchange services: schedule exports from the database; frab/pretalx, Sessionize and Indico in.

The formats themselves are pure and live in ``events.exchange.formats`` (re-exported here):
exports are built from the programme (``schedule_data``, written by ``schedule_xml``);
imports are parsed into a plain *draft* (``parse_frab``, ``parse_sessionize``), checked
against the programme rules without saving (``preview_programme``), then saved all at once or
not at all (``import_programme``). The Indico registrant CSV (no header; first name, last name,
affiliation, position, phone, email) goes through the same checks as the delegate CSV.

Plugging in (carousels)
-----------------------
A carousel block is one Session without a room; in the schedule exports its workshops should
appear as one event per slot in their own room. Append a provider to ``SCHEDULE_PROVIDERS``:
a callable ``provider(conference) -> list[ScheduleEvent]``. Each ScheduleEvent has a stable
``uid`` (for example ``f"carousel-{session_id}-slot-{n}-workshop-{workshop_id}"``; the frab
``guid`` and integer ``id`` are derived from it), aware ``start``/``end``, ``title``, ``room``
(its room's name), ``kind`` (e.g. "carousel"), optional ``abstract`` and ``persons`` (display
names), and ``replaces_session_id`` naming the block it details: exported blocks that any
event replaces are left out. Providers run inside a request and must be read-only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from events import hooks, signals
from events.conference import programme
from events.conference.importers import ImportPreview, decode_csv_text
from events.conference.models import Conference, Delegate, Room, Session, Speaker
from events.conference.services import delegate_values, is_room_clash, lock_room
from events.errors import ConvenorError
from events.exchange.formats import (  # noqa: F401  (re-exported for adapters and providers)
    FORMATS,
    MAX_BYTES,
    NO_ROOM,
    SCHEMA_URL,
    ProgrammeDraft,
    ScheduleConference,
    ScheduleEvent,
    SchedulePerson,
    ScheduleSession,
    SessionDraft,
    detect_format,
    parse_frab,
    parse_programme,
    parse_sessionize,
    schedule_document,
    schedule_xml,
)
from events.extensions import db

#: Seats given to an imported room when the file does not say.
DEFAULT_ROOM_CAPACITY = 100


def feed_sessions(conference: Conference) -> list[Session]:
    """Return the programme with rooms and speakers loaded in three queries, not one per row."""
    return list(db.session.scalars(
        select(Session).where(Session.conference_id == conference.id)
        .options(selectinload(Session.room), selectinload(Session.speakers))
        .order_by(Session.starts_at, Session.room_id, Session.id)))


# --------------------------------------------------------------------------- export


def schedule_data(conference: Conference, sessions: list[Session], *, base_url: str,
                  session_url: Callable[[Session], str], schedule_url: str) -> dict:
    """Return the frab/c3voc schedule JSON document for the conference's live sessions.

    Cancelled sessions are left out (frab has no status; apps would show them as on); the
    ``SCHEDULE_PROVIDERS`` add their events (a carousel's workshops per slot).
    """
    extra: list[ScheduleEvent] = []
    for provide in hooks.SCHEDULE_PROVIDERS:
        extra.extend(provide(conference) or [])
    about = ScheduleConference(
        slug=conference.slug, name=conference.name, tagline=conference.tagline,
        starts_on=conference.starts_on, ends_on=conference.ends_on,
        timezone=conference.timezone, version=conference.version,
        rooms=tuple((r.name, r.capacity) for r in conference.rooms))
    talks = [ScheduleSession(
        id=s.id, title=s.title, kind=s.kind, starts_at=s.starts_at, ends_at=s.ends_at,
        room=s.room.name if s.room else None, url=session_url(s), description=s.description,
        persons=tuple(SchedulePerson(sp.id, sp.display_name, sp.bio) for sp in s.speakers))
        for s in sessions if not s.cancelled]
    return schedule_document(about, talks, extra, base_url=base_url, schedule_url=schedule_url)


# --------------------------------------------------------------------------- import services


def preview_programme(conference: Conference, raw: bytes | str,
                      fmt: str | None = None) -> ProgrammeDraft:
    """Parse a programme file and check every session against the rules; save nothing."""
    draft = parse_programme(raw, conference.tz, fmt)
    existing_rooms = {r.name: r for r in conference.rooms}
    existing_speakers = {s.display_name for s in conference.speakers}
    draft.new_rooms = [name for name in draft.rooms if name not in existing_rooms]
    draft.new_speakers = [name for name in draft.speakers if name not in existing_speakers]
    for name in draft.new_rooms:
        if draft.rooms[name] is None:
            draft.warnings.append({"item": f"room {name}", "message": "seats unknown; set to "
                                   f"{DEFAULT_ROOM_CAPACITY} (change it under Rooms)"})
        if len(name) > 120:
            draft.errors.append({"item": f"room {name[:40]}…", "message": "name is longer "
                                 "than 120 characters"})
    live = list(db.session.scalars(
        select(Session).where(Session.conference_id == conference.id,
                              Session.status != "cancelled", Session.room_id.is_not(None))))
    bookings: dict[str, list[programme.Booking]] = {}
    for s in live:
        bookings.setdefault(s.room.name, []).append(
            programme.Booking(s.id, s.title, s.starts_at, s.ends_at))
    for n, s in enumerate(draft.sessions, 1):
        room = existing_rooms.get(s.room) if s.room else None
        capacity = room.capacity if room else draft.rooms.get(s.room or "")
        held = []
        if room is not None and s.ends_at > s.starts_at:
            # What other features hold in the room then (carousel workshops in their slots).
            for provide in hooks.ROOM_BOOKINGS:
                held.extend(provide(room.id, s.starts_at, s.ends_at, session_id=None))
        problems = programme.check_session(
            starts_at=s.starts_at, ends_at=s.ends_at, kind=s.kind, tz=conference.tz,
            starts_on=conference.starts_on, ends_on=conference.ends_on, capacity=None,
            room_name=s.room, room_capacity=capacity,
            bookings=(bookings.get(s.room, []) if s.room else []) + held)
        for p in problems:
            draft.errors.append({"item": s.ref, "message": p.message, "code": p.code})
        if s.room and not problems:
            bookings.setdefault(s.room, []).append(
                programme.Booking(-n, s.title, s.starts_at, s.ends_at))
    if not draft.sessions and not draft.errors:
        draft.errors.append({"item": "file", "message": "the file has no scheduled sessions"})
    return draft


def import_programme(conference: Conference, raw: bytes | str, fmt: str | None = None
                     ) -> ProgrammeDraft:
    """Import every session, room and speaker in a programme file, or nothing.

    Raises ``invalid_file`` listing each problem. Rooms and speakers are matched by name.
    Every room is locked (``lock_room``) before the check, so no booking slips in meanwhile.
    """
    for room_id in sorted(r.id for r in conference.rooms):
        lock_room(room_id)
    try:
        draft = preview_programme(conference, raw, fmt)
    except ConvenorError:
        db.session.rollback()
        raise
    if draft.errors:
        db.session.rollback()
        raise ConvenorError("invalid_file",
                            f"nothing was imported: {len(draft.errors)} problem(s) in the file",
                            draft.errors)
    rooms = {r.name: r for r in conference.rooms}
    for name in draft.new_rooms:
        rooms[name] = Room(conference=conference, name=name,
                           capacity=draft.rooms[name] or DEFAULT_ROOM_CAPACITY)
        db.session.add(rooms[name])
    speakers = {s.display_name: s for s in conference.speakers}
    for name in draft.new_speakers:
        info = draft.speakers[name]
        speakers[name] = Speaker(conference=conference, name=name, bio=info.get("bio", ""),
                                 organisation=info.get("organisation", ""))
        db.session.add(speakers[name])
    for s in draft.sessions:
        session = Session(conference=conference, title=s.title, kind=s.kind,
                          description=s.description, starts_at=s.starts_at, ends_at=s.ends_at,
                          room=rooms[s.room] if s.room else None)
        session.speakers = [speakers[name] for name in dict.fromkeys(s.speakers)]
        db.session.add(session)
    conference.version += 1
    try:
        db.session.flush()
        signals.record(signals.programme_changed, conference, reason="import")
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not is_room_clash(exc):
            raise
        raise ConvenorError("room_clash", "nothing was imported: a room was booked at the same "
                            "moment; check the file again", []) from None
    signals.programme_changed.send(conference, reason="import")
    return draft


# --------------------------------------------------------------------------- Indico registrants

INDICO_COLUMNS = ("first name", "last name", "affiliation", "position", "phone", "email")


def preview_indico(conference: Conference, raw: bytes | str) -> ImportPreview:
    """Check an Indico registrant CSV (no header, six columns) without saving anything."""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BYTES:
        raise ConvenorError("invalid_csv", "the file is larger than 5 MB", [])
    text = decode_csv_text(raw)
    if not text.strip():
        raise ConvenorError("invalid_csv", "the file is empty", [{"line": 1, "message": "no rows"}])
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    preview = ImportPreview(columns=list(INDICO_COLUMNS))
    existing = set(db.session.scalars(
        select(Delegate.email).where(Delegate.conference_id == conference.id)))
    seen: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if line == 1 and len(record) == 6 and record[5].strip().lower() in {
                    "email", "e-mail", "email address"}:
                continue  # a header row some exports add
            if len(record) != 6:
                preview.errors.append({"line": line, "message": f"{len(record)} cells; Indico "
                                       "rows have 6 (first name, last name, affiliation, "
                                       "position, phone, email)"})
                continue
            first, last, affiliation, position, _phone, email = (c.strip() for c in record)
            values, errors = delegate_values({"name": f"{first} {last}".strip(), "email": email,
                                              "organisation": affiliation, "role": position})
            for error in errors:
                preview.errors.append({"line": line, "field": error["field"],
                                       "message": f"{error['field']} {error['message']}"})
            address = values.get("email", "")
            if address and not errors:
                if address in seen:
                    preview.errors.append({"line": line, "field": "email", "message":
                                           f"{address} also appears on line {seen[address]}"})
                elif address in existing:
                    preview.errors.append({"line": line, "field": "email",
                                           "message": f"{address} is already registered"})
                seen.setdefault(address, line)
                preview.rows.append(values)
    except csv.Error as exc:
        preview.errors.append({"line": reader.line_num, "message": f"unreadable CSV: {exc}"})
    if not preview.rows and not preview.errors:
        preview.errors.append({"line": 1, "message": "the file has no registrants"})
    return preview


def import_indico(conference: Conference, raw: bytes | str) -> int:
    """Register every delegate in an Indico registrant CSV, or none (``invalid_csv``)."""
    preview = preview_indico(conference, raw)
    if preview.errors:
        count = len({e["line"] for e in preview.errors})
        raise ConvenorError("invalid_csv", f"nothing was imported: {count} line(s) have "
                            "problems", preview.errors)
    db.session.add_all(Delegate(conference=conference, **row) for row in preview.rows)
    db.session.commit()
    signals.delegates_changed.send(conference, count=len(preview.rows))
    return len(preview.rows)

