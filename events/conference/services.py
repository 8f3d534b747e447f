"""Service layer: the verbs every adapter (web, API, CLI, Slack) calls.

Services load and save through ``db.session``, own the transaction, raise ``ConvenorError``
with a code, and send signals only after a successful commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from events import cache, hooks, locking, signals
from events.conference import programme
from events.conference.models import (
    ORGANISER_ROLES,
    ROOM_BOOKING_CONSTRAINT,
    SESSION_STATUSES,
    ApiToken,
    Conference,
    Delegate,
    Organiser,
    Room,
    Session,
    SlackLinkCode,
    SlackLinkFailure,
    Speaker,
    new_token,
    utcnow,
)
from events.errors import ConvenorError
from events.extensions import db
from events.notify import changes as notify_changes
from events.notify import links as notify_links

#: A delegate's registration: taking part, withdrawn, or waiting for a place (in ``id`` order).
DELEGATE_STATUSES = ("active", "cancelled", "waitlisted")
#: Who a conference tells by email: delegates not on Slack, everyone, or nobody.
NOTIFY_EMAIL = ("unlinked", "always", "never")
MAX_CAPACITY = 1_000_000
#: Seats in a room or a session: far above any venue, far below what breaks a column.
MAX_SEATS = 100_000
#: The largest id or count the database's integer columns hold (PostgreSQL ``integer``).
MAX_INT = 2**31 - 1
#: Years a conference, a session or a deadline may fall in (calendars and exports beyond
#: them overflow, and no real event is there).
YEARS = (2000, 2100)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
TOKEN_PREFIX = "cvn_"


# --------------------------------------------------------------------------- field parsing


def unsafe_text(value: str) -> str | None:
    """Return why text cannot be stored (NUL characters, unpaired surrogates), else None.

    PostgreSQL refuses both (a 500 before this check) and SQLite would store them silently.
    """
    if "\x00" in value:
        return "must not contain NUL characters"
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "contains an unpaired surrogate (not valid Unicode text)"
    return None


class Fields:
    """Collect field errors while reading a submitted mapping, then raise them all at once."""

    def __init__(self, data: dict[str, Any], *, partial: bool = False):
        self.data = data
        self.partial = partial
        self.errors: list[dict[str, str]] = []

    def has(self, name: str) -> bool:
        """Return whether the field was submitted (always true for full updates)."""
        return name in self.data or not self.partial

    def error(self, field: str, message: str) -> None:
        """Record an error against ``field``."""
        self.errors.append({"field": field, "message": message})

    def text(self, name: str, *, required: bool = False, max_len: int = 300) -> str:
        """Read a string field."""
        value = self.data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(name, "must be text")
            return ""
        why = unsafe_text(value)
        if why:
            self.error(name, why)
            return ""
        value = value.strip()
        if required and not value:
            self.error(name, "is required")
        if len(value) > max_len:
            self.error(name, f"must be at most {max_len} characters")
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int = 0,
                maximum: int = MAX_INT) -> int | None:
        """Read a whole number between ``minimum`` and ``maximum`` (3.7 and "3.7" are refused)."""
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.error(name, "is required")
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and len(value.strip()) <= 20:
            value = value.strip()
            value = int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, "must be a whole number")
            return None
        if not minimum <= value <= maximum:
            self.error(name, f"must be between {minimum} and {maximum}")
            return None
        return value

    def boolean(self, name: str) -> bool:
        """Read a yes/no field (JSON booleans, or yes/no/true/false/1/0 text)."""
        value = self.data.get(name)
        if isinstance(value, bool):
            return value
        if value is None or value == "":
            return False
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "y", "on"}:
            return True
        if text in {"0", "false", "no", "n", "off"}:
            return False
        self.error(name, "must be true or false")
        return False

    def day(self, name: str) -> date | None:
        """Read an ISO date (YYYY-MM-DD)."""
        value = self.data.get(name)
        if isinstance(value, date) and not isinstance(value, datetime):
            return self._in_years(name, value)
        if not value:
            self.error(name, "is required")
            return None
        try:
            return self._in_years(name, date.fromisoformat(str(value)))
        except ValueError:
            self.error(name, "must be a date like 2027-03-11")
            return None

    def _in_years(self, name: str, value: date | datetime) -> date | datetime | None:
        if not YEARS[0] <= value.year <= YEARS[1]:
            self.error(name, f"must be in the years {YEARS[0]} to {YEARS[1]}")
            return None
        return value

    def moment(self, name: str, conference: Conference) -> datetime | None:
        """Read a date and time; one without an offset is in the conference's zone."""
        value = self.data.get(name)
        if not value:
            self.error(name, "is required")
            return None
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                self.error(name, "must be a date and time like 2027-03-11T09:30")
                return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=conference.tz)
        return self._in_years(name, moment)

    def email(self, name: str) -> str:
        """Read and normalise an email address."""
        value = self.text(name, required=True, max_len=254)
        if not value:
            return ""
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            self.error(name, f"is not a valid email address ({exc})")
            return value

    def raise_if_any(self, message: str = "some fields are not valid") -> None:
        """Raise one ``invalid`` error naming every bad field."""
        if self.errors:
            summary = "; ".join(f"{e['field']} {e['message']}" for e in self.errors)
            raise ConvenorError("invalid", f"{message}: {summary}", self.errors)


# --------------------------------------------------------------------------- organisers


def hash_token(raw: str) -> str:
    """Return the stored digest of an API token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_organiser(email: str, password: str, *, name: str = "", role: str = "organiser") -> Organiser:
    """Create an organiser account with a hashed password.

    Raises ``invalid`` for a bad email, short password or role, ``duplicate`` if the email exists.
    """
    fields = Fields({"email": email, "name": name})
    email = fields.email("email")
    if len(password or "") < 8:
        fields.error("password", "must be at least 8 characters")
    if role not in ORGANISER_ROLES:
        fields.error("role", f"must be one of {', '.join(ORGANISER_ROLES)}")
    fields.raise_if_any("cannot create the organiser")
    if db.session.scalar(select(Organiser).where(Organiser.email == email)):
        raise ConvenorError("duplicate", f"an organiser with email {email} already exists")
    organiser = Organiser(
        email=email, name=name, role=role, password_hash=generate_password_hash(password)
    )
    db.session.add(organiser)
    db.session.commit()
    return organiser


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    # Made once per process with today's default method, so it costs what a real check costs.
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


def authenticate(email: str, password: str) -> Organiser | None:
    """Return the organiser whose email and password match, else None.

    An unknown email still checks the password against a dummy hash, so the answer takes as
    long as for a real account and the timing does not tell which emails have one.
    """
    organiser = db.session.scalar(
        select(Organiser).where(Organiser.email == (email or "").strip().lower())
    )
    stored = organiser.password_hash if organiser is not None and organiser.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(), password or "")
    if stored is not None and matches:
        return organiser
    return None


def issue_api_token(organiser: Organiser, label: str = "") -> str:
    """Create an API token for ``organiser`` and return it; only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(organiser=organiser, token_hash=hash_token(raw), prefix=raw[:10], label=label)
    )
    db.session.commit()
    return raw


def organiser_for_token(raw: str) -> Organiser | None:
    """Return the organiser owning a bearer token, or None for an unknown one."""
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None:
        return None
    now = utcnow()
    # Record use at most every few minutes so that busy API clients do not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 300:
        token.last_used_at = now
        db.session.commit()
    return token.organiser


def get_organiser(organiser_id: int) -> Organiser | None:
    """Return the organiser with this id, or None (for the sign-in session)."""
    return db.session.get(Organiser, organiser_id)


# --------------------------------------------------------------------------- conferences


def published_conferences() -> list[Conference]:
    """Return the published conferences, soonest first."""
    return list(db.session.scalars(
        select(Conference).where(Conference.published.is_(True)).order_by(Conference.starts_on)))


def get_conference(slug: str) -> Conference:
    """Return the conference with ``slug``; raise ``not_found`` otherwise."""
    conference = db.session.scalar(select(Conference).where(Conference.slug == slug))
    if conference is None:
        raise ConvenorError("not_found", f"no conference called {slug!r}")
    return conference


def require_manager(organiser: Organiser, conference: Conference) -> None:
    """Raise ``forbidden`` unless ``organiser`` manages ``conference``."""
    if organiser.role != "organiser" or not organiser.manages(conference):
        raise ConvenorError("forbidden", f"you do not manage the conference {conference.slug!r}")


def _conference_fields(data: dict, conference: Conference | None, partial: bool) -> dict:
    fields = Fields(data, partial=partial)
    values: dict[str, Any] = {}
    if fields.has("slug") and conference is None:
        slug = fields.text("slug", required=True, max_len=64).lower()
        if slug and not SLUG_RE.match(slug):
            fields.error("slug", "may contain only lower-case letters, digits and hyphens")
        values["slug"] = slug
    if fields.has("name"):
        values["name"] = fields.text("name", required=True, max_len=200)
    if fields.has("tagline"):
        values["tagline"] = fields.text("tagline", max_len=300)
    if fields.has("venue"):
        values["venue"] = fields.text("venue", max_len=300)
    if fields.has("about"):
        values["about"] = fields.text("about", max_len=5000)
    if fields.has("partners"):
        values["partners"] = fields.text("partners", max_len=2000)
    if fields.has("starts_on"):
        values["starts_on"] = fields.day("starts_on")
    if fields.has("ends_on"):
        values["ends_on"] = fields.day("ends_on")
    if fields.has("timezone"):
        tz = fields.text("timezone", max_len=64) or "Europe/London"
        if not programme.valid_timezone(tz):
            fields.error("timezone", f"{tz!r} is not an IANA time zone such as Europe/London")
        values["timezone"] = tz
    if fields.has("published"):
        values["published"] = fields.boolean("published")
    if fields.has("registration_open"):
        values["registration_open"] = fields.boolean("registration_open")
    if fields.has("registration_capacity"):
        capacity = fields.integer("registration_capacity", minimum=1)
        if capacity is not None and capacity > MAX_CAPACITY:
            fields.error("registration_capacity", f"must be at most {MAX_CAPACITY}")
        values["registration_capacity"] = capacity
    if fields.has("notify_email"):
        choice = fields.text("notify_email", max_len=10) or "unlinked"
        if choice not in NOTIFY_EMAIL:
            fields.error("notify_email", f"must be one of {', '.join(NOTIFY_EMAIL)}")
        values["notify_email"] = choice
    if fields.has("email_reminders"):
        values["email_reminders"] = fields.boolean("email_reminders")
    if fields.has("contact_email"):
        raw = fields.text("contact_email", max_len=254)
        values["contact_email"] = fields.email("contact_email") if raw else ""
    starts = values.get("starts_on", conference.starts_on if conference else None)
    ends = values.get("ends_on", conference.ends_on if conference else None)
    if starts and ends and ends < starts:
        fields.error("ends_on", "must be on or after the start date")
    fields.raise_if_any("the conference is not valid")
    return values


def create_conference(organiser: Organiser, data: dict) -> Conference:
    """Create a conference managed by ``organiser``; raise ``invalid`` or ``duplicate``."""
    values = _conference_fields(data, None, partial=False)
    if db.session.scalar(select(Conference).where(Conference.slug == values["slug"])):
        raise ConvenorError(
            "duplicate",
            f"the slug {values['slug']!r} is taken",
            [{"field": "slug", "message": "is already used by another conference"}],
        )
    conference = Conference(**values)
    conference.organisers.append(organiser)
    db.session.add(conference)
    db.session.commit()
    return conference


def update_conference(conference: Conference, data: dict) -> Conference:
    """Change a conference's details (the slug never changes)."""
    values = _conference_fields(data, conference, partial=True)
    for key, value in values.items():
        setattr(conference, key, value)
    conference.version += 1
    db.session.flush()
    signals.record(signals.programme_changed, conference, reason="conference")
    db.session.commit()
    signals.programme_changed.send(conference, reason="conference")
    return conference


# --------------------------------------------------------------------------- rooms and speakers


def _room_fields(data: dict, partial: bool) -> dict:
    fields = Fields(data, partial=partial)
    values: dict[str, Any] = {}
    if fields.has("name"):
        values["name"] = fields.text("name", required=True, max_len=120)
    if fields.has("capacity"):
        values["capacity"] = fields.integer("capacity", required=True, minimum=1,
                                            maximum=MAX_SEATS)
    for flag in ("step_free", "hearing_loop"):
        if fields.has(flag):
            values[flag] = fields.boolean(flag)
    fields.raise_if_any("the room is not valid")
    return values


def create_room(conference: Conference, data: dict) -> Room:
    """Add a room; names are unique within a conference."""
    values = _room_fields(data, partial=False)
    _unique_room_name(conference, values["name"], None)
    room = Room(conference=conference, **values)
    db.session.add(room)
    conference.version += 1
    db.session.commit()
    return room


def _unique_room_name(conference: Conference, name: str, room_id: int | None) -> None:
    clash = db.session.scalar(
        select(Room).where(Room.conference_id == conference.id, Room.name == name)
    )
    if clash is not None and clash.id != room_id:
        raise ConvenorError(
            "duplicate",
            f"there is already a room called {name!r}",
            [{"field": "name", "message": "is already used by another room"}],
        )


def update_room(room: Room, data: dict) -> Room:
    """Change a room; shrinking it below a session's capacity is refused."""
    values = _room_fields(data, partial=True)
    if "name" in values:
        _unique_room_name(room.conference, values["name"], room.id)
    new_capacity = values.get("capacity")
    if new_capacity is not None:
        too_big = db.session.scalar(
            select(Session).where(Session.room_id == room.id, Session.capacity > new_capacity)
        )
        if too_big is not None:
            raise ConvenorError(
                "capacity_above_room",
                f"“{too_big.title}” offers {too_big.capacity} seats in this room",
                [{"field": "capacity", "message": f"must be at least {too_big.capacity}"}],
            )
    for key, value in values.items():
        setattr(room, key, value)
    room.conference.version += 1
    db.session.flush()
    signals.record(signals.programme_changed, room.conference, reason="room")
    db.session.commit()
    signals.programme_changed.send(room.conference, reason="room")
    return room


def get_room(conference: Conference, room_id: int) -> Room:
    """Return one of the conference's rooms or raise ``not_found``."""
    room = db.session.get(Room, room_id)
    if room is None or room.conference_id != conference.id:
        raise ConvenorError("not_found", f"no room {room_id} in this conference")
    return room


def _speaker_fields(data: dict, partial: bool) -> dict:
    fields = Fields(data, partial=partial)
    values: dict[str, Any] = {}
    if fields.has("name"):
        values["name"] = fields.text("name", required=True, max_len=200)
    if fields.has("honours"):
        values["honours"] = fields.text("honours", max_len=100)
    if fields.has("organisation"):
        values["organisation"] = fields.text("organisation", max_len=200)
    if fields.has("bio"):
        values["bio"] = fields.text("bio", max_len=5000)
    fields.raise_if_any("the speaker is not valid")
    return values


def create_speaker(conference: Conference, data: dict) -> Speaker:
    """Add a speaker."""
    speaker = Speaker(conference=conference, **_speaker_fields(data, partial=False))
    db.session.add(speaker)
    db.session.commit()
    return speaker


def update_speaker(speaker: Speaker, data: dict) -> Speaker:
    """Change a speaker's details."""
    for key, value in _speaker_fields(data, partial=True).items():
        setattr(speaker, key, value)
    speaker.conference.version += 1
    db.session.flush()
    signals.record(signals.programme_changed, speaker.conference, reason="speaker")
    db.session.commit()
    signals.programme_changed.send(speaker.conference, reason="speaker")
    return speaker


def get_speaker(conference: Conference, speaker_id: int) -> Speaker:
    """Return one of the conference's speakers or raise ``not_found``."""
    speaker = db.session.get(Speaker, speaker_id)
    if speaker is None or speaker.conference_id != conference.id:
        raise ConvenorError("not_found", f"no speaker {speaker_id} in this conference")
    return speaker


# --------------------------------------------------------------------------- sessions

#: Changes to these fields make calendar apps replace the event (SEQUENCE goes up).
SEQUENCED = ("starts_at", "ends_at", "room_id", "status")


def get_session(conference: Conference, session_id: int) -> Session:
    """Return one of the conference's sessions or raise ``not_found``."""
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id:
        raise ConvenorError("not_found", f"no session {session_id} in this conference")
    return session


def _session_values(conference: Conference, data: dict, partial: bool) -> dict:
    fields = Fields(data, partial=partial)
    values: dict[str, Any] = {}
    if fields.has("title"):
        values["title"] = fields.text("title", required=True, max_len=300)
    if fields.has("kind"):
        kind = fields.text("kind", max_len=20) or "other"
        if kind not in programme.KINDS:
            fields.error("kind", f"must be one of {', '.join(programme.KINDS)}")
        values["kind"] = kind
    if fields.has("description"):
        values["description"] = fields.text("description", max_len=10000)
    if fields.has("starts_at"):
        values["starts_at"] = fields.moment("starts_at", conference)
    if fields.has("ends_at"):
        values["ends_at"] = fields.moment("ends_at", conference)
    if fields.has("capacity"):
        values["capacity"] = fields.integer("capacity", minimum=1, maximum=MAX_SEATS)
    if fields.has("status"):
        status = fields.text("status", max_len=20) or "scheduled"
        if status not in SESSION_STATUSES:
            fields.error("status", f"must be one of {', '.join(SESSION_STATUSES)}")
        values["status"] = status
    if fields.has("room_id"):
        room_id = fields.integer("room_id", minimum=1)
        if room_id is not None:
            room = db.session.get(Room, room_id)
            if room is None or room.conference_id != conference.id:
                fields.error("room_id", f"there is no room {room_id} in this conference")
        values["room_id"] = room_id
    if fields.has("speaker_ids"):
        ids = data.get("speaker_ids") or []
        if not isinstance(ids, list | tuple) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            fields.error("speaker_ids", "must be a list of speaker ids")
            ids = []
        speakers = []
        for speaker_id in ids:
            speaker = db.session.get(Speaker, speaker_id)
            if speaker is None or speaker.conference_id != conference.id:
                fields.error("speaker_ids", f"there is no speaker {speaker_id} in this conference")
            else:
                speakers.append(speaker)
        values["speakers"] = speakers
    fields.raise_if_any("the session is not valid")
    return values


def _room_lock_off() -> bool:
    """Return whether a test turned the room lock off, to show the race it prevents.

    ``CONVENOR_TEST_NO_ROOM_LOCK`` counts only with ``TESTING`` set; production never skips it.
    """
    config = current_app.config
    return bool(config.get("TESTING") and config.get("CONVENOR_TEST_NO_ROOM_LOCK"))


def lock_room(room_id: int | None) -> None:
    """Hold the room's booking lock for the rest of this transaction (no commit).

    A no-op UPDATE of the room row: PostgreSQL locks that row (other rooms book on), SQLite takes
    its database write lock, like ``BEGIN IMMEDIATE``. Check for clashes after this, never before:
    two bookings of one room are then checked and written one after the other.
    """
    if room_id is None or _room_lock_off():
        return
    db.session.execute(update(Room).where(Room.id == room_id).values(capacity=Room.capacity)
                       .execution_options(synchronize_session=False))


def session_bookings(room_id: int, starts_at: datetime, ends_at: datetime, *,
                     exclude_id: int | None = None) -> list[programme.Booking]:
    """Return the live (not cancelled) sessions in the room that overlap the time."""
    query = select(Session).where(
        Session.room_id == room_id,
        Session.status != "cancelled",
        Session.starts_at < ends_at,
        Session.ends_at > starts_at,
    )
    if exclude_id is not None:
        query = query.where(Session.id != exclude_id)
    return [programme.Booking(s.id, s.title, s.starts_at, s.ends_at)
            for s in db.session.scalars(query)]


def room_bookings(room_id: int, starts_at: datetime, ends_at: datetime, *,
                  session_id: int | None = None) -> list[programme.Booking]:
    """Return everything booked in the room over the time: sessions, and what features hold
    (``hooks.ROOM_BOOKINGS``: carousel workshops in their slots).

    ``session_id`` is the session being placed: it, and what belongs to it (its own carousel
    workshops), are left out.
    """
    found = session_bookings(room_id, starts_at, ends_at, exclude_id=session_id)
    for provide in hooks.ROOM_BOOKINGS:
        found.extend(provide(room_id, starts_at, ends_at, session_id=session_id))
    return found


def _check_rules(conference: Conference, session: Session) -> None:
    """Raise the first broken programme rule for ``session`` (as it would be saved).

    Call it after ``lock_room``, so that no other booking of the room can slip in between.
    """
    room = db.session.get(Room, session.room_id) if session.room_id else None
    bookings = []
    if (room is not None and session.status != "cancelled" and session.starts_at
            and session.ends_at and session.ends_at > session.starts_at):
        bookings = room_bookings(room.id, session.starts_at, session.ends_at,
                                 session_id=session.id)
    problems = programme.check_session(
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        kind=session.kind,
        tz=conference.tz,
        starts_on=conference.starts_on,
        ends_on=conference.ends_on,
        capacity=session.capacity,
        room_name=room.name if room else None,
        room_capacity=room.capacity if room else None,
        bookings=bookings,
    )
    if problems:
        first = problems[0]
        raise ConvenorError(
            first.code,
            first.message,
            [{"field": p.field, "code": p.code, "message": p.message} for p in problems],
        )


def _check_held(conference: Conference, session: Session,
                held: list[tuple[int, programme.Booking]]) -> None:
    """Raise ``room_clash`` when something ``session`` holds (``hooks.ROOM_HOLDINGS``) finds
    its room booked by anyone else; call it after locking those rooms."""
    for room_id, booking in held:
        room = db.session.get(Room, room_id)
        clash = programme.room_clash(
            starts_at=booking.starts_at, ends_at=booking.ends_at, tz=conference.tz,
            room_name=room.name if room else "the room",
            bookings=room_bookings(room_id, booking.starts_at, booking.ends_at,
                                   session_id=session.id))
        if clash is not None:
            message = f"{booking.title}: {clash.message}"
            raise ConvenorError("room_clash", message,
                                [{"field": "status", "code": "room_clash", "message": message}])


def is_room_clash(exc: IntegrityError) -> bool:
    """Return whether a failed write broke the database's room rule (PostgreSQL's exclusion
    constraint ``ex_sessions_room_time``), i.e. lost a race for the room."""
    return ROOM_BOOKING_CONSTRAINT in str(exc.orig)


def _lost_room_race(conference: Conference, room_id: int, starts_at: datetime,
                    ends_at: datetime, session_id: int | None) -> ConvenorError:
    """Return the ``room_clash`` error for a write the database refused: name the winner."""
    room = db.session.get(Room, room_id)
    name = room.name if room else "the room"
    clash = programme.room_clash(
        starts_at=starts_at, ends_at=ends_at, tz=conference.tz, room_name=name,
        bookings=room_bookings(room_id, starts_at, ends_at, session_id=session_id))
    message = clash.message if clash else f"{name} was booked by someone else at the same moment"
    return ConvenorError("room_clash", message,
                         [{"field": "room_id", "code": "room_clash", "message": message}])


def create_session(conference: Conference, data: dict) -> Session:
    """Add a session after checking times, dates, room clashes and capacity.

    The room is locked while it is checked and written (``lock_room``), and PostgreSQL's
    exclusion constraint stands behind that: of simultaneous bookings of one room and time, one
    wins and the others get ``room_clash`` naming it.
    """
    values = _session_values(conference, data, partial=False)
    speakers = values.pop("speakers", [])
    with db.session.no_autoflush:
        session = Session(conference_id=conference.id, **values)
        session.speakers = speakers
        if session.status != "cancelled":
            lock_room(session.room_id)
        _check_rules(conference, session)
    db.session.add(session)
    conference.version += 1
    wanted = (session.room_id, session.starts_at, session.ends_at)
    try:
        db.session.flush()
        signals.record(signals.programme_changed, conference, reason="session_added",
                       session=session)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not is_room_clash(exc):
            raise
        raise _lost_room_race(conference, *wanted, None) from None
    signals.programme_changed.send(conference, reason="session_added", session=session)
    return session


def update_session(session: Session, data: dict) -> tuple[Session, list[str]]:
    """Change a session (partial update) and return it with the names of changed fields.

    Moving time, room or status bumps the session's ``sequence``; rules are re-checked.
    """
    conference = session.conference
    values = _session_values(conference, data, partial=True)
    changes = []
    before = notify_changes.snapshot(session)
    with db.session.no_autoflush:
        for key, value in values.items():
            old = getattr(session, key)
            if key == "speakers":
                if {s.id for s in old} != {s.id for s in value}:
                    changes.append("speakers")
                    session.speakers = value
                continue
            if old != value:
                changes.append(key)
                setattr(session, key, value)
        if not changes:
            return session, []
        try:
            # Back from cancelled, the session takes up again what it holds (a carousel's
            # workshops in their rooms): check that too.
            held = []
            if "status" in changes and session.status != "cancelled":
                for holdings in hooks.ROOM_HOLDINGS:
                    held.extend(holdings(session))
            if session.status != "cancelled" and {"starts_at", "ends_at", "room_id",
                                                   "status"} & set(changes):
                for room_id in sorted({session.room_id, *(r for r, _ in held)} - {None}):
                    lock_room(room_id)
            _check_rules(conference, session)
            _check_held(conference, session, held)
        except ConvenorError:
            db.session.rollback()
            raise
    if any(field in SEQUENCED for field in changes):
        session.sequence += 1
    session.updated_at = utcnow()
    conference.version += 1
    wanted = (session.room_id, session.starts_at, session.ends_at, session.id)
    try:
        db.session.flush()
        if "room_id" in changes:
            db.session.expire(session, ["room"])  # else ``session.room`` is still the old room
        notify_changes.session_changed(session, changes, before=before)
        db.session.flush()
        signals.record(signals.session_changed, conference, session=session, changes=changes)
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not is_room_clash(exc):
            raise
        raise _lost_room_race(conference, *wanted) from None
    signals.session_changed.send(conference, session=session, changes=changes)
    return session, changes


def cancel_session(session: Session) -> Session:
    """Mark a session cancelled; it stays in the programme, shown as cancelled."""
    return update_session(session, {"status": "cancelled"})[0]


def session_payload(session: Session) -> dict:
    """Return the plain dict describing a session in live events (times with the zone offset)."""
    tz = session.conference.tz
    return {
        "id": session.id,
        "title": session.title,
        "kind": session.kind,
        "starts_at": session.starts_at.astimezone(tz).isoformat(),
        "ends_at": session.ends_at.astimezone(tz).isoformat(),
        "room": session.room.name if session.room else None,
        "room_id": session.room_id,
        "status": session.status,
        "speakers": [sp.display_name for sp in session.speakers],
    }


def delete_session(session: Session) -> None:
    """Remove a session from the programme altogether."""
    conference = session.conference
    told = notify_changes.concerned(session)
    snapshot = session_payload(session)
    notify_changes.session_deleted(session, told)
    db.session.delete(session)
    conference.version += 1
    db.session.flush()
    signals.record(signals.programme_changed, conference, reason="session_deleted", session=snapshot)
    db.session.commit()
    signals.programme_changed.send(conference, reason="session_deleted", session=snapshot)


def programme_sessions(conference: Conference) -> list[Session]:
    """Return the conference's sessions in time order, then room order."""
    return list(
        db.session.scalars(
            select(Session)
            .where(Session.conference_id == conference.id)
            # Rooms and speakers in two queries, not two per session: every listing shows them.
            .options(selectinload(Session.room), selectinload(Session.speakers))
            .order_by(Session.starts_at, Session.room_id, Session.id)
        )
    )


# --------------------------------------------------------------------------- delegates


def delegate_values(data: dict, *, partial: bool = False) -> tuple[dict, list[dict]]:
    """Read delegate fields; return the values and the field errors (not raised)."""
    fields = Fields(data, partial=partial)
    values: dict[str, Any] = {}
    if fields.has("name"):
        values["name"] = fields.text("name", required=True, max_len=200)
    if fields.has("email"):
        values["email"] = fields.email("email")
    for name, limit in (("organisation", 200), ("role", 200), ("region", 120), ("dietary", 300),
                        ("pronouns", 40)):
        if fields.has(name):
            values[name] = fields.text(name, max_len=limit)
    if fields.has("slack_user_id"):
        slack = fields.text("slack_user_id", max_len=32)
        if slack and not re.fullmatch(r"[UW][A-Z0-9]{2,31}", slack):
            fields.error("slack_user_id", "must look like U01ABCDEF")
        values["slack_user_id"] = slack or None
    if fields.has("status") and "status" in data:
        status = fields.text("status", max_len=20) or "active"
        if status not in DELEGATE_STATUSES:
            fields.error("status", "must be active, cancelled or waitlisted")
        values["status"] = status
    if "access_needs" in data:
        needs = data.get("access_needs")
        if isinstance(needs, str):
            needs = parse_access_needs(needs)
        if isinstance(needs, dict):
            sub = Fields(needs)
            values["needs_step_free"] = sub.boolean("step_free")
            values["needs_hearing_loop"] = sub.boolean("hearing_loop")
            values["access_other"] = sub.text("other", max_len=500)
            fields.errors.extend({"field": f"access_needs.{e['field']}", "message": e["message"]}
                                 for e in sub.errors)
        elif needs is not None:
            fields.error("access_needs", "must be an object with step_free, hearing_loop, other")
    else:
        for key in ("needs_step_free", "needs_hearing_loop"):
            if key in data:
                values[key] = fields.boolean(key)
        if "access_other" in data:
            values["access_other"] = fields.text("access_other", max_len=500)
    return values, fields.errors


def parse_access_needs(text: str) -> dict:
    """Turn free text such as "step-free; hearing loop; large print" into structured needs."""
    step_free = hearing_loop = False
    other = []
    for part in re.split(r"[;,|]", text or ""):
        word = part.strip()
        key = re.sub(r"[^a-z]", "", word.lower())
        if not key:
            continue
        if key in {"stepfree", "wheelchair", "wheelchairuser", "stepfreeaccess", "levelaccess"}:
            step_free = True
        elif key in {"hearingloop", "loop", "inductionloop"}:
            hearing_loop = True
        else:
            other.append(word)
    return {"step_free": step_free, "hearing_loop": hearing_loop, "other": "; ".join(other)}


def get_delegate(conference: Conference, delegate_id: int) -> Delegate:
    """Return one of the conference's delegates or raise ``not_found``."""
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None or delegate.conference_id != conference.id:
        raise ConvenorError("not_found", f"no delegate {delegate_id} in this conference")
    return delegate


def delegate_by_token(token: str) -> Delegate:
    """Return the delegate owning a private-link token, or raise ``not_found``."""
    delegate = None
    if token and len(token) <= 64:
        delegate = db.session.scalar(select(Delegate).where(Delegate.token == token))
    if delegate is None:
        raise ConvenorError("not_found", "this link is not valid (it may have been replaced)")
    return delegate


def _slack_taken(conference: Conference, slack_user_id: str | None, delegate_id: int | None) -> bool:
    other = delegate_for_slack_user(conference, slack_user_id or "")
    return other is not None and other.id != delegate_id


_SLACK_TAKEN = [{"field": "slack_user_id", "message": "is linked to another delegate"}]


def _email_taken(conference: Conference, email: str, delegate_id: int | None) -> bool:
    other = db.session.scalar(
        select(Delegate).where(Delegate.conference_id == conference.id, Delegate.email == email)
    )
    return other is not None and other.id != delegate_id


def _already_registered(conference: Conference, email: str) -> ConvenorError:
    """Return the ``duplicate`` error for ``email``, naming the delegate who holds it."""
    holder = db.session.scalar(select(Delegate.id).where(Delegate.conference_id == conference.id,
                                                         Delegate.email == email))
    return ConvenorError(
        "duplicate",
        f"{email} is already registered",
        [{"field": "email", "message": "is already registered for this conference",
          "delegate_id": holder}],
    )


def create_delegate(conference: Conference, data: dict) -> Delegate:
    """Register one delegate; emails are unique within a conference.

    Simultaneous creates with one email give one delegate: the others get ``duplicate``, whose
    details name the delegate that won (``delegate_id``). Also ``invalid``.
    """
    values, errors = delegate_values(data)
    if errors:
        raise ConvenorError(
            "invalid",
            "the delegate is not valid: " + "; ".join(f"{e['field']} {e['message']}" for e in errors),
            errors,
        )
    guarded = not locking.guard_off("delegate")
    if guarded:
        _lock_registrations(conference)  # the email check and the insert, one at a time
    try:
        if _email_taken(conference, values["email"], None):
            raise _already_registered(conference, values["email"])
        if _slack_taken(conference, values.get("slack_user_id"), None):
            raise ConvenorError("duplicate", "that Slack account is linked to another delegate",
                                _SLACK_TAKEN)
        delegate = Delegate(conference=conference, **values)
        db.session.add(delegate)
        db.session.commit()
    except IntegrityError:
        # Without the lock (another writer that does not take it): the unique index decides.
        db.session.rollback()
        if not guarded:
            raise
        if _email_taken(conference, values["email"], None):
            raise _already_registered(conference, values["email"]) from None
        raise ConvenorError("conflict", "another change to the delegates was saved at the same "
                            "moment; try again") from None
    except ConvenorError:
        db.session.rollback()  # releases the lock
        raise
    signals.delegates_changed.send(conference, count=1)
    return delegate


def update_delegate(delegate: Delegate, data: dict) -> Delegate:
    """Change a delegate's details."""
    values, errors = delegate_values(data, partial=True)
    if errors:
        raise ConvenorError(
            "invalid",
            "the delegate is not valid: " + "; ".join(f"{e['field']} {e['message']}" for e in errors),
            errors,
        )
    if "email" in values and _email_taken(delegate.conference, values["email"], delegate.id):
        raise ConvenorError(
            "duplicate",
            f"{values['email']} is already registered",
            [{"field": "email", "message": "is already registered for this conference"}],
        )
    if "slack_user_id" in values and _slack_taken(delegate.conference, values["slack_user_id"],
                                                  delegate.id):
        raise ConvenorError("duplicate", "that Slack account is linked to another delegate",
                            _SLACK_TAKEN)
    freed = delegate.status == "active" and values.get("status", "active") != "active"
    if freed:
        _lock_registrations(delegate.conference)
    for key, value in values.items():
        setattr(delegate, key, value)
    promoted = _promote_waitlisted(delegate.conference, exclude=delegate.id) if freed else []
    db.session.commit()
    if freed:  # their private link no longer opens the live channel: close what it opened
        signals.delegate_link_revoked.send(delegate.conference, delegate=delegate,
                                           reason=delegate.status)
    for person in promoted:
        signals.delegate_promoted.send(delegate.conference, delegate=person)
    return delegate


def rotate_delegate_token(delegate: Delegate) -> str:
    """Give a delegate a new private link; the old one stops working at once.

    Sends ``delegate_link_revoked`` after the commit, so live connections opened with the old
    link close too.
    """
    delegate.token = new_token()
    db.session.commit()
    signals.delegate_link_revoked.send(delegate.conference, delegate=delegate, reason="rotated")
    return delegate.token


def search_delegates(
    conference: Conference,
    *,
    q: str = "",
    organisation: str = "",
    role: str = "",
    access: str = "",
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Delegate], int]:
    """Return delegates matching a search and filters, with the total count.

    ``access`` is "step_free", "hearing_loop", "other" or "any".
    """
    query = select(Delegate).where(Delegate.conference_id == conference.id)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Delegate.name).like(like),
                func.lower(Delegate.email).like(like),
                func.lower(Delegate.organisation).like(like),
            )
        )
    if organisation:
        query = query.where(Delegate.organisation == organisation)
    if role:
        query = query.where(Delegate.role == role)
    if access == "step_free":
        query = query.where(Delegate.needs_step_free.is_(True))
    elif access == "hearing_loop":
        query = query.where(Delegate.needs_hearing_loop.is_(True))
    elif access == "other":
        query = query.where(Delegate.access_other != "")
    elif access == "any":
        query = query.where(
            or_(
                Delegate.needs_step_free.is_(True),
                Delegate.needs_hearing_loop.is_(True),
                Delegate.access_other != "",
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(func.lower(Delegate.name), Delegate.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query)), total


def delegate_facets(conference: Conference) -> dict[str, list[str]]:
    """Return the distinct organisations and roles, for filter menus."""
    facets = {}
    for name, column in (("organisations", Delegate.organisation), ("roles", Delegate.role)):
        facets[name] = [
            v
            for v in db.session.scalars(
                select(column).where(Delegate.conference_id == conference.id).distinct().order_by(column)
            )
            if v
        ]
    return facets


# --------------------------------------------------------------------------- Slack identity

#: A link code lives this long; one active code per delegate.
LINK_CODE_TTL = timedelta(minutes=15)
#: Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L).
LINK_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: Wrong codes a Slack user may type within ``LINK_CODE_TTL`` before being refused.
MAX_LINK_FAILURES = 5


def delegate_for_slack_user(conference: Conference, slack_user_id: str) -> Delegate | None:
    """Return the conference's delegate linked to a Slack user, or None."""
    if not slack_user_id:
        return None
    return db.session.scalar(select(Delegate).where(Delegate.conference_id == conference.id,
                                                    Delegate.slack_user_id == slack_user_id))


def _link(conference: Conference, delegate: Delegate, slack_user_id: str) -> Delegate:
    """Link ``delegate`` to a Slack user and commit; codes ``canceled``, ``conflict``."""
    if delegate.status == "cancelled":
        raise ConvenorError("canceled", "this registration was withdrawn — ask the organisers")
    if delegate.slack_user_id == slack_user_id:
        return delegate
    if delegate.slack_user_id:
        raise ConvenorError("conflict", "that registration is linked to another Slack account — "
                            "ask the organisers")
    other = delegate_for_slack_user(conference, slack_user_id)
    if other is not None and other.id != delegate.id:
        raise ConvenorError("conflict", "your Slack account is already linked to another "
                            "registration — ask the organisers")
    delegate.slack_user_id = slack_user_id
    try:
        db.session.commit()
    except IntegrityError:
        # The same link made at this instant by a retry: the database let one win.
        db.session.rollback()
        db.session.refresh(delegate)
        if delegate.slack_user_id != slack_user_id:
            raise ConvenorError("conflict", "your Slack account is already linked to another "
                                "registration — ask the organisers") from None
    return delegate


def link_slack_user(conference: Conference, slack_user_id: str, email: str) -> Delegate:
    """Link the delegate registered with ``email`` to a Slack user; idempotent.

    Pass only an email Slack vouches for (the user's profile), never one a person typed.
    Codes: ``not_found`` (no delegate with that email), ``canceled``, ``conflict``.
    """
    delegate = db.session.scalar(select(Delegate).where(
        Delegate.conference_id == conference.id, Delegate.email == (email or "").strip().lower()))
    if delegate is None:
        raise ConvenorError("not_found", "no registration with your Slack email")
    return _link(conference, delegate, slack_user_id)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue_slack_link_code(delegate: Delegate, *, now: datetime | None = None) -> str:
    """Return a new one-time code ``ABCD-EFGH`` that links a Slack account to ``delegate``.

    The code is valid for 15 minutes and replaces the delegate's previous code; only its
    SHA-256 digest is stored.
    """
    now = now or utcnow()
    raw = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    db.session.execute(delete(SlackLinkCode).where(SlackLinkCode.delegate_id == delegate.id))
    db.session.add(SlackLinkCode(delegate_id=delegate.id, digest=_digest(code),
                                 expires_at=now + LINK_CODE_TTL))
    db.session.commit()
    return code


def redeem_slack_link_code(conference: Conference, code: str, slack_user_id: str, *,
                           now: datetime | None = None) -> Delegate:
    """Link the Slack user to the delegate whose code this is, and use the code up.

    Codes: ``invalid_code`` (unknown, used or expired — one answer for all three),
    ``too_many_attempts`` (5 wrong codes in 15 minutes), ``canceled``, ``conflict``.
    """
    now = now or utcnow()
    recent = db.session.scalar(select(func.count(SlackLinkFailure.id)).where(
        SlackLinkFailure.conference_id == conference.id,
        SlackLinkFailure.slack_user_id == slack_user_id,
        SlackLinkFailure.failed_at > now - LINK_CODE_TTL)) or 0
    if recent >= MAX_LINK_FAILURES:
        raise ConvenorError("too_many_attempts", "too many wrong codes — try again in 15 minutes")
    normal = re.sub(r"[^A-Z0-9]", "", (code or "").upper())
    found = None
    if len(normal) == 8:
        found = db.session.scalar(select(SlackLinkCode).where(
            SlackLinkCode.digest == _digest(f"{normal[:4]}-{normal[4:]}")))
    if (found is None or found.expires_at <= now
            or found.delegate.conference_id != conference.id):
        db.session.add(SlackLinkFailure(conference_id=conference.id, slack_user_id=slack_user_id,
                                        failed_at=now))
        db.session.commit()
        raise ConvenorError("invalid_code", "that code is not valid — get a new one from your page")
    delegate = found.delegate
    db.session.delete(found)
    db.session.flush()
    return _link(conference, delegate, slack_user_id)


def self_register(conference: Conference, data: dict, *, slack_user_id: str | None,
                  email: str) -> tuple[Delegate, bool]:
    """Register a person who signs up themselves; return ``(delegate, created)``.

    ``email`` is the one Slack vouches for (it overrides ``data``). An existing registration
    with that email is linked, not duplicated, and simultaneous submissions give one delegate.
    Codes: ``registration_closed``, ``invalid`` (field errors), ``canceled``, ``conflict``.
    """
    if not (conference.published and conference.registration_open):
        raise ConvenorError("registration_closed", "registration is closed — ask the organisers")
    email = (email or "").strip().lower()
    # Serialise sign-ups to this conference, so the capacity holds under concurrent requests.
    _lock_registrations(conference)
    existing = db.session.scalar(select(Delegate).where(Delegate.conference_id == conference.id,
                                                        Delegate.email == email))
    if existing is not None:
        return (_link(conference, existing, slack_user_id) if slack_user_id else existing), False
    full = (conference.registration_capacity is not None
            and active_count(conference) >= conference.registration_capacity)
    values, errors = delegate_values({**data, "email": email,
                                      "status": "waitlisted" if full else "active",
                                      "slack_user_id": slack_user_id or ""})
    if errors:
        raise ConvenorError("invalid", "please check: " + "; ".join(
            f"{e['field']} {e['message']}" for e in errors), errors)
    delegate = Delegate(conference=conference, **values)
    db.session.add(delegate)
    try:
        # The welcome email (private link, badge) commits with the registration or not at all.
        notify_links.enqueue_welcome(delegate)
        db.session.commit()
    except IntegrityError:
        # A double click or Slack's retry registered the same person at this instant.
        db.session.rollback()
        winner = db.session.scalar(select(Delegate).where(Delegate.conference_id == conference.id,
                                                          Delegate.email == email))
        if winner is None:
            raise ConvenorError("conflict", "your Slack account is already linked to another "
                                "registration — ask the organisers") from None
        return (_link(conference, winner, slack_user_id) if slack_user_id else winner), False
    signals.delegates_changed.send(conference, count=1)
    return delegate, True


def cancel_registration(delegate: Delegate) -> tuple[Delegate, bool]:
    """Withdraw a delegate's registration at their request; return ``(delegate, cancelled_now)``.

    A place freed goes to the first person on the waitlist in the same transaction
    (``delegate_promoted`` after commit); a waitlisted delegate just leaves the waitlist.
    Idempotent: the status is read again under the conference's write lock, so a repeat (a
    double click, two presses at once, a retry) changes nothing, promotes no one and returns
    ``cancelled_now = False``.
    """
    conference = delegate.conference
    _lock_registrations(conference)
    db.session.refresh(delegate)
    if delegate.status == "cancelled":
        db.session.rollback()
        return delegate, False
    freed = delegate.status == "active"
    delegate.status = "cancelled"
    promoted = _promote_waitlisted(conference) if freed else []
    db.session.commit()
    for person in promoted:
        signals.delegate_promoted.send(conference, delegate=person)
    return delegate, True


def _lock_registrations(conference: Conference) -> None:
    """Take the conference's write lock for the rest of this transaction.

    A no-op UPDATE of the conference row: PostgreSQL locks the row, SQLite takes its database
    write lock. Concurrent sign-ups and cancellations then count and place one at a time.
    """
    db.session.execute(update(Conference).where(Conference.id == conference.id)
                       .values(version=Conference.version))


def active_count(conference: Conference) -> int:
    """Return how many delegates hold a place (status ``active``)."""
    return db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == conference.id, Delegate.status == "active")) or 0


def waitlist(conference: Conference) -> list[Delegate]:
    """Return the waitlisted delegates in the order they signed up."""
    return list(db.session.scalars(select(Delegate).where(
        Delegate.conference_id == conference.id, Delegate.status == "waitlisted")
        .order_by(Delegate.id)))


def waitlist_position(delegate: Delegate) -> int | None:
    """Return the delegate's place on the waitlist (1 = next in), or None when not waiting."""
    if delegate.status != "waitlisted":
        return None
    return (db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == delegate.conference_id, Delegate.status == "waitlisted",
        Delegate.id <= delegate.id)) or 0)


def _promote_waitlisted(conference: Conference, *, exclude: int | None = None) -> list[Delegate]:
    """Give free places to the first people on the waitlist (no commit); return them.

    ``exclude`` is a delegate an organiser just moved to the waitlist by hand.
    """
    if conference.registration_capacity is None:
        return []
    db.session.flush()
    free = conference.registration_capacity - active_count(conference)
    waiting = [d for d in waitlist(conference) if d.id != exclude]
    promoted = waiting[:max(free, 0)]
    for person in promoted:
        person.status = "active"
        # Their badge and private link by email, committed with the place itself.
        notify_links.enqueue_welcome(person)
    return promoted


# --------------------------------------------------------------------------- the delegate's day


def _iso(conference: Conference, moment: datetime) -> str:
    return conference.local(moment).isoformat()


def session_entry(session: Session) -> dict:
    """Return a programme session as an agenda entry (plain dict, times with the zone offset)."""
    conference = session.conference
    return {
        "kind": session.kind,
        "session_id": session.id,
        "title": session.title,
        "starts_at": _iso(conference, session.starts_at),
        "ends_at": _iso(conference, session.ends_at),
        "room": session.room.name if session.room else None,
        "speakers": [sp.display_name for sp in session.speakers],
        "status": session.status,
    }


#: Delegates' whole agendas, per (delegate, conference version, data generation).
_AGENDAS = cache.LRU(4096)
#: The programme as agenda entries, per (conference, version, data generation).
_PROGRAMMES = cache.LRU(64)


def delegate_agenda(delegate: Delegate, *, day: date | None = None) -> list[dict]:
    """Return the delegate's day (or whole conference) as plain dicts in start order.

    The programme, with each round-based block replaced by the delegate's own seats from the
    ``events.hooks.AGENDA_ENTRIES`` providers; a block with no published seat for them stays,
    marked ``allocation: "not_published"``. Cancelled sessions are kept (``status``).
    Served from ``events.cache`` while no relevant write has been committed (see there).
    """
    key = (delegate.id, delegate.conference.version, cache.generation())
    entries = _AGENDAS.get(key, lambda: _whole_agenda(delegate))
    if day is not None:
        entries = [e for e in entries if datetime.fromisoformat(e["starts_at"]).date() == day]
    return [dict(e) for e in entries]


def _whole_agenda(delegate: Delegate) -> list[dict]:
    conference = delegate.conference
    seats: list[dict] = []
    for provide in hooks.AGENDA_ENTRIES:
        seats.extend(provide(delegate) or [])
    replaced = {s.get("replaces_session_id") for s in seats}
    key = (conference.id, conference.version, cache.generation())
    entries = [dict(e) for e in _PROGRAMMES.get(key, lambda: _programme_entries(conference))
               if e["session_id"] not in replaced]
    entries.extend(seats)
    return sorted(entries, key=lambda e: (datetime.fromisoformat(e["starts_at"]),
                                          e.get("slot") or e.get("round") or 0, e["title"]))


def _programme_entries(conference: Conference) -> list[dict]:
    entries = []
    for session in programme_sessions(conference):
        entry = session_entry(session)
        if session.kind in ("carousel", "world_cafe"):
            entry["allocation"] = "not_published"
        entries.append(entry)
    return entries


def next_for_delegate(delegate: Delegate, *, now: datetime | None = None,
                      kind: str | None = None) -> dict | None:
    """Return the delegate's entry in progress, else the next one, else None (all over).

    ``kind`` narrows to one kind of entry (``carousel``, ``world_cafe``, ``keynote`` …). The
    entry gains ``in_progress`` and ``starts_in_min`` (negative while in progress).
    """
    now = now or utcnow()
    candidates = [e for e in delegate_agenda(delegate)
                  if e["status"] != "cancelled" and (kind is None or e["kind"] == kind)]
    current = [e for e in candidates if datetime.fromisoformat(e["starts_at"]) <= now
               < datetime.fromisoformat(e["ends_at"])]
    upcoming = [e for e in candidates if datetime.fromisoformat(e["starts_at"]) > now]
    chosen = current[0] if current else (upcoming[0] if upcoming else None)
    if chosen is None:
        return None
    start = datetime.fromisoformat(chosen["starts_at"])
    return {**chosen, "in_progress": bool(current),
            "starts_in_min": int((start - now).total_seconds() // 60)}


_STOP_WORDS = {"when", "what", "where", "is", "the", "a", "an", "s", "at", "time", "does", "do",
               "start", "starts", "on", "of", "for", "and", "with", "by", "in", "which", "who",
               "session", "talk", "i", "my", "me"}


def _fold(text: str) -> str:
    """Return ``text`` lower-cased without accents or punctuation."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^\w\s]", " ", plain.replace("'s", " ").replace("’s", " "))


def _matches(word: str, vocabulary: set[str]) -> bool:
    return word in vocabulary or (len(word) >= 4 and any(v.startswith(word) for v in vocabulary))


def search_programme(conference: Conference, text: str, *, kind: str | None = None,
                     limit: int = 5) -> list[Session]:
    """Find sessions whose title, kind or speakers match ``text`` (case and accents ignored).

    Sessions matching more of the words come first, then by start time.
    """
    words = [w for w in _fold(text).split() if w not in _STOP_WORDS and len(w) > 1]
    if not words:
        return []
    scored = []
    for session in programme_sessions(conference):
        if kind and session.kind != kind:
            continue
        kind_words = session.kind.replace("_", " ")
        if session.kind == "break":
            kind_words += " lunch coffee tea refreshments"
        elif session.kind == "networking":
            kind_words += " drinks reception"
        named = set(_fold(" ".join([session.title, *(sp.name for sp in session.speakers)])).split())
        kinds = set(kind_words.split())
        # A word in the title or a speaker's name counts twice a word that only names the kind.
        score = sum(2 if _matches(w, named) else 1 if _matches(w, kinds) else 0 for w in words)
        if score:
            scored.append((-score, session.starts_at, session.id, session))
    return [s for *_, s in sorted(scored, key=lambda t: t[:3])[:limit]]
