"""Live updates: the Socket.IO namespace ``/live`` and the only place that emits to it.

Services send blinker signals after commit (``events.signals``); the module-level receivers here
turn them into Socket.IO events, have ``events.live.services`` record them in the change log so
reconnecting pages can catch up, and send each one to the right room:

- ``pub:<conference id>``: every authorised client of the conference (the public programme,
  venue screens, delegates' and organisers' pages);
- ``del:<delegate id>``: one delegate's private events (their seat, their table);
- ``org:<conference id>``: the conference's organisers (check-in figures, allocation totals).

With ``SOCKETIO_MESSAGE_QUEUE`` set, ``socketio.emit`` goes through Redis, so a change made in
any process (a web worker, the CLI, the Slack bot) reaches clients connected to every process.
"""

from __future__ import annotations

import json
import logging

from flask import current_app
from flask_login import current_user
from flask_socketio import join_room
from socketio.exceptions import ConnectionRefusedError

from events import signals
from events.conference import services
from events.conference.models import Conference, Organiser, Session
from events.errors import ConvenorError
from events.extensions import db, socketio
from events.live import services as live_services

log = logging.getLogger(__name__)

NAMESPACE = "/live"


def public_room(conference_id: int) -> str:
    """Return the room every authorised client of a conference joins."""
    return f"pub:{conference_id}"


def organisers_room(conference_id: int) -> str:
    """Return the room of a conference's organisers."""
    return f"org:{conference_id}"


def delegate_room(delegate_id: int) -> str:
    """Return a delegate's private room."""
    return f"del:{delegate_id}"


# --------------------------------------------------------------------------- connect and rooms


def _organiser_from(auth: dict) -> Organiser | None:
    """Return the organiser behind the browser session cookie or an ``api_token``."""
    if "api_token" in auth:
        token = auth.get("api_token")
        organiser = services.organiser_for_token(token) if isinstance(token, str) else None
        if organiser is None:
            raise ConnectionRefusedError("the API token is not valid")
        return organiser
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def rooms_for(auth: dict) -> list[str]:
    """Return the rooms a connecting client may join, or raise ``ConnectionRefusedError``."""
    slug = auth.get("conference")
    if not isinstance(slug, str) or not slug or len(slug) > 64:
        raise ConnectionRefusedError("say which conference: auth = {conference: '<slug>'}")
    try:
        conference = services.get_conference(slug)
    except ConvenorError:
        raise ConnectionRefusedError("no such conference") from None
    organiser = _organiser_from(auth)
    manager = bool(organiser and organiser.role == "organiser" and organiser.manages(conference))
    rooms = []
    if "delegate_token" in auth:
        token = auth.get("delegate_token")
        try:
            delegate = services.delegate_by_token(token if isinstance(token, str) else "")
        except ConvenorError:
            raise ConnectionRefusedError("the delegate link is not valid") from None
        if delegate.conference_id != conference.id or delegate.status != "active":
            raise ConnectionRefusedError("the delegate link is not valid")
        rooms.append(delegate_room(delegate.id))
    elif not conference.published and not manager:
        raise ConnectionRefusedError("this conference is not public")
    rooms.append(public_room(conference.id))
    if manager:
        rooms.append(organisers_room(conference.id))
    return rooms


def on_connect(auth=None):
    """Authorise a live client and join it to its rooms (refused without the right credentials)."""
    for room in rooms_for(auth if isinstance(auth, dict) else {}):
        join_room(room)


def register_handlers() -> None:
    """Attach the /live handlers to the Socket.IO server that ``init_app`` just created.

    Called from ``create_app`` after ``socketio.init_app``: a module-level ``@socketio.on`` would
    bind only to whichever server existed when this module was first imported.
    """
    socketio.on_event("connect", on_connect, namespace=NAMESPACE)


# --------------------------------------------------------------------------- publishing


def _room_of(conference: Conference, audience: str) -> str:
    if audience == "public":
        return public_room(conference.id)
    if audience == "organisers":
        return organisers_room(conference.id)
    return delegate_room(int(audience.split(":", 1)[1]))


def _emit(conference_id: int, rows: list[tuple[str, str, dict]]) -> None:
    for event, audience, payload in rows:
        try:
            socketio.emit(event, payload, to=_room_of_id(conference_id, audience),
                          namespace=NAMESPACE)
        except Exception:  # pragma: no cover - e.g. Redis unreachable
            log.exception("could not emit %s for conference %s", event, conference_id)


def _room_of_id(conference_id: int, audience: str) -> str:
    if audience == "public":
        return public_room(conference_id)
    if audience == "organisers":
        return organisers_room(conference_id)
    return delegate_room(int(audience.split(":", 1)[1]))


def _recorded(event: str, build):
    """Log a change's live rows inside the change's transaction (``signals.recorder``); they are
    emitted when the service sends the signal after its commit (``_emit_recorded``)."""
    def record_now(conference, **kwargs):
        # Flushed changes are read back as they will commit (a new room_id, its Room).
        db.session.flush()
        db.session.expire_all()
        rows = build(conference, **kwargs)
        live_services.log_changes(conference, rows)
        db.session.info.setdefault(STASH, {}).setdefault(event, []).append(
            (conference.id, rows))

    def after_commit(conference, **kwargs):
        stashed = db.session.info.get(STASH, {}).pop(event, None)
        if stashed is None:  # sent without ``record`` (a script, a test): log and emit now
            publish(conference, build(conference, **kwargs))
            return
        for conference_id, rows in stashed:
            _emit(conference_id, rows)

    return record_now, after_commit


#: ``Session.info`` key of the rows logged in the current transaction, by event.
STASH = "live_emits"


def forget_stash(session) -> None:  # noqa: ANN001 - SQLAlchemy's session
    """``after_rollback``: rows logged in a rolled-back transaction are never emitted."""
    session.info.pop(STASH, None)


def publish(conference: Conference, rows: list[tuple[str, str, dict]], *,
            record: bool = True) -> None:
    """Record (``events.live.services.record_changes``) and emit ``(event, audience, payload)`` rows.

    ``version`` is filled into each payload: the conference's version, which the service that
    made the change advanced. Failures are logged, never raised: the change is already
    committed, and clients catch up.
    """
    try:
        live_services.record_changes(conference, rows, log=record)
    except Exception:  # pragma: no cover - the database went away after the service's commit
        log.exception("could not record live changes for %s", conference.slug)
    for event, audience, payload in rows:
        try:
            socketio.emit(event, payload, to=_room_of(conference, audience), namespace=NAMESPACE)
        except Exception:  # pragma: no cover - e.g. Redis unreachable
            log.exception("could not emit %s for %s", event, conference.slug)


def _session_changed_rows(conference, session=None, changes=(), **_):
    """A moved, re-roomed, renamed or cancelled session, for everyone."""
    payload = {"conference": conference.slug, "session": live_services.session_payload(session),
               "changes": list(changes)}
    return [("session_changed", "public", payload)]


def _programme_changed_rows(conference, reason="", session=None, **_):
    """Sessions were added or removed, or the conference changed: every page refetches."""
    payload = {"conference": conference.slug, "reason": reason}
    if isinstance(session, dict):  # a deleted session's snapshot, taken before the delete
        payload["session"] = dict(session)
    elif session is not None and session.id is not None:
        payload["session"] = live_services.session_payload(session)
    return [("programme_changed", "public", payload)]


def _session_summary(session) -> dict | None:
    return live_services.session_payload(session) if isinstance(session, Session) else None


def _allocation_published_rows(conference, kind="", session=None, version=None,
                               per_delegate=None, **_):
    """Each delegate their own seats; only the totals to everyone else."""
    per_delegate = per_delegate or {}
    common = {"conference": conference.slug, "kind": kind, "session": _session_summary(session),
              "plan_version": version}
    rows = [("allocation_published", "public", dict(common))]
    rows.append(("allocation_published", "organisers", common | {"delegates": len(per_delegate)}))
    for delegate_id, seats in per_delegate.items():
        rows.append(("allocation_published", f"delegate:{int(delegate_id)}",
                     common | {"seats": list(seats)}))
    return rows


def _block_changed_rows(conference, kind="", session=None, what="", **_):
    """A published block's table, workshop or round changed: pages refetch their seats."""
    payload = {"conference": conference.slug, "kind": kind, "session": _session_summary(session),
               "what": what}
    return [("block_changed", "public", payload)]


def _round_starting_rows(conference, kind="", session=None, number=0, per_delegate=None, **_):
    """Where each delegate goes for round ``number``; screens get the anonymous plan."""
    per_delegate = per_delegate or {}
    common = {"conference": conference.slug, "kind": kind, "session": _session_summary(session),
              "number": number}
    # The venue screens show where tables and workshops are, never who sits where.
    places = []
    for place in per_delegate.values():
        if isinstance(place, dict) and place not in places:
            places.append(place)
    places.sort(key=lambda p: json.dumps(p, sort_keys=True, default=str))
    rows = [("round_starting", "public", common | {"places": places})]
    for delegate_id, place in per_delegate.items():
        rows.append(("round_starting", f"delegate:{int(delegate_id)}", common | {"place": place}))
    return rows


def _announcement_rows(conference, announcement=None, **_):
    """An organiser's announcement, on every page and screen."""
    payload = {"conference": conference.slug, "announcement": dict(announcement or {})}
    return [("announcement", "public", payload)]


#: The logged live events: each is written to the change log in the change's own transaction
#: (``signals.record``) and emitted after its commit (the signal).
LOGGED = (
    (signals.session_changed, _session_changed_rows),
    (signals.programme_changed, _programme_changed_rows),
    (signals.allocation_published, _allocation_published_rows),
    (signals.block_changed, _block_changed_rows),
    (signals.round_starting, _round_starting_rows),
    (signals.announcement_made, _announcement_rows),
)
_RECEIVERS = []
for _signal, _build in LOGGED:
    _record_now, _after_commit = _recorded(str(_signal.name), _build)
    signals.recorder(_signal)(_record_now)
    _signal.connect(_after_commit)
    _RECEIVERS.append(_after_commit)  # blinker holds receivers weakly: keep them alive


@signals.delegate_checked_in.connect
def _on_checked_in(conference, delegate=None, checkin=None, list_name=None, **_):
    """Update the organisers' arrivals figures (not logged: the figures are always current)."""
    payload = {
        "conference": conference.slug,
        "list_name": list_name,
        "checked_in": live_services.checked_in_count(conference, checkin, list_name),
        "total": live_services.registered_count(conference),
        "delegate": {"id": delegate.id, "name": delegate.name,
                     "organisation": delegate.organisation} if delegate is not None else None,
    }
    publish(conference, [("checkin_stats", "organisers", payload)], record=False)


@signals.delegate_link_revoked.connect
def _on_link_revoked(conference, delegate=None, reason="", **_):
    """Cut every live connection a revoked private link opened, at once.

    The page is told (``link_revoked``, so it stops and says why), the sockets connected to
    this process are disconnected, and the delegate's room is closed. The emit and the
    ``close_room`` go through the message queue when there is one, so a socket held by
    another process leaves the room at once and hears nothing private again; its page
    disconnects on ``link_revoked``, and a reconnect with the old link is refused.
    """
    if delegate is None or socketio.server is None:
        return
    room = delegate_room(delegate.id)
    try:
        here = [sid for sid, _ in socketio.server.manager.get_participants(NAMESPACE, room)]
        socketio.emit("link_revoked", {"conference": conference.slug, "reason": reason},
                      to=room, namespace=NAMESPACE)
        for sid in here:
            socketio.server.disconnect(sid, namespace=NAMESPACE)
        socketio.close_room(room, namespace=NAMESPACE)
    except Exception:  # pragma: no cover - e.g. Redis unreachable; the link is revoked anyway
        log.exception("could not close the live connections of delegate %s", delegate.id)


def config_summary() -> dict:
    """Return the live settings, for the organisers' Live page."""
    return {"message_queue": bool(current_app.config.get("SOCKETIO_MESSAGE_QUEUE"))}
