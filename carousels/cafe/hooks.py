"""World Cafe plug-ins for other features: calendar entries, CSV rows, Live page, demo data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from carousels.cafe import services as cs
from events import hooks
from events.conference.models import Conference, Delegate

QUESTIONS = [
    "What does inclusive excellence look like in a classroom you know well?",
    "Which one change would most help pupils with SEND belong in mainstream schools?",
    "How can a trust share expertise so every school gets better, not just some?",
    "What stops good inclusion practice from spreading, and how do we remove it?",
    "How should we measure success for pupils whose progress is not captured by exams?",
    "What would make attendance and belonging everybody's job in a school?",
    "How do we recruit, develop and keep staff who make inclusion work?",
    "Where should a trust spend its next pound to narrow the gap?",
    "How can families be real partners in their children's education?",
    "What would you stop doing tomorrow to make room for inclusion?",
]


# --------------------------------------------------------------------------- calendars


def cafe_agenda(delegate: Delegate) -> list:
    """Return the delegate's World Cafe tables as calendar entries (one per round)."""
    from events.exchange.calendar import AgendaItem

    items = []
    for session in cs.cafe_sessions(delegate.conference):
        plan = cs.published_plan(session)
        if plan is None:
            continue
        for seat in cs.seat_details(session, plan, delegate.id).get(delegate.id, []):
            location = seat["table"]
            if seat["room"]:
                location = f"{seat['room']} — {location}"
            if seat["host"]:
                location += " (you host)" if seat["is_host"] else f" (host: {seat['host']})"
            description = seat["question"] or session.description
            items.append(AgendaItem(
                uid=f"cafe-{session.id}-round-{seat['round']}-delegate-{delegate.id}@convenor",
                start=datetime.fromisoformat(seat["starts_at"]),
                end=datetime.fromisoformat(seat["ends_at"]),
                summary=f"{session.title} — round {seat['round']}, {seat['table']}",
                location=location, description=description,
                sequence=session.sequence + plan.version,
                last_modified=plan.published_at, alarm=True, replaces_session_id=session.id,
                categories=("World Cafe",)))
    return items


def cafe_entries(delegate: Delegate) -> list[dict]:
    """Return the delegate's published World Cafe seats as entries of their day (``AGENDA_ENTRIES``).

    One per round: ``kind`` "world_cafe", ``session_id``, ``replaces_session_id``, ``title``
    (the block's), ``starts_at``/``ends_at`` (with the conference's offset), ``room``,
    ``speakers`` (none), ``status`` and the seat: ``round``, ``table``, ``table_number``,
    ``host`` (a name or None), ``is_host``, ``question``.
    """
    entries = []
    for session in cs.cafe_sessions(delegate.conference):
        plan = cs.published_plan(session)
        if plan is None:
            continue
        for seat in cs.seat_details(session, plan, delegate.id).get(delegate.id, []):
            entries.append({
                "kind": "world_cafe", "session_id": session.id,
                "replaces_session_id": session.id, "title": session.title,
                "starts_at": seat["starts_at"], "ends_at": seat["ends_at"],
                "room": seat["room"] or None, "speakers": [],
                "status": "cancelled" if session.cancelled else "scheduled",
                "round": seat["round"], "table": seat["table"],
                "table_number": seat["table_number"], "host": seat["host"] or None,
                "is_host": seat["is_host"], "question": seat["question"]})
    return entries


def cafe_rows(conference: Conference):
    """Yield one CSV row per delegate per round of every published World Cafe plan."""
    from events.exchange.allocations import AllocationRow

    for session in cs.cafe_sessions(conference):
        plan = cs.published_plan(session)
        if plan is None:
            continue
        details = cs.seat_details(session, plan)
        people = {s.delegate_id: s.delegate for s in plan.seats}
        for delegate_id, seats in details.items():
            d = people[delegate_id]
            for seat in seats:
                yield AllocationRow(
                    block=session.title, round=seat["round"], kind="table", unit=seat["table"],
                    location=seat["room"], delegate=d.name, email=d.email,
                    role="host" if seat["is_host"] else "delegate",
                    start=datetime.fromisoformat(seat["starts_at"]),
                    end=datetime.fromisoformat(seat["ends_at"]), organisation=d.organisation)


# --------------------------------------------------------------------------- demo


def demo_cafe(conference: Conference) -> None:
    """Give the demo's World Cafe 4 rounds, 38 hosted tables of 8 and a published plan."""
    session = next((s for s in cs.cafe_sessions(conference)
                    if s.title.startswith("World Cafe")), None)
    if session is None:
        return
    start = session.starts_at + timedelta(minutes=5)
    cs.set_rounds(session, {"count": 4, "minutes": 15, "gap": 2, "starts_at": start})
    cs.add_tables(session, {"count": 38, "capacity": 8, "step_free": 8})
    tables = cs.get_tables(session)
    delegates = sorted(cs.active_delegates(conference), key=lambda d: d.id)
    rng = random.Random(3813)
    # Hosts: a deterministic sample, at most two per trust so hosts spread the trusts too.
    hosts: list[Delegate] = []
    per_trust: dict[str, int] = {}
    for d in rng.sample(delegates, len(delegates)):
        if len(hosts) == len(tables):
            break
        if per_trust.get(d.organisation, 0) >= 1:
            continue
        per_trust[d.organisation] = per_trust.get(d.organisation, 0) + 1
        hosts.append(d)
    step_free_hosts = [h for h in hosts if h.needs_step_free]
    others = [h for h in hosts if not h.needs_step_free]
    ordered = step_free_hosts + others  # the first tables are the step-free ones
    for i, table in enumerate(tables):
        host = ordered[i] if i < len(ordered) else None
        cs.update_table(table, {"question": QUESTIONS[i % len(QUESTIONS)],
                                "host_id": host.id if host else None,
                                "step_free": table.step_free or bool(host and host.needs_step_free)})
    try:
        cs.allocate(session, time_limit_s=2.0)
        cs.publish(session)
    except Exception:  # pragma: no cover - the demo still works without a plan
        from events.extensions import db

        db.session.rollback()


def live_rounds(conference: Conference) -> list[dict]:
    """Return each World Cafe with its rounds and published plan, for the Live page."""
    return [{"session": s, "rounds": cs.get_rounds(s), "published": cs.published_plan(s)}
            for s in cs.cafe_sessions(conference)]


def round_count(session) -> int | None:
    """Return how many rounds a World Cafe block has (None for other kinds)."""
    return len(cs.get_rounds(session)) if session.kind == "world_cafe" else None


def install() -> None:
    """Register the World Cafe's providers with the extension points ``events`` owns."""
    hooks.add(hooks.ROUND_COUNTERS, round_count)
    hooks.add(hooks.AGENDA_PROVIDERS, cafe_agenda)
    hooks.add(hooks.AGENDA_ENTRIES, cafe_entries)
    hooks.add(hooks.ALLOCATION_ROWS, cafe_rows)
    hooks.add(hooks.DEMO_HOOKS, demo_cafe)
    hooks.add(hooks.LIVE_PANELS, "carousels/cafe_live_panel.html")

