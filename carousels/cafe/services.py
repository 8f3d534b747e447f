"""World Cafe verbs: set up rounds and tables, allocate, move by hand, publish, re-plan, start.

Services own the transaction, raise ``ConvenorError`` with a code, and send signals only
after a successful commit. The table plan itself comes from the pure engine
``carousels.cafe.engine``, which knows delegates and tables by their row ids. The versioned
plan lifecycle (publish, moves, start) is the one in ``carousels.rounds.services``.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from carousels.cafe import engine as cafe
from carousels.cafe.models import (
    ABSENCE_REASONS,
    CafeAbsence,
    CafePlan,
    CafeRound,
    CafeSeat,
    CafeTable,
)
from carousels.rounds import services as rounds_services
from carousels.rounds.services import active_delegates  # noqa: F401  (part of this API)
from events import cache
from events.conference.models import Delegate, Session
from events.conference.services import Fields
from events.errors import ConvenorError
from events.extensions import db
from events.types import utcnow

DEFAULT_TIME_LIMIT_S = 5.0
MAX_TABLES = 500
MAX_ROUNDS = 12
MAX_CAPACITY = 50
#: Organisation colours (light tints, dark text passes AA); always shown with the name too.
ORG_COLOURS = 12


# --------------------------------------------------------------------------- lookups


def get_tables(session: Session) -> list[CafeTable]:
    """Return the session's tables in number order."""
    return list(db.session.scalars(
        select(CafeTable).where(CafeTable.session_id == session.id)
        .options(selectinload(CafeTable.host)).order_by(CafeTable.number)))


def get_table(session: Session, table_id: int) -> CafeTable:
    """Return one of the session's tables or raise ``not_found``."""
    table = db.session.get(CafeTable, table_id)
    if table is None or table.session_id != session.id:
        raise ConvenorError("not_found", f"no table {table_id} in this World Cafe")
    return table


def get_absences(session: Session) -> list[CafeAbsence]:
    """Return the session's marked absences by round, then name."""
    return list(db.session.scalars(
        select(CafeAbsence).join(Delegate).where(CafeAbsence.session_id == session.id)
        .order_by(CafeAbsence.round_number, Delegate.name)))


def org_colour(organisation: str) -> int:
    """Return a stable colour index for an organisation (0 for none)."""
    if not organisation:
        return 0
    return 1 + zlib.crc32(organisation.strip().lower().encode()) % (ORG_COLOURS - 1)


# --------------------------------------------------------------------------- setup


def set_rounds(session: Session, data: dict) -> list[CafeRound]:
    """Replace the rounds with ``count`` rounds of ``minutes`` each, ``gap`` minutes apart.

    The first starts at ``starts_at`` (default: the session's start). Refused once a round
    has started.
    """
    return rounds_services.set_rounds(
        FORMAT, session, data,
        started="rounds have already started; mark absences and re-plan instead")


def _table_values(session: Session, data: dict, table: CafeTable | None) -> dict:
    fields = Fields(data, partial=table is not None)
    values: dict[str, Any] = {}
    if fields.has("number"):
        number = fields.integer("number", required=table is None, minimum=1)
        if number is not None:
            clash = db.session.scalar(select(CafeTable.id).where(
                CafeTable.session_id == session.id, CafeTable.number == number))
            if clash and (table is None or clash != table.id):
                fields.error("number", f"table {number} already exists")
            values["number"] = number
    if fields.has("label"):
        values["label"] = fields.text("label", max_len=60)
    if fields.has("question"):
        values["question"] = fields.text("question", max_len=1000)
    if fields.has("capacity"):
        capacity = fields.integer("capacity", required=True, minimum=1)
        if capacity and capacity > MAX_CAPACITY:
            fields.error("capacity", f"must be at most {MAX_CAPACITY}")
        if capacity is not None:
            values["capacity"] = capacity
    if fields.has("step_free"):
        values["step_free"] = fields.boolean("step_free")
    if fields.has("host_id"):
        host_id = fields.integer("host_id", minimum=1)
        if host_id is not None:
            host = db.session.get(Delegate, host_id)
            if host is None or host.conference_id != session.conference_id:
                fields.error("host_id", f"there is no delegate {host_id} in this conference")
            elif host.status != "active":
                fields.error("host_id", f"{host.name} has cancelled their registration")
            else:
                other = db.session.scalar(select(CafeTable).where(
                    CafeTable.session_id == session.id, CafeTable.host_id == host_id))
                if other is not None and (table is None or other.id != table.id):
                    fields.error("host_id", f"{host.name} already hosts {other.name}")
                step_free = values.get("step_free", table.step_free if table else False)
                if host.needs_step_free and not step_free:
                    fields.error("host_id", f"{host.name} needs step-free access; make the "
                                 "table step-free or choose another host")
        values["host_id"] = host_id
    fields.raise_if_any("the table is not valid")
    return values


def add_table(session: Session, data: dict) -> CafeTable:
    """Add a table (``number``, ``label``, ``question``, ``host_id``, ``step_free``, ``capacity``)."""
    if "number" not in data or data.get("number") in (None, ""):
        top = db.session.scalar(select(func.max(CafeTable.number))
                                .where(CafeTable.session_id == session.id))
        data = {**data, "number": (top or 0) + 1}
    data.setdefault("capacity", 8)
    values = _table_values(session, data, None)
    if len(get_tables(session)) >= MAX_TABLES:
        raise ConvenorError("invalid", f"a World Cafe has at most {MAX_TABLES} tables")
    table = CafeTable(session_id=session.id, **values)
    db.session.add(table)
    db.session.commit()
    return table


def add_tables(session: Session, data: dict) -> list[CafeTable]:
    """Add ``count`` numbered tables of ``capacity`` seats, the first ``step_free`` of them step-free."""
    fields = Fields(data)
    count = fields.integer("count", required=True, minimum=1)
    capacity = fields.integer("capacity", required=True, minimum=1)
    step_free = fields.integer("step_free", minimum=0) or 0
    existing = len(get_tables(session))
    if count and count + existing > MAX_TABLES:
        fields.error("count", f"a World Cafe has at most {MAX_TABLES} tables")
    if capacity and capacity > MAX_CAPACITY:
        fields.error("capacity", f"must be at most {MAX_CAPACITY}")
    if count and step_free > count:
        fields.error("step_free", "cannot be more than the number of tables")
    fields.raise_if_any("the tables are not valid")
    top = db.session.scalar(select(func.max(CafeTable.number))
                            .where(CafeTable.session_id == session.id)) or 0
    made = [CafeTable(session_id=session.id, number=top + i + 1, capacity=capacity,
                      step_free=i < step_free, question="", label="") for i in range(count)]
    db.session.add_all(made)
    db.session.commit()
    return made


def update_table(table: CafeTable, data: dict) -> CafeTable:
    """Change a table's question, host, access, seats, label or number."""
    return rounds_services.update_row(table, _table_values(table.session, data, table))


def delete_table(table: CafeTable) -> None:
    """Remove a table (plans that seat people there lose those seats)."""
    rounds_services.delete_row(table)


# --------------------------------------------------------------------------- engine input


def plan_rounds(plan: CafePlan, tables: list[CafeTable], round_count: int) -> list[dict]:
    """Return ``plan`` in the engine's shape: per round, table id -> delegate ids (host first)."""
    by_id = {t.id: t for t in tables}
    rounds: list[dict[int, list[int]]] = [{t.id: [] for t in tables} for _ in range(round_count)]
    for seat in sorted(plan.seats, key=lambda s: s.delegate_id):
        table = by_id.get(seat.table_id)
        if table is None or not 1 <= seat.round_number <= round_count:
            continue
        people = rounds[seat.round_number - 1][table.id]
        if table.host_id == seat.delegate_id:
            people.insert(0, seat.delegate_id)
        else:
            people.append(seat.delegate_id)
    return rounds


def build_problem(session: Session, *, base: CafePlan | None = None, from_round: int = 1,
                  time_limit_s: float | None = None, seed: int = 0) -> dict:
    """Return the engine input for ``session`` from the database (delegate and table row ids).

    Delegates are the conference's active delegates, plus anyone seated in a kept round of
    ``base``; rounds before ``from_round`` are copied from ``base`` as ``fixed`` seats and
    everyone else is ``absent`` then. Marked absences and cancelled delegates are ``absent``
    in the rounds that are planned.
    """
    return _problem(session, base=base, from_round=from_round, time_limit_s=time_limit_s,
                    seed=seed)[0]


def _problem(session: Session, *, base: CafePlan | None = None, from_round: int = 1,
             time_limit_s: float | None = None,
             seed: int = 0) -> tuple[dict, cafe.Names]:
    """Return the engine input and the ``names`` that word the engine's messages."""
    conference = session.conference
    rounds = get_rounds(session)
    tables = get_tables(session)
    if not rounds:
        raise ConvenorError("no_rounds", "add the rounds first")
    if not tables:
        raise ConvenorError("no_tables", "add the tables first")
    people: dict[int, Delegate] = {d.id: d for d in active_delegates(conference)}
    kept = [s for s in (base.seats if base else []) if s.round_number < from_round]
    for extra in [s.delegate for s in kept] + [t.host for t in tables if t.host]:
        people.setdefault(extra.id, extra)
    table_by_id = {t.id: t for t in tables}
    absent: dict[int, set[int]] = defaultdict(set)
    seated: dict[int, set[int]] = defaultdict(set)
    fixed = []
    for seat in sorted(kept, key=lambda s: (s.round_number, s.delegate_id)):
        if seat.table_id not in table_by_id:
            continue
        seated[seat.round_number].add(seat.delegate_id)
        fixed.append({"round": seat.round_number, "table": seat.table_id,
                      "delegate": seat.delegate_id})
    for r in range(1, min(from_round, len(rounds) + 1)):
        absent[r] = set(people) - seated[r]
    for absence in get_absences(session):
        if from_round <= absence.round_number <= len(rounds) and absence.delegate_id in people:
            absent[absence.round_number].add(absence.delegate_id)
    for d in people.values():
        if d.status != "active":
            for r in range(from_round, len(rounds) + 1):
                absent[r].add(d.id)
    limit = time_limit_s if time_limit_s is not None else float(
        current_app.config.get("CAFE_TIME_LIMIT_S", DEFAULT_TIME_LIMIT_S))
    problem = {
        "rounds": len(rounds),
        "tables": [{"id": t.id, "capacity": t.capacity, "step_free": t.step_free,
                    **({"host": t.host_id} if t.host_id in people else {})}
                   for t in tables],
        "delegates": [{"id": d.id, "organisation": d.organisation or None,
                       "needs_step_free": bool(d.needs_step_free)}
                      for d in sorted(people.values(), key=lambda d: d.id)],
        "fixed": fixed,
        "absent": {str(r): sorted(ids) for r, ids in sorted(absent.items()) if ids},
        "seed": seed,
        "time_limit_s": limit,
    }
    delegate_name = rounds_services.names_of(people)

    def names(kind: str, key: object) -> str:
        if kind == "table":
            table = table_by_id.get(key)  # type: ignore[call-overload]
            return f"Table {table.number}" if table else str(key)
        return delegate_name(key)  # type: ignore[arg-type]

    return problem, names


def _engine_error(exc: cafe.CafeInputError) -> ConvenorError:
    return ConvenorError(getattr(exc, "code", "invalid_input"), str(exc))


def _save_plan(session: Session, rounds: list[dict], stats: dict, note: str) -> CafePlan:
    """Add ``rounds`` (engine shape) as the next draft version; the caller commits."""
    plan = rounds_services.new_plan(FORMAT, session, stats, note)
    for number, plan_round in enumerate(rounds, 1):
        for table_id, people in plan_round.items():
            for delegate_id in people:
                plan.seats.append(CafeSeat(round_number=number, table_id=table_id,
                                           delegate_id=delegate_id))
    return plan


@rounds_services.rolls_back
def allocate(session: Session, *, from_round: int | None = None,
             time_limit_s: float | None = None) -> CafePlan:
    """Compute a new draft plan; rounds before ``from_round`` stay as published.

    ``from_round`` defaults to the first round not yet started. Raises ``no_rounds``,
    ``no_tables``, ``all_rounds_started`` or the engine's input codes (``not_enough_seats`` …).
    """
    rounds = get_rounds(session)
    if from_round is None:
        from_round = first_open_round(session)
    if not rounds:
        raise ConvenorError("no_rounds", "add the rounds first")
    if from_round > len(rounds):
        raise ConvenorError("all_rounds_started", "every round has started; nothing to re-plan")
    base = published_plan(session) or latest_plan(session)
    if from_round > 1 and base is None:
        raise ConvenorError("no_plan", "there is no plan to keep the earlier rounds from")
    from_round = max(1, from_round)
    version = rounds_services.next_version(FORMAT, session)
    problem, names = _problem(session, base=base, from_round=from_round,
                              time_limit_s=time_limit_s, seed=version)
    try:
        result = cafe.allocate(problem, names=names)
    except cafe.CafeInputError as exc:
        raise _engine_error(exc) from None
    note = "Allocated" if from_round == 1 else f"Re-planned rounds {from_round}–{len(rounds)}"
    plan = _save_plan(session, result["rounds"], result["stats"], note)
    rounds_services.commit_plan(FORMAT)
    return plan


# --------------------------------------------------------------------------- hand moves


def _check_problem(session: Session, plan: CafePlan) -> tuple[dict, cafe.Names]:
    """Return the engine problem used to check and score ``plan``: started rounds as they are."""
    return _problem(session, base=plan, from_round=first_open_round(session), time_limit_s=1.0)


def plan_problems(session: Session, plan: CafePlan) -> list[str]:
    """Return the hard rules ``plan`` breaks today (people left, tables changed …)."""
    try:
        problem, names = _check_problem(session, plan)
        rounds = plan_rounds(plan, get_tables(session), problem["rounds"])
        return cafe.check(problem, rounds, names=names)
    except cafe.CafeInputError as exc:
        return [str(exc)]
    except ConvenorError as exc:
        return [exc.message]


@rounds_services.rolls_back
def move_delegate(session: Session, delegate_id: int, round_number: int,
                  table_id: int) -> CafePlan:
    """Seat a delegate at another table in one round of the newest plan; return that plan.

    A published plan is never changed: the move makes a new draft. The move is refused
    (``full``) when the table has no free seat in that round, (``rule_broken``) if it breaks
    another hard rule the plan kept before (host, step-free access, absence), and
    (``round_started``) in a round that has started. Simultaneous moves run one at a time.
    """
    plan, rounds, _ = rounds_services.open_round_for_move(
        FORMAT, session, round_number, field="round_number",
        started=lambda r: ConvenorError(
            "round_started", f"round {r.number} has already started; its seats stay as they were",
            [{"field": "round_number", "message": "has already started"}]))
    table = get_table(session, table_id)
    delegate = rounds_services.get_delegate(session.conference_id, delegate_id)
    tables = get_tables(session)
    problem, names = _check_problem(session, plan)
    before = plan_rounds(plan, tables, len(rounds))
    after = [{k: list(v) for k, v in r.items()} for r in before]
    current = None
    for key, people in after[round_number - 1].items():
        if delegate.id in people:
            current = key
            people.remove(delegate.id)
    if current == table.id:
        raise ConvenorError("invalid", f"{delegate.name} already sits at {table.name} in round "
                            f"{round_number}", [{"field": "table_id", "message": "is their table"}])
    # Checked under the block's lock (taken by open_round_for_move): the seats as they are.
    rounds_services.refuse_if_full(len(after[round_number - 1][table.id]), table.capacity,
                                   table.name, f"in round {round_number}", "table_id")
    after[round_number - 1][table.id].append(delegate.id)
    try:
        old = set(cafe.check(problem, before, names=names))
        new = [p for p in cafe.check(problem, after, names=names) if p not in old]
        stats = cafe.score(problem, after, names=names)
    except cafe.CafeInputError as exc:
        raise _engine_error(exc) from None
    if new:
        raise ConvenorError("rule_broken", new[0],
                            [{"field": "table_id", "message": p} for p in new])

    def place(seat: CafeSeat | None) -> CafeSeat:
        if seat is None:
            return CafeSeat(round_number=round_number, table_id=table.id, delegate_id=delegate.id)
        seat.table_id = table.id
        return seat

    return rounds_services.record_move(
        FORMAT, session, plan, stats=stats, place=place,
        match=lambda s: s.round_number == round_number and s.delegate_id == delegate.id,
        note=f"Moved {delegate.name} to {table.name} in round {round_number}",
        save=lambda note: _save_plan(session, after, stats, note))


# --------------------------------------------------------------------------- publishing


def _describe_seats(session: Session, plan: CafePlan,
                    seats: list[CafeSeat]) -> dict[int, list[dict]]:
    conference = session.conference
    rounds = {r.number: r for r in get_rounds(session)}
    # Only the tables these seats use: one delegate's day needs four, not the whole room.
    wanted = {seat.table_id for seat in seats}
    tables = {t.id: t for t in db.session.scalars(
        select(CafeTable).where(CafeTable.id.in_(wanted)).options(selectinload(CafeTable.host)))
        } if wanted else {}
    room = session.room.name if session.room else ""
    out: dict[int, list[dict]] = defaultdict(list)
    for seat in sorted(seats, key=lambda s: (s.delegate_id, s.round_number)):
        table, cafe_round = tables.get(seat.table_id), rounds.get(seat.round_number)
        if table is None or cafe_round is None:
            continue
        out[seat.delegate_id].append({
            "round": seat.round_number,
            "table": table.name,
            "table_number": table.number,
            "question": table.question,
            "host": table.host.name if table.host else "",
            "is_host": table.host_id == seat.delegate_id,
            "room": room,
            "starts_at": conference.local(cafe_round.starts_at).isoformat(),
            "ends_at": conference.local(cafe_round.ends_at).isoformat(),
        })
    return dict(out)


# --------------------------------------------------------------------------- during the event


def mark_absence(session: Session, data: dict) -> int:
    """Record that a delegate ``left`` before round N or arrives ``late`` at round N.

    ``left``: absent from round N to the end; ``late``: absent before round N; ``absent``:
    absent in round N only. Returns how many round absences were added.
    """
    fields = Fields(data)
    delegate_id = fields.integer("delegate_id", required=True, minimum=1)
    number = fields.integer("round_number", required=True, minimum=1)
    reason = fields.text("reason", max_len=12) or "absent"
    rounds = get_rounds(session)
    if reason not in ABSENCE_REASONS:
        fields.error("reason", f"must be one of {', '.join(ABSENCE_REASONS)}")
    if number and number > len(rounds):
        fields.error("round_number", f"there are only {len(rounds)} rounds")
    delegate = db.session.get(Delegate, delegate_id) if delegate_id else None
    if delegate_id and (delegate is None or delegate.conference_id != session.conference_id):
        fields.error("delegate_id", "is not a delegate of this conference")
    fields.raise_if_any("the absence is not valid")
    if reason == "left":
        numbers = range(number, len(rounds) + 1)
    elif reason == "late":
        numbers = range(1, number)
        if number == 1:
            raise ConvenorError("invalid", "arriving at round 1 is not late",
                                [{"field": "round_number", "message": "must be 2 or later"}])
    else:
        numbers = range(number, number + 1)
    known = set(db.session.scalars(select(CafeAbsence.round_number).where(
        CafeAbsence.session_id == session.id, CafeAbsence.delegate_id == delegate.id)))
    added = 0
    for n in numbers:
        if n not in known:
            db.session.add(CafeAbsence(session_id=session.id, round_number=n,
                                       delegate_id=delegate.id, reason=reason))
            added += 1
    db.session.commit()
    return added


def clear_absences(session: Session, delegate_id: int) -> None:
    """Forget a delegate's marked absences (they are back)."""
    db.session.execute(delete(CafeAbsence).where(CafeAbsence.session_id == session.id,
                                                 CafeAbsence.delegate_id == delegate_id))
    db.session.commit()


# --------------------------------------------------------------------------- reading


#: Delegates' seats, per (delegate, conference version, data generation): see events.cache.
_TABLES = cache.LRU(4096)


def delegate_tables(delegate: Delegate) -> list[dict]:
    """Return the delegate's seats in every published World Cafe plan, in time order."""
    key = (delegate.id, delegate.conference.version, cache.generation())
    return [dict(seat) for seat in _TABLES.get(key, lambda: _published_tables(delegate))]


def _published_tables(delegate: Delegate) -> list[dict]:
    out = [{"session_id": session.id, "session": session.title, "plan_version": plan.version,
            **seat}
           for session, plan, seats in rounds_services.published_seats(FORMAT, delegate)
           for seat in seats]
    return sorted(out, key=lambda s: (s["starts_at"], s["session_id"]))


def _chosen_seat(seats: list[dict], now: datetime) -> dict:
    """Return the seat in progress, else the next one, else the last one (``seats`` in order)."""
    for seat in seats:
        if datetime.fromisoformat(seat["ends_at"]) > now:
            return seat
    return seats[-1]


def delegate_table(delegate: Delegate, *, round_number: int | None = None,
                   now: datetime | None = None) -> dict | None:
    """Return the delegate's seat in round ``round_number``, else in the round now or next.

    After the last round, the last one. The block is the World Cafe in progress or next. None
    when no plan is published or the delegate has no seat. Keys: ``round``, ``title`` (the
    session's), ``table``, ``table_number``, ``room``, ``host`` (a name or None),
    ``is_host``, ``question``, ``starts_at``, ``ends_at`` (with the conference's offset),
    ``session_id``. An unknown round raises ``not_found``.
    """
    seats = delegate_tables(delegate)
    if not seats:
        return None
    seat = _chosen_seat(seats, now or utcnow())
    if round_number is not None:
        session = get_cafe_session(delegate.conference, seat["session_id"])
        if not 1 <= round_number <= len(get_rounds(session)):
            raise ConvenorError("not_found", f"there is no round {round_number} in "
                                f"{session.title}")
        seat = next((s for s in seats if s["session_id"] == session.id
                     and s["round"] == round_number), None)
        if seat is None:
            return None
    return {"round": seat["round"], "title": seat["session"], "table": seat["table"],
            "table_number": seat["table_number"], "room": seat["room"] or None,
            "host": seat["host"] or None, "is_host": seat["is_host"],
            "question": seat["question"], "starts_at": seat["starts_at"],
            "ends_at": seat["ends_at"], "session_id": seat["session_id"]}


def table_roster(delegate: Delegate, round_number: int, *,
                 now: datetime | None = None) -> dict:
    """Return who sits at the table ``delegate`` hosts in round ``round_number``.

    ``{"round", "table", "table_number", "room", "question", "people": [{"name",
    "organisation"}, …]}``: the others at the table (not the host), by name. The block is the
    World Cafe in progress or next that they host. Codes: ``no_plan`` (nothing published),
    ``forbidden`` (they host no table in that round).
    """
    if not any(published_plan(s) for s in cafe_sessions(delegate.conference)):
        raise ConvenorError("no_plan", "no World Cafe table plan is published yet")
    hosted = [s for s in delegate_tables(delegate) if s["is_host"]]
    if hosted:
        current = _chosen_seat(hosted, now or utcnow())["session_id"]
        hosted = sorted((s for s in hosted if s["round"] == round_number),
                        key=lambda s: s["session_id"] != current)
    if not hosted:
        raise ConvenorError("forbidden", f"you do not host a table in round {round_number}")
    seat = hosted[0]
    session = get_cafe_session(delegate.conference, seat["session_id"])
    plan = published_plan(session)
    table = db.session.scalar(select(CafeTable).where(CafeTable.session_id == session.id,
                                                      CafeTable.host_id == delegate.id))
    others = db.session.scalars(
        select(Delegate).join(CafeSeat, CafeSeat.delegate_id == Delegate.id)
        .where(CafeSeat.plan_id == plan.id, CafeSeat.round_number == round_number,
               CafeSeat.table_id == table.id, Delegate.id != delegate.id)
        .order_by(Delegate.name, Delegate.id))
    return {"round": round_number, "table": seat["table"], "table_number": seat["table_number"],
            "room": seat["room"] or None, "question": seat["question"],
            "people": [{"name": d.name, "organisation": d.organisation} for d in others]}


def floor_plan(session: Session, plan: CafePlan) -> list[dict]:
    """Return each round as table cards for the organiser's floor plan.

    Each card has the table, its people (name, organisation, colour, host, met-before and
    same-organisation marks), and counts of repeated meetings and colleague pairs.
    """
    rounds_services.preload_delegates(session.conference)
    tables = get_tables(session)
    rounds = get_rounds(session)
    by_round: dict[int, dict[int, list[Delegate]]] = defaultdict(lambda: defaultdict(list))
    for seat in plan.seats:
        by_round[seat.round_number][seat.table_id].append(seat.delegate)
    met: dict[frozenset, int] = defaultdict(int)
    out = []
    for cafe_round in rounds:
        cards = []
        for table in tables:
            people = sorted(by_round[cafe_round.number].get(table.id, []),
                            key=lambda d: (d.id != table.host_id, d.name))
            orgs: dict[str, int] = defaultdict(int)
            for d in people:
                if d.organisation:
                    orgs[d.organisation.strip().lower()] += 1
            entries, repeats = [], 0
            for i, d in enumerate(people):
                again = [o for o in people if o.id != d.id and met[frozenset((d.id, o.id))]]
                for o in people[i + 1:]:
                    if met[frozenset((d.id, o.id))]:
                        repeats += 1
                entries.append({
                    "delegate": d, "is_host": d.id == table.host_id,
                    "colour": org_colour(d.organisation),
                    "same_org": bool(d.organisation) and orgs[d.organisation.strip().lower()] > 1,
                    "met_before": [o.name for o in again],
                })
            cards.append({"table": table, "people": entries, "count": len(people),
                          "repeats": repeats,
                          "same_org_pairs": sum(c * (c - 1) // 2 for c in orgs.values())})
        for card in cards:
            ids = [e["delegate"].id for e in card["people"]]
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    met[frozenset((a, b))] += 1
        out.append({"round": cafe_round, "tables": cards,
                    "seated": sum(c["count"] for c in cards)})
    return out


def _figures(session: Session, plan: CafePlan | None) -> dict:
    """Return a plan's repeated meetings and same-organisation pairs for the organisers."""
    if plan is None:
        return {}
    return {k: plan.stats[k] for k in ("repeat_pairs", "same_org_pairs") if k in plan.stats}


FORMAT = rounds_services.Format(
    session_kind="world_cafe", kind="cafe", title="World Cafe", noun="round",
    round_model=CafeRound, plan_model=CafePlan, seat_model=CafeSeat, seat_round_key="round",
    start_fields=("table", "room", "host", "question", "round", "is_host", "starts_at",
                  "ends_at"),
    describe_seats=_describe_seats, plan_problems=plan_problems, max_rounds=MAX_ROUNDS,
    allocate=allocate, time_limit_key="CAFE_TIME_LIMIT_S", figures=_figures,
)

# The shared lifecycle verbs for World Cafe blocks (each documented in ``rounds.services``).
(cafe_sessions, get_cafe_session, get_rounds, get_plans, latest_plan, published_plan, get_plan,
 add_round, first_open_round, seat_details, publish, start_round) = rounds_services.bound(
    FORMAT, "sessions", "get_session", "get_rounds", "get_plans", "latest_plan",
    "published_plan", "get_plan", "add_round", "first_open_round", "seat_details",
    "publish_plan", "start_round")
