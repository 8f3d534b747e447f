"""Tables the Slack adapter owns: who a Slack user is to Convenor, and receipts for dedupe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events.conference.models import Organiser
from events.extensions import db
from events.types import UTCDateTime, utcnow


class SlackUser(db.Model):
    """A Slack user the bot has met: their DM channel, settings and (for staff) organiser link."""

    __tablename__ = "slack_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Slack's user id (``U…``/``W…``), unique within the one workspace the bot serves.
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    #: Set after the Slack profile's email matched an organiser's; ``require_manager`` decides.
    organiser_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisers.id", ondelete="SET NULL"), index=True)
    #: The DM conversation (``D…``) once opened; uploads and scheduled messages need it.
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    #: Reminders before each round and slot (honoured by the notifier).
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organiser: Mapped[Organiser | None] = relationship()


class SlackReceipt(db.Model):
    """The first receipt of an event (``event_id``) or interaction (``trigger_id``): retries and
    replays with the same key are answered 200 and not processed again."""

    __tablename__ = "slack_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SlackLookup(db.Model):
    """When the notifier last asked Slack (``users.lookupByEmail``) who has an email address,
    so a delegate who is not on Slack is looked up at most once a day."""

    __tablename__ = "slack_lookups"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: The Slack user found, or None (not on this workspace).
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
