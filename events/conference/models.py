"""The conference data model: programme, people and access.

Times are stored in UTC (``UTCDateTime``) and shown in the conference's IANA time zone.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events.conference.programme import KINDS
from events.extensions import db
from events.types import UTCDateTime, utcnow

SESSION_KINDS = KINDS
SESSION_STATUSES = ("scheduled", "cancelled")
ORGANISER_ROLES = ("organiser", "door_staff")
#: PostgreSQL's exclusion constraint: no two live sessions in one room at overlapping times.
ROOM_BOOKING_CONSTRAINT = "ex_sessions_room_time"


def new_token() -> str:
    """Return a fresh unguessable URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


conference_organisers = Table(
    "conference_organisers",
    db.metadata,
    Column("conference_id", ForeignKey("conferences.id", ondelete="CASCADE"), primary_key=True),
    Column("organiser_id", ForeignKey("organisers.id", ondelete="CASCADE"), primary_key=True),
)

session_speakers = Table(
    "session_speakers",
    db.metadata,
    Column("session_id", ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("speaker_id", ForeignKey("speakers.id", ondelete="CASCADE"), primary_key=True),
)


class Conference(db.Model):
    """A conference: the unit organisers manage and delegates attend."""

    __tablename__ = "conferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL name, unique across the installation.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tagline: Mapped[str] = mapped_column(String(300), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: IANA time zone in which times are shown and entered.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    venue: Mapped[str] = mapped_column(String(300), default="")
    #: A paragraph for the public home page.
    about: Mapped[str] = mapped_column(Text, default="")
    #: Partners, one per line; a line "Sponsor: Name" marks a sponsor.
    partners: Mapped[str] = mapped_column(Text, default="")
    #: Unpublished conferences are visible to their organisers only.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped on every programme change; live clients use it to catch up.
    version: Mapped[int] = mapped_column(Integer, default=0)
    #: People may register themselves (Slack ``/convenor signup``) while this is on.
    registration_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Registered (active) delegates at most; self-registrations beyond it join the waitlist.
    registration_capacity: Mapped[int | None] = mapped_column(Integer)
    #: Who is told by email: "unlinked" (delegates not on Slack), "always" (everyone, Slack
    #: too) or "never".
    notify_email: Mapped[str] = mapped_column(String(10), default="unlinked",
                                              server_default="unlinked")
    #: Reminders five minutes before each round by email too (Slack and the page always).
    email_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Where delegates write back; printed on every email.
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rooms: Mapped[list[Room]] = relationship(
        back_populates="conference", cascade="all, delete-orphan", order_by="Room.name"
    )
    speakers: Mapped[list[Speaker]] = relationship(
        back_populates="conference", cascade="all, delete-orphan", order_by="Speaker.name"
    )
    sessions: Mapped[list[Session]] = relationship(
        back_populates="conference", cascade="all, delete-orphan", order_by="Session.starts_at"
    )
    delegates: Mapped[list[Delegate]] = relationship(
        back_populates="conference", cascade="all, delete-orphan", lazy="dynamic"
    )
    organisers: Mapped[list[Organiser]] = relationship(
        secondary=conference_organisers, back_populates="conferences"
    )

    @property
    def tz(self) -> ZoneInfo:
        """Return the conference's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """Return ``moment`` in the conference's time zone."""
        return moment.astimezone(self.tz)


class Room(db.Model):
    """A room at the venue."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("conference_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    #: Seats; a session's capacity may never exceed it.
    capacity: Mapped[int] = mapped_column(Integer)
    #: Reachable without steps (lift or level access).
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Fitted with an induction (hearing) loop.
    hearing_loop: Mapped[bool] = mapped_column(Boolean, default=False)

    conference: Mapped[Conference] = relationship(back_populates="rooms")


class Speaker(db.Model):
    """A keynote speaker, workshop leader or panellist."""

    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: Post-nominals shown after the name, such as "CBE" or "PhD".
    honours: Mapped[str] = mapped_column(String(100), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")

    conference: Mapped[Conference] = relationship(back_populates="speakers")
    sessions: Mapped[list[Session]] = relationship(
        secondary=session_speakers, back_populates="speakers"
    )

    @property
    def display_name(self) -> str:
        """Return the name with honours, as printed in the programme."""
        return f"{self.name} {self.honours}".strip()


class Session(db.Model):
    """Anything in the programme with a time (and usually a room)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    #: One of SESSION_KINDS.
    kind: Mapped[str] = mapped_column(String(20), default="other")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: None for sessions spread over several rooms (a carousel) or without a room.
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Seats offered; never above the room's capacity. None means the room's capacity.
    capacity: Mapped[int | None] = mapped_column(Integer)
    #: "scheduled" or "cancelled"; cancelled sessions stay visible.
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    #: Incremented when time, room or status change (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    conference: Mapped[Conference] = relationship(back_populates="sessions")
    room: Mapped[Room | None] = relationship()
    speakers: Mapped[list[Speaker]] = relationship(
        secondary=session_speakers, back_populates="sessions", order_by="Speaker.name"
    )

    __table_args__ = (
        # The database's half of the room rule (the services lock the room and check first):
        # on PostgreSQL no two live sessions share a room at overlapping times, even when two
        # writers race. Times are naive UTC ``timestamp``, hence ``tsrange`` ('[)': touching
        # sessions do not clash). SQLite has no such constraint; its writers are serialised.
        ExcludeConstraint(
            ("room_id", "="),
            (func.tsrange(text("starts_at"), text("ends_at")), "&&"),
            name=ROOM_BOOKING_CONSTRAINT,
            using="gist",
            where=text("status <> 'cancelled'"),
        ).ddl_if(dialect="postgresql"),
    )

    @property
    def cancelled(self) -> bool:
        """Return whether the session is cancelled."""
        return self.status == "cancelled"

    @property
    def effective_capacity(self) -> int | None:
        """Return the seats offered: the session's own limit or else the room's."""
        if self.capacity is not None:
            return self.capacity
        return self.room.capacity if self.room else None


class Delegate(db.Model):
    """A registered attendee."""

    __tablename__ = "delegates"
    __table_args__ = (
        UniqueConstraint("conference_id", "email"),
        # One Slack account is one delegate per conference; NULL (not on Slack) repeats freely.
        Index("uq_delegates_conference_slack", "conference_id", "slack_user_id", unique=True,
              sqlite_where=text("slack_user_id IS NOT NULL"),
              postgresql_where=text("slack_user_id IS NOT NULL")),
        Index("ix_delegates_slack_user_id", "slack_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: Stored lower-case; unique within a conference.
    email: Mapped[str] = mapped_column(String(254))
    organisation: Mapped[str] = mapped_column(String(200), default="", index=True)
    role: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(120), default="")
    #: As the delegate wants them on their badge, e.g. "she/her"; optional.
    pronouns: Mapped[str] = mapped_column(String(40), default="", server_default="")
    #: Needs step-free access: allocations only place them in step-free rooms and tables.
    needs_step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Needs a hearing loop.
    needs_hearing_loop: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Any other access need, as the delegate wrote it.
    access_other: Mapped[str] = mapped_column(String(500), default="")
    dietary: Mapped[str] = mapped_column(String(300), default="")
    #: The delegate's Slack user id (``U…``), set by the organiser, an import or the bot's link.
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    #: Secret for the private link /me/<token>; rotating it kills old links.
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    #: "active", "cancelled" (registration withdrawn) or "waitlisted" (waiting for a place,
    #: in order of ``id``).
    status: Mapped[str] = mapped_column(String(20), default="active")
    #: How they want to hear of changes: "auto" (Slack when linked, else email), "slack",
    #: "email" or "both".
    notify_by: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    #: When the welcome email with their private link last went out (None: never).
    links_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conference: Mapped[Conference] = relationship(back_populates="delegates")

    @property
    def access_needs(self) -> list[str]:
        """Return the access needs as short labels."""
        needs = []
        if self.needs_step_free:
            needs.append("step-free")
        if self.needs_hearing_loop:
            needs.append("hearing loop")
        if self.access_other:
            needs.append(self.access_other)
        return needs


class Organiser(UserMixin, db.Model):
    """A person who logs in to build and run conferences (or, as door staff, only check in)."""

    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Werkzeug scrypt/pbkdf2 hash; the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(256))
    #: "organiser" or "door_staff".
    role: Mapped[str] = mapped_column(String(20), default="organiser")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conferences: Mapped[list[Conference]] = relationship(
        secondary=conference_organisers, back_populates="organisers"
    )
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="organiser", cascade="all, delete-orphan"
    )

    def manages(self, conference: Conference) -> bool:
        """Return whether this organiser may change ``conference``."""
        return any(c.id == conference.id for c in self.conferences)


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisers.id", ondelete="CASCADE"))
    #: Hex SHA-256 of the token; the token is shown once at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, to tell tokens apart in lists.
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organiser: Mapped[Organiser] = relationship(back_populates="tokens")


class SlackLinkCode(db.Model):
    """A one-time code a delegate shows on their page to link a Slack account with another email."""

    __tablename__ = "slack_link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: One active code per delegate: issuing a new one replaces the old.
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             unique=True)
    #: SHA-256 hex digest of the code; the code itself is never stored.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    delegate: Mapped[Delegate] = relationship()


class SlackLinkFailure(db.Model):
    """A wrong link code typed by a Slack user; five in 15 minutes lock that user out for a while."""

    __tablename__ = "slack_link_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The room rule's exclusion constraint mixes ``=`` on an integer with ``&&`` on a range in one
# GiST index, which needs btree_gist: create it before the tables (``db.create_all``, the tests).
event.listen(db.metadata, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql"))
