"""The round-plan lifecycle both formats share: versioned drafts, atomic publish, moves, start.

A format (World Cafe, carousel) describes itself once as a ``Format`` in its own services
module: its models, its words and its seat view. Everything here works for either one, owns
its transaction (commit, or roll back and raise a coded ``ConvenorError``) and sends its
signal only after the commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from carousels.rounds import notices
from events import cache, locking, signals
from events.checkin.services import door_summary
from events.conference.models import Conference, Delegate, Session
from events.conference.services import Fields
from events.errors import ConvenorError
from events.extensions import db
from events.types import utcnow

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Format:
    """What one round-based format plugs into the shared lifecycle."""

    #: ``Session.kind`` of its blocks ("world_cafe", "carousel").
    session_kind: str
    #: ``kind`` in the signals and the start summary ("cafe", "carousel").
    kind: str
    #: The block's name in messages ("World Cafe", "carousel").
    title: str
    #: What a round is called ("round", "slot").
    noun: str
    #: Models: rounds (``RoundMixin``), plans (``PlanMixin``) and their seats.
    round_model: type
    plan_model: type
    seat_model: type
    #: Seat key that holds the round number in ``seat_details`` ("round", "slot").
    seat_round_key: str
    #: The fields of a seat sent to each delegate when a round starts.
    start_fields: tuple[str, ...]
    #: ``(session, plan, seats) -> {delegate id: [seat dict, …]}``: the format's seat view.
    describe_seats: Callable[[Session, Any, list], dict[int, list[dict]]]
    #: ``(session, plan) -> [message, …]``: the hard rules a plan breaks today.
    plan_problems: Callable[[Session, Any], list[str]]
    #: ``(session, *, time_limit_s) -> plan``: compute and save a new draft plan.
    allocate: Callable[..., Any]
    #: App config key of the allocation's default time limit ("CAFE_TIME_LIMIT_S" …).
    time_limit_key: str
    #: ``(session, plan or None) -> dict``: the format's figures for the organisers' stats.
    figures: Callable[[Session, Any], dict]
    #: Messages.
    no_plan: str = "run the allocation first"
    start_needs_plan: str = "publish a table plan before starting a round"
    save_conflict: str = ("another change to this table plan was saved at the same moment; "
                          "reload the page and try again")
    publish_conflict: str = ("another organiser published at the same moment; reload the page "
                             "and try again")
    #: Maximum number of rounds.
    max_rounds: int = 12


#: Formats by ``Session.kind``, filled by each format's ``install``.
FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> None:
    """Make ``fmt`` known to the dispatching verbs (``start`` …)."""
    FORMATS[fmt.session_kind] = fmt


def rolls_back(fn: F) -> F:
    """Roll the session back when ``fn`` raises, so callers never see a half-done change."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- lookups


def sessions(fmt: Format, conference: Conference) -> list[Session]:
    """Return the conference's blocks of this format in time order."""
    return list(db.session.scalars(
        select(Session).where(Session.conference_id == conference.id,
                              Session.kind == fmt.session_kind)
        .order_by(Session.starts_at, Session.id)))


def get_session(fmt: Format, conference: Conference, session_id: int) -> Session:
    """Return one of the conference's blocks of this format or raise ``not_found``."""
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id or \
            session.kind != fmt.session_kind:
        raise ConvenorError("not_found", f"no {fmt.title} session {session_id} in this conference")
    return session


def get_rounds(fmt: Format, session: Session) -> list:
    """Return the block's rounds in order."""
    model = fmt.round_model
    return list(db.session.scalars(select(model).where(model.session_id == session.id)
                                   .order_by(model.number)))


def get_plans(fmt: Format, session: Session) -> list:
    """Return every plan version of the block, newest first."""
    model = fmt.plan_model
    return list(db.session.scalars(select(model).where(model.session_id == session.id)
                                   .order_by(model.version.desc())))


def latest_plan(fmt: Format, session: Session) -> Any:
    """Return the newest plan version (draft or published), if any."""
    model = fmt.plan_model
    return db.session.scalar(select(model).where(model.session_id == session.id)
                             .order_by(model.version.desc()).limit(1))


def published_plan(fmt: Format, session: Session) -> Any:
    """Return the published plan, if any."""
    model = fmt.plan_model
    return db.session.scalar(select(model).where(model.session_id == session.id,
                                                 model.status == "published"))


def get_plan(fmt: Format, session: Session, version: int) -> Any:
    """Return one plan version or raise ``not_found``."""
    model = fmt.plan_model
    plan = db.session.scalar(select(model).where(model.session_id == session.id,
                                                 model.version == version))
    if plan is None:
        raise ConvenorError("not_found", f"there is no plan version {version}")
    return plan


def next_version(fmt: Format, session: Session) -> int:
    """Return the number the next plan version of the block gets."""
    model = fmt.plan_model
    return (db.session.scalar(select(func.max(model.version))
                              .where(model.session_id == session.id)) or 0) + 1


def active_delegates(conference: Conference) -> list[Delegate]:
    """Return the conference's active delegates by name."""
    return list(db.session.scalars(
        select(Delegate).where(Delegate.conference_id == conference.id,
                               Delegate.status == "active").order_by(Delegate.name, Delegate.id)))


def preload_delegates(conference: Conference) -> None:
    """Load every delegate once so seat.delegate needs no query each."""
    list(db.session.scalars(select(Delegate).where(Delegate.conference_id == conference.id)))


def get_delegate(conference_id: int, delegate_id: int) -> Delegate:
    """Return a delegate of the conference or raise ``not_found`` (field ``delegate_id``)."""
    delegate = db.session.get(Delegate, delegate_id)
    if delegate is None or delegate.conference_id != conference_id:
        raise ConvenorError("not_found", f"no delegate {delegate_id} in this conference",
                            [{"field": "delegate_id", "message": "is not a delegate"}])
    return delegate


def names_of(people: dict[int, Delegate]) -> Callable[[int], str]:
    """Return a function naming a delegate id for messages (loading stragglers)."""
    def name(delegate_id: int) -> str:
        delegate = people.get(delegate_id) or db.session.get(Delegate, delegate_id)
        return delegate.name if delegate else str(delegate_id)

    return name


# --------------------------------------------------------------------------- setup rows


def commit_block_change(session: Session, watched: Any, what: str) -> None:
    """Commit a change to a block's setup; with a published plan (``watched`` is
    ``notices.watch(session)`` taken before the change), tell the delegates whose seats now
    read differently and move their reminders, in the same commit, then send ``block_changed``."""
    if watched is None:
        db.session.commit()
        return
    fmt, plan, before = watched
    db.session.flush()
    db.session.expire(plan)
    after = seat_details(fmt, session, plan)
    notices.block_changed(fmt, session, before, after, what)
    notices.sync_reminders(fmt, session, after)
    session.conference.version += 1
    db.session.flush()
    signals.record(signals.block_changed, session.conference, kind=fmt.kind, session=session,
                   what=what)
    db.session.commit()
    signals.block_changed.send(session.conference, kind=fmt.kind, session=session, what=what)


def update_row(row: Any, values: dict) -> Any:
    """Set checked ``values`` on a block's row (a table, a workshop), commit and return it."""
    watched = notices.watch(row.session)
    for key, value in values.items():
        setattr(row, key, value)
    commit_block_change(row.session, watched, f"{_row_name(row)} changed")
    return row


def delete_row(row: Any) -> None:
    """Delete a block's row (plans that seat people there lose those seats) and commit."""
    session = row.session
    watched = notices.watch(session)
    name = _row_name(row)
    db.session.delete(row)
    commit_block_change(session, watched, f"{name} removed")


def _row_name(row: Any) -> str:
    return str(getattr(row, "name", None) or getattr(row, "title", None) or "a table")


# --------------------------------------------------------------------------- rounds


def round_times(fields: Fields, session: Session) -> tuple[datetime | None, datetime | None]:
    """Read ``starts_at``/``ends_at`` and check they fall, in order, within the session."""
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


def add_round(fmt: Format, session: Session, data: dict, *,
              then: Callable[[Any], None] | None = None, **values: Any) -> Any:
    """Add a round after the existing ones (``starts_at``, ``ends_at``); ``then`` runs before
    the commit."""
    fields = Fields(data)
    extra = {k: fields.text(k, max_len=60) for k in values}
    starts, ends = round_times(fields, session)
    existing = get_rounds(fmt, session)
    if len(existing) >= fmt.max_rounds:
        fields.error("starts_at", f"a {fmt.title} has at most {fmt.max_rounds} {fmt.noun}s")
    if existing and starts and starts < existing[-1].ends_at:
        fields.error("starts_at", f"must not start before the previous {fmt.noun} ends")
    fields.raise_if_any(f"the {fmt.noun} is not valid")
    watched = notices.watch(session)
    made = fmt.round_model(session_id=session.id, number=len(existing) + 1, starts_at=starts,
                           ends_at=ends, **extra)
    db.session.add(made)
    if then is not None:
        then(made)
    commit_block_change(session, watched, f"{fmt.noun} {made.number} added")
    return made


def set_rounds(fmt: Format, session: Session, data: dict, *, started: str,
               label: Callable[[int], str] | None = None,
               then: Callable[[list], None] | None = None) -> list:
    """Replace the rounds with ``count`` rounds of ``minutes`` each, ``gap`` minutes apart.

    The first starts at ``starts_at`` (default: the session's start). Refused (``started``
    is the message) once a round has started; ``then`` runs with the new rounds before the
    commit.
    """
    fields = Fields(data)
    count = fields.integer("count", required=True, minimum=1)
    minutes = fields.integer("minutes", required=True, minimum=1, maximum=24 * 60)
    gap = fields.integer("gap", minimum=0, maximum=24 * 60) or 0
    first = fields.moment("starts_at", session.conference) if data.get("starts_at") else \
        session.starts_at
    if count and count > fmt.max_rounds:
        fields.error("count", f"must be at most {fmt.max_rounds}")
    if count and minutes and first:
        end = first + timedelta(minutes=count * minutes + (count - 1) * gap)
        if first < session.starts_at or end > session.ends_at:
            local = session.conference.local
            fields.error("minutes", f"the {fmt.noun}s would run {local(first):%H:%M}–"
                         f"{local(end):%H:%M}, outside the session "
                         f"({local(session.starts_at):%H:%M}–{local(session.ends_at):%H:%M})")
    if any(r.started_at for r in get_rounds(fmt, session)):
        fields.error("count", started)
    fields.raise_if_any(f"the {fmt.noun}s are not valid")
    watched = notices.watch(session)
    model = fmt.round_model
    db.session.execute(delete(model).where(model.session_id == session.id))
    db.session.flush()
    db.session.expire_all()
    made = []
    start = first
    for number in range(1, count + 1):
        end = start + timedelta(minutes=minutes)
        extra = {"label": label(number)} if label else {}
        made.append(model(session_id=session.id, number=number, starts_at=start, ends_at=end,
                          **extra))
        start = end + timedelta(minutes=gap)
    db.session.add_all(made)
    if then is not None:
        then(made)
    commit_block_change(session, watched, f"the {fmt.noun} times changed")
    return made


def first_open_round(fmt: Format, session: Session) -> int:
    """Return the number of the first round that has not started (rounds + 1 if all have)."""
    rounds = get_rounds(fmt, session)
    for r in rounds:
        if r.started_at is None:
            return r.number
    return len(rounds) + 1


# --------------------------------------------------------------------------- plans


def new_plan(fmt: Format, session: Session, stats: dict, note: str) -> Any:
    """Add the next draft version (no seats yet); the caller adds seats and commits."""
    plan = fmt.plan_model(session_id=session.id, version=next_version(fmt, session),
                          status="draft", note=note[:300], stats=dict(stats))
    db.session.add(plan)
    return plan


def commit_plan(fmt: Format) -> None:
    """Commit a new plan version; two saved at once get ``conflict`` for the loser."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", fmt.save_conflict) from None


def lock_block(session: Session, guard: str) -> None:
    """Hold the block's lock until this transaction ends: its plan changes go one at a time.

    The lock is on the block's session row, the one row every plan version belongs to, so a
    move that turns a published plan into a new draft and the move right behind it (which must
    find that draft, not make a second one) are serialised too. Take it before reading what
    the change depends on; it expires what was read before.
    """
    locking.lock_row(Session, session.id, guard=guard)


def refuse_if_full(taken: int, capacity: int, place: str, when: str, field: str) -> None:
    """Raise ``full`` when ``taken`` of ``capacity`` seats at ``place`` are taken ``when``."""
    if taken >= capacity:
        raise ConvenorError("full", f"{place} is full {when} ({taken} of {capacity} seats "
                            "taken); reload the plan", [{"field": field, "message": "is full"}])


def open_round_for_move(fmt: Format, session: Session, number: int, *, field: str,
                        started: Callable[[Any], ConvenorError]) -> tuple[Any, list, Any]:
    """Lock the block and return (newest plan, rounds, round ``number``) for a hand move.

    The lock (``lock_block``) holds until the move commits or rolls back, so the move checks
    seats against the plan as it is, and simultaneous moves into one free seat fill it once.
    Codes: ``no_plan``, ``invalid`` (no such round), and ``started(round)``'s error.
    """
    lock_block(session, "move")
    plan = latest_plan(fmt, session)
    if plan is None:
        raise ConvenorError("no_plan", fmt.no_plan)
    rounds = get_rounds(fmt, session)
    if not 1 <= number <= len(rounds):
        raise ConvenorError("invalid", f"there is no {fmt.noun} {number}",
                            [{"field": field, "message": f"is not a {fmt.noun}"}])
    chosen = rounds[number - 1]
    if chosen.started_at is not None:
        raise started(chosen)
    return plan, rounds, chosen


def record_move(fmt: Format, session: Session, plan: Any, *, match: Callable[[Any], bool],
                place: Callable[[Any | None], Any], stats: dict, note: str,
                save: Callable[[str], Any]) -> Any:
    """Save a checked hand move and return the plan that holds it.

    A draft changes in place (``match`` finds the moved seat, ``place(seat)`` updates it or,
    given None, returns a new one); a published plan is never changed: ``save(note)`` adds a
    new draft.
    """
    if plan.status == "draft":
        seat = next((s for s in plan.seats if match(s)), None)
        if seat is None:
            plan.seats.append(place(None))
        else:
            place(seat)
        plan.stats = dict(stats)
        plan.note = (f"{plan.note}; {note}" if plan.note else note)[-300:]
    else:
        plan = save(f"From version {plan.version}: {note}")
    commit_plan(fmt)
    return plan


def seats_of(fmt: Format, session: Session, plan: Any, delegate_id: int | None) -> list:
    """Return the plan's seats (only ``delegate_id``'s, if given, loading no others)."""
    if delegate_id is None:
        preload_delegates(session.conference)
        return list(plan.seats)
    model = fmt.seat_model
    return list(db.session.scalars(select(model).where(model.plan_id == plan.id,
                                                       model.delegate_id == delegate_id)))


def seat_details(fmt: Format, session: Session, plan: Any,
                 delegate_id: int | None = None) -> dict[int, list[dict]]:
    """Return each seated delegate's seats in ``plan`` as the format describes them."""
    return fmt.describe_seats(session, plan, seats_of(fmt, session, plan, delegate_id))


#: Every delegate's described seats in a published plan, per (plan, data generation): a
#: published plan's seats never change (moves make a new draft); what describes them (tables,
#: hosts, workshops, rooms, times) advances the generation. See events.cache.
_PUBLISHED_DETAILS = cache.LRU(64)


def published_seats(fmt: Format, delegate: Delegate) -> Iterator[tuple[Session, Any, list[dict]]]:
    """Yield (block, published plan, the delegate's seats) for every published block."""
    for session in sessions(fmt, delegate.conference):
        plan = published_plan(fmt, session)
        if plan is None:
            continue
        details = _PUBLISHED_DETAILS.get((fmt.kind, plan.id, plan.status, cache.generation()),
                                         functools.partial(seat_details, fmt, session, plan))
        yield session, plan, [dict(seat) for seat in details.get(delegate.id, [])]


def publish_plan(fmt: Format, session: Session, version: int | None = None, *,
                 now: datetime | None = None) -> Any:
    """Publish a plan version (default: the newest) in one transaction; return it.

    The previously published version becomes "superseded" in the same commit, so a failure
    leaves it published. A plan that breaks a hard rule (``rule_broken``) is refused; two
    organisers publishing at once get ``conflict`` (the block is locked, so the others find
    the plan published by the winner: one publish, one set of notices). Publishing the version
    that was already published changes nothing and sends nothing. Sends
    ``allocation_published`` after the commit.
    """
    plan = get_plan(fmt, session, version) if version is not None else latest_plan(fmt, session)
    if plan is None:
        raise ConvenorError("no_plan", fmt.no_plan)
    if plan.status == "published":
        return plan  # a repeated publish (double click, retry) returns the first result
    chosen, seen = plan.version, plan.status
    # The conference row first (the publish advances its version), then the block: the order
    # update_session takes them in, so the two never wait for each other in a circle.
    locking.lock_row(Conference, session.conference_id, guard="publish")
    lock_block(session, "publish")
    plan = get_plan(fmt, session, chosen)
    if plan.status != seen or (version is None and latest_plan(fmt, session).version != chosen):
        # Published by someone else (or overtaken by a newer draft) while we waited.
        db.session.rollback()
        raise ConvenorError("conflict", fmt.publish_conflict)
    try:
        previous = published_plan(fmt, session)
        if previous is not None:
            previous.status = "superseded"
            db.session.flush()
        plan.status = "published"
        plan.published_at = now or utcnow()
        db.session.flush()
        problems = fmt.plan_problems(session, plan)
        if problems:
            raise ConvenorError("rule_broken", "this plan cannot be published: " + problems[0],
                                [{"message": p} for p in problems])
        per_delegate = seat_details(fmt, session, plan)
        before = seat_details(fmt, session, previous) if previous is not None else {}
        # The notices commit with the publish (or not at all).
        notices.plan_published(fmt, session, plan.version, before, per_delegate,
                               first=previous is None)
        notices.sync_reminders(fmt, session, per_delegate, now=now)
        session.conference.version += 1
        db.session.flush()
        signals.record(signals.allocation_published, session.conference, kind=fmt.kind,
                       session=session, version=plan.version, per_delegate=per_delegate,
                       previous_version=previous.version if previous else None)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConvenorError("conflict", fmt.publish_conflict) from None
    except Exception:
        db.session.rollback()
        raise
    signals.allocation_published.send(session.conference, kind=fmt.kind, session=session,
                                      version=plan.version, per_delegate=per_delegate,
                                      previous_version=previous.version if previous else None)
    return plan


@rolls_back
def start_round(fmt: Format, session: Session, number: int, *,
                now: datetime | None = None) -> dict:
    """Mark round ``number`` started and tell every seated delegate where to go.

    Needs a published plan (``no_plan``). Advances ``conference.version`` in the same commit.
    Sends ``round_starting`` with, per delegate id, the format's ``start_fields`` of their
    seat. Returns a summary dict.
    """
    if session.kind != fmt.session_kind:
        raise ConvenorError("not_found", f"this session is not a {fmt.title}")
    rounds = get_rounds(fmt, session)
    if not 1 <= number <= len(rounds):
        raise ConvenorError("not_found", f"there is no {fmt.noun} {number}")
    plan = published_plan(fmt, session)
    if plan is None:
        raise ConvenorError("no_plan", fmt.start_needs_plan)
    chosen = rounds[number - 1]
    first_start = chosen.started_at is None
    if first_start:
        chosen.started_at = now or utcnow()
    seats_now = {}
    for delegate_id, seats in seat_details(fmt, session, plan).items():
        for seat in seats:
            if seat[fmt.seat_round_key] == number:
                seats_now[delegate_id] = seat
    if first_start:  # reminders not yet out become one "starting now" message
        notices.round_started(fmt, session, number, seats_now, now=now)
    # Counted here, in the start's own commit, so pages that catch up see it once. An SQL
    # increment: two starts at the same moment still count twice.
    session.conference.version = Conference.version + 1
    per_delegate = {d: {k: seat[k] for k in fmt.start_fields} for d, seat in seats_now.items()}
    db.session.flush()
    signals.record(signals.round_starting, session.conference, kind=fmt.kind, session=session,
                   number=number, per_delegate=per_delegate)
    db.session.commit()
    signals.round_starting.send(session.conference, kind=fmt.kind, session=session,
                                number=number, per_delegate=per_delegate)
    return {"kind": fmt.kind, "session_id": session.id, "number": number,
            "started_at": chosen.started_at.isoformat(), "plan_version": plan.version,
            "delegates": len(per_delegate)}


# --------------------------------------------------------------------------- any format


def get_round_session(conference: Conference, session_id: int) -> Session:
    """Return any session of the conference or raise ``not_found``."""
    session = db.session.get(Session, session_id)
    if session is None or session.conference_id != conference.id:
        raise ConvenorError("not_found", f"no session {session_id} in this conference")
    return session


def format_of(session: Session) -> Format:
    """Return the format of a round-based block or raise ``not_found``."""
    fmt = FORMATS.get(session.kind)
    if fmt is None:
        raise ConvenorError("not_found", "this session has no rounds: it is neither a carousel "
                            "nor a World Cafe")
    return fmt


def start(session: Session, number: int, *, now: datetime | None = None) -> dict:
    """Start round/slot ``number`` of a carousel or World Cafe session; return a summary."""
    return start_round(format_of(session), session, number, now=now)


#: Words that name "the conference's only block of this kind" in ``get_block``.
BLOCK_WORDS = {"cafe": "world_cafe", "world_cafe": "world_cafe", "carousel": "carousel"}


def get_block(conference: Conference, ref: str | int) -> Session:
    """Return the round-based block ``ref`` names: a session id, or "cafe"/"world_cafe"/"carousel".

    A word means the conference's only block of that kind. Codes: ``not_found`` (no such
    block, or not round-based), ``ambiguous`` (several of that kind; details list
    ``{"id", "title"}`` of each).
    """
    word = str(ref).strip().lower()
    if isinstance(ref, int) or word.isdigit():
        session = get_round_session(conference, int(word))
        format_of(session)
        return session
    kind = BLOCK_WORDS.get(word)
    fmt = FORMATS.get(kind or "")
    if fmt is None:
        raise ConvenorError("not_found", f"“{ref}” is not a block: say cafe, carousel or a "
                            "session id")
    found = sessions(fmt, conference)
    if not found:
        raise ConvenorError("not_found", f"this conference has no {fmt.title}")
    if len(found) > 1:
        raise ConvenorError("ambiguous", f"this conference has {len(found)} {fmt.title} blocks",
                            [{"id": s.id, "title": s.title} for s in found])
    return found[0]


def allocate(session: Session, *, time_limit_s: float | None = None) -> Any:
    """Compute a new draft plan for a carousel or World Cafe block; return the plan.

    ``time_limit_s`` defaults to the app's ``CAFE_TIME_LIMIT_S``/``CAROUSEL_TIME_LIMIT_S``.
    Raises ``not_found`` for a block that is not round-based, else the format's codes.
    """
    fmt = format_of(session)
    if time_limit_s is None and fmt.time_limit_key in current_app.config:
        time_limit_s = float(current_app.config[fmt.time_limit_key])
    return fmt.allocate(session, time_limit_s=time_limit_s)


def publish(session: Session, version: int | None = None, *,
            now: datetime | None = None) -> dict:
    """Publish a block's plan (default: the newest); return ``{"version", "delegates"}``.

    ``delegates`` is how many delegates the plan seats. Codes: ``no_plan``, ``not_found``,
    ``rule_broken`` (its message names the first problem), ``conflict``.
    """
    fmt = format_of(session)
    plan = publish_plan(fmt, session, version, now=now)
    return {"version": plan.version, "delegates": len({s.delegate_id for s in plan.seats})}


def organiser_stats(conference: Conference) -> dict:
    """Return the organisers' figures: door arrivals, each round-based block, Slack reach.

    ``{"door": {"arrived", "expected"}, "blocks": [{"kind", "session_id", "title",
    "published_version", …the format's figures, "active_delegates"}], "slack": {"linked",
    "active"}}``; a block's figures come from its published plan, else its newest draft.
    """
    door = door_summary(conference)
    active = active_delegates(conference)
    blocks = []
    for session in sorted((s for fmt in FORMATS.values() for s in sessions(fmt, conference)),
                          key=lambda s: (s.starts_at, s.id)):
        fmt = FORMATS[session.kind]
        published = published_plan(fmt, session)
        blocks.append({"kind": fmt.kind, "session_id": session.id, "title": session.title,
                       "published_version": published.version if published else None,
                       **fmt.figures(session, published or latest_plan(fmt, session)),
                       "active_delegates": len(active)})
    return {"door": {"arrived": int(door["arrived"]), "expected": int(door["expected"])},
            "blocks": blocks,
            "slack": {"linked": sum(1 for d in active if d.slack_user_id),
                      "active": len(active)}}


def bound(fmt: Format, *names: str) -> tuple[Callable[..., Any], ...]:
    """Return the verbs ``names`` of this module with ``fmt`` filled in, for a format's module.

    Each is looked up when called, so the format's ``latest_plan(session)`` is always
    ``latest_plan(fmt, session)`` here.
    """
    def bind(name: str) -> Callable[..., Any]:
        shared = globals()[name]

        def verb(*args: Any, **kwargs: Any) -> Any:
            return globals()[name](fmt, *args, **kwargs)

        verb.__name__ = verb.__qualname__ = name
        verb.__doc__ = shared.__doc__
        return verb

    return tuple(bind(name) for name in names)
