"""Carousel verbs: define slots and workshops, collect ranked preferences, assign, move, publish.

Services own the transaction, raise ``ConvenorError`` with a code, and send signals only
after a successful commit. The assignment comes from the pure engine
``carousels.rotation``; delegates are known to it as "d<id>", slots as "S<number>" and
workshops as "W<id>". Delegates who need step-free access or a hearing loop are kept out of
workshops whose room lacks it (the engine's per-delegate ``exclude`` rule, checked here too).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from carousels.workshops import engine as rotation
from carousels.workshops.models import (
    LED_BY,
    CarouselBlock,
    CarouselPlan,
    CarouselPreference,
    CarouselSeat,
    CarouselSlot,
    CarouselWorkshop,
    engine_delegate_id,
)
from events import signals
from events.conference.models import Conference, Delegate, Room, Session, Speaker
from events.conference.services import Fields
from events.errors import ConvenorError
from events.extensions import db
from events.types import utcnow

DEFAULT_TIME_LIMIT_S = 10.0
MAX_SLOTS = 8
MAX_WORKSHOPS = 60
MAX_CAPACITY = 1000


# --------------------------------------------------------------------------- lookups


def carousel_sessions(conference: Conference) -> list[Session]:
    """Return the conference's carousel sessions in time order."""
    return list(db.session.scalars(
        select(Session).where(Session.conference_id == conference.id, Session.kind == "carousel")
        .order_by(Session.starts_at, Session.id)))


def get_carousel_session(conference: Conference, session_id: int) -> Session:
    """Return one of the conference's carousel sessions or raise ``not_found``."""
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id or session.kind != "carousel":
        raise ConvenorError("not_found", f"no carousel session {session_id} in this conference")
    return session


def get_block(session: Session) -> CarouselBlock | None:
    """Return the session's preference settings, if any were saved."""
    return db.session.scalar(select(CarouselBlock).where(CarouselBlock.session_id == session.id))


def get_slots(session: Session) -> list[CarouselSlot]:
    """Return the session's slots in order."""
    return list(db.session.scalars(
        select(CarouselSlot).where(CarouselSlot.session_id == session.id)
        .order_by(CarouselSlot.number)))


def get_workshops(session: Session) -> list[CarouselWorkshop]:
    """Return the session's workshops by title."""
    return list(db.session.scalars(
        select(CarouselWorkshop).where(CarouselWorkshop.session_id == session.id)
        .order_by(CarouselWorkshop.title, CarouselWorkshop.id)))


def get_workshop(session: Session, workshop_id: int) -> CarouselWorkshop:
    """Return one of the session's workshops or raise ``not_found``."""
    workshop = db.session.get(CarouselWorkshop, workshop_id)
    if workshop is None or workshop.session_id != session.id:
        raise ConvenorError("not_found", f"no workshop {workshop_id} in this carousel")
    return workshop


def get_plans(session: Session) -> list[CarouselPlan]:
    """Return every plan version of the session, newest first."""
    return list(db.session.scalars(
        select(CarouselPlan).where(CarouselPlan.session_id == session.id)
        .order_by(CarouselPlan.version.desc())))


def latest_plan(session: Session) -> CarouselPlan | None:
    """Return the newest plan version (draft or published), if any."""
    return db.session.scalar(select(CarouselPlan).where(CarouselPlan.session_id == session.id)
                             .order_by(CarouselPlan.version.desc()).limit(1))


def published_plan(session: Session) -> CarouselPlan | None:
    """Return the published plan, if any."""
    return db.session.scalar(select(CarouselPlan).where(CarouselPlan.session_id == session.id,
                                                        CarouselPlan.status == "published"))


def get_plan(session: Session, version: int) -> CarouselPlan:
    """Return one plan version or raise ``not_found``."""
    plan = db.session.scalar(select(CarouselPlan).where(CarouselPlan.session_id == session.id,
                                                        CarouselPlan.version == version))
    if plan is None:
        raise ConvenorError("not_found", f"there is no plan version {version}")
    return plan


def active_delegates(conference: Conference) -> list[Delegate]:
    """Return the conference's active delegates by name."""
    return list(db.session.scalars(
        select(Delegate).where(Delegate.conference_id == conference.id,
                               Delegate.status == "active").order_by(Delegate.name, Delegate.id)))


def _preload_delegates(conference: Conference) -> None:
    """Load every delegate once so seat.delegate needs no query each."""
    list(db.session.scalars(select(Delegate).where(Delegate.conference_id == conference.id)))


# --------------------------------------------------------------------------- setup


def _slot_times(fields: Fields, session: Session) -> tuple[datetime | None, datetime | None]:
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


def add_slot(session: Session, data: dict) -> CarouselSlot:
    """Add a rotation slot after the existing ones (``label``, ``starts_at``, ``ends_at``).

    Every existing workshop runs in the new slot too (untick it on the workshop if not).
    """
    fields = Fields(data)
    label = fields.text("label", max_len=60)
    starts, ends = _slot_times(fields, session)
    existing = get_slots(session)
    if len(existing) >= MAX_SLOTS:
        fields.error("starts_at", f"a carousel has at most {MAX_SLOTS} slots")
    if existing and starts and starts < existing[-1].ends_at:
        fields.error("starts_at", "must not start before the previous slot ends")
    fields.raise_if_any("the slot is not valid")
    slot = CarouselSlot(session_id=session.id, number=len(existing) + 1, label=label,
                        starts_at=starts, ends_at=ends)
    db.session.add(slot)
    for workshop in get_workshops(session):
        workshop.slots.append(slot)
    db.session.commit()
    return slot


def delete_slot(session: Session, number: int) -> None:
    """Remove the last slot (plans that seat people there lose those seats)."""
    slots = get_slots(session)
    if not slots or slots[-1].number != number:
        raise ConvenorError("invalid", "only the last slot can be removed")
    if slots[-1].started_at is not None:
        raise ConvenorError("invalid", "this slot has started")
    db.session.delete(slots[-1])
    db.session.commit()


def _workshop_values(session: Session, data: dict, workshop: CarouselWorkshop | None) -> dict:
    fields = Fields(data, partial=workshop is not None)
    values: dict[str, Any] = {}
    if fields.has("title"):
        values["title"] = fields.text("title", required=True, max_len=200)
    if fields.has("description"):
        values["description"] = fields.text("description", max_len=2000)
    if fields.has("led_by"):
        led_by = fields.text("led_by", max_len=10) or "expert"
        if led_by not in LED_BY:
            fields.error("led_by", f"must be one of {', '.join(LED_BY)}")
        values["led_by"] = led_by
    room = workshop.room if workshop else None
    if fields.has("room_id"):
        room_id = fields.integer("room_id", minimum=1)
        room = db.session.get(Room, room_id) if room_id else None
        if room_id and (room is None or room.conference_id != session.conference_id):
            fields.error("room_id", f"there is no room {room_id} in this conference")
            room = None
        values["room_id"] = room.id if room else None
    capacity = workshop.capacity if workshop else None
    if fields.has("capacity") or workshop is None:
        if data.get("capacity") in (None, "") and room is not None:
            capacity = room.capacity
        else:
            capacity = fields.integer("capacity", required=True, minimum=1)
        if capacity and capacity > MAX_CAPACITY:
            fields.error("capacity", f"must be at most {MAX_CAPACITY}")
        if capacity is not None:
            values["capacity"] = capacity
    if capacity and room is not None and capacity > room.capacity:
        fields.error("capacity", f"must be at most {room.capacity}, the seats in {room.name}")
    if fields.has("leader_ids"):
        leaders = []
        for raw in data.get("leader_ids") or []:
            speaker = db.session.get(Speaker, int(raw)) if str(raw).isdigit() else None
            if speaker is None or speaker.conference_id != session.conference_id:
                fields.error("leader_ids", f"there is no speaker {raw} in this conference")
            elif speaker not in leaders:
                leaders.append(speaker)
        values["leaders"] = leaders
    slots = get_slots(session)
    if fields.has("slot_numbers") or workshop is None:
        raw_numbers = data.get("slot_numbers")
        by_number = {s.number: s for s in slots}
        chosen = []
        for raw in (raw_numbers if raw_numbers is not None else list(by_number)):
            slot = by_number.get(int(raw)) if str(raw).isdigit() else None
            if slot is None:
                fields.error("slot_numbers", f"there is no slot {raw}")
            elif slot not in chosen:
                chosen.append(slot)
        if slots and not chosen and raw_numbers is not None:
            fields.error("slot_numbers", "choose at least one slot")
        values["slots"] = chosen
    fields.raise_if_any("the workshop is not valid")
    return values


def add_workshop(session: Session, data: dict) -> CarouselWorkshop:
    """Add a workshop (``title``, ``description``, ``led_by``, ``room_id``, ``capacity``,
    ``leader_ids``, ``slot_numbers`` — default every slot; capacity defaults to the room's)."""
    data = {"led_by": "expert", **data}
    values = _workshop_values(session, data, None)
    if len(get_workshops(session)) >= MAX_WORKSHOPS:
        raise ConvenorError("invalid", f"a carousel has at most {MAX_WORKSHOPS} workshops")
    workshop = CarouselWorkshop(session_id=session.id, **values)
    db.session.add(workshop)
    db.session.commit()
    return workshop


def update_workshop(workshop: CarouselWorkshop, data: dict) -> CarouselWorkshop:
    """Change a workshop's title, leaders, room, seats or slots."""
    values = _workshop_values(workshop.session, data, workshop)
    for key, value in values.items():
        setattr(workshop, key, value)
    db.session.commit()
    return workshop


def delete_workshop(workshop: CarouselWorkshop) -> None:
    """Remove a workshop with its preferences (plans that seat people there lose those seats)."""
    db.session.delete(workshop)
    db.session.commit()


# --------------------------------------------------------------------------- preferences


def preferences_state(session: Session, now: datetime | None = None) -> dict:
    """Return whether delegates may rank now: ``open``, ``deadline`` and a ``reason`` if not."""
    block = get_block(session)
    now = now or utcnow()
    deadline = block.deadline if block else None
    if block is None or not block.preferences_open:
        return {"open": False, "deadline": deadline, "reason": "preferences_closed"}
    if deadline is not None and now > deadline:
        return {"open": False, "deadline": deadline, "reason": "after_deadline"}
    return {"open": True, "deadline": deadline, "reason": None}


def set_preferences_window(session: Session, data: dict) -> CarouselBlock:
    """Open or close ranking (``open``) with an optional ``deadline``."""
    fields = Fields(data)
    is_open = fields.boolean("open")
    deadline = fields.moment("deadline", session.conference) if data.get("deadline") else None
    if deadline and deadline > session.starts_at:
        fields.error("deadline", "must be before the carousel starts")
    fields.raise_if_any("the preference settings are not valid")
    block = get_block(session)
    if block is None:
        block = CarouselBlock(session_id=session.id)
        db.session.add(block)
    block.preferences_open = is_open
    block.deadline = deadline
    db.session.commit()
    return block


def get_preferences(session: Session, delegate_id: int) -> list[CarouselWorkshop]:
    """Return the workshops a delegate ranked, first choice first."""
    return list(db.session.scalars(
        select(CarouselWorkshop).join(CarouselPreference,
                                      CarouselPreference.workshop_id == CarouselWorkshop.id)
        .where(CarouselPreference.session_id == session.id,
               CarouselPreference.delegate_id == delegate_id)
        .order_by(CarouselPreference.rank)))


def all_preferences(session: Session) -> dict[int, list[int]]:
    """Return every delegate's ranked workshop ids, first choice first."""
    out: dict[int, list[int]] = defaultdict(list)
    for pref in db.session.scalars(select(CarouselPreference)
                                   .where(CarouselPreference.session_id == session.id)
                                   .order_by(CarouselPreference.delegate_id,
                                             CarouselPreference.rank)):
        out[pref.delegate_id].append(pref.workshop_id)
    return dict(out)


def set_preferences(session: Session, delegate: Delegate, workshop_ids: list, *,
                    now: datetime | None = None, enforce_window: bool = True) -> list[CarouselWorkshop]:
    """Replace a delegate's ranking with ``workshop_ids`` (first choice first).

    Raises ``preferences_closed`` or ``after_deadline`` outside the window (unless an
    organiser sets it with ``enforce_window=False``), ``unknown_workshop`` and
    ``duplicate_workshop``. An empty list clears the ranking.
    """
    if delegate.conference_id != session.conference_id or delegate.status != "active":
        raise ConvenorError("not_found", "no such active delegate in this conference")
    if not isinstance(workshop_ids, list):
        raise ConvenorError("bad_request", "send the workshop ids as a list, first choice first")
    if enforce_window:
        state = preferences_state(session, now)
        if state["reason"] == "after_deadline":
            local = session.conference.local
            raise ConvenorError("after_deadline", "the deadline for ranking workshops "
                                f"passed at {local(state['deadline']):%H:%M on %d %B}")
        if state["reason"]:
            raise ConvenorError("preferences_closed", "ranking workshops is not open")
    known = {w.id: w for w in get_workshops(session)}
    chosen: list[CarouselWorkshop] = []
    errors = []
    for position, raw in enumerate(workshop_ids, 1):
        workshop = known.get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        if workshop is None:
            errors.append({"field": f"workshop_ids[{position - 1}]",
                           "message": f"{raw!r} is not a workshop of this carousel"})
        elif workshop in chosen:
            raise ConvenorError("duplicate_workshop",
                                f"“{workshop.title}” is ranked more than once",
                                [{"field": f"workshop_ids[{position - 1}]",
                                  "message": "is ranked more than once"}])
        else:
            chosen.append(workshop)
    if errors:
        raise ConvenorError("unknown_workshop", errors[0]["message"], errors)
    db.session.execute(delete(CarouselPreference).where(
        CarouselPreference.session_id == session.id,
        CarouselPreference.delegate_id == delegate.id))
    stamp = now or utcnow()
    db.session.add_all(CarouselPreference(session_id=session.id, delegate_id=delegate.id,
                                          workshop_id=w.id, rank=rank, updated_at=stamp)
                       for rank, w in enumerate(chosen, 1))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", "this ranking was changed at the same moment "
                            "elsewhere; reload and try again") from None
    return chosen


# --------------------------------------------------------------------------- engine input


def excluded(delegate: Delegate, workshop: CarouselWorkshop) -> str | None:
    """Return why ``delegate`` cannot attend ``workshop`` (its room lacks their access), or None."""
    room = workshop.room
    if room is None:
        return None
    if delegate.needs_step_free and not room.step_free:
        return f"{delegate.name} needs step-free access and {room.name} has none"
    if delegate.needs_hearing_loop and not room.hearing_loop:
        return f"{delegate.name} needs a hearing loop and {room.name} has none"
    return None


def build_problem(session: Session, *, time_limit_s: float | None = None) -> dict:
    """Return the engine input for ``session`` from the database (active delegates only)."""
    slots = get_slots(session)
    workshops = get_workshops(session)
    if not slots:
        raise ConvenorError("no_slots", "add the rotation slots first")
    if not workshops:
        raise ConvenorError("no_workshops", "add the workshops first")
    prefs = all_preferences(session)
    by_id = {w.id: w for w in workshops}
    delegates = []
    for d in sorted(active_delegates(session.conference), key=lambda d: d.id):
        entry: dict[str, Any] = {
            "id": engine_delegate_id(d.id),
            "preferences": [by_id[w].engine_id for w in prefs.get(d.id, []) if w in by_id]}
        barred = [w.engine_id for w in workshops if excluded(d, w)]
        if barred:
            entry["exclude"] = barred
        delegates.append(entry)
    limit = time_limit_s if time_limit_s is not None else float(
        current_app.config.get("CAROUSEL_TIME_LIMIT_S", DEFAULT_TIME_LIMIT_S))
    return {
        "slots": [s.engine_id for s in slots],
        "workshops": [{"id": w.engine_id, "capacity": w.capacity,
                       "slots": [s.engine_id for s in w.slots]} for w in workshops],
        "delegates": delegates,
        "fixed": [],
        "time_limit_s": limit,
    }


def _readable(text: str, session: Session) -> str:
    """Replace engine ids ("d12", "W3", "S2") in an engine message with names."""
    workshops = {w.engine_id: w.title for w in get_workshops(session)}
    slots = {s.engine_id: s.name for s in get_slots(session)}

    def name(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith("d"):
            delegate = db.session.get(Delegate, int(token[1:]))
            return delegate.name if delegate else token
        return workshops.get(token) or slots.get(token) or token

    return re.sub(r"\b[dWS]\d+\b", name, text).replace("'", "")


def plan_assignments(plan: CarouselPlan, slots: list[CarouselSlot],
                     workshops: list[CarouselWorkshop]) -> dict[str, dict[str, str]]:
    """Return ``plan`` in the engine's shape: delegate id -> {slot id: workshop id}."""
    slot_by_id = {s.id: s for s in slots}
    work_by_id = {w.id: w for w in workshops}
    out: dict[str, dict[str, str]] = {}
    for seat in sorted(plan.seats, key=lambda s: s.delegate_id):
        slot, workshop = slot_by_id.get(seat.slot_id), work_by_id.get(seat.workshop_id)
        if slot is None or workshop is None:
            continue
        out.setdefault(engine_delegate_id(seat.delegate_id), {})[slot.engine_id] = \
            workshop.engine_id
    return out


def _access_problems(session: Session, plan_seats) -> list[str]:
    found = []
    for seat in plan_seats:
        why = excluded(seat.delegate, seat.workshop)
        if why:
            found.append(f"{why} ({seat.workshop.title}, {seat.slot.name})")
    return found


def plan_problems(session: Session, plan: CarouselPlan) -> list[str]:
    """Return the hard rules ``plan`` breaks today (people added, seats changed …)."""
    try:
        problem = build_problem(session, time_limit_s=1.0)
        assignments = plan_assignments(plan, get_slots(session), get_workshops(session))
        found = [_readable(p, session) for p in rotation.check(problem, assignments)]
    except rotation.RotationInputError as exc:
        return [_readable(str(exc), session)]
    except ConvenorError as exc:
        return [exc.message]
    return found + _access_problems(session, plan.seats)


def _save_plan(session: Session, assignments: dict, stats: dict, note: str) -> CarouselPlan:
    """Add ``assignments`` (engine shape) as the next draft version; the caller commits."""
    slots = {s.engine_id: s for s in get_slots(session)}
    workshops = {w.engine_id: w for w in get_workshops(session)}
    top = db.session.scalar(select(func.max(CarouselPlan.version))
                            .where(CarouselPlan.session_id == session.id)) or 0
    plan = CarouselPlan(session_id=session.id, version=top + 1, status="draft", note=note[:300],
                        stats=dict(stats))
    db.session.add(plan)
    for did, schedule in sorted(assignments.items()):
        for sid, wid in sorted(schedule.items()):
            plan.seats.append(CarouselSeat(slot_id=slots[sid].id, workshop_id=workshops[wid].id,
                                           delegate_id=int(did[1:])))
    return plan


def _commit_plan() -> None:
    """Commit a new plan version; two saved at once get ``conflict`` for the loser."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", "another change to this carousel was saved at the "
                            "same moment; reload the page and try again") from None


def _stats(problem: dict, assignments: dict, base: dict | None = None) -> dict:
    """Return stats for ``assignments``: the engine's, with cost and histogram recomputed."""
    prefs = {d["id"]: d["preferences"] for d in problem["delegates"]}
    histogram: Counter = Counter()
    first = ranked_people = 0
    for did, schedule in assignments.items():
        ranked = prefs.get(did, [])
        if ranked:
            ranked_people += 1
            first += ranked[0] in schedule.values()
        for wid in schedule.values():
            histogram[str(ranked.index(wid) + 1) if wid in ranked else rotation.UNRANKED] += 1
    stats = dict(base or {})
    stats.update({
        "cost": rotation.cost_of(problem, assignments),
        "rank_histogram": dict(sorted(histogram.items(),
                                      key=lambda kv: (not kv[0].isdigit(),
                                                      int(kv[0]) if kv[0].isdigit() else 0))),
        "first_choice_pct": round(100 * first / ranked_people, 1) if ranked_people else 0.0,
    })
    return stats


def run_assignment(session: Session, *, time_limit_s: float | None = None) -> CarouselPlan:
    """Compute a new draft plan from everyone's current preferences.

    Raises ``no_slots``, ``no_workshops``, ``slot_started`` or the engine's input codes
    (e.g. when a slot lacks seats) with a readable message.
    """
    if any(s.started_at for s in get_slots(session)):
        raise ConvenorError("slot_started", "the carousel has started; move people by hand")
    problem = build_problem(session, time_limit_s=time_limit_s)
    previous = published_plan(session)
    warm = None
    if previous is not None:
        warm = plan_assignments(previous, get_slots(session), get_workshops(session))
    try:
        result = rotation.assign(problem, warm_start=warm)
    except rotation.RotationError as exc:
        raise ConvenorError(getattr(exc, "code", "rotation_failed"),
                            _readable(str(exc), session)) from None
    assignments = result["assignments"]
    base_stats = dict(result["stats"])
    stats = _stats(problem, assignments, base_stats)
    plan = _save_plan(session, assignments, stats, "Assigned")
    _commit_plan()
    return plan


# --------------------------------------------------------------------------- hand moves


def move_delegate(session: Session, delegate_id: int, slot_number: int,
                  workshop_id: int) -> CarouselPlan:
    """Put a delegate in another workshop in one slot of the newest plan; return that plan.

    A published plan is never changed: the move makes a new draft. The move is refused
    (``rule_broken``) if it breaks a hard rule (capacity, a workshop twice, a workshop not
    running in that slot, the room's access) and (``slot_started``) in a started slot.
    """
    plan = latest_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "run the assignment first")
    slots = get_slots(session)
    if not 1 <= slot_number <= len(slots):
        raise ConvenorError("invalid", f"there is no slot {slot_number}",
                            [{"field": "slot_number", "message": "is not a slot"}])
    slot = slots[slot_number - 1]
    if slot.started_at is not None:
        raise ConvenorError("slot_started", f"{slot.name} has already started",
                            [{"field": "slot_number", "message": "has already started"}])
    workshop = get_workshop(session, workshop_id)
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None or delegate.conference_id != session.conference_id:
        raise ConvenorError("not_found", f"no delegate {delegate_id} in this conference",
                            [{"field": "delegate_id", "message": "is not a delegate"}])
    workshops = get_workshops(session)
    problem = build_problem(session, time_limit_s=1.0)
    before = plan_assignments(plan, slots, workshops)
    did = engine_delegate_id(delegate.id)
    after = {k: dict(v) for k, v in before.items()}
    if after.get(did, {}).get(slot.engine_id) == workshop.engine_id:
        raise ConvenorError("invalid", f"{delegate.name} is already in {workshop.title} in "
                            f"{slot.name}", [{"field": "workshop_id", "message": "is their workshop"}])
    after.setdefault(did, {})[slot.engine_id] = workshop.engine_id
    new: list[str] = []
    why = excluded(delegate, workshop)
    if why:
        new.append(why)
    try:
        old = set(rotation.check(problem, before))
        new += [_readable(p, session) for p in rotation.check(problem, after) if p not in old]
        stats = _stats(problem, after, plan.stats)
    except rotation.RotationInputError as exc:
        raise ConvenorError(exc.code, _readable(str(exc), session)) from None
    if new:
        raise ConvenorError("rule_broken", new[0],
                            [{"field": "workshop_id", "message": p} for p in new])
    note = f"Moved {delegate.name} to {workshop.title} in {slot.name}"
    stats["optimal"] = False
    if plan.status == "draft":
        seat = next((s for s in plan.seats if s.slot_id == slot.id
                     and s.delegate_id == delegate.id), None)
        if seat is None:
            plan.seats.append(CarouselSeat(slot_id=slot.id, workshop_id=workshop.id,
                                           delegate_id=delegate.id))
        else:
            seat.workshop_id = workshop.id
        plan.stats = stats
        plan.note = (f"{plan.note}; {note}" if plan.note else note)[-300:]
    else:
        plan = _save_plan(session, after, stats, f"From version {plan.version}: {note}")
    _commit_plan()
    return plan


# --------------------------------------------------------------------------- publishing


def seat_details(session: Session, plan: CarouselPlan,
                 delegate_id: int | None = None) -> dict[int, list[dict]]:
    """Return each seated delegate's workshops in ``plan``: slot, times, workshop, room, leaders.

    With ``delegate_id``, only that delegate's seats are loaded (for their own page).
    """
    conference = session.conference
    if delegate_id is None:
        _preload_delegates(conference)
        seats = list(plan.seats)
    else:
        seats = list(db.session.scalars(select(CarouselSeat).where(
            CarouselSeat.plan_id == plan.id, CarouselSeat.delegate_id == delegate_id)))
    slots = {s.id: s for s in get_slots(session)}
    workshops = {w.id: w for w in get_workshops(session)}
    out: dict[int, list[dict]] = defaultdict(list)
    for seat in sorted(seats, key=lambda s: (s.delegate_id, slots[s.slot_id].number
                                             if s.slot_id in slots else 0)):
        slot, workshop = slots.get(seat.slot_id), workshops.get(seat.workshop_id)
        if slot is None or workshop is None:
            continue
        out[seat.delegate_id].append({
            "slot": slot.number,
            "slot_label": slot.name,
            "starts_at": conference.local(slot.starts_at).isoformat(),
            "ends_at": conference.local(slot.ends_at).isoformat(),
            "workshop": workshop.title,
            "workshop_id": workshop.id,
            "room": workshop.room.name if workshop.room else "",
            "leaders": workshop.leaders_line,
        })
    return dict(out)


def publish(session: Session, version: int | None = None, *,
            now: datetime | None = None) -> CarouselPlan:
    """Publish a plan version (default: the newest) in one transaction; return it.

    The previously published version becomes "superseded" in the same commit, so a failure
    leaves it published. A plan that breaks a hard rule (``rule_broken``) is refused.
    Publishing the version that is already published changes nothing and sends nothing.
    Sends ``allocation_published`` (kind "carousel") after the commit.
    """
    plan = get_plan(session, version) if version is not None else latest_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "run the assignment first")
    if plan.status == "published":
        return plan
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
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", "another organiser published at the same moment; "
                            "reload the page and try again") from None
    except Exception:
        db.session.rollback()
        raise
    signals.allocation_published.send(session.conference, kind="carousel", session=session,
                                      version=plan.version, per_delegate=per_delegate)
    return plan


def start_slot(session: Session, number: int, *, now: datetime | None = None) -> dict:
    """Mark slot ``number`` started and tell every seated delegate where to go.

    Needs a published plan (``no_plan``). Sends ``round_starting`` (kind "carousel") with,
    per delegate id, their slot, times, workshop, room and leaders. Returns a summary dict.
    """
    if session.kind != "carousel":
        raise ConvenorError("not_found", "this session is not a carousel")
    slots = get_slots(session)
    if not 1 <= number <= len(slots):
        raise ConvenorError("not_found", f"there is no slot {number}")
    plan = published_plan(session)
    if plan is None:
        raise ConvenorError("no_plan", "publish the assignment before starting a slot")
    slot = slots[number - 1]
    if slot.started_at is None:
        slot.started_at = now or utcnow()
    db.session.commit()
    per_delegate = {}
    for delegate_id, seats in seat_details(session, plan).items():
        for seat in seats:
            if seat["slot"] == number:
                per_delegate[delegate_id] = {k: seat[k] for k in (
                    "slot", "slot_label", "starts_at", "ends_at", "workshop", "room", "leaders")}
    signals.round_starting.send(session.conference, kind="carousel", session=session,
                                number=number, per_delegate=per_delegate)
    return {"kind": "carousel", "session_id": session.id, "number": number,
            "started_at": slot.started_at.isoformat(), "plan_version": plan.version,
            "delegates": len(per_delegate)}


# --------------------------------------------------------------------------- reading


def delegate_line(seat: dict) -> str:
    """Return "Carousel 1 · 11:15 · Room B — AI in the classroom with Pete F. Atherton PhD"."""
    parts = [seat["slot_label"], seat["starts_at"][11:16]]
    if seat["room"]:
        parts.append(seat["room"])
    line = " · ".join(parts) + " — " + seat["workshop"]
    if seat["leaders"]:
        line += " with " + seat["leaders"]
    return line


def delegate_carousels(delegate: Delegate, now: datetime | None = None) -> list[dict]:
    """Return, per carousel, the workshops, the delegate's ranking, the window and their seats."""
    out = []
    for session in carousel_sessions(delegate.conference):
        workshops = get_workshops(session)
        if not workshops:
            continue
        plan = published_plan(session)
        seats = seat_details(session, plan, delegate.id).get(delegate.id, []) if plan else []
        ranked = [w.id for w in get_preferences(session, delegate.id)]
        state = preferences_state(session, now)
        out.append({
            "session_id": session.id, "session": session.title,
            "plan_version": plan.version if plan else None,
            "preferences_open": state["open"],
            "deadline": (session.conference.local(state["deadline"]).isoformat()
                         if state["deadline"] else None),
            "deadline_text": (f"{session.conference.local(state['deadline']):%H:%M} on "
                              f"{session.conference.local(state['deadline']).day} "
                              f"{session.conference.local(state['deadline']):%B}"
                              if state["deadline"] else ""),
            "preferences": ranked,
            "workshops": [{"id": w.id, "title": w.title, "description": w.description,
                           "led_by": w.led_by, "leaders": w.leaders_line,
                           "room": w.room.name if w.room else "",
                           "rank": ranked.index(w.id) + 1 if w.id in ranked else None}
                          for w in sorted(workshops, key=lambda w: (
                              w.id not in ranked, ranked.index(w.id) if w.id in ranked else 0,
                              w.title))],
            "seats": [{**s, "line": delegate_line(s)} for s in seats],
        })
    return out


def rank_chart(plan: CarouselPlan) -> list[dict]:
    """Return the seats per rank received in ``plan`` as chart bars (label, count, percent)."""
    histogram = (plan.stats or {}).get("rank_histogram", {})
    total = sum(histogram.values()) or 1
    bars = []
    for key, count in histogram.items():
        label = f"Choice {key}" if key.isdigit() else "Not ranked"
        bars.append({"label": label, "count": count, "pct": round(100 * count / total, 1)})
    return bars


def fill(session: Session, plan: CarouselPlan) -> list[dict]:
    """Return each workshop with its seats taken per slot (None where it does not run)."""
    slots = get_slots(session)
    counts = Counter((s.workshop_id, s.slot_id) for s in plan.seats)
    rows = []
    for w in get_workshops(session):
        runs = {s.id for s in w.slots}
        rows.append({"workshop": w, "cells": [
            {"slot": s, "count": counts[w.id, s.id] if s.id in runs else None,
             "capacity": w.capacity} for s in slots]})
    return rows


def attendees(session: Session, plan: CarouselPlan) -> dict[tuple[int, int], list[Delegate]]:
    """Return the delegates in each (workshop id, slot id) of ``plan``, by name."""
    _preload_delegates(session.conference)
    out: dict[tuple[int, int], list[Delegate]] = defaultdict(list)
    for seat in plan.seats:
        out[seat.workshop_id, seat.slot_id].append(seat.delegate)
    for people in out.values():
        people.sort(key=lambda d: (d.name, d.id))
    return dict(out)


def set_slots(session: Session, data: dict) -> list[CarouselSlot]:
    """Replace the slots with ``count`` slots of ``minutes`` each, ``gap`` minutes apart."""
    fields = Fields(data)
    count = fields.integer("count", required=True, minimum=1)
    minutes = fields.integer("minutes", required=True, minimum=1)
    gap = fields.integer("gap", minimum=0) or 0
    first = fields.moment("starts_at", session.conference) if data.get("starts_at") else \
        session.starts_at
    if count and count > MAX_SLOTS:
        fields.error("count", f"must be at most {MAX_SLOTS}")
    if count and minutes and first:
        end = first + timedelta(minutes=count * minutes + (count - 1) * gap)
        if first < session.starts_at or end > session.ends_at:
            local = session.conference.local
            fields.error("minutes", f"the slots would run {local(first):%H:%M}–{local(end):%H:%M}"
                         f", outside the session ({local(session.starts_at):%H:%M}–"
                         f"{local(session.ends_at):%H:%M})")
    if any(s.started_at for s in get_slots(session)):
        fields.error("count", "the carousel has started")
    fields.raise_if_any("the slots are not valid")
    db.session.execute(delete(CarouselSlot).where(CarouselSlot.session_id == session.id))
    db.session.flush()
    db.session.expire_all()
    made = []
    start = first
    for number in range(1, count + 1):
        end = start + timedelta(minutes=minutes)
        made.append(CarouselSlot(session_id=session.id, number=number, starts_at=start,
                                 ends_at=end, label=f"Carousel {number}"))
        start = end + timedelta(minutes=gap)
    db.session.add_all(made)
    for workshop in get_workshops(session):
        workshop.slots = list(made)
    db.session.commit()
    return made
