"""Carousel verbs: define slots and workshops, collect ranked preferences, assign, move, publish.

Services own the transaction, raise ``ConvenorError`` with a code, and send signals only
after a successful commit. The assignment comes from the pure engine
``carousels.workshops.engine``, which knows delegates and workshops by their row ids and slots
by their numbers; the versioned plan lifecycle is the one in ``carousels.rounds.services``.
Delegates who need step-free access or a hearing loop are kept out of workshops whose room
lacks it (the engine's per-delegate ``exclude`` rule, checked here too).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from carousels.rounds import notices
from carousels.rounds import services as rounds_services
from carousels.rounds.services import active_delegates  # noqa: F401  (part of this API)
from carousels.workshops import engine as rotation
from carousels.workshops.models import (
    LED_BY,
    CarouselBlock,
    CarouselPlan,
    CarouselPreference,
    CarouselSeat,
    CarouselSlot,
    CarouselWorkshop,
    carousel_workshop_slots,
)
from events.conference import programme
from events.conference.models import Conference, Delegate, Room, Session, Speaker
from events.conference.services import Fields, lock_room, session_bookings
from events.errors import ConvenorError
from events.extensions import db
from events.types import utcnow

DEFAULT_TIME_LIMIT_S = 10.0
MAX_SLOTS = 8
MAX_WORKSHOPS = 60
MAX_CAPACITY = 1000


# --------------------------------------------------------------------------- lookups


def get_block(session: Session) -> CarouselBlock | None:
    """Return the session's preference settings, if any were saved."""
    return db.session.scalar(select(CarouselBlock).where(CarouselBlock.session_id == session.id))


def get_workshops(session: Session) -> list[CarouselWorkshop]:
    """Return the session's workshops by title."""
    # Rooms and leaders come along in two queries, not two per workshop (every seat line uses them).
    return list(db.session.scalars(
        select(CarouselWorkshop).where(CarouselWorkshop.session_id == session.id)
        .options(selectinload(CarouselWorkshop.room), selectinload(CarouselWorkshop.leaders))
        .order_by(CarouselWorkshop.title, CarouselWorkshop.id)))


def conference_rooms(conference: Conference) -> list[Room]:
    """Return the conference's rooms by name (where a workshop can run)."""
    return list(db.session.scalars(select(Room).where(Room.conference_id == conference.id)
                                   .order_by(Room.name)))


def conference_speakers(conference: Conference) -> list[Speaker]:
    """Return the conference's speakers by name (who can lead a workshop)."""
    return list(db.session.scalars(select(Speaker).where(Speaker.conference_id == conference.id)
                                   .order_by(Speaker.name)))


def get_workshop(session: Session, workshop_id: int) -> CarouselWorkshop:
    """Return one of the session's workshops or raise ``not_found``."""
    workshop = db.session.get(CarouselWorkshop, workshop_id)
    if workshop is None or workshop.session_id != session.id:
        raise ConvenorError("not_found", f"no workshop {workshop_id} in this carousel")
    return workshop


# --------------------------------------------------------------------------- setup


@rounds_services.rolls_back
def add_slot(session: Session, data: dict) -> CarouselSlot:
    """Add a rotation slot after the existing ones (``label``, ``starts_at``, ``ends_at``).

    Every existing workshop runs in the new slot too (untick it on the workshop if not); refused
    (``room_clash``) when a workshop's room is booked then.
    """
    def run_everywhere(slot: CarouselSlot) -> None:
        workshops = get_workshops(session)
        for workshop in workshops:
            workshop.slots.append(slot)
        _check_rooms(session, [(w.title, w.id, w.room_id, [slot]) for w in workshops])

    return rounds_services.add_round(FORMAT, session, data, then=run_everywhere, label="")


@rounds_services.rolls_back
def set_slots(session: Session, data: dict) -> list[CarouselSlot]:
    """Replace the slots with ``count`` slots of ``minutes`` each, ``gap`` minutes apart.

    Refused (``room_clash``) when a workshop's room is booked at one of the new times.
    """
    def run_everywhere(made: list[CarouselSlot]) -> None:
        workshops = get_workshops(session)
        for workshop in workshops:
            workshop.slots = list(made)
        _check_rooms(session, [(w.title, w.id, w.room_id, made) for w in workshops])

    return rounds_services.set_rounds(FORMAT, session, data, started="the carousel has started",
                                      label=lambda number: f"Carousel {number}",
                                      then=run_everywhere)


# --------------------------------------------------------------------------- rooms


def workshop_bookings(room_id: int, starts_at: datetime, ends_at: datetime, *,
                      session_id: int | None = None,
                      workshop_id: int | None = None) -> list[programme.Booking]:
    """Return the workshop runs in the room whose slot overlaps the time, as room bookings.

    A workshop holds its room in each slot it is ticked for, unless its carousel is cancelled.
    ``session_id`` (a session being placed) leaves out that carousel's own workshops, so a
    block never clashes with them; ``workshop_id`` leaves out the workshop being placed. This is
    the carousels' ``hooks.ROOM_BOOKINGS`` provider.
    """
    query = (
        select(CarouselWorkshop, CarouselSlot)
        .join(carousel_workshop_slots,
              carousel_workshop_slots.c.workshop_id == CarouselWorkshop.id)
        .join(CarouselSlot, CarouselSlot.id == carousel_workshop_slots.c.slot_id)
        .join(Session, Session.id == CarouselWorkshop.session_id)
        .where(CarouselWorkshop.room_id == room_id, Session.status != "cancelled",
               CarouselSlot.starts_at < ends_at, CarouselSlot.ends_at > starts_at)
        .order_by(CarouselSlot.starts_at, CarouselWorkshop.id))
    if session_id is not None:
        query = query.where(CarouselWorkshop.session_id != session_id)
    if workshop_id is not None:
        query = query.where(CarouselWorkshop.id != workshop_id)
    return [programme.Booking(w.id, f"{w.title}, {slot.name}", slot.starts_at, slot.ends_at)
            for w, slot in db.session.execute(query)]


def block_holdings(session: Session) -> list[tuple[int, programme.Booking]]:
    """Return the rooms a carousel block's workshops hold, one booking per workshop and slot
    (``hooks.ROOM_HOLDINGS``: checked when a cancelled carousel is restored)."""
    if session.kind != "carousel":
        return []
    return [(w.room_id, programme.Booking(w.id, f"{w.title}, {slot.name}", slot.starts_at,
                                          slot.ends_at))
            for w in get_workshops(session) if w.room_id for slot in w.slots]


def _check_rooms(session: Session,
                 runs: list[tuple[str, int | None, int | None, list[CarouselSlot]]]) -> None:
    """Raise ``room_clash`` when a workshop's room is booked in one of its slots.

    ``runs`` are ``(title, workshop id or None for a new one, room id, slots)`` as they would
    be saved.
    The other bookings are sessions (not the carousel block itself) and other workshops,
    this carousel's included. Each room is locked first (``lock_room``, in id order), so a
    session booked at the same moment is checked after this one, or before it, never alongside.
    """
    wanted = [run for run in runs if run[2] and run[3]]
    for room_id in sorted({run[2] for run in wanted}):
        lock_room(room_id)
    tz = session.conference.tz
    for title, workshop_id, room_id, slots in wanted:
        room = db.session.get(Room, room_id)
        for slot in sorted(slots, key=lambda s: s.starts_at):
            bookings = (session_bookings(room_id, slot.starts_at, slot.ends_at,
                                         exclude_id=session.id)
                        + workshop_bookings(room_id, slot.starts_at, slot.ends_at,
                                            workshop_id=workshop_id))
            clash = programme.room_clash(starts_at=slot.starts_at, ends_at=slot.ends_at, tz=tz,
                                         room_name=room.name if room else "the room",
                                         bookings=bookings)
            if clash is not None:
                message = f"{title}: {slot.name} — {clash.message}"
                raise ConvenorError("room_clash", message, [
                    {"field": "room_id", "code": "room_clash", "message": message}])


def delete_slot(session: Session, number: int) -> None:
    """Remove the last slot (plans that seat people there lose those seats)."""
    slots = get_slots(session)
    if not slots or slots[-1].number != number:
        raise ConvenorError("invalid", "only the last slot can be removed")
    if slots[-1].started_at is not None:
        raise ConvenorError("invalid", "this slot has started")
    watched = notices.watch(session)
    name = slots[-1].name
    db.session.delete(slots[-1])
    rounds_services.commit_block_change(session, watched, f"{name} removed")


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
    try:
        _check_rooms(session, [(values.get("title", ""), None, values.get("room_id"),
                                values.get("slots") or [])])
    except ConvenorError:
        db.session.rollback()
        raise
    workshop = CarouselWorkshop(session_id=session.id, **values)
    db.session.add(workshop)
    db.session.commit()
    return workshop


def update_workshop(workshop: CarouselWorkshop, data: dict) -> CarouselWorkshop:
    """Change a workshop's title, leaders, room, seats or slots.

    Giving it a room, or ticking a slot, when the room is booked then is refused (``room_clash``).
    """
    values = _workshop_values(workshop.session, data, workshop)
    if "room_id" in values or "slots" in values:
        try:
            _check_rooms(workshop.session, [(values.get("title", workshop.title), workshop.id,
                                             values.get("room_id", workshop.room_id),
                                             values.get("slots", workshop.slots))])
        except ConvenorError:
            db.session.rollback()
            raise
    return rounds_services.update_row(workshop, values)


def delete_workshop(workshop: CarouselWorkshop) -> None:
    """Remove a workshop with its preferences (plans that seat people there lose those seats)."""
    rounds_services.delete_row(workshop)


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


@rounds_services.rolls_back
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
    """Return the engine input for ``session`` from the database (active delegates only).

    The engine knows delegates and workshops by their row ids and slots by their numbers.
    """
    return _problem(session, time_limit_s=time_limit_s)[0]


def _problem(session: Session, *,
             time_limit_s: float | None = None) -> tuple[dict, rotation.Names]:
    """Return the engine input and the ``names`` that word the engine's messages."""
    slots = get_slots(session)
    workshops = get_workshops(session)
    if not slots:
        raise ConvenorError("no_slots", "add the rotation slots first")
    if not workshops:
        raise ConvenorError("no_workshops", "add the workshops first")
    prefs = all_preferences(session)
    by_id = {w.id: w for w in workshops}
    people = {d.id: d for d in active_delegates(session.conference)}
    delegates = []
    for d in sorted(people.values(), key=lambda d: d.id):
        entry: dict[str, Any] = {
            "id": d.id, "preferences": [w for w in prefs.get(d.id, []) if w in by_id]}
        barred = [w.id for w in workshops if excluded(d, w)]
        if barred:
            entry["exclude"] = barred
        delegates.append(entry)
    limit = time_limit_s if time_limit_s is not None else float(
        current_app.config.get("CAROUSEL_TIME_LIMIT_S", DEFAULT_TIME_LIMIT_S))
    problem = {
        "slots": [s.number for s in slots],
        "workshops": [{"id": w.id, "capacity": w.capacity,
                       "slots": [s.number for s in w.slots]} for w in workshops],
        "delegates": delegates,
        "fixed": [],
        "time_limit_s": limit,
    }
    slot_names = {s.number: s.name for s in slots}
    delegate_name = rounds_services.names_of(people)

    def names(kind: str, key: Any) -> str:
        if kind == "workshop":
            return by_id[key].title if key in by_id else str(key)
        if kind == "slot":
            return slot_names.get(key, str(key))
        return delegate_name(key)

    return problem, names


def plan_assignments(plan: CarouselPlan, slots: list[CarouselSlot],
                     workshops: list[CarouselWorkshop]) -> dict[int, dict[int, int]]:
    """Return ``plan`` in the engine's shape: delegate id -> {slot number: workshop id}."""
    slot_by_id = {s.id: s for s in slots}
    work_ids = {w.id for w in workshops}
    out: dict[int, dict[int, int]] = {}
    for seat in sorted(plan.seats, key=lambda s: s.delegate_id):
        slot = slot_by_id.get(seat.slot_id)
        if slot is None or seat.workshop_id not in work_ids:
            continue
        out.setdefault(seat.delegate_id, {})[slot.number] = seat.workshop_id
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
        problem, names = _problem(session, time_limit_s=1.0)
        assignments = plan_assignments(plan, get_slots(session), get_workshops(session))
        found = rotation.check(problem, assignments, names=names)
    except rotation.RotationInputError as exc:
        return [str(exc)]
    except ConvenorError as exc:
        return [exc.message]
    return found + _access_problems(session, plan.seats)


def _save_plan(session: Session, assignments: dict, stats: dict, note: str) -> CarouselPlan:
    """Add ``assignments`` (engine shape) as the next draft version; the caller commits."""
    slots = {s.number: s for s in get_slots(session)}
    plan = rounds_services.new_plan(FORMAT, session, stats, note)
    for delegate_id, schedule in sorted(assignments.items()):
        for number, workshop_id in sorted(schedule.items()):
            plan.seats.append(CarouselSeat(slot_id=slots[number].id, workshop_id=workshop_id,
                                           delegate_id=delegate_id))
    return plan


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


@rounds_services.rolls_back
def run_assignment(session: Session, *, time_limit_s: float | None = None) -> CarouselPlan:
    """Compute a new draft plan from everyone's current preferences.

    Raises ``no_slots``, ``no_workshops``, ``slot_started`` or the engine's input codes
    (e.g. when a slot lacks seats) with a readable message.
    """
    if any(s.started_at for s in get_slots(session)):
        raise ConvenorError("slot_started", "the carousel has started; move people by hand")
    problem, names = _problem(session, time_limit_s=time_limit_s)
    previous = published_plan(session)
    warm = None
    if previous is not None:
        warm = plan_assignments(previous, get_slots(session), get_workshops(session))
    try:
        result = rotation.assign(problem, warm_start=warm, names=names)
    except rotation.RotationError as exc:
        raise ConvenorError(getattr(exc, "code", "rotation_failed"), str(exc)) from None
    assignments = result["assignments"]
    stats = _stats(problem, assignments, dict(result["stats"]))
    plan = _save_plan(session, assignments, stats, "Assigned")
    rounds_services.commit_plan(FORMAT)
    return plan


# --------------------------------------------------------------------------- hand moves


@rounds_services.rolls_back
def move_delegate(session: Session, delegate_id: int, slot_number: int,
                  workshop_id: int) -> CarouselPlan:
    """Put a delegate in another workshop in one slot of the newest plan; return that plan.

    A published plan is never changed: the move makes a new draft. The move is refused
    (``full``) when the workshop has no free seat in that slot, (``rule_broken``) if it breaks
    another hard rule (a workshop twice, a workshop not running in that slot, the room's
    access) and (``slot_started``) in a started slot. Simultaneous moves run one at a time.
    """
    plan, slots, slot = rounds_services.open_round_for_move(
        FORMAT, session, slot_number, field="slot_number",
        started=lambda s: ConvenorError(
            "slot_started", f"{s.name} has already started",
            [{"field": "slot_number", "message": "has already started"}]))
    workshop = get_workshop(session, workshop_id)
    delegate = rounds_services.get_delegate(session.conference_id, delegate_id)
    workshops = get_workshops(session)
    problem, names = _problem(session, time_limit_s=1.0)
    before = plan_assignments(plan, slots, workshops)
    after = {k: dict(v) for k, v in before.items()}
    if after.get(delegate.id, {}).get(slot.number) == workshop.id:
        raise ConvenorError("invalid", f"{delegate.name} is already in {workshop.title} in "
                            f"{slot.name}", [{"field": "workshop_id", "message": "is their workshop"}])
    # Checked under the block's lock (taken by open_round_for_move): the seats as they are.
    rounds_services.refuse_if_full(
        sum(1 for seats in after.values() if seats.get(slot.number) == workshop.id),
        workshop.capacity, workshop.title, f"in {slot.name}", "workshop_id")
    after.setdefault(delegate.id, {})[slot.number] = workshop.id
    new: list[str] = []
    why = excluded(delegate, workshop)
    if why:
        new.append(why)
    try:
        old = set(rotation.check(problem, before, names=names))
        new += [p for p in rotation.check(problem, after, names=names) if p not in old]
        stats = _stats(problem, after, plan.stats)
    except rotation.RotationInputError as exc:
        raise ConvenorError(exc.code, str(exc)) from None
    if new:
        raise ConvenorError("rule_broken", new[0],
                            [{"field": "workshop_id", "message": p} for p in new])
    stats["optimal"] = False

    def place(seat: CarouselSeat | None) -> CarouselSeat:
        if seat is None:
            return CarouselSeat(slot_id=slot.id, workshop_id=workshop.id, delegate_id=delegate.id)
        seat.workshop_id = workshop.id
        return seat

    return rounds_services.record_move(
        FORMAT, session, plan, stats=stats, place=place,
        match=lambda s: s.slot_id == slot.id and s.delegate_id == delegate.id,
        note=f"Moved {delegate.name} to {workshop.title} in {slot.name}",
        save=lambda note: _save_plan(session, after, stats, note))


# --------------------------------------------------------------------------- publishing


def _describe_seats(session: Session, plan: CarouselPlan,
                    seats: list[CarouselSeat]) -> dict[int, list[dict]]:
    conference = session.conference
    slots = {s.id: s for s in get_slots(session)}
    # Only the workshops these seats use (with rooms and leaders): one delegate needs a few.
    wanted = {seat.workshop_id for seat in seats}
    workshops = {w.id: w for w in db.session.scalars(
        select(CarouselWorkshop).where(CarouselWorkshop.id.in_(wanted))
        .options(selectinload(CarouselWorkshop.room), selectinload(CarouselWorkshop.leaders)))
        } if wanted else {}
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


def leaders_text(workshop: CarouselWorkshop) -> str:
    """Return the workshop's leaders as one string, e.g. "Pete F. Atherton PhD" (as in the line)."""
    return workshop.leaders_line


def ranking_from_ranks(ranks: Mapping[int, int | None]) -> list[int]:
    """Return workshop ids in rank order from ``{workshop id: rank (1-based) or None}``.

    None means not ranked; gaps are closed. Codes: ``invalid`` (a rank outside 1..n, n the
    number of workshops), ``duplicate_rank`` (details name each workshop given that rank).
    """
    by_rank: dict[int, int] = {}
    for wid, rank in ranks.items():
        if rank is None:
            continue
        if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= len(ranks):
            raise ConvenorError("invalid", "choose a rank from the list",
                                [{"field": f"rank-{wid}", "workshop_id": wid,
                                  "message": f"must be a rank from 1 to {len(ranks)}"}])
        if rank in by_rank:
            raise ConvenorError("duplicate_rank", f"two workshops have rank {rank}; give each "
                                "workshop its own rank",
                                [{"field": f"rank-{w}", "workshop_id": w,
                                  "message": f"rank {rank} is used twice"}
                                 for w in (by_rank[rank], wid)])
        by_rank[rank] = wid
    return [by_rank[r] for r in sorted(by_rank)]


def delegate_carousels(delegate: Delegate, now: datetime | None = None) -> list[dict]:
    """Return, per carousel with workshops, what the delegate sees of it.

    ``session`` (the block), ``session_id``, ``plan_version`` (published, or None),
    ``preferences_open``, ``deadline`` (UTC or None), ``deadline_text`` ("18:00 on 10 March"
    or ""), ``ranking`` (workshop ids, first choice first), ``workshops`` (the models: ranked
    ones in rank order, then the rest by title) and ``seats`` (published, each with its
    ``line``). ``carousel_view`` turns an entry into plain data.
    """
    out = []
    for session in carousel_sessions(delegate.conference):
        workshops = get_workshops(session)
        if not workshops:
            continue
        plan = published_plan(session)
        seats = seat_details(session, plan, delegate.id).get(delegate.id, []) if plan else []
        ranked = [w.id for w in get_preferences(session, delegate.id)]
        state = preferences_state(session, now)
        deadline = state["deadline"]
        local = session.conference.local(deadline) if deadline else None
        out.append({
            "session": session, "session_id": session.id,
            "plan_version": plan.version if plan else None,
            "preferences_open": state["open"], "deadline": deadline,
            "deadline_text": f"{local:%H:%M} on {local.day} {local:%B}" if local else "",
            "ranking": ranked,
            "workshops": sorted(workshops, key=lambda w: (
                w.id not in ranked, ranked.index(w.id) if w.id in ranked else 0, w.title)),
            "seats": [{**s, "line": delegate_line(s)} for s in seats],
        })
    return out


def carousel_view(entry: dict) -> dict:
    """Return a ``delegate_carousels`` entry as plain data (the API's and the page's shape)."""
    session, ranked = entry["session"], entry["ranking"]
    deadline = entry["deadline"]
    return {
        "session_id": session.id, "session": session.title,
        "plan_version": entry["plan_version"], "preferences_open": entry["preferences_open"],
        "deadline": session.conference.local(deadline).isoformat() if deadline else None,
        "deadline_text": entry["deadline_text"], "preferences": list(ranked),
        "workshops": [{"id": w.id, "title": w.title, "description": w.description,
                       "led_by": w.led_by, "leaders": w.leaders_line,
                       "room": w.room.name if w.room else "",
                       "rank": ranked.index(w.id) + 1 if w.id in ranked else None}
                      for w in entry["workshops"]],
        "seats": entry["seats"],
    }


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
    rounds_services.preload_delegates(session.conference)
    out: dict[tuple[int, int], list[Delegate]] = defaultdict(list)
    for seat in plan.seats:
        out[seat.workshop_id, seat.slot_id].append(seat.delegate)
    for people in out.values():
        people.sort(key=lambda d: (d.name, d.id))
    return dict(out)


def _figures(session: Session, plan: CarouselPlan | None) -> dict:
    """Return a plan's first-choice share and proof, and how many active delegates ranked."""
    active = {d.id for d in active_delegates(session.conference)}
    figures: dict[str, Any] = {}
    if plan is not None:
        figures = {k: plan.stats[k] for k in ("first_choice_pct", "optimal") if k in plan.stats}
    figures["rankings_received"] = sum(1 for d in all_preferences(session) if d in active)
    return figures


FORMAT = rounds_services.Format(
    session_kind="carousel", kind="carousel", title="carousel", noun="slot",
    round_model=CarouselSlot, plan_model=CarouselPlan, seat_model=CarouselSeat,
    seat_round_key="slot",
    start_fields=("slot", "slot_label", "starts_at", "ends_at", "workshop", "room", "leaders"),
    describe_seats=_describe_seats, plan_problems=plan_problems, max_rounds=MAX_SLOTS,
    no_plan="run the assignment first",
    start_needs_plan="publish the assignment before starting a slot",
    save_conflict="another change to this carousel was saved at the same moment; reload the "
                  "page and try again",
    allocate=run_assignment, time_limit_key="CAROUSEL_TIME_LIMIT_S", figures=_figures,
)

# The shared lifecycle verbs for carousel blocks (each documented in ``rounds.services``).
(carousel_sessions, get_carousel_session, get_slots, get_plans, latest_plan, published_plan,
 get_plan, seat_details, publish, start_slot) = rounds_services.bound(
    FORMAT, "sessions", "get_session", "get_rounds", "get_plans", "latest_plan",
    "published_plan", "get_plan", "seat_details", "publish_plan", "start_round")
