"""World Cafe plug-ins for other features: calendar entries, CSV rows, Live page, demo data."""

from __future__ import annotations

import functools
import random
from datetime import timedelta

from carousels.cafe import services as cs
from carousels.rounds import hooks as rounds_hooks
from events.conference.models import Conference, Delegate, Session

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
    def fields(session: Session, seat: dict) -> dict:
        location = seat["table"]
        if seat["room"]:
            location = f"{seat['room']} — {location}"
        if seat["host"]:
            location += " (you host)" if seat["is_host"] else f" (host: {seat['host']})"
        return {"uid": f"cafe-{session.id}-round-{seat['round']}-delegate-{delegate.id}@convenor",
                "summary": f"{session.title} — round {seat['round']}, {seat['table']}",
                "location": location, "description": seat["question"] or session.description}

    return rounds_hooks.agenda(cs.FORMAT, delegate, "World Cafe", fields)


def cafe_entries(delegate: Delegate) -> list[dict]:
    """Return the delegate's published World Cafe seats as entries of their day (``AGENDA_ENTRIES``).

    One per round: ``kind`` "world_cafe", ``session_id``, ``replaces_session_id``, ``title``
    (the block's), ``starts_at``/``ends_at`` (with the conference's offset), ``room``,
    ``speakers`` (none), ``status`` and the seat: ``round``, ``table``, ``table_number``,
    ``host`` (a name or None), ``is_host``, ``question``.
    """
    return rounds_hooks.entries(cs.FORMAT, delegate, "world_cafe", lambda _session: lambda seat: {
        "speakers": [], "round": seat["round"], "table": seat["table"],
        "table_number": seat["table_number"], "host": seat["host"] or None,
        "is_host": seat["is_host"], "question": seat["question"]})


def cafe_rows(conference: Conference):
    """Yield one CSV row per delegate per round of every published World Cafe plan."""
    return rounds_hooks.allocation_rows(cs.FORMAT, conference, lambda seat: {
        "round": seat["round"], "kind": "table", "unit": seat["table"],
        "role": "host" if seat["is_host"] else "delegate"})


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
    rounds_hooks.publish_demo(cs.FORMAT, session, lambda: cs.allocate(session, time_limit_s=2.0))


#: Each World Cafe with its rounds and published plan, for the Live page.
live_rounds = functools.partial(rounds_hooks.live_blocks, cs.FORMAT, key="rounds")


def install() -> None:
    """Register the World Cafe's providers with the extension points ``events`` owns."""
    rounds_hooks.install(cs.FORMAT, agenda=cafe_agenda, entries=cafe_entries, rows=cafe_rows,
                         demo=demo_cafe, live_panel="carousels/cafe_live_panel.html",
                         session_panel=cafe_session_panel)


def cafe_session_panel(session: Session) -> tuple[str, dict] | None:
    """Return a World Cafe's rounds, and its tables' questions and hosts, for its public page.

    Hosts are shown by name and organisation only, as workshop leaders are (``SESSION_PANELS``).
    """
    if session.kind != cs.FORMAT.session_kind:
        return None
    return "carousels/cafe_session_panel.html", {"rounds": cs.get_rounds(session),
                                                 "tables": cs.get_tables(session)}
