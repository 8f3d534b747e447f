"""Carousel plug-ins for other features: calendar entries, CSV rows, schedule exports, demo data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from carousels.workshops import services as ws
from events import hooks
from events.conference.models import Conference, Delegate

# --------------------------------------------------------------------------- calendars


def carousel_agenda(delegate: Delegate) -> list:
    """Return the delegate's published carousel workshops as calendar entries (one per slot)."""
    from events.exchange.calendar import AgendaItem

    items = []
    for session in ws.carousel_sessions(delegate.conference):
        plan = ws.published_plan(session)
        if plan is None:
            continue
        for seat in ws.seat_details(session, plan, delegate.id).get(delegate.id, []):
            summary = f"{seat['slot_label']}: {seat['workshop']}"
            if seat["leaders"]:
                summary += f" with {seat['leaders']}"
            items.append(AgendaItem(
                uid=f"carousel-{session.id}-slot-{seat['slot']}-delegate-{delegate.id}@convenor",
                start=datetime.fromisoformat(seat["starts_at"]),
                end=datetime.fromisoformat(seat["ends_at"]),
                summary=summary, location=seat["room"], description=session.title,
                sequence=session.sequence + plan.version, last_modified=plan.published_at,
                alarm=True, replaces_session_id=session.id, categories=("Carousel",)))
    return items


def carousel_entries(delegate: Delegate) -> list[dict]:
    """Return the delegate's published carousel seats as entries of their day (``AGENDA_ENTRIES``).

    One per slot: ``kind`` "carousel", ``session_id``, ``replaces_session_id``, ``title`` (the
    block's), ``starts_at``/``ends_at`` (with the conference's offset), ``room``, ``speakers``
    (the leaders), ``status`` and the seat: ``slot``, ``slot_label``, ``workshop``,
    ``leaders``, ``line``.
    """
    entries = []
    for session in ws.carousel_sessions(delegate.conference):
        plan = ws.published_plan(session)
        if plan is None:
            continue
        workshops = {w.id: w for w in ws.get_workshops(session)}
        for seat in ws.seat_details(session, plan, delegate.id).get(delegate.id, []):
            workshop = workshops[seat["workshop_id"]]
            entries.append({
                "kind": "carousel", "session_id": session.id, "replaces_session_id": session.id,
                "title": session.title, "starts_at": seat["starts_at"],
                "ends_at": seat["ends_at"], "room": seat["room"] or None,
                "speakers": [s.display_name for s in workshop.leaders],
                "status": "cancelled" if session.cancelled else "scheduled",
                "slot": seat["slot"], "slot_label": seat["slot_label"],
                "workshop": seat["workshop"], "leaders": seat["leaders"],
                "line": ws.delegate_line(seat)})
    return entries


def carousel_rows(conference: Conference):
    """Yield one CSV row per delegate per slot of every published carousel plan."""
    from events.exchange.allocations import AllocationRow

    for session in ws.carousel_sessions(conference):
        plan = ws.published_plan(session)
        if plan is None:
            continue
        details = ws.seat_details(session, plan)
        people = {s.delegate_id: s.delegate for s in plan.seats}
        for delegate_id, seats in details.items():
            d = people[delegate_id]
            for seat in seats:
                yield AllocationRow(
                    block=session.title, round=seat["slot"], kind="carousel",
                    unit=seat["workshop"], location=seat["room"], delegate=d.name,
                    email=d.email, role="delegate",
                    start=datetime.fromisoformat(seat["starts_at"]),
                    end=datetime.fromisoformat(seat["ends_at"]), organisation=d.organisation)


def carousel_schedule(conference: Conference) -> list:
    """Return one schedule event per workshop per slot, in the workshop's room."""
    from events.exchange.services import NO_ROOM, ScheduleEvent

    events = []
    for session in ws.carousel_sessions(conference):
        if session.cancelled:
            continue
        for w in ws.get_workshops(session):
            for slot in w.slots:
                events.append(ScheduleEvent(
                    uid=f"carousel-{session.id}-slot-{slot.number}-workshop-{w.id}",
                    start=slot.starts_at, end=slot.ends_at,
                    title=f"{w.title} ({slot.name})", room=w.room.name if w.room else NO_ROOM,
                    kind="carousel", abstract=w.description,
                    persons=tuple(s.display_name for s in w.leaders),
                    replaces_session_id=session.id))
    return events


# --------------------------------------------------------------------------- demo

DEMO_WORKSHOPS = [
    # title, led by, speaker keys (by name), room, description
    ("AI and the work of trust leaders", "expert", ["Kieron White"], "Abbey Room",
     "How AI is changing the work of trust and school leaders, from strategy to operations."),
    ("AI in the classroom", "expert", ["Pete F. Atherton"], "Mountbatten Room",
     "What helps learning and what does not: AI in lessons, marking and feedback."),
    ("Rolling out technology across a trust", "expert", ["Cheryl Shirley"], "Britten Room",
     "How LEO Academy Trust brought technology and AI to its primary schools, and what it "
     "learned on the way."),
    ("SEND inclusion in mainstream schools", "peer", [], "Rutherford Room",
     "Peer-led: practical inclusion for pupils with SEND, shared by leaders who do it."),
    ("Attendance and belonging", "peer", [], "Albert Room",
     "Peer-led: what makes pupils want to come to school, and keeps them coming."),
    ("The role of trusts in inclusion", "peer", [], "Moore Room",
     "Peer-led: what a trust can do that a single school cannot."),
    ("SEND: working with families", "peer", [], "Pickwick Room",
     "Peer-led: building partnerships with families of pupils with SEND."),
    ("Attendance: using data well", "peer", [], "Fleming Room",
     "Peer-led: spotting patterns early and acting on them."),
    ("Trusts sharing expertise", "peer", [], "Whittle Room",
     "Peer-led: how schools in a trust learn from each other."),
]


def demo_carousel(conference: Conference) -> None:
    """Give the demo's carousel 3 slots, 9 workshops, random rankings and a published plan."""
    from events.extensions import db

    session = next((s for s in ws.carousel_sessions(conference)
                    if s.title.startswith("Carousels")), None)
    if session is None:
        return
    ws.set_slots(session, {"count": 3, "minutes": 25, "gap": 5,
                           "starts_at": session.starts_at})
    rooms = {r.name: r for r in conference.rooms}
    speakers = {s.name: s for s in conference.speakers}
    for title, led_by, leaders, room, description in DEMO_WORKSHOPS:
        if room not in rooms:
            continue
        ws.add_workshop(session, {
            "title": title, "description": description, "led_by": led_by,
            "room_id": rooms[room].id, "capacity": rooms[room].capacity,
            "leader_ids": [speakers[n].id for n in leaders if n in speakers]})
    ws.set_preferences_window(session, {"open": True,
                                        "deadline": session.starts_at - timedelta(days=1)})
    workshops = [w.id for w in ws.get_workshops(session)]
    rng = random.Random(1110)
    weights = [5, 6, 3, 4, 3, 2, 2, 1, 1]  # the AI workshops are popular
    try:
        for d in sorted(ws.active_delegates(conference), key=lambda d: d.id):
            if rng.random() >= 0.9:
                continue
            pool = list(zip(workshops, weights, strict=False))
            ranking = []
            for _ in range(min(len(pool), rng.choice((3, 4, 5)))):
                wid = rng.choices([p[0] for p in pool], weights=[p[1] for p in pool])[0]
                ranking.append(wid)
                pool = [p for p in pool if p[0] != wid]
            ws.set_preferences(session, d, ranking, enforce_window=False)
        ws.run_assignment(session, time_limit_s=10.0)
        ws.publish(session)
    except Exception:  # pragma: no cover - the demo still works without a plan
        db.session.rollback()


def live_slots(conference: Conference) -> list[dict]:
    """Return each carousel with its slots and published plan, for the Live page."""
    return [{"session": s, "slots": ws.get_slots(s), "published": ws.published_plan(s)}
            for s in ws.carousel_sessions(conference)]


def slot_count(session) -> int | None:
    """Return how many slots a carousel block has (None for other kinds)."""
    return len(ws.get_slots(session)) if session.kind == "carousel" else None


def install() -> None:
    """Register the carousel's providers with the extension points ``events`` owns."""
    hooks.add(hooks.ROUND_COUNTERS, slot_count)
    hooks.add(hooks.AGENDA_PROVIDERS, carousel_agenda)
    hooks.add(hooks.AGENDA_ENTRIES, carousel_entries)
    hooks.add(hooks.ALLOCATION_ROWS, carousel_rows)
    hooks.add(hooks.SCHEDULE_PROVIDERS, carousel_schedule)
    hooks.add(hooks.DEMO_HOOKS, demo_carousel)
    hooks.add(hooks.LIVE_PANELS, "carousels/workshop_live_panel.html")
