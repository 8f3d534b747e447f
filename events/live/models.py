"""Models for live updates: organisers' announcements and the per-conference change log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events.conference.models import Conference, Organiser
from events.extensions import db
from events.types import UTCDateTime, utcnow


class Announcement(db.Model):
    """A message an organiser sends to every open page and venue screen."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(
        ForeignKey("conferences.id", ondelete="CASCADE"), index=True
    )
    #: What the screens show, as typed (plain text, at most 280 characters).
    text: Mapped[str] = mapped_column(String(280))
    #: Who sent it; kept empty if the organiser account is deleted.
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("organisers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conference: Mapped[Conference] = relationship()
    organiser: Mapped[Organiser | None] = relationship()

    def as_dict(self) -> dict:
        """Return the plain dict that signals and clients carry."""
        return {"id": self.id, "text": self.text, "created_at": self.created_at.isoformat()}


class LiveChange(db.Model):
    """One event pushed to live clients, kept so a reconnecting page can fetch what it missed."""

    __tablename__ = "live_changes"
    __table_args__ = (Index("ix_live_changes_conference_version", "conference_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id", ondelete="CASCADE"))
    #: The conference's version after the change.
    version: Mapped[int] = mapped_column(Integer)
    #: Socket.IO event name, such as "session_changed".
    event: Mapped[str] = mapped_column(String(40))
    #: Who may fetch it again: "public", "organisers" or "delegate:<id>".
    audience: Mapped[str] = mapped_column(String(40), default="public")
    #: The event's JSON payload, exactly as it was emitted.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
