"""Check-in service: badge secrets, check-in lists, redeeming scans, search and arrival figures.

Every adapter (the JSON API the scanner page and phones call, the organiser pages, the CLI)
goes through these functions. ``redeem`` never raises for a scan's outcome: it gathers the
facts, lets ``events.checkin.rules.decide`` judge, commits, logs the attempt and returns a
``ScanResult``, because a refused scan is a normal answer at the door, not an error in the
program. The adapters choose the status code and the words.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from events import hooks, signals
from events.checkin import rules
from events.checkin.models import (
    LIST_KINDS,
    BadgeJob,
    BadgeSecret,
    Checkin,
    CheckinList,
    CheckinNonce,
    ScanLog,
)
from events.conference.models import Conference, Delegate, Organiser, Session
from events.errors import ConvenorError
from events.extensions import db
from events.types import utcnow

DOOR = "door"
MAX_SECRET_BYTES = 1024
#: Offline scans may carry the device's time; more than this in the future is refused.
CLOCK_SKEW = timedelta(minutes=10)
#: Offline scans older than this are refused (a device left in a drawer since last year).
MAX_AGE = timedelta(days=14)
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
BUCKET_MINUTES = 5


def new_secret() -> str:
    """Return a fresh badge secret: 192 random bits, URL-safe base64 (32 characters)."""
    return secrets.token_urlsafe(24)


# --------------------------------------------------------------------------- secrets


def active_secret(delegate: Delegate) -> BadgeSecret | None:
    """Return the delegate's current (unrevoked) badge secret, if any."""
    return db.session.scalar(select(BadgeSecret).where(BadgeSecret.delegate_id == delegate.id,
                                                       BadgeSecret.revoked_at.is_(None)))


def secret_for(delegate: Delegate) -> BadgeSecret:
    """Return the delegate's badge secret, creating (and committing) one when there is none."""
    current = active_secret(delegate)
    if current is not None:
        return current
    row = BadgeSecret(conference_id=delegate.conference_id, delegate_id=delegate.id,
                      secret=new_secret())
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # another request created it at the same moment
        db.session.rollback()
        current = active_secret(delegate)
        if current is None:  # pragma: no cover - a secret collision, 2^-192
            raise
        return current
    return row


def ensure_secrets(conference: Conference) -> int:
    """Give every delegate of ``conference`` without a secret one; return how many were made."""
    have = select(BadgeSecret.delegate_id).where(BadgeSecret.revoked_at.is_(None))
    missing = db.session.scalars(select(Delegate).where(Delegate.conference_id == conference.id,
                                                        Delegate.id.not_in(have))).all()
    db.session.add_all(BadgeSecret(conference_id=conference.id, delegate_id=d.id,
                                   secret=new_secret()) for d in missing)
    db.session.commit()
    return len(missing)


def revoke(delegate: Delegate) -> None:
    """Revoke the delegate's badge (lost or stolen): scans of it answer "revoked" from now on."""
    current = active_secret(delegate)
    if current is not None:
        current.revoked_at = utcnow()
        db.session.commit()


def reissue(delegate: Delegate) -> BadgeSecret:
    """Revoke the current badge and issue a new secret; return it."""
    revoke(delegate)
    return secret_for(delegate)


# --------------------------------------------------------------------------- lists


def door_list(conference: Conference) -> CheckinList:
    """Return the conference's door list, creating it the first time."""
    found = db.session.scalar(select(CheckinList).where(CheckinList.conference_id == conference.id,
                                                        CheckinList.name == DOOR))
    if found is not None:
        return found
    row = CheckinList(conference_id=conference.id, name=DOOR, label="Door", kind="door")
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return door_list(conference)
    return row


def checkin_lists(conference: Conference) -> list[CheckinList]:
    """Return the door list first, then the others by when they happen."""
    door_list(conference)
    rows = db.session.scalars(select(CheckinList).where(CheckinList.conference_id == conference.id)
                              .order_by(CheckinList.id)).all()
    return sorted(rows, key=lambda r: (r.kind != "door", r.day or conference.starts_on,
                                       r.session.starts_at if r.session else datetime.min.replace(
                                           tzinfo=UTC), r.number or 0, r.id))


def get_list(conference: Conference, name: str | None) -> CheckinList | None:
    """Return the list called ``name`` (the door list when empty), or None."""
    if not name or name == DOOR:
        return door_list(conference)
    return db.session.scalar(select(CheckinList).where(CheckinList.conference_id == conference.id,
                                                       CheckinList.name == name))


def round_count(session: Session) -> int:
    """Return how many slots (carousel) or rounds (cafe) a session has (0 when not set up)."""
    for count in hooks.ROUND_COUNTERS:
        rounds = count(session)
        if rounds is not None:
            return rounds
    return 0


def create_list(conference: Conference, data: dict) -> CheckinList:
    """Add a check-in list: ``{"kind": "day", "day": "2027-03-11"}``, ``{"kind": "session",
    "session_id": 3}``, ``{"kind": "slot"|"round", "session_id": 3, "number": 2}``.

    The name and label are derived; adding a list that exists raises ``duplicate``.
    """
    kind = data.get("kind")
    if kind not in LIST_KINDS or kind == "door":
        raise ConvenorError("bad_request", "choose what the list is for",
                            [{"field": "kind", "message": "must be day, session, slot or round"}])
    row = CheckinList(conference_id=conference.id, kind=kind)
    if kind == "day":
        try:
            day = datetime.fromisoformat(str(data.get("day", ""))).date()
        except ValueError:
            raise ConvenorError("bad_request", "the day is not a date", [
                {"field": "day", "message": "must be a date such as 2027-03-11"}]) from None
        if not conference.starts_on <= day <= conference.ends_on:
            raise ConvenorError("bad_request", "the day is outside the conference", [
                {"field": "day", "message": f"must be between {conference.starts_on} and "
                                            f"{conference.ends_on}"}])
        row.day, row.name, row.label = day, f"day-{day.isoformat()}", f"{day:%A} {day.day} {day:%B}"
    else:
        try:
            session_id = int(data.get("session_id"))
        except (TypeError, ValueError):
            session_id = None
        session = db.session.get(Session, session_id) if session_id else None
        if session is None or session.conference_id != conference.id:
            raise ConvenorError("bad_request", "choose a session of this conference",
                                [{"field": "session_id", "message": "no such session"}])
        row.session_id = session.id
        row.name, row.label = f"session-{session.id}", session.title
        if kind in ("slot", "round"):
            want = "carousel" if kind == "slot" else "world_cafe"
            if session.kind != want:
                word = "a carousel" if kind == "slot" else "a World Cafe"
                raise ConvenorError("bad_request", f"{session.title!r} is not {word}",
                                    [{"field": "session_id", "message": f"must be {word} session"}])
            try:
                number = int(data.get("number"))
            except (TypeError, ValueError):
                number = 0
            count = round_count(session)
            if not 1 <= number <= max(count, 0):
                unit = "slot" if kind == "slot" else "round"
                raise ConvenorError("bad_request", f"there is no {unit} {data.get('number')}", [
                    {"field": "number", "message": f"must be between 1 and {count}" if count
                     else f"set up the {unit}s first"}])
            row.number = number
            unit = "slot" if kind == "slot" else "round"
            row.name += f"-{unit}-{number}"
            row.label += f" — {unit} {number}"
    if get_list(conference, row.name) is not None:
        raise ConvenorError("duplicate", f"there is already a list for {row.label}")
    db.session.add(row)
    db.session.commit()
    return row


def delete_list(conference: Conference, name: str) -> None:
    """Remove a list and its check-ins (never the door list)."""
    row = get_list(conference, name)
    if row is None or row.kind == "door":
        raise ConvenorError("bad_request", "the door list cannot be removed" if row else
                            f"no check-in list {name!r}")
    db.session.delete(row)
    db.session.commit()


# --------------------------------------------------------------------------- redeeming


def delegate_json(conference: Conference, delegate: Delegate) -> dict:
    """Return what a door needs to know about a delegate (no email, no private link)."""
    return {"id": delegate.id, "name": delegate.name, "organisation": delegate.organisation,
            "role": delegate.role, "pronouns": delegate.pronouns,
            "access_needs": delegate.access_needs, "dietary": delegate.dietary,
            "status": delegate.status}


def _printable(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


def parse_scan(conference: Conference, data) -> dict:
    """Validate a scan request; return clean values or raise ``bad_request`` naming the fields."""
    if not isinstance(data, dict):
        raise ConvenorError("bad_request", "the body must be a JSON object")
    errors: list[dict] = []
    clean: dict = {"type": "entry", "list": DOOR, "device": "", "nonce": "", "scanned_at": None,
                   "secret": None, "delegate_id": None}
    secret, delegate_id = data.get("secret"), data.get("delegate_id")
    if delegate_id is not None:
        if isinstance(delegate_id, bool) or not isinstance(delegate_id, int):
            errors.append({"field": "delegate_id", "message": "must be a whole number"})
        clean["delegate_id"] = delegate_id
    if secret is not None and delegate_id is not None:
        errors.append({"field": "secret", "message": "send a secret or a delegate_id, not both"})
    elif delegate_id is None:
        if not isinstance(secret, str) or not secret.strip():
            errors.append({"field": "secret", "message": "scan a badge: the secret is empty"})
        elif len(secret.encode("utf-8", "surrogatepass")) > MAX_SECRET_BYTES:
            errors.append({"field": "secret", "message": "is longer than 1 KB; that is not a badge"})
        elif not _printable(secret):
            errors.append({"field": "secret", "message": "contains binary or control characters"})
        else:
            clean["secret"] = secret.strip()
    for name, limit in (("list", 64), ("device", 60), ("nonce", 100)):
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > limit or not _printable(value):
            errors.append({"field": name, "message": f"must be text of at most {limit} characters"})
        elif value.strip():
            clean[name] = value.strip()
    kind = data.get("type", "entry")
    if kind not in ("entry", "exit"):
        errors.append({"field": "type", "message": "must be entry or exit"})
    else:
        clean["type"] = kind
    stamp = data.get("scanned_at")
    if stamp is not None:
        try:
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            errors.append({"field": "scanned_at", "message": "must be an ISO 8601 time"})
        else:
            if when.tzinfo is None:
                when = when.replace(tzinfo=conference.tz)
            when = when.astimezone(UTC)
            now = utcnow()
            if when > now + CLOCK_SKEW:
                errors.append({"field": "scanned_at", "message": "is in the future; check the "
                                                                 "device's clock"})
            elif when < now - MAX_AGE:
                errors.append({"field": "scanned_at", "message": "is more than 14 days old"})
            clean["scanned_at"] = when
    if errors:
        raise ConvenorError("bad_request", "this scan request cannot be read", errors)
    return clean


def _hint(value) -> str:
    if not isinstance(value, str):
        return ""
    return re.sub(r"[^A-Za-z0-9_-]", "", value)[:8]


def log_scan(conference: Conference | None, organiser: Organiser | None, result: str, *,
             data=None, delegate: Delegate | None = None, clean: dict | None = None) -> None:
    """Add a scan-log row for an attempt (committed by the caller, or here for refusals)."""
    raw = data if isinstance(data, dict) else {}
    clean = clean or {}

    def text(name, limit):
        value = clean.get(name) or raw.get(name)
        return value[:limit] if isinstance(value, str) and _printable(value) else ""

    db.session.add(ScanLog(
        conference_id=conference.id if conference else None, list_name=text("list", 64) or DOOR,
        delegate_id=delegate.id if delegate else None, secret_hint=_hint(raw.get("secret")),
        type=clean.get("type") or ("exit" if raw.get("type") == "exit" else "entry"),
        result=result, device=text("device", 60), nonce=text("nonce", 100),
        scanned_at=clean.get("scanned_at"), organiser_id=organiser.id if organiser else None))


def refuse(conference: Conference | None, organiser: Organiser | None, result: str, data=None) -> None:
    """Log a request refused before it was a scan (bad JSON, wrong role) and commit."""
    db.session.rollback()
    log_scan(conference, organiser, result, data=data)
    db.session.commit()


def _stamp(conference: Conference, moment: datetime) -> str:
    return conference.local(moment).isoformat(timespec="seconds")


@dataclass
class ScanResult:
    """What a scan came to, in the domain's words; adapters choose their own status and text.

    ``outcome`` is one of ``rules.OUTCOMES``; ``delegate`` is the door's view of the person
    (``delegate_json``) when the answer names them; ``at`` is, in the conference's zone, the
    time recorded for ``ok`` or the first entry's time for ``already_checked_in``, and
    ``device`` that entry's device. ``manual`` says the delegate was picked by hand rather than
    scanned. ``replayed`` is set when a nonce repeats and this is the first answer again.
    """

    outcome: rules.Outcome
    type: rules.ScanType
    list_name: str
    manual: bool = False
    delegate: dict | None = None
    at: datetime | None = None
    device: str = ""
    checkin: Checkin | None = None
    replayed: bool = False
    #: The stored (HTTP status, JSON body) of a nonce recorded before check-in spoke the domain;
    #: adapters replay it verbatim.
    legacy_answer: tuple[int, dict] | None = None

    def record(self) -> dict:
        """Return the result as JSON-ready data, stored with the nonce for a retry."""
        return {"outcome": self.outcome, "type": self.type, "list": self.list_name,
                "manual": self.manual, "delegate": self.delegate,
                "at": self.at.isoformat() if self.at else None, "device": self.device}

    @classmethod
    def from_nonce(cls, seen: CheckinNonce) -> ScanResult:
        """Rebuild the first answer stored with a nonce."""
        data = seen.response
        if "outcome" not in data:  # written before check-in spoke the domain
            return cls(outcome="ok" if data.get("status") == "ok" else data.get("reason", "invalid"),
                       type=data.get("type", "entry"), list_name=data.get("list", ""),
                       replayed=True, legacy_answer=(seen.status_code, data))
        return cls(outcome=data["outcome"], type=data["type"], list_name=data["list"],
                   manual=data["manual"], delegate=data["delegate"],
                   at=datetime.fromisoformat(data["at"]) if data["at"] else None,
                   device=data["device"], replayed=True)


def _entry(list_id: int, delegate_id: int) -> Checkin | None:
    return db.session.scalar(select(Checkin).where(Checkin.list_id == list_id,
                                                   Checkin.delegate_id == delegate_id,
                                                   Checkin.type == "entry"))


def _facts(entry: Checkin | None) -> rules.Entry | None:
    return rules.Entry(at=entry.checked_in_at, device=entry.device) if entry else None


def _outcome(conference: Conference, organiser: Organiser | None,
             clean: dict) -> tuple[ScanResult, Delegate | None]:
    """Gather the facts, let ``rules.decide`` judge, add the check-in row (flushed, no commit)."""
    manual = clean["secret"] is None
    result = ScanResult(outcome="invalid", type=clean["type"], list_name=clean["list"],
                        manual=manual)
    checkin_list = get_list(conference, clean["list"])
    delegate: Delegate | None = None
    revoked = False
    if checkin_list is not None:
        result.list_name = checkin_list.name
        if not manual:
            badge = None
            if SECRET_RE.fullmatch(clean["secret"]):
                badge = db.session.scalar(select(BadgeSecret).where(
                    BadgeSecret.secret == clean["secret"]))
            if badge is not None and badge.conference_id == conference.id:
                delegate, revoked = badge.delegate, badge.revoked_at is not None
        else:
            delegate = db.session.get(Delegate, clean["delegate_id"])
            if delegate is not None and delegate.conference_id != conference.id:
                delegate = None
    active = delegate is not None and delegate.status == "active"
    first = _entry(checkin_list.id, delegate.id) if active and not revoked else None
    facts = rules.Facts(type=clean["type"], list_exists=checkin_list is not None,
                        known=delegate is not None, revoked=revoked, active=active,
                        entry=_facts(first), scanned_at=clean["scanned_at"])
    decision = rules.decide(facts, utcnow())
    if decision.outcome not in ("unknown_list", "invalid"):
        result.delegate = delegate_json(conference, delegate)
    if decision.writes:
        row = Checkin(list_id=checkin_list.id, delegate_id=delegate.id, type=decision.type,
                      checked_in_at=decision.at, device=clean["device"],
                      method="manual" if manual else "scan",
                      organiser_id=organiser.id if organiser else None)
        db.session.add(row)
        try:
            # Nothing else is written yet in this transaction, so losing the race rolls back
            # only this row (no SAVEPOINT: SQLite's driver would commit the row when one is
            # released).
            db.session.flush()
        except IntegrityError:
            if decision.type == "exit":  # pragma: no cover - exits have no unique index
                raise
            # Another device checked the same badge in at this instant: the database let one
            # win, and this scan is a repeat of that one.
            db.session.rollback()
            facts = replace(facts, entry=_facts(_entry(checkin_list.id, delegate.id)))
            decision = rules.decide(facts, utcnow())
        else:
            result.checkin = row
    result.outcome, result.type = decision.outcome, decision.type
    result.at = conference.local(decision.at) if decision.at else None
    result.device = decision.device
    return result, delegate


def redeem(conference: Conference, organiser: Organiser | None, data) -> ScanResult:
    """Check a badge (or a delegate picked by hand) in or out and commit; return what it came to.

    A refused scan is an outcome, not an error. The result for a nonce is stored with the scan,
    keyed by (caller, device, nonce), so a client retry gets the same result (``replayed``)
    and no second record. Raises ``bad_request`` (after logging) when the request cannot be
    read, ``nonce_reused`` when the nonce was used for a different scan.
    """
    try:
        clean = parse_scan(conference, data)
    except ConvenorError:
        refuse(conference, organiser, "bad_request", data)
        raise
    key = nonce_key(organiser, clean) if clean["nonce"] else None
    fingerprint = request_fingerprint(clean)
    if key:
        seen = _nonce(conference, key)
        if seen is not None:
            return _replay(conference, organiser, seen, fingerprint, data)
    result, delegate = _outcome(conference, organiser, clean)
    log_scan(conference, organiser, result.outcome, data=data, delegate=delegate, clean=clean)
    if key:
        # status_code is kept for nonces stored before check-in spoke the domain; 0 marks a
        # stored domain result. The request's fingerprint tells a retry from a reused nonce.
        db.session.add(CheckinNonce(conference_id=conference.id, nonce=key, status_code=0,
                                    response=result.record() | {"request": fingerprint}))
    try:
        db.session.commit()
    except IntegrityError:
        # The same nonce arrived twice at once: the first stored answer is the answer.
        db.session.rollback()
        seen = _nonce(conference, key) if key else None
        if seen is None:
            raise
        return _replay(conference, organiser, seen, fingerprint, data)
    if result.checkin is not None:
        signals.delegate_checked_in.send(conference, delegate=delegate, checkin=result.checkin,
                                         list_name=result.list_name)
    return result


def nonce_key(organiser: Organiser | None, clean: dict) -> str:
    """Return the stored idempotency key: the nonce scoped to its caller and device.

    Two phones (or two API tokens) that both count their scans from 1 never answer each
    other's scans. Hashed so that any device name and nonce fit the column.
    """
    scope = json.dumps([organiser.id if organiser else None, clean["device"], clean["nonce"]])
    return "k1:" + hashlib.sha256(scope.encode()).hexdigest()


def request_fingerprint(clean: dict) -> str:
    """Return a digest of what a scan asks (badge or delegate, list, type), kept with its nonce."""
    what = json.dumps([clean["secret"], clean["delegate_id"], clean["list"], clean["type"]])
    return hashlib.sha256(what.encode()).hexdigest()


def _replay(conference: Conference, organiser: Organiser | None, seen: CheckinNonce,
            fingerprint: str, data) -> ScanResult:
    """Return the first answer for a retry; raise ``nonce_reused`` if the request differs."""
    if seen.response.get("request") != fingerprint:
        refuse(conference, organiser, "nonce_reused", data)
        raise ConvenorError("nonce_reused", "this nonce was already used for a different scan; "
                            "send a new nonce with every scan",
                            [{"field": "nonce", "message": "was already used for a different "
                                                           "badge, delegate, list or type"}])
    return ScanResult.from_nonce(seen)


def _nonce(conference: Conference, key: str) -> CheckinNonce | None:
    return db.session.scalar(select(CheckinNonce).where(CheckinNonce.conference_id == conference.id,
                                                        CheckinNonce.nonce == key))


#: The columns of the check-ins CSV export.
CHECKIN_COLUMNS = ("list", "type", "delegate", "organisation", "email", "time", "device",
                   "method")


def checkin_rows(conference: Conference) -> list[tuple]:
    """Return every check-in and check-out of the conference, in time order, for the CSV export."""
    rows = db.session.execute(
        select(CheckinList.name, Checkin.type, Delegate.name, Delegate.organisation,
               Delegate.email, Checkin.checked_in_at, Checkin.device, Checkin.method)
        .join(CheckinList, CheckinList.id == Checkin.list_id)
        .join(Delegate, Delegate.id == Checkin.delegate_id)
        .where(CheckinList.conference_id == conference.id)
        .order_by(Checkin.checked_in_at, Checkin.id)).all()
    return [(*row[:5], _stamp(conference, row[5]), *row[6:]) for row in rows]


def count_arrived(conference: Conference, list_name: str | None = None) -> int:
    """Return how many delegates are checked in on a list (the door when None)."""
    return db.session.scalar(
        select(func.count(Checkin.id)).join(CheckinList, CheckinList.id == Checkin.list_id)
        .where(CheckinList.conference_id == conference.id, CheckinList.name == (list_name or DOOR),
               Checkin.type == "entry")) or 0


# --------------------------------------------------------------------------- search


def search(conference: Conference, query: str, list_name: str | None = None,
           limit: int = 20) -> list[dict]:
    """Find delegates by name, organisation or the start of their badge secret (4+ characters)."""
    query = (query or "").strip()
    if not query:
        return []
    if len(query) > 100:
        raise ConvenorError("bad_request", "the search is too long",
                            [{"field": "q", "message": "must be at most 100 characters"}])
    pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    conditions = [func.lower(Delegate.name).like(pattern, escape="\\"),
                  func.lower(Delegate.organisation).like(pattern, escape="\\")]
    if len(query) >= 4 and SECRET_RE.fullmatch(query.ljust(20, "a")):
        prefix = query.replace("_", "\\_") + "%"
        owners = select(BadgeSecret.delegate_id).where(BadgeSecret.conference_id == conference.id,
                                                       BadgeSecret.revoked_at.is_(None),
                                                       BadgeSecret.secret.like(prefix, escape="\\"))
        conditions.append(Delegate.id.in_(owners))
    found = db.session.scalars(select(Delegate).where(Delegate.conference_id == conference.id,
                                                      or_(*conditions))
                               .order_by(Delegate.name, Delegate.id).limit(limit)).all()
    checkin_list = get_list(conference, list_name)
    entries = {}
    if checkin_list is not None and found:
        entries = {c.delegate_id: c for c in db.session.scalars(select(Checkin).where(
            Checkin.list_id == checkin_list.id, Checkin.type == "entry",
            Checkin.delegate_id.in_([d.id for d in found])))}
    results = []
    for d in found:
        entry = entries.get(d.id)
        results.append(delegate_json(conference, d) | {
            "checked_in_at": _stamp(conference, entry.checked_in_at) if entry else None,
            "device": entry.device if entry else None})
    return results


# --------------------------------------------------------------------------- arrivals


def expected_count(conference: Conference) -> int:
    """Return how many delegates are registered (not cancelled)."""
    return db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == conference.id, Delegate.status == "active")) or 0


def door_summary(conference: Conference) -> dict:
    """Return door arrivals and expected delegates, for the overview panel."""
    return {"arrived": count_arrived(conference), "expected": expected_count(conference)}


def arrived_ids(conference: Conference) -> set[int]:
    """Return the ids of delegates checked in at the door."""
    door = door_list(conference)
    return set(db.session.scalars(select(Checkin.delegate_id).where(
        Checkin.list_id == door.id, Checkin.type == "entry")))


def delegate_checkins(delegate: Delegate) -> list[dict]:
    """Return where a delegate has checked in (list label and time), for their page."""
    rows = db.session.scalars(select(Checkin).where(Checkin.delegate_id == delegate.id,
                                                    Checkin.type == "entry")
                              .order_by(Checkin.checked_in_at)).all()
    return [{"label": r.checkin_list.label, "at": r.checked_in_at} for r in rows]



def arrivals(conference: Conference) -> dict:
    """Return the arrival figures: per list, per organisation, per 5 minutes, and the latest scans."""
    expected = expected_count(conference)
    lists = checkin_lists(conference)
    counts = dict(db.session.execute(
        select(Checkin.list_id, func.count(Checkin.id)).join(CheckinList)
        .where(CheckinList.conference_id == conference.id, Checkin.type == "entry")
        .group_by(Checkin.list_id)).all())
    exits = dict(db.session.execute(
        select(Checkin.list_id, func.count(Checkin.id)).join(CheckinList)
        .where(CheckinList.conference_id == conference.id, Checkin.type == "exit")
        .group_by(Checkin.list_id)).all())
    door = lists[0]
    by_org: dict[str, list[int]] = {}
    for org, status, arrived in db.session.execute(
            select(Delegate.organisation, Delegate.status, Checkin.id)
            .outerjoin(Checkin, (Checkin.delegate_id == Delegate.id) & (Checkin.list_id == door.id)
                       & (Checkin.type == "entry"))
            .where(Delegate.conference_id == conference.id)):
        if status != "active" and arrived is None:
            continue
        row = by_org.setdefault(org or "(none)", [0, 0])
        row[0] += 1
        row[1] += arrived is not None
    times = db.session.scalars(select(Checkin.checked_in_at).where(
        Checkin.list_id == door.id, Checkin.type == "entry").order_by(Checkin.checked_in_at)).all()
    buckets: list[dict] = []
    if times:
        def floor(moment):
            local = conference.local(moment)
            return local.replace(minute=local.minute - local.minute % BUCKET_MINUTES, second=0,
                                 microsecond=0)
        start, end = floor(times[0]), floor(times[-1])
        span = int((end - start).total_seconds() // 60 // BUCKET_MINUTES) + 1
        if span > 288:  # more than a day: keep the busiest stretch readable
            start = end - timedelta(minutes=BUCKET_MINUTES * 287)
            span = 288
        tally = [0] * span
        for moment in times:
            index = int((floor(moment) - start).total_seconds() // 60 // BUCKET_MINUTES)
            if 0 <= index < span:
                tally[index] += 1
        buckets = [{"start": (start + timedelta(minutes=BUCKET_MINUTES * i)).isoformat(),
                    "label": f"{start + timedelta(minutes=BUCKET_MINUTES * i):%H:%M}",
                    "count": n} for i, n in enumerate(tally)]
    latest = db.session.scalars(select(ScanLog).where(ScanLog.conference_id == conference.id)
                                .order_by(ScanLog.received_at.desc(), ScanLog.id.desc())
                                .limit(15)).all()
    return {
        "expected": expected,
        "arrived": counts.get(door.id, 0),
        "lists": [{"name": c.name, "label": c.label, "kind": c.kind,
                   "checked_in": counts.get(c.id, 0), "checked_out": exits.get(c.id, 0)}
                  for c in lists],
        "organisations": [{"organisation": org, "expected": n, "arrived": a}
                          for org, (n, a) in sorted(by_org.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        "per_5_minutes": buckets,
        "latest": [{"at": _stamp(conference, s.scanned_at or s.received_at), "result": s.result,
                    "list": s.list_name, "device": s.device, "type": s.type,
                    "delegate": s.delegate.name if s.delegate else None} for s in latest],
    }


# --------------------------------------------------------------------------- badge jobs


def badge_for(delegate: Delegate):
    """Return the printable badge of a delegate (issuing a secret if needed)."""
    from events.checkin.badges import Badge

    access = []
    if delegate.needs_step_free:
        access.append("Step-free access")
    if delegate.needs_hearing_loop:
        access.append("Hearing loop")
    if delegate.access_other:
        access.append("Access: " + delegate.access_other[:40])
    if delegate.dietary:
        access.append("Diet: " + delegate.dietary[:40])
    return Badge(secret=secret_for(delegate).secret, name=delegate.name,
                 organisation=delegate.organisation, role=delegate.role,
                 pronouns=delegate.pronouns, access=tuple(access),
                 conference=delegate.conference.name)


def badge_people(conference: Conference, organisation: str = "", *,
                 not_arrived: bool = False) -> list[Delegate]:
    """Return the registered delegates to print badges for, by organisation then name."""
    people = [d for d in conference.delegates if d.status == "active"
              and (not organisation or d.organisation == organisation)]
    if not_arrived:
        arrived = arrived_ids(conference)
        people = [d for d in people if d.id not in arrived]
    return sorted(people, key=lambda d: (d.organisation.lower(), d.name.lower(), d.id))


def start_badge_job(conference: Conference, delegate_ids: list[int], layout: str) -> BadgeJob:
    """Record a badge PDF to build; ``run_badge_job`` builds it."""
    from events.checkin.badges import LAYOUTS

    if layout not in LAYOUTS:
        raise ConvenorError("bad_request", "choose A6 badges or A4 sheets",
                            [{"field": "layout", "message": "must be a6 or a4"}])
    ensure_secrets(conference)
    job = BadgeJob(id=secrets.token_hex(16), conference_id=conference.id, layout=layout,
                   delegate_ids=list(delegate_ids), total=len(delegate_ids))
    db.session.add(job)
    db.session.commit()
    return job


def run_badge_job(job_id: str) -> None:
    """Build a job's PDF, saving progress every 25 badges (call inside an app context)."""
    from events.checkin.badges import badge_pdf

    job = db.session.get(BadgeJob, job_id)
    if job is None:
        return
    conference = db.session.get(Conference, job.conference_id)
    job.status = "running"
    db.session.commit()
    people = {d.id: d for d in db.session.scalars(select(Delegate).where(
        Delegate.id.in_(job.delegate_ids)))}

    def progress(n: int) -> None:
        db.session.execute(BadgeJob.__table__.update().where(BadgeJob.id == job_id).values(done=n))
        db.session.commit()

    try:
        pdf = badge_pdf((badge_for(people[i]) for i in job.delegate_ids if i in people),
                        layout=job.layout, title=f"{conference.name} badges", progress=progress)
    except Exception as exc:  # pragma: no cover - reported on the progress page
        db.session.rollback()
        job = db.session.get(BadgeJob, job_id)
        job.status, job.error = "failed", str(exc)[:300]
        db.session.commit()
        raise
    job = db.session.get(BadgeJob, job_id)
    job.pdf, job.status, job.done = pdf, "done", job.total
    db.session.commit()


def get_badge_job(conference: Conference, job_id: str) -> BadgeJob:
    """Return a badge job of this conference, or raise ``not_found``."""
    job = db.session.get(BadgeJob, job_id) if job_id and len(job_id) <= 32 else None
    if job is None or job.conference_id != conference.id:
        raise ConvenorError("not_found", "no such badge job")
    return job


# --------------------------------------------------------------------------- demo


def demo(conference: Conference) -> None:
    """Give the demo badges, a list for the opening keynote, and the first 40 minutes of arrivals.

    About two in five delegates are already through the door (08:00–08:40 on the day), so the
    arrivals page has a curve to show and the scanner still has plenty of people to check in.
    """
    import random
    from datetime import time

    from events.conference.services import programme_sessions

    ensure_secrets(conference)
    door = door_list(conference)
    keynote = next((s for s in programme_sessions(conference) if s.kind == "keynote"), None)
    if keynote is not None:
        create_list(conference, {"kind": "session", "session_id": keynote.id})
    rng = random.Random(800)
    people = sorted((d for d in conference.delegates if d.status == "active"), key=lambda d: d.id)
    opening = datetime.combine(conference.starts_on, time(8, 0), tzinfo=conference.tz)
    for d in rng.sample(people, k=len(people) * 2 // 5):
        # Arrivals bunch up around 08:20: a triangular spread over the first 40 minutes.
        minutes = rng.triangular(0, 40, 22)
        when, desk = opening + timedelta(minutes=minutes), rng.choice(["Desk 1", "Desk 2", "Desk 3"])
        db.session.add(Checkin(list_id=door.id, delegate_id=d.id, type="entry", checked_in_at=when,
                               device=desk))
        db.session.add(ScanLog(conference_id=conference.id, list_name=DOOR, delegate_id=d.id,
                               result="ok", device=desk, scanned_at=when, received_at=when))
    db.session.commit()


