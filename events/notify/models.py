"""The notification outbox: every notice to a person (Slack DM, email) as one row.

Rows are written in the same transaction as the change they describe, so a crash leaves either
the change and its notices or neither; the worker (``events.notify.worker``) sends them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from events.extensions import db
from events.types import UTCDateTime, utcnow

#: Waiting to be sent (or handed to Slack's scheduler).
PENDING = "pending"
#: Claimed by a worker that is sending it now; ``claimed_until`` ends the claim.
SENDING = "sending"
#: Handed to Slack's ``chat.scheduleMessage``; Slack posts it at ``due_at``.
SCHEDULED = "scheduled"
#: A scheduled message that must be taken back from Slack (seat or time changed).
UNSCHEDULE = "unschedule"
SENT = "sent"
CANCELLED = "cancelled"
FAILED = "failed"
STATUSES = (PENDING, SENDING, SCHEDULED, UNSCHEDULE, SENT, CANCELLED, FAILED)


class Notice(db.Model):
    """One message to one person on one channel."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_group", "group"),
        # The worker looks up a person's other pending changes for every change it sends.
        Index("ix_outbox_recipient", "recipient", "channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unique name of the notice (``session:12:seq:3:delegate:42:slack``): a retry, a second
    #: worker or the reconcile pass never enqueue one notice twice.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conferences.id", ondelete="CASCADE"), index=True)
    #: ``slack`` or ``email``.
    channel: Mapped[str] = mapped_column(String(10))
    #: Slack user id or email address.
    recipient: Mapped[str] = mapped_column(String(320))
    delegate_id: Mapped[int | None] = mapped_column(
        ForeignKey("delegates.id", ondelete="CASCADE"), index=True)
    #: ``change`` (merged per recipient), ``seats``, ``reminder``, ``starting``, ``welcome``,
    #: ``lost_link``, ``promoted``.
    kind: Mapped[str] = mapped_column(String(20))
    #: Rows that replace each other (a reminder's versions): ``reminder:<session>:<n>:<delegate>``.
    group: Mapped[str | None] = mapped_column(String(120))
    #: Channel-neutral content: ``subject``, ``text``, ``lines``, ``links``, ``attachments``.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    #: When it should reach the person (a reminder: 5 minutes before the round).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not to be tried before this (backoff, Slack's ``Retry-After``, a change's merge window).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A worker's claim ends here; after a crash the row is claimed again.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Slack's id of the scheduled message (to delete it when the reminder changes).
    scheduled_message_id: Mapped[str | None] = mapped_column(String(64))
    #: Where it went (Slack ``channel``), to look for it after a crash.
    delivered_to: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def as_dict(self) -> dict:
        """Return the row as plain data for the organisers' page and the API."""
        return {
            "id": self.id, "key": self.key, "channel": self.channel, "recipient": self.recipient,
            "delegate_id": self.delegate_id, "kind": self.kind, "status": self.status,
            "due_at": self.due_at.isoformat(), "attempts": self.attempts,
            "error": self.error, "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


class LinkRequest(db.Model):
    """One "email me my link" request, kept an hour or so to rate-limit by address and by IP
    in the database (so the limit holds across processes)."""

    __tablename__ = "link_requests"
    __table_args__ = (
        Index("ix_link_requests_address", "address_digest", "requested_at"),
        Index("ix_link_requests_client", "client", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conferences.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the lower-cased address asked for (the address itself is not kept).
    address_digest: Mapped[str] = mapped_column(String(64))
    #: The client's IP address.
    client: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
