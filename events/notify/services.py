"""Writing notices to the outbox, inside the transaction of the change they describe.

Services call these *before* they commit (``tell``, ``cancel_group``…): the rows then commit
or roll back with the change. Nothing here sends anything; ``events.notify.worker`` does, through
the channel senders that ``bot`` (Slack) and ``events.notify.mail`` (email) register in
``events.hooks.NOTICE_SENDERS``. Every key is unique, so the signal path, a retry and the
reconcile pass can all ask for the same notice and it is written once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, or_, select, update

from events.conference.models import Conference, Delegate
from events.extensions import db
from events.notify.models import CANCELLED, FAILED, PENDING, SCHEDULED, SENT, UNSCHEDULE, Notice
from events.types import utcnow

#: Changes to one delegate within this window are merged into one message.
MERGE_WINDOW = timedelta(seconds=60)
#: How long before a round its reminder arrives (as the calendar alarm).
REMINDER_BEFORE = timedelta(minutes=5)

def clock() -> datetime:
    """The notifier's "now" (services that take no ``now`` use it; tests replace it)."""
    return utcnow()


#: Set after a commit that wrote notices: an in-process worker wakes up at once.
wake = threading.Event()


def slack_on() -> bool:
    """Whether the Slack bot is configured (then linked delegates are told on Slack)."""
    if not has_app_context():
        return False
    config = current_app.config
    return bool(config.get("SLACK_BOT_TOKEN") and config.get("SLACK_SIGNING_SECRET"))


def channels_for(delegate: Delegate, *, reminder: bool = False) -> list[tuple[str, str]]:
    """Return ``(channel, recipient)`` pairs on which to tell ``delegate``.

    Slack when they are linked (and the bot is on), email when they are not; the conference
    (``notify_email``: "unlinked", "always", "never") and the delegate (``notify_by``: "auto",
    "slack", "email", "both") can change that. Reminders go by email only when the conference
    turned ``email_reminders`` on: five minutes is short notice for an inbox.
    """
    if delegate.status != "active":
        return []
    conference = delegate.conference
    slack = bool(delegate.slack_user_id) and slack_on()
    email = bool(delegate.email)
    choice = delegate.notify_by or "auto"
    policy = conference.notify_email or "unlinked"
    out: list[tuple[str, str]] = []
    want_slack = slack and choice in ("auto", "slack", "both")
    if want_slack:
        out.append(("slack", delegate.slack_user_id or ""))
    want_email = email and policy != "never" and (
        choice in ("email", "both") or policy == "always" or not want_slack)
    if reminder and not conference.email_reminders:
        want_email = False
    if want_email:
        out.append(("email", delegate.email))
    return out


def digest(*parts: object) -> str:
    """Return a short stable digest of ``parts`` (for keys that name a notice's content)."""
    raw = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:12]


def enqueue(rows: Iterable[dict]) -> int:
    """Insert notices whose ``key`` is not in the outbox yet; return how many were added.

    Each row: ``key``, ``conference_id``, ``channel``, ``recipient``, ``kind``, ``payload`` and
    optionally ``delegate_id``, ``due_at``, ``next_attempt_at``, ``group``. Runs in the caller's
    transaction (flushes, never commits).
    """
    now = clock()
    pending: dict[str, dict] = {}
    for row in rows:
        pending.setdefault(row["key"], row)
    if not pending:
        return 0
    db.session.flush()
    keys = list(pending)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for key in db.session.scalars(select(Notice.key).where(Notice.key.in_(chunk))):
            pending.pop(key, None)
    values = []
    for row in pending.values():
        due = row.get("due_at") or now
        values.append({
            "key": row["key"], "conference_id": row["conference_id"], "channel": row["channel"],
            "recipient": row["recipient"], "delegate_id": row.get("delegate_id"),
            "kind": row["kind"], "group": row.get("group"), "payload": row["payload"],
            "due_at": due, "next_attempt_at": row.get("next_attempt_at") or now,
            "status": PENDING, "attempts": 0, "created_at": now,
        })
    if values:
        db.session.execute(insert(Notice), values)
        _wake_after_commit()
    return len(values)


def tell(delegates: Iterable[Delegate], *, key: str, kind: str, payload_for,
         due_at: datetime | None = None, next_attempt_at: datetime | None = None,
         group_for=None, reminder: bool = False) -> int:
    """Enqueue one notice per delegate per channel; return how many were added.

    ``key`` is a prefix completed with ``:delegate:<id>:<channel>``; ``payload_for(delegate)``
    returns the channel-neutral payload (``None``: nothing to say to this one).
    """
    rows = []
    for delegate in delegates:
        channels = channels_for(delegate, reminder=reminder)
        if not channels:
            continue
        payload = payload_for(delegate)
        if payload is None:
            continue
        for channel, recipient in channels:
            rows.append({
                "key": f"{key}:delegate:{delegate.id}:{channel}",
                "conference_id": delegate.conference_id, "channel": channel,
                "recipient": recipient, "delegate_id": delegate.id, "kind": kind,
                "payload": payload, "due_at": due_at, "next_attempt_at": next_attempt_at,
                "group": group_for(delegate) if group_for else None,
            })
    return enqueue(rows)


def withdraw(notices: Iterable[Notice], *, now: datetime | None = None) -> int:
    """Take back notices not yet delivered: pending ones are cancelled, ones handed to
    Slack's scheduler are marked to be deleted there. Return how many changed."""
    now = now or clock()
    changed = 0
    for notice in notices:
        if notice.status == PENDING:
            notice.status = CANCELLED
            notice.error = "replaced or no longer needed"
            changed += 1
        elif notice.status == SCHEDULED and notice.due_at > now:
            notice.status = UNSCHEDULE
            notice.next_attempt_at = now
            changed += 1
    if changed:
        _wake_after_commit()
    return changed


def group_notices(prefix: str) -> list[Notice]:
    """Return the notices whose group starts with ``prefix`` (oldest first)."""
    return list(db.session.scalars(
        select(Notice).where(Notice.group.startswith(prefix, autoescape=True))
        .order_by(Notice.id)))


def delivered(notices: Iterable[Notice], *, now: datetime | None = None) -> bool:
    """Whether one of ``notices`` has reached its person (sent, or posted by Slack's scheduler)."""
    now = now or clock()
    return any(n.status == SENT or (n.status == SCHEDULED and n.due_at <= now) for n in notices)


def cancel_for_delegate(delegate_id: int, *, kinds: tuple[str, ...] = ("reminder",),
                        channel: str | None = None) -> int:
    """Withdraw a delegate's undelivered notices of ``kinds`` (reminders off, registration
    cancelled). Runs in the caller's transaction."""
    query = select(Notice).where(Notice.delegate_id == delegate_id, Notice.kind.in_(kinds),
                                 Notice.status.in_((PENDING, SCHEDULED)))
    if channel:
        query = query.where(Notice.channel == channel)
    return withdraw(db.session.scalars(query))


def set_reminders(delegate_id: int, on: bool) -> int:
    """A delegate turned Slack reminders off or on (``/convenor reminders``); no commit.

    Off: their reminders not yet delivered are withdrawn (Slack's scheduled copies are deleted by
    the worker). On: the ones withdrawn before are forgotten, so the next reconcile pass
    schedules them again. Returns how many rows changed.
    """
    kinds = ("reminder", "starting")
    if not on:
        return cancel_for_delegate(delegate_id, kinds=kinds, channel="slack")
    result = db.session.execute(
        delete(Notice).where(Notice.delegate_id == delegate_id, Notice.kind.in_(kinds),
                             Notice.channel == "slack", Notice.status == CANCELLED))
    return result.rowcount or 0


def _wake_after_commit() -> None:
    """Wake the in-process worker once the current transaction commits."""
    session = db.session()
    if not session.info.get("notify_wake"):
        session.info["notify_wake"] = True


def on_commit(session) -> None:  # noqa: ANN001 - SQLAlchemy's session
    """``after_commit`` listener: a commit that wrote notices wakes the worker."""
    if session.info.pop("notify_wake", False):
        wake.set()


def on_rollback(session) -> None:  # noqa: ANN001
    session.info.pop("notify_wake", None)


# --------------------------------------------------------------------------- organisers' view


def outbox_summary(conference: Conference) -> dict:
    """Return counts by status and the latest failures, for the organisers."""
    from sqlalchemy import func

    counts = dict(db.session.execute(
        select(Notice.status, func.count(Notice.id))
        .where(Notice.conference_id == conference.id).group_by(Notice.status)).all())
    failures = list(db.session.scalars(
        select(Notice).where(Notice.conference_id == conference.id,
                             or_(Notice.status == FAILED, Notice.error.is_not(None)),
                             or_(Notice.status != CANCELLED, Notice.error.startswith("bounced")))
        .order_by(Notice.id.desc()).limit(20)))
    names = dict(db.session.execute(
        select(Delegate.id, Delegate.name).where(
            Delegate.id.in_({f.delegate_id for f in failures if f.delegate_id}))).all()) \
        if failures else {}
    return {"counts": counts,
            "failures": [f.as_dict() | {"delegate_name": names.get(f.delegate_id)}
                         for f in failures]}


def retry_failed(conference: Conference) -> int:
    """Put failed notices back in the queue (the organiser's *Retry* button)."""
    now = utcnow()
    result = db.session.execute(
        update(Notice).where(Notice.conference_id == conference.id, Notice.status == FAILED)
        .values(status=PENDING, attempts=0, next_attempt_at=now, error=None))
    db.session.commit()
    wake.set()
    return result.rowcount or 0
