"""Which programme change tells whom: a session moved, was cancelled or deleted.

Called by ``events.conference.services`` before it commits, so the notices commit with the
change; the reconcile pass calls ``reconcile_sessions`` to rebuild any that a crash lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from events import hooks
from events.conference.models import Conference, Delegate, Session
from events.extensions import db
from events.notify import services

#: The programme fields whose change is worth a message (those that raise ``Session.sequence``).
TOLD = ("starts_at", "ends_at", "room_id", "status")
ROUND_KINDS = ("carousel", "world_cafe")


def when(conference: Conference, starts: datetime, ends: datetime | None = None) -> str:
    """Return "10:00–11:00" (with the day, "Tue 4 Mar 10:00", when the conference spans days)."""
    local = conference.local(starts)
    text = local.strftime("%H:%M")
    if conference.starts_on != conference.ends_on:
        text = local.strftime("%a %-d %b ") + text
    if ends is not None:
        text += "–" + conference.local(ends).strftime("%H:%M")
    return text


def concerned(session: Session) -> list[Delegate]:
    """The delegates a change to ``session`` concerns: its seated delegates for a carousel or
    World Cafe block, everyone (active) for anything else."""
    query = select(Delegate).where(Delegate.conference_id == session.conference_id,
                                   Delegate.status == "active")
    if session.kind in ROUND_KINDS:
        seated: set[int] = set()
        for provider in hooks.SEATED_DELEGATES:
            seated |= provider(session) or set()
        if not seated:
            return []
        query = query.where(Delegate.id.in_(seated))
    return list(db.session.scalars(query.order_by(Delegate.id)))


def change_lines(session: Session, before: dict | None) -> list[str]:
    """Describe the change: "Opening keynote is now 10:00–11:00 in Main Hall (was 09:30–10:30,
    Foyer)." or "Opening keynote (09:30, Main Hall) is cancelled."."""
    conference = session.conference
    room = session.room.name if session.room else "no room yet"
    now_text = f"{when(conference, session.starts_at, session.ends_at)} in {room}"
    if session.status == "cancelled":
        return [f"{session.title} ({now_text}) is cancelled."]
    line = f"{session.title} is now {now_text}"
    if before:
        was_room = before.get("room") or "no room"
        was = f"{when(conference, before['starts_at'], before['ends_at'])}, {was_room}"
        if before.get("status") == "cancelled":
            line += " (it is back on: it had been cancelled)"
        elif was != f"{when(conference, session.starts_at, session.ends_at)}, {room}":
            line += f" (was {was})"
    return [line + "."]


def snapshot(session: Session) -> dict:
    """The fields a later message compares against (taken before the change)."""
    return {"starts_at": session.starts_at, "ends_at": session.ends_at,
            "room": session.room.name if session.room else None, "status": session.status}


def session_changed(session: Session, changes: list[str], *, before: dict | None = None,
                    now: datetime | None = None) -> int:
    """Enqueue one message per concerned delegate when a told field changed; return how many.

    Merged with the delegate's other changes of the next ``MERGE_WINDOW`` into one message.
    """
    now = now or services.clock()
    if not any(field in TOLD for field in changes) or session.ends_at <= now:
        return 0
    if not session.conference.published:
        return 0
    lines = change_lines(session, before)
    subject = (f"Cancelled: {session.title}" if session.status == "cancelled"
               else f"Changed: {session.title}")
    payload = {"subject": subject, "text": " ".join(lines), "lines": lines,
               "session_id": session.id}
    return services.tell(
        concerned(session), key=f"session:{session.id}:seq:{session.sequence}", kind="change",
        payload_for=lambda _d: payload, next_attempt_at=now + services.MERGE_WINDOW)


def session_deleted(session: Session, delegates: list[Delegate], *,
                    now: datetime | None = None) -> int:
    """Tell ``delegates`` (taken before the delete) that ``session`` is off the programme."""
    now = now or services.clock()
    if session.ends_at <= now or not session.conference.published:
        return 0
    room = session.room.name if session.room else "no room"
    line = (f"{session.title} ({when(session.conference, session.starts_at, session.ends_at)}, "
            f"{room}) has been removed from the programme.")
    payload = {"subject": f"Removed: {session.title}", "text": line, "lines": [line]}
    return services.tell(
        delegates, key=f"session:{session.id}:deleted", kind="change",
        payload_for=lambda _d: payload, next_attempt_at=now + services.MERGE_WINDOW)


def reconcile_sessions(now: datetime) -> int:
    """Enqueue any missing change message for sessions moved in the last 24 hours."""
    added = 0
    moved = db.session.scalars(
        select(Session).join(Conference, Conference.id == Session.conference_id)
        .where(Conference.published.is_(True), Session.sequence > 0,
               Session.updated_at >= now - timedelta(hours=24), Session.ends_at > now))
    for session in moved:
        added += session_changed(session, list(TOLD), now=now)
    return added
