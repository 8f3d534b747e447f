"""Service verbs for live updates: announcements and the Now & Next data."""

from __future__ import annotations

from sqlalchemy import select

from events import signals
from events.conference import services
from events.conference.models import Conference, Organiser
from events.extensions import db
from events.live.models import Announcement

MAX_ANNOUNCEMENT = 280


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
    from events.live.sockets import session_payload

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
