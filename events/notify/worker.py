"""The outbox relay: claim due notices, hand them to their channel's sender, record the result.

``run_once(now=…)`` does one pass (the tests drive it with a fixed clock); ``run_forever`` loops,
waking at once when a commit wrote notices in this process and at least every second otherwise,
and runs the reconcile pass at start and every minute. Several workers may run: a claim is a
conditional update (``FOR UPDATE SKIP LOCKED`` first on PostgreSQL), so no notice is sent by two.

A claim lasts ``LEASE``; a worker killed mid-send leaves the claim to expire and the notice is
claimed again with ``recovering=True``, so the sender can first look whether it already went.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from events import hooks
from events.conference.models import Delegate
from events.extensions import db
from events.notify import services
from events.notify.models import CANCELLED, FAILED, PENDING, SCHEDULED, SENT, UNSCHEDULE, Notice
from events.types import utcnow

log = logging.getLogger(__name__)

#: How long a claim lasts before another worker may take the notice.
LEASE = timedelta(minutes=2)
#: Waits after the 1st, 2nd and 3rd failed attempt; the 4th failure is final (``failed``).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
#: Slack reminders due later than this are handed to Slack's scheduler at once.
HANDOFF = timedelta(minutes=15)
RECONCILE_EVERY = 60.0


@dataclass
class Outcome:
    """What a sender did with a notice (or a merged group of notices)."""

    #: "sent", "scheduled" (Slack will post it), "unscheduled", "cancelled", "retry" (rate
    #: limited: try after ``retry_after`` seconds, not counted as a failure), "error".
    status: str
    detail: str | None = None
    scheduled_message_id: str | None = None
    delivered_to: str | None = None
    retry_after: float | None = None


Sender = Callable[..., Outcome]


#: Fault injection for in-process crash tests: called with the point's name.
crash_hook: Callable[[str], None] | None = None


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: ``CONVENOR_NOTIFY_CRASH_AT=<name>:<n>`` exits the
    process without cleanup at the n-th time ``name`` is reached (like ``kill -9``); the points
    are "claimed" (claims committed), "sent" (handed to Slack/SMTP, not yet marked) and
    "marked"."""
    if crash_hook is not None:
        crash_hook(name)
    spec = os.environ.get("CONVENOR_NOTIFY_CRASH_AT")
    if not spec:
        return
    target, _, count = spec.partition(":")
    if target != name:
        return
    seen = _crash_counts.get(name, 0) + 1
    _crash_counts[name] = seen
    if seen >= int(count or 1):
        os._exit(137)


_crash_counts: dict[str, int] = {}


def lease() -> timedelta:
    """How long a claim lasts (``NOTIFY_LEASE_S``, default ``LEASE``)."""
    seconds = current_app.config.get("NOTIFY_LEASE_S")
    return timedelta(seconds=float(seconds)) if seconds else LEASE


def _ready(now: datetime):
    """The SQL condition of a notice a worker may claim now."""
    free = or_(Notice.claimed_until.is_(None), Notice.claimed_until < now)
    pending_due = and_(
        Notice.status == PENDING, Notice.next_attempt_at <= now,
        or_(Notice.due_at <= now,
            and_(Notice.channel == "slack", Notice.kind == "reminder",
                 Notice.due_at > now + HANDOFF)))
    unschedule = and_(Notice.status == UNSCHEDULE, Notice.next_attempt_at <= now)
    return and_(free, or_(pending_due, unschedule))


def claim(now: datetime, limit: int) -> list[tuple[Notice, bool]]:
    """Claim up to ``limit`` ready notices; return them with whether an earlier claim expired
    (the worker that held it died: the notice may have gone out)."""
    until = now + lease()
    query = select(Notice.id, Notice.claimed_until).where(_ready(now)) \
        .order_by(Notice.due_at, Notice.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = dict(db.session.execute(query).all())
    claimed: dict[int, bool] = {}
    if candidates:
        # One conditional update for the lot: a row another worker claimed (or a service
        # changed) since the select no longer matches ``_ready`` and is not returned.
        taken = db.session.scalars(
            update(Notice).where(Notice.id.in_(candidates), _ready(now))
            .values(claimed_until=until, attempts=Notice.attempts + 1)
            .returning(Notice.id).execution_options(synchronize_session=False)).all()
        claimed = {notice_id: candidates[notice_id] is not None for notice_id in taken}
    db.session.commit()
    _crash_point("claimed")
    if not claimed:
        return []
    rows = db.session.scalars(select(Notice).where(Notice.id.in_(claimed)).order_by(
        Notice.due_at, Notice.id)).all()
    return [(row, claimed[row.id]) for row in rows]


def _merge_partners(notice: Notice, now: datetime) -> list[Notice]:
    """Claim the recipient's other pending change notices, to send all in one message."""
    others = db.session.scalars(
        select(Notice).where(Notice.channel == notice.channel,
                             Notice.recipient == notice.recipient, Notice.kind == "change",
                             Notice.status == PENDING, Notice.id != notice.id,
                             or_(Notice.claimed_until.is_(None), Notice.claimed_until < now))
        .order_by(Notice.id)).all()
    taken = []
    for other in others:
        result = db.session.execute(
            update(Notice).where(Notice.id == other.id, Notice.status == PENDING,
                                 or_(Notice.claimed_until.is_(None),
                                     Notice.claimed_until < now))
            .values(claimed_until=now + lease(), attempts=Notice.attempts + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            taken.append(other)
    if not taken:
        return taken  # nothing to commit (the usual case: one change per person)
    db.session.commit()
    for other in taken:
        db.session.refresh(other)
    return taken


def _apply(notices: list[Notice], outcome: Outcome, now: datetime) -> None:
    for notice in notices:
        notice.claimed_until = None
        if outcome.status == "sent":
            notice.status, notice.sent_at, notice.error = SENT, now, None
            notice.delivered_to = outcome.delivered_to or notice.delivered_to
        elif outcome.status == "scheduled":
            notice.status, notice.error = SCHEDULED, None
            notice.scheduled_message_id = outcome.scheduled_message_id
            notice.delivered_to = outcome.delivered_to or notice.delivered_to
            notice.sent_at = now
        elif outcome.status in ("unscheduled", "cancelled"):
            notice.status = CANCELLED
            notice.error = outcome.detail
        elif outcome.status == "retry":
            notice.attempts = max(0, notice.attempts - 1)
            notice.next_attempt_at = now + timedelta(seconds=outcome.retry_after or 60)
            notice.error = outcome.detail
        else:
            notice.error = (outcome.detail or "failed")[:1000]
            if notice.attempts > len(BACKOFF):
                notice.status = FAILED
            else:
                notice.next_attempt_at = now + BACKOFF[notice.attempts - 1]


def run_once(now: datetime | None = None, *, limit: int = 200) -> dict[str, int]:
    """Send what is due; return counts by outcome. Needs an app context.

    Each notice is marked and committed as soon as its sender returns (the crash-safety
    window is one commit). Those commits do not expire the whole session: with a full batch
    in the identity map that made every commit cost O(batch) and every row a reload; instead
    each group's rows are re-read just before sending, and everything is expired at the end.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        return _pass(now or utcnow(), limit)
    finally:
        session.expire_on_commit = expire_on_commit
        db.session.expire_all()


def _fresh(group: list[Notice]) -> list[Notice]:
    """Re-read ``group``'s rows (a service may have withdrawn one since the claim)."""
    ids = [notice.id for notice in group]
    rows = {row.id: row for row in db.session.scalars(
        select(Notice).where(Notice.id.in_(ids)).execution_options(populate_existing=True))}
    return [rows[i] for i in ids if i in rows]


def _pass(now: datetime, limit: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    paused: dict[str, float] = {}
    groups: list[tuple[list[Notice], bool]] = []
    changes: dict[tuple[str, str], tuple[list[Notice], bool]] = {}
    for notice, recovering in claim(now, limit):
        if notice.kind == "change" and notice.status == PENDING:
            # Every change for one person goes out as one message.
            key = (notice.channel, notice.recipient)
            if key in changes:
                changes[key][0].append(notice)
                if recovering:
                    changes[key] = (changes[key][0], True)
                continue
            changes[key] = ([notice], recovering)
            groups.append(changes[key])
        else:
            groups.append(([notice], recovering))
    for group, recovering in groups:
        key = (group[0].channel, group[0].recipient)
        if group[0].kind == "change" and key in changes:
            group, recovering = changes[key]
            group = _fresh(group)
            group += _merge_partners(group[0], now) if group else []
        else:
            group = _fresh(group)
        if not group:
            continue
        channel = group[0].channel
        if channel in paused:
            _apply(group, Outcome("retry", "waiting for the rate limit",
                                  retry_after=paused[channel]), now)
            db.session.commit()
            continue
        outcome = _deliver(group, now, recovering)
        _crash_point("sent")
        _apply(group, outcome, now)
        db.session.commit()
        _crash_point("marked")
        counts[outcome.status] = counts.get(outcome.status, 0) + len(group)
        if outcome.status == "retry":
            paused[channel] = outcome.retry_after or 60
    return counts


def _deliver(group: list[Notice], now: datetime, recovering: bool) -> Outcome:
    notice = group[0]
    if notice.status == PENDING and notice.delegate_id is not None:
        status = db.session.scalar(select(Delegate.status).where(Delegate.id == notice.delegate_id))
        if status != "active":
            return Outcome("cancelled", "the delegate's registration is not active")
    sender = hooks.NOTICE_SENDERS.get(notice.channel)
    if sender is None:
        return Outcome("retry", f"no sender for {notice.channel} in this process", retry_after=300)
    try:
        return sender(group, now=now, recovering=recovering)
    except Exception as exc:  # a sender's bug must not stop the queue
        log.exception("sending notice %s failed", notice.key)
        db.session.rollback()
        return Outcome("error", f"{type(exc).__name__}: {exc}")


def reconcile(now: datetime | None = None) -> int:
    """Rebuild from committed state the notices that should exist; enqueue what is missing."""
    now = now or utcnow()
    added = 0
    for reconciler in hooks.NOTICE_RECONCILERS:
        try:
            added += reconciler(now) or 0
            db.session.commit()
        except Exception:
            log.exception("reconcile step %s failed", getattr(reconciler, "__name__", reconciler))
            db.session.rollback()
    return added


def run_forever(app, *, stop: threading.Event | None = None, interval: float = 1.0) -> None:
    """Relay until ``stop`` is set: reconcile at start and every minute, send what is due."""
    stop = stop or threading.Event()
    last_reconcile = 0.0
    while not stop.is_set():
        with app.app_context():
            try:
                if time.monotonic() - last_reconcile >= RECONCILE_EVERY:
                    reconcile()
                    last_reconcile = time.monotonic()
                counts = run_once()
            except Exception:  # the database went away, say: try again shortly
                log.exception("notification worker pass failed")
                db.session.rollback()
                counts = {}
            finally:
                db.session.remove()
        if counts:
            continue  # more may be waiting
        services.wake.wait(interval)
        services.wake.clear()


def start_in_process(app) -> threading.Thread:
    """Run the relay in a daemon thread of this process (``python app.py``, the embedded default)."""
    thread = threading.Thread(target=run_forever, args=(app,), name="notify-worker", daemon=True)
    thread.start()
    return thread
