"""Who is told what when a round plan or its block changes: seats on publish, changes to a
table or workshop, reminders before each round, "starting now" when an organiser starts early.

Every function here runs inside the change's own transaction (before the service commits) and
writes only outbox rows through ``events.notify.services``; the worker sends them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from events.conference.models import Delegate, Session
from events.extensions import db
from events.notify import services as notify

if TYPE_CHECKING:
    from carousels.rounds.services import Format


def _hhmm(seat: dict) -> str:
    return seat["starts_at"][11:16]


def round_label(fmt: Format, seat: dict) -> str:
    """"Round 2" (World Cafe) or the slot's name, "Carousel 2"."""
    if "slot_label" in seat:
        return seat["slot_label"] or f"Slot {seat['slot']}"
    return f"{fmt.noun.capitalize()} {seat[fmt.seat_round_key]}"


def seat_line(fmt: Format, seat: dict) -> str:
    """One seat as a line: "Round 2 · 11:40 · Atrium — Table 7, host Sam Lee: “question”"."""
    head = f"{round_label(fmt, seat)} · {_hhmm(seat)}"
    if seat.get("room"):
        head += f" · {seat['room']}"
    if "workshop" in seat:
        body = seat["workshop"] + (f" with {seat['leaders']}" if seat.get("leaders") else "")
    elif seat.get("is_host"):
        body = f"you host {seat['table']}: stay at your table"
    else:
        body = seat["table"] + (f", host {seat['host']}" if seat.get("host") else "")
    if seat.get("question"):
        body += f" — “{seat['question']}”"
    return f"{head} — {body}"


def where_to_go(fmt: Format, seat: dict) -> str:
    """Where to go for one round: "Table 7, Atrium, host Sam Lee — “question”"."""
    if "workshop" in seat:
        text = seat["workshop"]
        if seat.get("room"):
            text += f", {seat['room']}"
        if seat.get("leaders"):
            text += f", with {seat['leaders']}"
        return text
    room = f" ({seat['room']})" if seat.get("room") else ""
    if seat.get("is_host"):
        text = f"you host {seat['table']}{room}: stay at your table"
    else:
        text = seat["table"] + (f", {seat['room']}" if seat.get("room") else "")
        if seat.get("host"):
            text += f", host {seat['host']}"
    if seat.get("question"):
        text += f" — “{seat['question']}”"
    return text


def _delegates(ids) -> dict[int, Delegate]:
    ids = list(ids)
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(select(Delegate).where(Delegate.id.in_(ids)))}


def seat_changes(before: dict[int, list[dict]], after: dict[int, list[dict]]) -> dict[int, dict]:
    """Only the delegates whose seats differ: ``{id: {"before": [...], "after": [...]}}``."""
    return {d: {"before": before.get(d, []), "after": after.get(d, [])}
            for d in sorted(set(before) | set(after)) if before.get(d, []) != after.get(d, [])}


def _seats_payload(fmt: Format, session: Session, change: dict, *, first: bool,
                   why: str) -> dict:
    lines = [seat_line(fmt, s) for s in change["after"]]
    title = session.title
    if not change["after"]:
        text = f"You no longer have a place in {title}."
        lines = [text]
    elif first:
        text = f"Your places for {title} are out:"
    else:
        text = f"Your places for {title} have changed{why}:"
    return {"subject": f"{title}: your places", "text": text, "lines": lines,
            "session_id": session.id}


def plan_published(fmt: Format, session: Session, version: int, before: dict, after: dict,
                   *, first: bool) -> int:
    """Tell each seated delegate their seats (first publish) or only those whose seats changed."""
    changes = seat_changes(before, after)
    people = _delegates(changes)
    return notify.tell(
        [people[d] for d in changes if d in people], key=f"plan:{session.id}:v{version}",
        kind="seats",
        payload_for=lambda d: _seats_payload(fmt, session, changes[d.id], first=first, why=""))


def block_changed(fmt: Format, session: Session, before: dict, after: dict, what: str, *,
                  now: datetime | None = None) -> int:
    """A table, workshop or round of a published block changed: tell those whose seats read
    differently now (merged with their other changes of the next minute)."""
    now = now or notify.clock()
    changes = seat_changes(before, after)
    if not changes:
        return 0
    people = _delegates(changes)
    return notify.tell(
        [people[d] for d in changes if d in people],
        key=f"block:{session.id}:{notify.digest(what, changes)}", kind="change",
        payload_for=lambda d: _seats_payload(fmt, session, changes[d.id], first=False,
                                             why=f" ({what})"),
        next_attempt_at=now + notify.MERGE_WINDOW)


# --------------------------------------------------------------------------- reminders


def _group(session: Session, number: int, delegate_id: int) -> str:
    return f"reminder:{session.id}:{number}:{delegate_id}"


def sync_reminders(fmt: Format, session: Session, seats: dict[int, list[dict]], *,
                   now: datetime | None = None) -> int:
    """Make the outbox hold exactly one reminder per seated delegate per future round, due
    ``REMINDER_BEFORE`` its start, saying where to go; withdraw the ones that no longer
    match (Slack's scheduled copies are deleted by the worker). Return how many were added."""
    from carousels.rounds.services import get_rounds

    now = now or notify.clock()
    started = {r.number for r in get_rounds(fmt, session) if r.started_at is not None}
    existing: dict[str, list] = defaultdict(list)
    for notice in notify.group_notices(f"reminder:{session.id}:"):
        existing[notice.group].append(notice)
    people = _delegates(seats)
    wanted: dict[str, dict] = {}
    for delegate_id, delegate_seats in seats.items():
        delegate = people.get(delegate_id)
        if delegate is None:
            continue
        for seat in delegate_seats:
            number = seat[fmt.seat_round_key]
            starts = datetime.fromisoformat(seat["starts_at"])
            group = _group(session, number, delegate_id)
            if number in started or starts <= now or notify.delivered(existing[group], now=now):
                continue
            due = starts - notify.REMINDER_BEFORE
            text = f"{round_label(fmt, seat)} starts in 5 min: {where_to_go(fmt, seat)}"
            payload = {"subject": f"{round_label(fmt, seat)} of {session.title} at "
                                  f"{_hhmm(seat)}", "text": text, "lines": [text],
                       "session_id": session.id}
            for channel, recipient in notify.channels_for(delegate, reminder=True):
                key = f"{group}:{channel}:{notify.digest(due, text)}"
                wanted[key] = {"key": key, "conference_id": delegate.conference_id,
                               "channel": channel, "recipient": recipient,
                               "delegate_id": delegate_id, "kind": "reminder", "group": group,
                               "payload": payload, "due_at": due}
    stale = [n for notices in existing.values() for n in notices if n.key not in wanted]
    notify.withdraw(stale, now=now)
    return notify.enqueue(wanted.values())


def round_started(fmt: Format, session: Session, number: int, seats: dict[int, dict], *,
                  now: datetime | None = None) -> int:
    """An organiser started round ``number``: whoever has not had its reminder yet gets one
    "starting now" message instead (never both)."""
    now = now or notify.clock()
    existing: dict[str, list] = defaultdict(list)
    for notice in notify.group_notices(f"reminder:{session.id}:{number}:"):
        existing[notice.group].append(notice)
    people = _delegates(seats)
    rows = []
    for delegate_id, seat in seats.items():
        delegate = people.get(delegate_id)
        group = _group(session, number, delegate_id)
        if delegate is None or notify.delivered(existing[group], now=now):
            continue
        notify.withdraw(existing[group], now=now)
        text = f"{round_label(fmt, seat)} is starting now: {where_to_go(fmt, seat)}"
        payload = {"subject": f"{round_label(fmt, seat)} of {session.title} is starting",
                   "text": text, "lines": [text], "session_id": session.id}
        for channel, recipient in notify.channels_for(delegate, reminder=True):
            rows.append({"key": f"starting:{session.id}:{number}:delegate:{delegate_id}:{channel}",
                         "conference_id": delegate.conference_id, "channel": channel,
                         "recipient": recipient, "delegate_id": delegate_id, "kind": "starting",
                         "group": group, "payload": payload, "due_at": now})
    return notify.enqueue(rows)


def reminders_off(delegate_id: int) -> int:
    """Withdraw a delegate's Slack reminders not yet delivered (they turned reminders off)."""
    return notify.cancel_for_delegate(delegate_id, kinds=("reminder", "starting"),
                                      channel="slack")


# --------------------------------------------------------------------------- reconcile


def reconcile(now: datetime) -> int:
    """Rebuild what committed plans call for: seat messages for plans published in the last
    day, and the reminders of every published plan whose block has not ended."""
    from carousels.rounds import services

    added = 0
    for fmt in services.FORMATS.values():
        model = fmt.plan_model
        plans = db.session.scalars(
            select(model).join(Session, Session.id == model.session_id)
            .where(model.status == "published", Session.ends_at > now)).all()
        for plan in plans:
            session = plan.session
            if not session.conference.published:
                continue
            after = services.seat_details(fmt, session, plan)
            if plan.published_at and plan.published_at >= now - timedelta(hours=24):
                previous = db.session.scalar(
                    select(model).where(model.session_id == session.id,
                                        model.version < plan.version,
                                        model.published_at.is_not(None))
                    .order_by(model.version.desc()).limit(1))
                before = services.seat_details(fmt, session, previous) if previous else {}
                added += plan_published(fmt, session, plan.version, before, after,
                                        first=previous is None)
            added += sync_reminders(fmt, session, after, now=now)
    return added


def seated(session: Session) -> set[int] | None:
    """The delegates seated in ``session``'s published plan (``SEATED_DELEGATES`` provider)."""
    from carousels.rounds import services

    fmt = services.FORMATS.get(session.kind)
    if fmt is None:
        return None
    plan = services.published_plan(fmt, session)
    if plan is None:
        return set()
    model = fmt.seat_model
    return set(db.session.scalars(select(model.delegate_id).where(model.plan_id == plan.id)))


def watch(session: Session) -> Any:
    """Before a change to a block: its published seats, to compare with after the change."""
    from carousels.rounds import services

    fmt = services.FORMATS.get(session.kind)
    plan = services.published_plan(fmt, session) if fmt else None
    if plan is None:
        return None
    return fmt, plan, services.seat_details(fmt, session, plan)
