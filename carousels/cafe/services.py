"""World Cafe verbs: set up rounds and tables, allocate, move by hand, publish, re-plan, start.

Services own the transaction, raise ``ConvenorError`` with a code, and send signals only
after a successful commit. The table plan itself comes from the pure engine
``carousels.cafe``; delegates are known to it as "d<id>" and tables as "T<number>".
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from carousels.cafe import engine as cafe
from carousels.cafe.models import (
    ABSENCE_REASONS,
    CafeAbsence,
    CafePlan,
    CafeRound,
    CafeSeat,
    CafeTable,
    engine_delegate_id,
)
from events import signals
from events.conference.models import Conference, Delegate, Session
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


def cafe_sessions(conference: Conference) -> list[Session]:
    """Return the conference's World Cafe sessions in time order."""
    return list(db.session.scalars(
        select(Session).where(Session.conference_id == conference.id,
                              Session.kind == "world_cafe").order_by(Session.starts_at, Session.id)))


def get_cafe_session(conference: Conference, session_id: int) -> Session:
    """Return one of the conference's World Cafe sessions or raise ``not_found``."""
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id or session.kind != "world_cafe":
        raise ConvenorError("not_found", f"no World Cafe session {session_id} in this conference")
    return session


def get_rounds(session: Session) -> list[CafeRound]:
    """Return the session's rounds in order."""
    return list(db.session.scalars(
        select(CafeRound).where(CafeRound.session_id == session.id).order_by(CafeRound.number)))


def get_tables(session: Session) -> list[CafeTable]:
    """Return the session's tables in number order."""
    return list(db.session.scalars(
        select(CafeTable).where(CafeTable.session_id == session.id).order_by(CafeTable.number)))


def get_table(session: Session, table_id: int) -> CafeTable:
    """Return one of the session's tables or raise ``not_found``."""
    table = db.session.get(CafeTable, table_id)
    if table is None or table.session_id != session.id:
        raise ConvenorError("not_found", f"no table {table_id} in this World Cafe")
    return table


def get_plans(session: Session) -> list[CafePlan]:
    """Return every plan version of the session, newest first."""
    return list(db.session.scalars(
        select(CafePlan).where(CafePlan.session_id == session.id)
        .order_by(CafePlan.version.desc())))


def latest_plan(session: Session) -> CafePlan | None:
    """Return the newest plan version (draft or published), if any."""
    return db.session.scalar(select(CafePlan).where(CafePlan.session_id == session.id)
                             .order_by(CafePlan.version.desc()).limit(1))


def published_plan(session: Session) -> CafePlan | None:
    """Return the published plan, if any."""
    return db.session.scalar(select(CafePlan).where(CafePlan.session_id == session.id,
                                                    CafePlan.status == "published"))


def get_plan(session: Session, version: int) -> CafePlan:
    """Return one plan version or raise ``not_found``."""
    plan = db.session.scalar(select(CafePlan).where(CafePlan.session_id == session.id,
                                                    CafePlan.version == version))
    if plan is None:
        raise ConvenorError("not_found", f"there is no plan version {version}")
    return plan


def active_delegates(conference: Conference) -> list[Delegate]:
    """Return the conference's active delegates by name."""
    return list(db.session.scalars(
        select(Delegate).where(Delegate.conference_id == conference.id,
                               Delegate.status == "active").order_by(Delegate.name, Delegate.id)))


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


def _round_times(fields: Fields, session: Session) -> tuple[datetime | None, datetime | None]:
    conference = session.conference
    starts = fields.moment("starts_at", conference)
    ends = fields.moment("ends_at", conference)
    if starts and ends and ends <= starts:
        fields.error("ends_at", "must be after the start")
    if starts and ends and (starts < session.starts_at or ends > session.ends_at):
        local = conference.local
        fields.error("starts_at", "must fall within the session "
                     f"({local(session.starts_at):%H:%M}–{local(session.ends_at):%H:%M})")
    return starts, ends


def add_round(session: Session, data: dict) -> CafeRound:
    """Add a round after the existing ones (``starts_at``, ``ends_at``)."""
    fields = Fields(data)
    starts, ends = _round_times(fields, session)
    existing = get_rounds(session)
    if len(existing) >= MAX_ROUNDS:
        fields.error("starts_at", f"a World Cafe has at most {MAX_ROUNDS} rounds")
    if existing and starts and starts < existing[-1].ends_at:
        fields.error("starts_at", "must not start before the previous round ends")
    fields.raise_if_any("the round is not valid")
    cafe_round = CafeRound(session_id=session.id, number=len(existing) + 1, starts_at=starts,
                           ends_at=ends)
    db.session.add(cafe_round)
    db.session.commit()
    return cafe_round


def set_rounds(session: Session, data: dict) -> list[CafeRound]:
    """Replace the rounds with ``count`` rounds of ``minutes`` each, ``gap`` minutes apart.

    The first starts at ``starts_at`` (default: the session's start). Refused once a round
    has started.
    """
    fields = Fields(data)
    count = fields.integer("count", required=True, minimum=1)
    minutes = fields.integer("minutes", required=True, minimum=1)
    gap = fields.integer("gap", minimum=0) or 0
    first = fields.moment("starts_at", session.conference) if data.get("starts_at") else \
        session.starts_at
    if count and count > MAX_ROUNDS:
        fields.error("count", f"must be at most {MAX_ROUNDS}")
    if count and minutes and first:
        end = first + timedelta(minutes=count * minutes + (count - 1) * gap)
        if first < session.starts_at or end > session.ends_at:
            local = session.conference.local
            fields.error("minutes", f"the rounds would run {local(first):%H:%M}–{local(end):%H:%M}"
                         f", outside the session ({local(session.starts_at):%H:%M}–"
                         f"{local(session.ends_at):%H:%M})")
    if any(r.started_at for r in get_rounds(session)):
        fields.error("count", "rounds have already started; mark absences and re-plan instead")
    fields.raise_if_any("the rounds are not valid")
    db.session.execute(delete(CafeRound).where(CafeRound.session_id == session.id))
    made = []
    start = first
    for number in range(1, count + 1):
        end = start + timedelta(minutes=minutes)
        made.append(CafeRound(session_id=session.id, number=number, starts_at=start, ends_at=end))
        start = end + timedelta(minutes=gap)
    db.session.add_all(made)
    db.session.commit()
    return made


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
    values = _table_values(table.session, data, table)
    for key, value in values.items():
        setattr(table, key, value)
    db.session.commit()
    return table


def delete_table(table: CafeTable) -> None:
    """Remove a table (plans that seat people there lose those seats)."""
    db.session.delete(table)
    db.session.commit()


# --------------------------------------------------------------------------- engine input


def plan_rounds(plan: CafePlan, tables: list[CafeTable], round_count: int) -> list[dict]:
    """Return ``plan`` in the engine's shape: per round, table id -> delegate ids (host first)."""
    by_id = {t.id: t for t in tables}
    rounds: list[dict[str, list[str]]] = [{t.engine_id: [] for t in tables}
                                          for _ in range(round_count)]
    for seat in sorted(plan.seats, key=lambda s: s.delegate_id):
        table = by_id.get(seat.table_id)
        if table is None or not 1 <= seat.round_number <= round_count:
            continue
        people = rounds[seat.round_number - 1][table.engine_id]
        did = engine_delegate_id(seat.delegate_id)
        if table.host_id == seat.delegate_id:
            people.insert(0, did)
        else:
            people.append(did)
    return rounds


def build_problem(session: Session, *, base: CafePlan | None = None, from_round: int = 1,
                  time_limit_s: float | None = None, seed: int = 0) -> dict:
    """Return the engine input for ``session`` from the database.

    Delegates are the conference's active delegates, plus anyone seated in a kept round of
    ``base``; rounds before ``from_round`` are copied from ``base`` as ``fixed`` seats and
    everyone else is ``absent`` then. Marked absences and cancelled delegates are ``absent``
    in the rounds that are planned.
    """
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
        table = table_by_id.get(seat.table_id)
        if table is None:
            continue
        seated[seat.round_number].add(seat.delegate_id)
        fixed.append({"round": seat.round_number, "table": table.engine_id,
                      "delegate": engine_delegate_id(seat.delegate_id)})
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
    return {
        "rounds": len(rounds),
        "tables": [{"id": t.engine_id, "capacity": t.capacity, "step_free": t.step_free,
                    **({"host": engine_delegate_id(t.host_id)} if t.host_id in people else {})}
                   for t in tables],
        "delegates": [{"id": engine_delegate_id(d.id), "organisation": d.organisation or None,
                       "needs_step_free": bool(d.needs_step_free)}
                      for d in sorted(people.values(), key=lambda d: d.id)],
        "fixed": fixed,
        "absent": {str(r): sorted(engine_delegate_id(i) for i in ids)
                   for r, ids in sorted(absent.items()) if ids},
        "seed": seed,
        "time_limit_s": limit,
    }


def _engine_error(exc: cafe.CafeInputError) -> ConvenorError:
    return ConvenorError(getattr(exc, "code", "invalid_input"), _readable(str(exc)))


def _readable(text: str) -> str:
    """Replace engine ids ("d12", "T3") in an engine message with names."""
    def name(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith("d"):
            delegate = db.session.get(Delegate, int(token[1:]))
            return delegate.name if delegate else token
        return f"Table {token[1:]}"

    return re.sub(r"\b[dT]\d+\b", name, text)


def _save_plan(session: Session, rounds: list[dict], stats: dict, note: str) -> CafePlan:
    """Add ``rounds`` (engine shape) as the next draft version; the caller commits."""
    tables = {t.engine_id: t for t in get_tables(session)}
    top = db.session.scalar(select(func.max(CafePlan.version))
                            .where(CafePlan.session_id == session.id)) or 0
    plan = CafePlan(session_id=session.id, version=top + 1, status="draft", note=note[:300],
                    stats=dict(stats))
    db.session.add(plan)
    for number, plan_round in enumerate(rounds, 1):
        for table_key, people in plan_round.items():
            for did in people:
                plan.seats.append(CafeSeat(round_number=number, table_id=tables[table_key].id,
                                           delegate_id=int(str(did)[1:])))
    return plan


def first_open_round(session: Session) -> int:
    """Return the number of the first round that has not started (rounds + 1 if all have)."""
    rounds = get_rounds(session)
    for r in rounds:
        if r.started_at is None:
            return r.number
    return len(rounds) + 1


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
    version = (db.session.scalar(select(func.max(CafePlan.version))
                                 .where(CafePlan.session_id == session.id)) or 0) + 1
    problem = build_problem(session, base=base, from_round=from_round,
                            time_limit_s=time_limit_s, seed=version)
    try:
        result = cafe.allocate(problem)
    except cafe.CafeInputError as exc:
        raise _engine_error(exc) from None
    note = "Allocated" if from_round == 1 else f"Re-planned rounds {from_round}–{len(rounds)}"
    plan = _save_plan(session, result["rounds"], result["stats"], note)
    _commit_plan()
    return plan


def _commit_plan() -> None:
    """Commit a new plan version; two saved at once get ``conflict`` for the loser."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", "another change to this table plan was saved at the "
                            "same moment; reload the page and try again") from None


# --------------------------------------------------------------------------- hand moves


def _check_problem(session: Session, plan: CafePlan) -> dict:
    """Return the engine problem used to check and score ``plan``: started rounds as they are."""
    return build_problem(session, base=plan, from_round=first_open_round(session),
                         time_limit_s=1.0)


def _preload_delegates(conference: Conference) -> None:
    """Load every delegate once so seat.delegate and table.host need no query each."""
    list(db.session.scalars(select(Delegate).where(Delegate.conference_id == conference.id)))


def plan_problems(session: Session, plan: CafePlan) -> list[str]:
    """Return the hard rules ``plan`` breaks today (people left, tables changed …)."""
    try:
        problem = _check_problem(session, plan)
        rounds = plan_rounds(plan, get_tables(session), problem["rounds"])
        return [_readable(p) for p in cafe.check(problem, rounds)]
    except cafe.CafeInputError as exc:
        return [_readable(str(exc))]
    except ConvenorError as exc:
        return [exc.message]


def move_delegate(session: Session, delegate_id: int, round_number: int,
                  table_id: int) -> CafePlan:
    """Seat a delegate at another table in one round of the newest plan; return that plan.

    A published plan is never changed: the move makes a new draft. The move is refused
    (``rule_broken``) if it breaks a hard rule the plan kept before (capacity, host,
    step-free access, absence), and refused (``round_started``) in a round that has started.
    """
    plan = latest_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "run the allocation first")
    rounds = get_rounds(session)
    if not 1 <= round_number <= len(rounds):
        raise ConvenorError("invalid", f"there is no round {round_number}",
                            [{"field": "round_number", "message": "is not a round"}])
    if rounds[round_number - 1].started_at is not None:
        raise ConvenorError("round_started", f"round {round_number} has already started; "
                            "its seats stay as they were",
                            [{"field": "round_number", "message": "has already started"}])
    table = get_table(session, table_id)
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None or delegate.conference_id != session.conference_id:
        raise ConvenorError("not_found", f"no delegate {delegate_id} in this conference",
                            [{"field": "delegate_id", "message": "is not a delegate"}])
    tables = get_tables(session)
    problem = _check_problem(session, plan)
    before = plan_rounds(plan, tables, len(rounds))
    after = [{k: list(v) for k, v in r.items()} for r in before]
    did = engine_delegate_id(delegate.id)
    current = None
    for key, people in after[round_number - 1].items():
        if did in people:
            current = key
            people.remove(did)
    if current == table.engine_id:
        raise ConvenorError("invalid", f"{delegate.name} already sits at {table.name} in round "
                            f"{round_number}", [{"field": "table_id", "message": "is their table"}])
    after[round_number - 1][table.engine_id].append(did)
    try:
        old = set(cafe.check(problem, before))
        new = [p for p in cafe.check(problem, after) if p not in old]
        stats = cafe.score(problem, after)
    except cafe.CafeInputError as exc:
        raise _engine_error(exc) from None
    if new:
        raise ConvenorError("rule_broken", _readable(new[0]),
                            [{"field": "table_id", "message": _readable(p)} for p in new])
    where = f"{table.name} in round {round_number}"
    note = f"Moved {delegate.name} to {where}"
    if plan.status == "draft":
        seat = next((s for s in plan.seats if s.round_number == round_number
                     and s.delegate_id == delegate.id), None)
        if seat is None:
            plan.seats.append(CafeSeat(round_number=round_number, table_id=table.id,
                                       delegate_id=delegate.id))
        else:
            seat.table_id = table.id
        plan.stats = dict(stats)
        plan.note = (f"{plan.note}; {note}" if plan.note else note)[-300:]
    else:
        plan = _save_plan(session, after, stats, f"From version {plan.version}: {note}")
    _commit_plan()
    return plan


# --------------------------------------------------------------------------- publishing


def seat_details(session: Session, plan: CafePlan,
                 delegate_id: int | None = None) -> dict[int, list[dict]]:
    """Return each seated delegate's seats in ``plan``: round, table, question, host, room, times.

    With ``delegate_id``, only that delegate's seats are loaded (for their own page).
    """
    conference = session.conference
    if delegate_id is None:
        _preload_delegates(conference)
        seats = list(plan.seats)
    else:
        seats = list(db.session.scalars(select(CafeSeat).where(
            CafeSeat.plan_id == plan.id, CafeSeat.delegate_id == delegate_id)))
    rounds = {r.number: r for r in get_rounds(session)}
    tables = {t.id: t for t in get_tables(session)}
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


def publish(session: Session, version: int | None = None, *, now: datetime | None = None) -> CafePlan:
    """Publish a plan version (default: the newest) in one transaction; return it.

    The previously published version becomes "superseded" in the same commit, so a failure
    leaves it published. A plan that breaks a hard rule (``rule_broken``) is refused.
    Publishing the version that is already published changes nothing and sends nothing.
    Sends ``allocation_published`` after the commit.
    """
    plan = get_plan(session, version) if version is not None else latest_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "run the allocation first")
    if plan.status == "published":
        return plan  # a repeated publish (double click, retry) returns the first result
    try:
        previous = published_plan(session)
        if previous is not None:
            previous.status = "superseded"
            db.session.flush()
        plan.status = "published"
        plan.published_at = now or utcnow()
        db.session.flush()
        problems = plan_problems(session, plan)
        if problems:
            raise ConvenorError("rule_broken", "this plan cannot be published: " + problems[0],
                                [{"message": p} for p in problems])
        per_delegate = seat_details(session, plan)
        session.conference.version += 1
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    signals.allocation_published.send(session.conference, kind="cafe", session=session,
                                      version=plan.version, per_delegate=per_delegate)
    return plan


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


def start_round(session: Session, number: int, *, now: datetime | None = None) -> dict:
    """Mark round ``number`` started and tell every seated delegate where to go.

    Needs a published plan. Sends ``round_starting`` (kind "cafe") with, per delegate id,
    their table, host, question and room. Returns a summary dict.
    """
    if session.kind != "world_cafe":
        raise ConvenorError("not_found", "this session is not a World Cafe")
    rounds = get_rounds(session)
    if not 1 <= number <= len(rounds):
        raise ConvenorError("not_found", f"there is no round {number}")
    plan = published_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "publish a table plan before starting a round")
    cafe_round = rounds[number - 1]
    if cafe_round.started_at is None:
        cafe_round.started_at = now or utcnow()
    db.session.commit()
    per_delegate = {}
    for delegate_id, seats in seat_details(session, plan).items():
        for seat in seats:
            if seat["round"] == number:
                per_delegate[delegate_id] = {k: seat[k] for k in
                                             ("table", "room", "host", "question", "round")}
    signals.round_starting.send(session.conference, kind="cafe", session=session, number=number,
                                per_delegate=per_delegate)
    return {"kind": "cafe", "session_id": session.id, "number": number,
            "started_at": cafe_round.started_at.isoformat(), "plan_version": plan.version,
            "delegates": len(per_delegate)}


# --------------------------------------------------------------------------- reading


def delegate_tables(delegate: Delegate) -> list[dict]:
    """Return the delegate's seats in every published World Cafe plan, in time order."""
    out = []
    for session in cafe_sessions(delegate.conference):
        plan = published_plan(session)
        if plan is None:
            continue
        for seat in seat_details(session, plan, delegate.id).get(delegate.id, []):
            out.append({"session_id": session.id, "session": session.title,
                        "plan_version": plan.version, **seat})
    return sorted(out, key=lambda s: (s["starts_at"], s["session_id"]))


def floor_plan(session: Session, plan: CafePlan) -> list[dict]:
    """Return each round as table cards for the organiser's floor plan.

    Each card has the table, its people (name, organisation, colour, host, met-before and
    same-organisation marks), and counts of repeated meetings and colleague pairs.
    """
    _preload_delegates(session.conference)
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
