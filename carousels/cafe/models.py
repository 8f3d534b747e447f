"""World Cafe data: rounds, tables and hosts of a world_cafe Session, versioned table plans.

A plan is a full set of seats for every round. Plans are never edited once published: a
hand move on a published plan makes a new draft, and publishing flips the published flag
from the old version to the new one in a single transaction, so readers always see one
complete plan. Old versions are kept as history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carousels.rounds.models import PLAN_STATUSES, PlanMixin, RoundMixin  # noqa: F401
from events.conference.models import Delegate, Session
from events.extensions import db
from events.types import UTCDateTime, utcnow

ABSENCE_REASONS = ("left", "late", "absent")


class CafeRound(RoundMixin, db.Model):
    """One timed round of a World Cafe session; started rounds are never re-planned."""

    __tablename__ = "cafe_rounds"


class CafeTable(db.Model):
    """A table: its question, its host (who stays all session), access and seats."""

    __tablename__ = "cafe_tables"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: Table number on the floor.
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
    def engine_id(self) -> int:
        """Return the allocation engine's id for this table: its row id."""
        return self.id


class CafePlan(PlanMixin, db.Model):
    """One version of a session's table plan (stats: repeat_pairs, same_org_pairs, …)."""

    __tablename__ = "cafe_plans"

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
