"""Carousel data: rotation slots, workshops, ranked preferences and versioned seat plans.

A carousel block is a programme Session of kind "carousel". Its workshops run in parallel in
its rotation slots; every delegate attends one workshop per slot. A plan is a full set of
seats for every slot. Plans are never edited once published: a hand move on a published
plan makes a new draft, and publishing flips the published flag from the old version to the
new one in a single transaction, so readers always see one complete plan.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carousels.rounds.models import PLAN_STATUSES, PlanMixin, RoundMixin  # noqa: F401
from events.conference.models import Delegate, Room, Session, Speaker
from events.extensions import db
from events.types import UTCDateTime, utcnow

LED_BY = ("expert", "peer")


carousel_leaders = Table(
    "carousel_leaders",
    db.metadata,
    Column("workshop_id", ForeignKey("carousel_workshops.id", ondelete="CASCADE"),
           primary_key=True),
    Column("speaker_id", ForeignKey("speakers.id", ondelete="CASCADE"), primary_key=True),
)

carousel_workshop_slots = Table(
    "carousel_workshop_slots",
    db.metadata,
    Column("workshop_id", ForeignKey("carousel_workshops.id", ondelete="CASCADE"),
           primary_key=True),
    Column("slot_id", ForeignKey("carousel_slots.id", ondelete="CASCADE"), primary_key=True),
)


class CarouselBlock(db.Model):
    """Preference settings of one carousel session: open or not, and until when."""

    __tablename__ = "carousel_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            unique=True)
    #: Delegates may rank workshops while this is on and the deadline has not passed.
    preferences_open: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Last moment to rank or change a ranking (none: until the organiser closes).
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()


class CarouselSlot(RoundMixin, db.Model):
    """One rotation slot of a carousel session."""

    __tablename__ = "carousel_slots"

    #: Name shown to people, e.g. "Carousel 1".
    label: Mapped[str] = mapped_column(String(60), default="")

    @property
    def name(self) -> str:
        """Return the label or "Carousel <number>"."""
        return self.label or f"Carousel {self.number}"

    @property
    def engine_id(self) -> int:
        """Return the rotation engine's id for this slot: its number."""
        return self.number


class CarouselWorkshop(db.Model):
    """A small workshop run in some slots of a carousel, in one room, by its leaders."""

    __tablename__ = "carousel_workshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: "expert" (led by speakers) or "peer" (led by delegates, facilitated).
    led_by: Mapped[str] = mapped_column(String(10), default="expert")
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    #: Seats in each run; never more than the room holds.
    capacity: Mapped[int] = mapped_column(Integer, default=30)

    session: Mapped[Session] = relationship()
    room: Mapped[Room | None] = relationship()
    leaders: Mapped[list[Speaker]] = relationship(secondary=carousel_leaders,
                                                  order_by="Speaker.name")
    slots: Mapped[list[CarouselSlot]] = relationship(secondary=carousel_workshop_slots,
                                                     order_by="CarouselSlot.number")

    @property
    def engine_id(self) -> int:
        """Return the rotation engine's id for this workshop: its row id."""
        return self.id

    @property
    def leaders_line(self) -> str:
        """Return the leaders' display names, e.g. "Pete F. Atherton PhD"."""
        return ", ".join(s.display_name for s in self.leaders)


class CarouselPreference(db.Model):
    """A delegate's rank for one workshop of one carousel (1 = first choice)."""

    __tablename__ = "carousel_preferences"
    __table_args__ = (
        UniqueConstraint("session_id", "delegate_id", "workshop_id",
                         name="uq_carousel_preferences_workshop"),
        UniqueConstraint("session_id", "delegate_id", "rank", name="uq_carousel_preferences_rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             index=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("carousel_workshops.id", ondelete="CASCADE"))
    #: 1-based rank.
    rank: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    delegate: Mapped[Delegate] = relationship()
    workshop: Mapped[CarouselWorkshop] = relationship()


class CarouselPlan(PlanMixin, db.Model):
    """One version of a carousel's seat plan (stats: cost, lower_bound, optimal, …)."""

    __tablename__ = "carousel_plans"

    seats: Mapped[list[CarouselSeat]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )


class CarouselSeat(db.Model):
    """A delegate in one workshop in one slot of one plan version."""

    __tablename__ = "carousel_seats"
    __table_args__ = (UniqueConstraint("plan_id", "slot_id", "delegate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("carousel_plans.id", ondelete="CASCADE"),
                                         index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("carousel_slots.id", ondelete="CASCADE"))
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("carousel_workshops.id", ondelete="CASCADE"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("delegates.id", ondelete="CASCADE"),
                                             index=True)

    plan: Mapped[CarouselPlan] = relationship(back_populates="seats")
    slot: Mapped[CarouselSlot] = relationship()
    workshop: Mapped[CarouselWorkshop] = relationship()
    delegate: Mapped[Delegate] = relationship()
