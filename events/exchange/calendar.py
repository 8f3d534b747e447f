"""iCalendar feeds (RFC 5545 + RFC 7986): the programme, one session, a delegate's own day.

Every event carries a stable ``UID``, ``DTSTAMP`` and ``LAST-MODIFIED`` (when it last
changed, so an unchanged feed is byte-for-byte identical and its ETag holds), a ``SEQUENCE``
that rises when time, room, table or status change, ``DTSTART``/``DTEND`` with the
conference's IANA ``TZID`` and a matching ``VTIMEZONE``, ``SUMMARY``, ``LOCATION``,
``DESCRIPTION`` (with speakers) and ``URL``. Cancelled sessions stay in the feed with
``STATUS:CANCELLED`` so calendar apps strike them out instead of silently keeping them.

Plugging in (carousels, World Cafe)
-----------------------------------
A delegate's agenda is the programme plus whatever the providers in
``events.hooks.AGENDA_PROVIDERS`` return. A provider is any callable
``provider(delegate) -> list[AgendaItem]``; add it in your feature's ``install``::

    from events import hooks
    from events.exchange.calendar import AgendaItem

    def carousel_agenda(delegate):
        return [AgendaItem(uid=f"carousel-{a.id}@convenor", start=..., end=...,
                           summary="AI in the classroom", location="Room B",
                           description="Led by Pete F. Atherton PhD", sequence=a.sequence,
                           last_modified=a.updated_at, alarm=True,
                           replaces_session_id=a.session_id)
                for a in published_assignments(delegate)]

    hooks.add(hooks.AGENDA_PROVIDERS, carousel_agenda)  # in install(app)

The contract:

- ``uid`` must be stable for the same delegate and seat across plan versions (e.g. built
  from the block's session id, the slot number and the delegate id), never a row id of a
  plan that is regenerated, or calendar apps show duplicates.
- ``start``/``end`` are aware datetimes (any zone; they are shown in the conference zone).
- ``sequence`` must rise whenever start, end, location (room or table) or status change;
  ``last_modified`` is an aware datetime of that change (used for DTSTAMP and LAST-MODIFIED;
  keep it stable while nothing changes, so the feed's ETag stays valid).
- ``status`` is ``"CONFIRMED"`` or ``"CANCELLED"``; ``alarm=True`` adds a 5-minute VALARM
  (delegates can switch alarms off with ``?alarms=0`` on the feed URL).
- ``replaces_session_id``: the programme block (a carousel or World Cafe Session) that this
  item details. When any provider item names a block, the generic block entry is left out of
  that delegate's agenda, so they see "Room B — AI in the classroom" instead of "Carousel".
- Providers run inside a request (``url_for`` works) and must be quick and read-only. A
  provider that raises is a bug: it is not swallowed.
- World Cafe providers should use LOCATION like ``"Room A — Table 7 (host: Jane Doe)"``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone

#: How often subscribed calendar apps should re-fetch (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH = timedelta(minutes=15)
#: How long before a round an optional alarm fires.
ALARM_BEFORE = timedelta(minutes=5)
PRODID = "-//Convenor//Convenor conference calendars//EN"


@dataclass(frozen=True)
class AgendaItem:
    """One calendar event, as providers hand it over (plain data, no ORM objects)."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    sequence: int = 0
    #: "CONFIRMED" or "CANCELLED".
    status: str = "CONFIRMED"
    last_modified: datetime | None = None
    #: Add a display alarm ALARM_BEFORE the start.
    alarm: bool = False
    url: str = ""
    #: The programme block (Session id) this item details; the block itself is then omitted.
    replaces_session_id: int | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)


KIND_CATEGORY = {
    "keynote": "Keynote",
    "plenary": "Plenary",
    "panel": "Panel",
    "workshop": "Workshop",
    "carousel": "Carousel",
    "world_cafe": "World Cafe",
    "networking": "Networking",
    "break": "Break",
    "other": "Session",
}


def session_uid(base_url: str, slug: str, session_id: int) -> str:
    """Return a session's stable UUID (also its frab ``guid``): uuid5 of its public URL."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url.rstrip('/')}/c/{slug}/sessions/{session_id}"))


def session_item(session: Any, *, uid: str, url: str) -> AgendaItem:
    """Return the AgendaItem for a programme Session."""
    conference = session.conference
    speakers = ", ".join(sp.display_name for sp in session.speakers)
    lines = []
    if session.cancelled:
        lines.append("CANCELLED: this session will not take place.")
    if speakers:
        lines.append(f"Speakers: {speakers}")
    if session.description:
        lines.append(session.description)
    lines.append(url)
    location = session.room.name if session.room else ""
    if conference.venue:
        location = f"{location}, {conference.venue}" if location else conference.venue
    title = f"Cancelled: {session.title}" if session.cancelled else session.title
    return AgendaItem(
        uid=uid,
        start=session.starts_at,
        end=session.ends_at,
        summary=title,
        location=location,
        description="\n\n".join(lines),
        sequence=session.sequence,
        status="CANCELLED" if session.cancelled else "CONFIRMED",
        last_modified=session.updated_at,
        url=url,
        categories=(KIND_CATEGORY.get(session.kind, "Session"),),
    )


def agenda_items(programme_items: list[tuple[int, AgendaItem]],
                 extra: list[AgendaItem]) -> list[AgendaItem]:
    """Merge the programme with the providers' items for one delegate.

    ``programme_items`` are (session id, item) pairs; blocks that an ``extra`` item details
    are dropped. The result is in start order.
    """
    replaced = {item.replaces_session_id for item in extra if item.replaces_session_id}
    items = [item for sid, item in programme_items if sid not in replaced] + extra
    return sorted(items, key=lambda i: (i.start, i.summary, i.uid))


def _ical_moment(moment: datetime, tz: ZoneInfo) -> datetime:
    """Return ``moment`` in ``tz``, or in UTC when its wall time happens twice.

    During the autumn change a local time such as 01:30 occurs twice. RFC 5545 reads such a
    TZID time as the first occurrence, but parsers disagree (vobject picks the second), so
    any time in the repeated hour is written in UTC instead, which every parser reads alike.
    """
    local = moment.astimezone(tz)
    naive = local.replace(tzinfo=None)
    if naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset():
        return moment.astimezone(UTC)
    return local


def render(
    items: list[AgendaItem],
    *,
    name: str,
    tz_name: str,
    description: str = "",
    url: str = "",
    alarms: bool = True,
    span: tuple[date, date] | None = None,
) -> bytes:
    """Return an iCalendar document for ``items``; the same input always gives the same bytes.

    ``span`` (first day, last day) bounds the VTIMEZONE's transitions; by default it covers
    the items.
    """
    tz = ZoneInfo(tz_name)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    if description:
        cal.add("description", description)
        cal.add("x-wr-caldesc", description)
    cal.add("x-wr-timezone", tz_name)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    if url:
        cal.add("url", url)
        cal.add("source", url, parameters={"VALUE": "URI"})
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    for item in items:
        event = Event()
        event.add("uid", item.uid)
        stamp = (item.last_modified or epoch).astimezone(UTC).replace(microsecond=0)
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("sequence", item.sequence)
        event.add("dtstart", _ical_moment(item.start, tz))
        event.add("dtend", _ical_moment(item.end, tz))
        event.add("summary", item.summary)
        if item.location:
            event.add("location", item.location)
        if item.description:
            event.add("description", item.description)
        if item.url:
            event.add("url", item.url)
        if item.categories:
            event.add("categories", list(item.categories))
        event.add("status", item.status)
        event.add("transp", "TRANSPARENT" if item.status == "CANCELLED" else "OPAQUE")
        if item.alarm and alarms and item.status != "CANCELLED":
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{item.summary} starts in 5 minutes")
            alarm.add("trigger", -ALARM_BEFORE)
            event.add_component(alarm)
        cal.add_component(event)
    if span is None:
        starts = [i.start.astimezone(tz).date() for i in items] or [epoch.date()]
        ends = [i.end.astimezone(tz).date() for i in items] or [epoch.date()]
        span = (min(starts), max(ends))
    first, last = date(span[0].year, 1, 1), date(span[1].year + 1, 1, 1)
    # VTIMEZONE from the IANA data, limited to the years the calendar needs.
    cal.add_missing_timezones(first_date=first, last_date=last)
    if not cal.timezones and tz_name != "UTC":
        cal.subcomponents.insert(0, Timezone.from_tzid(tz_name, first_date=first, last_date=last))
    ical: bytes = cal.to_ical()
    return ical


def etag(body: bytes) -> str:
    """Return a strong ETag for a response body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
