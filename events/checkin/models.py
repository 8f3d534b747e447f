"""Check-in data: badge secrets, check-in lists, check-ins, idempotency keys and the scan log.

The model follows pretix: a badge is valid once on every check-in list. The door list always
exists; organisers may add one per day, per session, per carousel slot or per cafe round.
"Exactly once" is the database's job: a partial unique index allows one entry per delegate per
list, so two devices scanning the same badge at the same instant cannot both succeed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events.conference.models import Delegate, Organiser, Session
from events.extensions import db
from events.types import UTCDateTime, utcnow

LIST_KINDS = ("door", "day", "session", "slot", "round")
SCAN_TYPES = ("entry", "exit")
#: Every outcome a scan can have; the scan log keeps them all.
RESULTS = ("ok", "already_checked_in", "not_checked_in", "invalid", "revoked", "canceled",
           "unknown_list", "bad_request", "forbidden", "unauthorised", "nonce_reused")


class BadgeSecret(db.Model):
    """The opaque value a badge's QR code carries (192 random bits, no personal data).

    Re-issuing revokes the old secret and adds a new one; revoked rows are kept so that a scan
    of an old badge says "revoked" rather than "invalid".
    """

    __tablename__ = "badge_secrets"
    __table_args__ = (
        Index("uq_badge_secrets_active_delegate", "delegate_id", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"),
                                               index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             index=True)
    secret: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    delegate: Mapped[Delegate] = relationship()


class CheckinList(db.Model):
    """A list a badge is valid once on: the door, a day, a session, a carousel slot, a cafe round."""

    __tablename__ = "checkin_lists"
    __table_args__ = (UniqueConstraint("conference_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"),
                                               index=True)
    #: Short key used by scanners and the API, e.g. "door", "day-2027-03-11", "session-12-slot-2".
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="door")
    day: Mapped[date | None] = mapped_column(Date)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    #: Carousel slot or cafe round number (1-based) for kind "slot" / "round".
    number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[Session | None] = relationship()


class Checkin(db.Model):
    """One successful scan: an entry (once per delegate per list) or an exit."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("uq_checkins_entry_once", "list_id", "delegate_id", unique=True,
              sqlite_where=text("type = 'entry'"), postgresql_where=text("type = 'entry'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("checkin_lists.id", ondelete="CASCADE"),
                                         index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             index=True)
    type: Mapped[str] = mapped_column(String(5), default="entry")
    #: When the badge was scanned (the device's time for offline scans).
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: When the server stored it.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    device: Mapped[str] = mapped_column(String(60), default="")
    #: "scan" (a badge secret) or "manual" (picked from a search).
    method: Mapped[str] = mapped_column(String(10), default="scan")
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id", ondelete="SET NULL"))

    checkin_list: Mapped[CheckinList] = relationship()
    delegate: Mapped[Delegate] = relationship()
    organiser: Mapped[Organiser | None] = relationship()


class CheckinNonce(db.Model):
    """A client's idempotency key and the answer it got, replayed on a retry.

    ``nonce`` holds the key scoped to the caller and device (``services.nonce_key``), not the
    client's raw nonce; ``response`` keeps the request's fingerprint next to the answer.
    """

    __tablename__ = "checkin_nonces"
    __table_args__ = (UniqueConstraint("conference_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(100))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScanLog(db.Model):
    """Every scan attempt, successful or not (kept for audits and the arrivals page)."""

    __tablename__ = "scan_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int | None] = mapped_column(
        ForeignKey("conferences.id", ondelete="CASCADE"), index=True)
    list_name: Mapped[str] = mapped_column(String(64), default="")
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("delegates.id", ondelete="SET NULL"))
    #: The first characters of what was scanned (enough to trace, not enough to reuse).
    secret_hint: Mapped[str] = mapped_column(String(12), default="")
    type: Mapped[str] = mapped_column(String(5), default="entry")
    result: Mapped[str] = mapped_column(String(24))
    device: Mapped[str] = mapped_column(String(60), default="")
    nonce: Mapped[str] = mapped_column(String(100), default="")
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id", ondelete="SET NULL"))

    delegate: Mapped[Delegate | None] = relationship()


class BadgeJob(db.Model):
    """A badge PDF being built in the background, with its progress."""

    __tablename__ = "badge_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    layout: Mapped[str] = mapped_column(String(8), default="a6")
    #: The delegate ids to print, in order.
    delegate_ids: Mapped[list] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    #: "queued", "running", "done" or "failed".
    status: Mapped[str] = mapped_column(String(10), default="queued")
    error: Mapped[str] = mapped_column(String(300), default="")
    pdf: Mapped[bytes | None] = mapped_column(db.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
