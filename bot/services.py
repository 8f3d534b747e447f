"""The bot's own database work: who a Slack user is to Convenor, their settings, and receipts.

The Slack adapter (``bot/slack.py``) parses, calls these or the feature services, and renders;
it holds no query of its own. Like every service here, writers own their transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.models import SlackReceipt, SlackUser
from events import cache
from events.conference import services
from events.conference.models import Conference, Delegate, Organiser
from events.errors import ConvenorError
from events.extensions import db
from events.notify import services as notify_services
from events.types import utcnow

#: Receipts older than this are pruned; Slack retries within minutes.
RECEIPT_TTL = timedelta(hours=1)
#: How often (per process) old receipts are pruned, in the same commit as a new one.
PRUNE_EVERY = timedelta(minutes=1)
#: Longest receipt key stored (``event:…`` / ``trigger:…``).
KEY_CHARS = 128
_last_prune = [datetime.min.replace(tzinfo=UTC)]


# --------------------------------------------------------------------------- the conference


def served_conference(slug: str | None) -> Conference | None:
    """Return the conference this workspace serves: ``slug``, else the only published one.

    None when the slug is unknown, or without a slug when no or several conferences are published.
    """
    if slug:
        try:
            return services.get_conference(slug)
        except ConvenorError:
            return None
    published = services.published_conferences()
    return published[0] if len(published) == 1 else None


@dataclass(frozen=True)
class Who:
    """Who a Slack user is: the served conference, their delegate (any status) in it, and the
    organiser account they are linked to (``require_manager`` not yet checked)."""

    conference: Conference | None
    delegate: Delegate | None = None
    organiser: Organiser | None = None


#: The served conference's id, per (slug, data generation): see events.cache.
_SERVED = cache.LRU(8)


def _served_id(slug: str | None) -> int | None:
    conference = served_conference(slug)
    return conference.id if conference is not None else None


def who_is(slug: str | None, user_id: str) -> Who:
    """Return the served conference (as ``served_conference``) and who ``user_id`` is in it,
    in one query (the conference's id is cached)."""
    conference_id = _SERVED.get((slug, cache.generation()), lambda: _served_id(slug))
    if conference_id is None:
        return Who(None)
    row = db.session.execute(
        select(Conference, Delegate, Organiser)
        .where(Conference.id == conference_id)
        .outerjoin(Delegate, and_(Delegate.conference_id == Conference.id,
                                  Delegate.slack_user_id == user_id))
        .outerjoin(SlackUser, SlackUser.slack_user_id == user_id)
        .outerjoin(Organiser, Organiser.id == SlackUser.organiser_id)
        .limit(1)).first()
    if row is None:  # deleted since it was cached
        return Who(served_conference(slug))
    return Who(row[0], row[1], row[2])


def delegate_by_id(delegate_id: int) -> Delegate | None:
    """Return the delegate with this id, or None (for work queued off the request)."""
    return db.session.get(Delegate, delegate_id)


# --------------------------------------------------------------------------- Slack users


def slack_user(user_id: str) -> SlackUser | None:
    """Return the bot's row for a Slack user, or None if the bot has not met them."""
    return db.session.scalar(select(SlackUser).where(SlackUser.slack_user_id == user_id))


def _save_slack_user(user_id: str, **values: object) -> SlackUser:
    """Set ``values`` on the Slack user's row (creating it) and commit.

    Two requests meeting a new user at the same instant: the loser of the unique constraint
    applies its values to the winner's row.
    """
    row = slack_user(user_id) or SlackUser(slack_user_id=user_id)
    for name, value in values.items():
        setattr(row, name, value)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        row = slack_user(user_id)
        if row is None:  # pragma: no cover - the winner's row exists once its insert failed ours
            raise
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
    return row


def linked_organiser(user_id: str) -> Organiser | None:
    """Return the organiser this Slack user was linked to (by email, earlier), or None."""
    row = slack_user(user_id)
    return row.organiser if row else None


def is_linked_organiser(user_id: str) -> bool:
    """Return whether this Slack user is linked to an organiser account (no Slack call)."""
    row = slack_user(user_id)
    return bool(row and row.organiser_id)


def link_organiser(user_id: str, email: str) -> Organiser | None:
    """Link a Slack user to the organiser account with ``email`` (the one Slack vouches for).

    Returns that organiser, or None when no organiser has that email. The caller checks the
    Slack profile (no guests, bots or deleted users) and ``require_manager`` decides each time.
    """
    email = (email or "").strip().lower()
    if not email:
        return None
    organiser = db.session.scalar(select(Organiser).where(Organiser.email == email))
    if organiser is not None:
        _save_slack_user(user_id, organiser_id=organiser.id)
    return organiser


def set_reminders(user_id: str, on: bool) -> SlackUser:
    """Store whether the Slack user wants reminders before each round (the notifier reads it).

    Off also withdraws their reminders already queued or handed to Slack's scheduler (the
    worker deletes those from Slack); on lets the next reconcile pass schedule them again.
    """
    row = _save_slack_user(user_id, reminders=on)
    for delegate_id in db.session.scalars(select(Delegate.id).where(
            Delegate.slack_user_id == user_id)).all():
        notify_services.set_reminders(delegate_id, on)
    db.session.commit()
    return row


def dm_channel_id(user_id: str) -> str | None:
    """Return the user's DM conversation id if the bot has opened it before."""
    row = slack_user(user_id)
    return row.dm_channel_id if row else None


def remember_dm_channel(user_id: str, channel_id: str) -> None:
    """Keep the user's DM conversation id (uploads and scheduled messages need it)."""
    _save_slack_user(user_id, dm_channel_id=channel_id)


# --------------------------------------------------------------------------- receipts (dedupe)


def record_receipt(key: str, *, now: datetime | None = None) -> bool:
    """Record the first receipt of an event or interaction; False when ``key`` was seen before.

    Receipts older than ``RECEIPT_TTL`` go at most once per ``PRUNE_EVERY`` per process, in the
    same commit as the new one.
    """
    now = now or utcnow()
    key = key[:KEY_CHARS]
    if now - _last_prune[0] > PRUNE_EVERY:
        _last_prune[0] = now
        db.session.execute(delete(SlackReceipt).where(SlackReceipt.received_at < now - RECEIPT_TTL))
    dialect = db.session.get_bind().dialect.name
    if dialect in _UPSERTS:
        # One Core statement on every command: no ORM unit of work, no exception for a repeat.
        table = SlackReceipt.__table__
        statement = (_UPSERTS[dialect](table).values(key=key, received_at=now)
                     .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id))
        # RETURNING gives the new row's id, or nothing for a repeat (rowcount is not reliable
        # across drivers for this statement).
        inserted = db.session.execute(statement).first() is not None
        db.session.commit()
        return inserted
    db.session.add(SlackReceipt(key=key, received_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


#: ``INSERT … ON CONFLICT DO NOTHING`` per database; others take the ORM path.
_UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def forget_receipt(key: str | None) -> None:
    """Drop what a failed listener left in the session and its receipt, so Slack's retry redoes it."""
    db.session.rollback()
    if key:
        db.session.execute(delete(SlackReceipt).where(SlackReceipt.key == key[:KEY_CHARS]))
        db.session.commit()


# --------------------------------------------------------------------------- the session


def discard_changes() -> None:
    """Roll back what a refused service call left in the session (its error is the answer)."""
    db.session.rollback()


def end_session() -> None:
    """Release the thread's database session (after a lazy listener, off the request)."""
    db.session.remove()
