"""Service verbs for live updates: announcements, the Now & Next data, the change log that
reconnecting pages catch up from, and the figures the live events carry.

``events.live.sockets`` (the only Socket.IO emitter) builds its events from these and records
them here; it never writes to the database itself.
"""

from __future__ import annotations

import json

from sqlalchemy import Integer, delete, func, select

from events import hooks, signals
from events.conference import services
from events.conference.models import Conference, Delegate, Organiser
from events.extensions import db
from events.live.models import Announcement, LiveChange

MAX_ANNOUNCEMENT = 280
#: Change-log rows kept per conference; older ones are pruned and a page that missed more
#: than this is told to reload.
KEEP_CHANGES = 2000


#: The plain dict describing a session in live events (defined with the programme's services).
session_payload = services.session_payload


def create_announcement(conference: Conference, data: dict,
                        organiser: Organiser | None = None) -> Announcement:
    """Save an announcement and send it to every open page; raise ``invalid`` for bad text."""
    fields = services.Fields(data)
    text = fields.text("text", required=True, max_len=MAX_ANNOUNCEMENT)
    fields.raise_if_any("the announcement is not valid")
    announcement = Announcement(conference_id=conference.id, text=text,
                                organiser_id=organiser.id if organiser else None)
    db.session.add(announcement)
    conference.version += 1
    db.session.flush()
    signals.record(signals.announcement_made, conference, announcement=announcement.as_dict())
    db.session.commit()
    signals.announcement_made.send(conference, announcement=announcement.as_dict())
    return announcement


def recent_announcements(conference: Conference, limit: int = 10) -> list[Announcement]:
    """Return the conference's latest announcements, newest first."""
    return list(
        db.session.scalars(
            select(Announcement)
            .where(Announcement.conference_id == conference.id)
            .order_by(Announcement.created_at.desc(), Announcement.id.desc())
            .limit(limit)
        )
    )


def now_data(conference: Conference) -> dict:
    """Return what a Now & Next screen needs: rooms, every session and recent announcements."""
    sessions = services.programme_sessions(conference)
    return {
        "conference": {"slug": conference.slug, "name": conference.name,
                       "timezone": conference.timezone, "version": conference.version},
        "rooms": [{"id": r.id, "name": r.name, "step_free": r.step_free,
                   "hearing_loop": r.hearing_loop}
                  for r in sorted(conference.rooms, key=lambda r: (-r.capacity, r.name))],
        "sessions": [session_payload(s) for s in sessions],
        "announcements": [a.as_dict() for a in recent_announcements(conference, 3)],
    }


def add_demo_announcements(conference: Conference) -> None:
    """Add the demo day's first two announcements (fixed times, so the demo is deterministic)."""
    from events.conference.demo import demo_time

    db.session.add_all([
        Announcement(conference_id=conference.id, created_at=demo_time("08:00"),
                     text="Welcome to the Trust Leaders' Conference! Registration is in the Foyer."),
        Announcement(conference_id=conference.id, created_at=demo_time("08:40"),
                     text="The keynote starts at 09:30 in the Main Hall. Hearing loop: seats A-F."),
    ])
    db.session.commit()


# --------------------------------------------------------------------------- change log


def log_changes(conference: Conference, rows: list[tuple[str, str, dict]]) -> int:
    """Stamp rows with the conference's version and add them to the change log, inside the
    caller's transaction (the change's own: see ``events.signals.record``). Returns the version."""
    db.session.flush()
    # Read from the database: a service may have set the version to an SQL increment.
    version = db.session.scalar(select(Conference.version).where(Conference.id == conference.id))
    for _event, _audience, payload in rows:
        payload["version"] = version
    _log(conference, rows, version)
    return version


def record_changes(conference: Conference, rows: list[tuple[str, str, dict]], *,
                   log: bool = True) -> int:
    """Stamp ``(event, audience, payload)`` rows with the conference version, log them, commit.

    The version is the one the service that made the change already advanced (every change,
    a round start included, is counted by its service). With ``log`` false the rows are only
    stamped (figures that are always current need no catch-up). Returns the version; on a
    database error rolls back and raises.
    """
    try:
        version = conference.version
        for _event, _audience, payload in rows:
            payload["version"] = version
        if log:
            _log(conference, rows, version)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return version


def _log(conference: Conference, rows: list[tuple[str, str, dict]], version: int) -> None:
    """Append rows to the change log and prune all but the newest ``KEEP_CHANGES``."""
    db.session.add_all(
        LiveChange(conference_id=conference.id, version=version, event=event, audience=audience,
                   payload=json.dumps(payload))
        for event, audience, payload in rows
    )
    db.session.flush()
    cutoff = db.session.scalar(
        select(LiveChange.id)
        .where(LiveChange.conference_id == conference.id)
        .order_by(LiveChange.id.desc())
        .offset(KEEP_CHANGES)
        .limit(1)
    )
    if cutoff is not None:
        db.session.execute(
            delete(LiveChange).where(LiveChange.conference_id == conference.id,
                                     LiveChange.id <= cutoff)
        )


def changes_since(conference: Conference, since: int, *, delegate: Delegate | None = None,
                  organiser: bool = False, limit: int = 500) -> dict:
    """Return the logged events after version ``since`` that this reader may see.

    ``reload`` is true when the log cannot cover the gap (pruned, too many changes, or the
    reader's version is from the future, as after a database restore): refetch the whole page.
    """
    current = db.session.scalar(select(Conference.version).where(Conference.id == conference.id))
    audiences = ["public"]
    if organiser:
        audiences.append("organisers")
    if delegate is not None:
        audiences.append(f"delegate:{delegate.id}")
    rows = list(
        db.session.scalars(
            select(LiveChange)
            .where(LiveChange.conference_id == conference.id, LiveChange.version > since,
                   LiveChange.audience.in_(audiences))
            .order_by(LiveChange.id)
            .limit(limit + 1)
        )
    )
    reload = since > current or len(rows) > limit
    # Only a gap after ``since`` can mean pruned rows (some changes, like new rooms, are not logged).
    if not reload and since < current and (not rows or rows[0].version > since + 1):
        retained, oldest = db.session.execute(
            select(func.count(LiveChange.id), func.min(LiveChange.version).cast(Integer))
            .where(LiveChange.conference_id == conference.id)
        ).one()
        reload = retained >= KEEP_CHANGES and oldest is not None and oldest > since + 1
    return {
        "conference": conference.slug,
        "version": current,
        "reload": reload,
        "changes": [] if reload else [
            {"event": r.event, "version": r.version, "data": json.loads(r.payload)}
            for r in rows[:limit]
        ],
    }


# --------------------------------------------------------------------------- arrival figures


def checked_in_count(conference: Conference, checkin, list_name) -> int | None:
    """Return how many delegates have arrived (on ``list_name``), if it can be counted."""
    for counter in hooks.CHECKIN_COUNTERS:
        return counter(conference, list_name)
    model = type(checkin)
    column = getattr(model, "delegate_id", None)
    if column is None or not hasattr(model, "__table__"):
        return None
    query = (
        select(func.count(func.distinct(column)))
        .join(Delegate, Delegate.id == column)
        .where(Delegate.conference_id == conference.id)
    )
    if list_name is not None and hasattr(model, "list_name"):
        query = query.where(model.list_name == list_name)
    try:
        return db.session.scalar(query)
    except Exception:  # pragma: no cover - an unexpected check-in schema
        db.session.rollback()
        return None


def registered_count(conference: Conference) -> int:
    """Return how many delegates are registered (not cancelled)."""
    return db.session.scalar(
        select(func.count(Delegate.id)).where(Delegate.conference_id == conference.id,
                                              Delegate.status == "active")
    ) or 0
