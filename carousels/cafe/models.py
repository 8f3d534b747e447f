"""World Cafe data: rounds, tables and hosts of a world_cafe Session, versioned table plans.

A plan is a full set of seats for every round. Plans are never edited once published: a
hand move on a published plan makes a new draft, and publishing flips the published flag
from the old version to the new one in a single transaction, so readers always see one
complete plan. Old versions are kept as history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events.conference.models import Delegate, Session
from events.extensions import db
from events.types import UTCDateTime, utcnow

PLAN_STATUSES = ("draft", "published", "superseded")
ABSENCE_REASONS = ("left", "late", "absent")


def engine_delegate_id(delegate_id: int) -> str:
    """Return the allocation engine's id for a delegate row id ("d123")."""
    return f"d{delegate_id}"


def engine_table_id(number: int) -> str:
    """Return the allocation engine's id for a table number ("T7")."""
    return f"T{number}"


class CafeRound(db.Model):
    """One timed round of a World Cafe session."""

    __tablename__ = "cafe_rounds"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: 1-based position within the session.
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When an organiser pressed "Start round"; started rounds are never re-planned.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()


class CafeTable(db.Model):
    """A table: its question, its host (who stays all session), access and seats."""

    __tablename__ = "cafe_tables"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: Table number on the floor (engine id "T<number>").
    number: Mapped[int] = mapped_column(Integer)
    #: Optional name shown instead of "Table <number>", e.g. "Window table".
    label: Mapped[str] = mapped_column(String(60), default="")
    #: The question or theme discussed at this table.
    question: Mapped[str] = mapped_column(Text, default="")
    #: The host stays at this table in every round and counts toward its seats.
    host_id: Mapped[int | None] = mapped_column(ForeignKey("delegates.id", ondelete="SET NULL"))
    #: Reachable without steps; delegates who need step-free access sit only here.
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Seats, counting the host.
    capacity: Mapped[int] = mapped_column(Integer, default=8)

    session: Mapped[Session] = relationship()
    host: Mapped[Delegate | None] = relationship()

    @property
    def name(self) -> str:
        """Return the name shown to people: the label or "Table <number>"."""
        return self.label or f"Table {self.number}"

    @property
    def engine_id(self) -> str:
        """Return the allocation engine's id for this table."""
        return engine_table_id(self.number)


class CafePlan(db.Model):
    """One version of a session's table plan: a draft, the published one, or history."""

    __tablename__ = "cafe_plans"
    __table_args__ = (
        UniqueConstraint("session_id", "version"),
        # At most one published plan per session, even with two organisers publishing at once.
        Index("uq_cafe_plans_published_session", "session_id", unique=True,
              sqlite_where=text("status = 'published'"),
              postgresql_where=text("status = 'published'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: 1, 2, 3 … per session; never reused.
    version: Mapped[int] = mapped_column(Integer)
    #: "draft", "published" (at most one per session) or "superseded" (published before).
    status: Mapped[str] = mapped_column(String(12), default="draft")
    #: How the plan came about, e.g. "Allocated", "Moved Jane Doe", "Re-planned from round 3".
    note: Mapped[str] = mapped_column(String(300), default="")
    #: The engine's stats (repeat_pairs, same_org_pairs, same_org_lower_bound, …).
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()
    seats: Mapped[list[CafeSeat]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )


class CafeSeat(db.Model):
    """A delegate at a table in one round of one plan version."""

    __tablename__ = "cafe_seats"
    __table_args__ = (UniqueConstraint("plan_id", "round_number", "delegate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("cafe_plans.id", ondelete="CASCADE"),
                                         index=True)
    #: 1-based round number.
    round_number: Mapped[int] = mapped_column(Integer)
    table_id: Mapped[int] = mapped_column(ForeignKey("cafe_tables.id", ondelete="CASCADE"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             index=True)

    plan: Mapped[CafePlan] = relationship(back_populates="seats")
    table: Mapped[CafeTable] = relationship()
    delegate: Mapped[Delegate] = relationship()


class CafeAbsence(db.Model):
    """A delegate who is not there for one round (left early, arrived late)."""

    __tablename__ = "cafe_absences"
    __table_args__ = (UniqueConstraint("session_id", "round_number", "delegate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    round_number: Mapped[int] = mapped_column(Integer)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"))
    #: "left" (left early), "late" (not arrived yet) or "absent".
    reason: Mapped[str] = mapped_column(String(12), default="absent")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    delegate: Mapped[Delegate] = relationship()
