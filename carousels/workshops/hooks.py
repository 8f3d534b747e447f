"""Carousel plug-ins for other features: calendar entries, CSV rows, schedule exports, demo data."""

from __future__ import annotations

import functools
import random
from datetime import timedelta

from carousels.rounds import hooks as rounds_hooks
from carousels.workshops import services as ws
from events.conference.models import Conference, Delegate, Session

# --------------------------------------------------------------------------- calendars


def carousel_agenda(delegate: Delegate) -> list:
    """Return the delegate's published carousel workshops as calendar entries (one per slot)."""
    def fields(session: Session, seat: dict) -> dict:
        summary = f"{seat['slot_label']}: {seat['workshop']}"
        if seat["leaders"]:
            summary += f" with {seat['leaders']}"
        return {"uid": f"carousel-{session.id}-slot-{seat['slot']}-delegate-{delegate.id}@convenor",
                "summary": summary, "location": seat["room"], "description": session.title}

    return rounds_hooks.agenda(ws.FORMAT, delegate, "Carousel", fields)


def carousel_entries(delegate: Delegate) -> list[dict]:
    """Return the delegate's published carousel seats as entries of their day (``AGENDA_ENTRIES``).

    One per slot: ``kind`` "carousel", ``session_id``, ``replaces_session_id``, ``title`` (the
    block's), ``starts_at``/``ends_at`` (with the conference's offset), ``room``, ``speakers``
    (the leaders), ``status`` and the seat: ``slot``, ``slot_label``, ``workshop``,
    ``leaders``, ``line``.
    """
    def fields(session: Session):
        # The seats' workshops are already loaded (identity map): no query per seat.
        return lambda seat: {
            "speakers": [s.display_name for s in ws.get_workshop(session, seat["workshop_id"]).leaders],
            "slot": seat["slot"], "slot_label": seat["slot_label"], "workshop": seat["workshop"],
            "leaders": seat["leaders"], "line": ws.delegate_line(seat)}

    return rounds_hooks.entries(ws.FORMAT, delegate, "carousel", fields)


def carousel_rows(conference: Conference):
    """Yield one CSV row per delegate per slot of every published carousel plan."""
    return rounds_hooks.allocation_rows(ws.FORMAT, conference, lambda seat: {
        "round": seat["slot"], "kind": "carousel", "unit": seat["workshop"], "role": "delegate"})


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


# --------------------------------------------------------------------------- public page


def carousel_session_panel(session: Session) -> tuple[str, dict] | None:
    """Return the workshops on offer for a carousel's public page (``SESSION_PANELS``).

    Each with its title, description, leaders, room, seats per run and the slots it runs in
    (named only when it does not run in every slot).
    """
    if session.kind != ws.FORMAT.session_kind:
        return None
    slots = ws.get_slots(session)
    workshops = []
    for w in ws.get_workshops(session):
        names = [s.name for s in w.slots]
        runs = "Every slot" if slots else ""
        if slots and len(names) < len(slots):
            runs = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        workshops.append({"workshop": w, "runs": runs or "Not scheduled yet"})
    return "carousels/workshop_session_panel.html", {"slots": slots, "workshops": workshops}


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
    def rank_and_run() -> None:
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

    rounds_hooks.publish_demo(ws.FORMAT, session, rank_and_run)


#: Each carousel with its slots and published plan, for the Live page.
live_slots = functools.partial(rounds_hooks.live_blocks, ws.FORMAT, key="slots")


def install() -> None:
    """Register the carousel's providers with the extension points ``events`` owns."""
    rounds_hooks.install(ws.FORMAT, agenda=carousel_agenda, entries=carousel_entries,
                         rows=carousel_rows, schedule=carousel_schedule, demo=demo_carousel,
                         live_panel="carousels/workshop_live_panel.html",
                         session_panel=carousel_session_panel)
