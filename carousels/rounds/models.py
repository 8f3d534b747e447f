"""Columns shared by both round-based formats: timed rounds and versioned plans.

Each format keeps its own tables (``cafe_rounds``/``carousel_slots``, ``cafe_plans``/
``carousel_plans``); these mixins only say once what a round and a plan version are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from events.conference.models import Session
from events.types import UTCDateTime, utcnow

PLAN_STATUSES = ("draft", "published", "superseded")


class RoundMixin:
    """One timed round (World Cafe round, carousel slot) of a session, numbered from 1."""

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: 1-based position within the session.
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When an organiser pressed "Start"; delegates were told where to go.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (UniqueConstraint("session_id", "number"),)

    @declared_attr
    def session(cls) -> Mapped[Session]:
        return relationship(Session)


class PlanMixin:
    """One version of a session's plan: a draft, the published one, or history.

    Plans are never edited once published: a hand move on a published plan makes a new
    draft, and publishing flips the published flag from the old version to the new one in a
    single transaction, so readers always see one complete plan.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    #: 1, 2, 3 … per session; never reused.
    version: Mapped[int] = mapped_column(Integer)
    #: "draft", "published" (at most one per session) or "superseded" (published before).
    status: Mapped[str] = mapped_column(String(12), default="draft")
    #: How the plan came about, e.g. "Allocated", "Moved Jane Doe".
    note: Mapped[str] = mapped_column(String(300), default="")
    #: The engine's stats.
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        # At most one published plan per session, even with two organisers publishing at once.
        return (UniqueConstraint("session_id", "version"),
                Index(f"uq_{cls.__tablename__}_published_session", "session_id", unique=True,
                      sqlite_where=text("status = 'published'"),
                      postgresql_where=text("status = 'published'")))

    @declared_attr
    def session(cls) -> Mapped[Session]:
        return relationship(Session)
