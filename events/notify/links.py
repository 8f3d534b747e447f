"""Delegates' private links by email: the welcome email (the organisers' *Send links*, and on
self-registration), "email me my link" with its rate limits, and how a delegate wants to hear
about changes.

Like every notice, these only write outbox rows (in the caller's transaction, or their own);
``events.notify.mail`` renders and sends them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select

from events.conference.models import Conference, Delegate
from events.errors import ConvenorError
from events.extensions import db
from events.notify import services
from events.notify.models import CANCELLED, FAILED, PENDING, SENT, LinkRequest, Notice
from events.types import utcnow

#: "Email me my link" requests allowed per address (per conference) and per client IP.
LOST_LINK_PER_ADDRESS = 3
LOST_LINK_PER_CLIENT = 10
LOST_LINK_WINDOW = timedelta(hours=1)
#: What a delegate may choose for change notices ("slack" only when they are linked).
NOTIFY_CHOICES = ("auto", "slack", "email", "both")
BATCH_RE = re.compile(r"^[A-Za-z0-9_-]{6,32}$")
_FINISHED = (SENT, CANCELLED, FAILED)


# --------------------------------------------------------------------------- welcome email


def _finished_welcomes(conference_id: int, delegate_id: int | None = None) -> dict[int, int]:
    """How many welcome emails each delegate has had go out (or bounce), by delegate id."""
    query = select(Notice.delegate_id, func.count(Notice.id)).where(
        Notice.conference_id == conference_id, Notice.kind == "welcome",
        Notice.status.in_(_FINISHED)).group_by(Notice.delegate_id)
    if delegate_id is not None:
        query = query.where(Notice.delegate_id == delegate_id)
    return dict(db.session.execute(query).all())


def _welcome_row(delegate: Delegate, group: str | None, finished: int) -> dict:
    """The welcome notice, keyed ``welcome:<delegate>:<n>`` with n = ``finished`` + 1.

    While one is waiting the key is the same, so a double click queues one email; once it
    went (or bounced) the next *Send links* makes a new one.
    """
    name = delegate.conference.name
    return {
        "key": f"welcome:{delegate.id}:{finished + 1}", "conference_id": delegate.conference_id,
        "channel": "email", "recipient": delegate.email, "delegate_id": delegate.id,
        "kind": "welcome", "group": group,
        "payload": {"subject": f"Your personal link for {name}",
                    "text": f"Your private page, badge and calendar for {name}.", "lines": []},
    }


def enqueue_welcome(delegate: Delegate) -> int:
    """Queue the welcome email for a delegate who just registered (in the caller's transaction).

    Nothing when the conference never emails (``notify_email`` "never"), the delegate has no
    place yet or no address.
    """
    if (delegate.status != "active" or not delegate.email
            or delegate.conference.notify_email == "never"):
        return 0
    db.session.flush()
    finished = _finished_welcomes(delegate.conference_id, delegate.id).get(delegate.id, 0)
    return services.enqueue([_welcome_row(delegate, None, finished)])


def send_links(conference: Conference, *, scope: str, batch: str | None = None) -> dict:
    """Queue one welcome email per chosen active delegate; return the batch's progress.

    ``scope``: "all", "not_sent" (no link sent yet) or an organisation's name. ``batch`` names
    the send (the form's nonce): sending the same batch again returns it unchanged. Codes:
    ``invalid`` (unknown scope or batch name).
    """
    batch = batch or secrets.token_urlsafe(9)
    if not BATCH_RE.match(batch):
        raise ConvenorError("invalid", "that send is not valid; reload the page",
                            [{"field": "batch", "message": "is not valid"}])
    group = f"links:{batch}"
    if db.session.scalar(select(Notice.id).where(Notice.group == group).limit(1)):
        return links_progress(conference, batch)
    query = select(Delegate).where(Delegate.conference_id == conference.id,
                                   Delegate.status == "active", Delegate.email != "")
    if scope == "not_sent":
        query = query.where(Delegate.links_sent_at.is_(None))
    elif scope != "all":
        known = db.session.scalar(select(func.count(Delegate.id)).where(
            Delegate.conference_id == conference.id, Delegate.organisation == scope))
        if not scope or not known:
            raise ConvenorError("invalid", "choose everyone, those not sent yet or an organisation",
                                [{"field": "scope", "message": "is not a choice"}])
        query = query.where(Delegate.organisation == scope)
    people = list(db.session.scalars(query.order_by(Delegate.id)))
    waiting = set(db.session.scalars(select(Notice.delegate_id).where(
        Notice.conference_id == conference.id, Notice.kind == "welcome",
        Notice.status == PENDING)))
    finished = _finished_welcomes(conference.id)
    rows = [_welcome_row(d, group, finished.get(d.id, 0)) for d in people if d.id not in waiting]
    if not rows:
        return {"batch": batch, "total": 0, "sent": 0, "failed": 0, "waiting": 0, "done": True,
                "already_queued": len(people)}
    services.enqueue(rows)
    db.session.commit()
    services.wake.set()
    progress = links_progress(conference, batch)
    progress["already_queued"] = len(people) - len(rows)
    return progress


def links_progress(conference: Conference, batch: str) -> dict:
    """Return how far a *Send links* batch is: ``total``, ``sent``, ``failed``, ``waiting``.

    Codes: ``not_found`` (no such batch in this conference).
    """
    counts = dict(db.session.execute(
        select(Notice.status, func.count(Notice.id))
        .where(Notice.conference_id == conference.id, Notice.group == f"links:{batch}")
        .group_by(Notice.status)).all())
    total = sum(counts.values())
    if not total:
        raise ConvenorError("not_found", "no such send")
    sent = counts.get(SENT, 0)
    failed = counts.get(FAILED, 0) + counts.get(CANCELLED, 0)
    return {"batch": batch, "total": total, "sent": sent, "failed": failed,
            "waiting": total - sent - failed, "done": sent + failed == total}


def link_status(delegates: list[Delegate]) -> dict[int, dict]:
    """Return, per delegate id, the last welcome email's state and the last email that bounced.

    ``{"welcome": {"status", "error", "sent_at"} | None, "bounce": {"kind", "error", "at"} | None}``
    """
    ids = [d.id for d in delegates]
    out: dict[int, dict] = {i: {"welcome": None, "bounce": None} for i in ids}
    if not ids:
        return out
    rows = db.session.scalars(
        select(Notice).where(Notice.delegate_id.in_(ids), Notice.channel == "email")
        .order_by(Notice.id))
    for notice in rows:
        entry = out[notice.delegate_id]
        if notice.kind == "welcome":
            entry["welcome"] = {"status": notice.status, "error": notice.error,
                                "sent_at": notice.sent_at}
        if notice.error and (notice.status == FAILED or notice.error.startswith(
                ("bounced", "refused"))):
            entry["bounce"] = {"kind": notice.kind, "error": notice.error,
                               "at": notice.sent_at or notice.created_at, "status": notice.status}
        elif notice.status == SENT:
            entry["bounce"] = None  # a later email went through
    return out


# --------------------------------------------------------------------------- lost link


def _address_digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def request_link(conference: Conference, address: str, *, client: str,
                 now: datetime | None = None) -> str:
    """Email the private link to ``address`` if a delegate registered it; commit.

    Returns "queued", "unknown" or "limited" for logs and tests only: an adapter must give the
    same answer for all three, so nobody learns who is registered. At most
    ``LOST_LINK_PER_ADDRESS`` requests per address and ``LOST_LINK_PER_CLIENT`` per IP an hour
    go through. The link only ever goes to the address an active delegate registered (the
    worker sends nothing to people without a place).
    Codes: ``invalid`` (not an email address).
    """
    now = now or utcnow()
    raw = (address or "").strip()
    if not raw or len(raw) > 254 or any(c in raw for c in "\r\n\x00"):
        raise ConvenorError("invalid", "enter your email address",
                            [{"field": "email", "message": "is not a valid email address"}])
    try:
        normal = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ConvenorError("invalid", "enter your email address",
                            [{"field": "email", "message": "is not a valid email address"}]) from None
    digest = _address_digest(normal)
    client = (client or "unknown")[:64]
    since = now - LOST_LINK_WINDOW
    db.session.execute(delete(LinkRequest).where(LinkRequest.requested_at < now - timedelta(days=1)))
    by_address = db.session.scalar(select(func.count(LinkRequest.id)).where(
        LinkRequest.conference_id == conference.id, LinkRequest.address_digest == digest,
        LinkRequest.requested_at > since)) or 0
    by_client = db.session.scalar(select(func.count(LinkRequest.id)).where(
        LinkRequest.client == client, LinkRequest.requested_at > since)) or 0
    hit = LinkRequest(conference_id=conference.id, address_digest=digest, client=client,
                      requested_at=now)
    db.session.add(hit)
    db.session.flush()
    if by_address >= LOST_LINK_PER_ADDRESS or by_client >= LOST_LINK_PER_CLIENT:
        db.session.commit()
        return "limited"
    delegate = db.session.scalar(select(Delegate).where(
        Delegate.conference_id == conference.id, Delegate.email == normal,
        Delegate.status == "active"))
    if delegate is None:
        db.session.commit()
        return "unknown"
    services.enqueue([{
        "key": f"lost_link:{delegate.id}:{hit.id}", "conference_id": conference.id,
        "channel": "email", "recipient": delegate.email, "delegate_id": delegate.id,
        "kind": "lost_link",
        "payload": {"subject": f"Your link for {conference.name}",
                    "text": "Here is your private link.", "lines": []},
    }])
    db.session.commit()
    return "queued"


# --------------------------------------------------------------------------- delegate's choice


def notify_choices(delegate: Delegate) -> list[str]:
    """The choices a delegate may make: Slack ones only when their Slack account is linked."""
    if delegate.slack_user_id:
        return list(NOTIFY_CHOICES)
    return ["auto", "email"]


def set_notify_by(delegate: Delegate, choice: str) -> Delegate:
    """Save how the delegate wants to hear about changes; commit. Codes: ``invalid``."""
    if choice not in notify_choices(delegate):
        raise ConvenorError("invalid", "choose one of the offered ways",
                            [{"field": "notify_by", "message": "is not a choice"}])
    delegate.notify_by = choice
    db.session.commit()
    return delegate
