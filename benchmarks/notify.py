"""Benchmark the notification outbox: a re-published carousel plan and a cancelled keynote.

Run: ``.venv/bin/python benchmarks/notify.py [--delegates 2000] [--moved 300]
[--db sqlite|postgresql|sqlite,postgresql] [--rate 50] [--out docs/benchmarks_notify.md]``.

The script, in one process:

1. starts the fake Slack Web API (``tests/slack_fake.FakeSlack``) and makes a fresh database —
   a SQLite file, or a throwaway PostgreSQL cluster (``benchmarks/checkin.Postgres``) — with
   ``db.create_all()``;
2. builds the app with the Slack bot on (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``,
   ``SLACK_API_URL`` = the fake, ``PUBLIC_URL``) and seeds a published conference a week from
   today: ``--delegates`` active delegates, **every one linked to Slack** (``slack_user_id``, and
   the bot's ``SlackUser`` row with the DM channel already open), so every notice is a Slack DM
   and no email is sent (``MAIL_SERVER`` unset; SMTP is not measured); one keynote for
   everyone; a carousel block with 2 slots and 20 workshops with enough seats for everyone
   (no ranked preferences), allocated and published (v1). The first publish's notices (a seats
   DM each and two reminders each, handed to ``chat.scheduleMessage``) are drained, with no
   rate limit, before anything is timed;
3. **re-publish**: saves a new plan version in which exactly ``--moved`` delegates sit
   elsewhere (pairs of delegates swap their first-slot workshops; checked with
   ``carousels.rounds.notices.seat_changes``), then times ``carousels.rounds.services.publish``
   (the organiser's request: writes the seat notices and re-syncs the reminders) and the time
   from its commit until the worker has handed every resulting notice to the fake: a seats DM
   per moved delegate, their changed reminder withdrawn (``chat.deleteScheduledMessage``) and
   the new one scheduled;
4. **cancel the keynote**: times ``events.conference.services.cancel_session`` (one change
   notice per delegate) and the delivery. Change notices wait the 60-s merge window
   (``next_attempt_at``): the worker here runs with its clock 61 s ahead
   (``run_once(now=utcnow() + 61 s)``), so the delivery time excludes the window — a delegate
   gets the DM 60 s + that time after the cancel;
5. after each measurement, the **baseline**: one thread calling ``WebClient.chat_postMessage``
   in a plain loop (slack_sdk's ``RateLimitErrorRetryHandler`` sleeping out each 429), no
   outbox, for as many messages as the outbox delivered, against the same fake and the same
   rate limit.

The worker is ``events.notify.worker.run_once(now=…, limit=200)`` looped in one thread as
``run_forever`` loops it (again at once after a pass that did something, else wait for the
commit wake-up or 1 s); 429s are honoured in real time (the row waits ``Retry-After``).

Rate limit: the fake answers 429 with ``Retry-After`` when a token bucket of ``--rate`` calls/s
(burst: one second's worth) shared by ``chat.postMessage`` and ``chat.scheduleMessage`` is empty.
Slack documents chat.postMessage as a special tier: about one message per second per channel with
short bursts, plus an unpublished workspace-wide limit; chat.scheduleMessage refers to
chat.postMessage's limits. Every DM here goes to a different channel, so the workspace-wide
limit is what binds; 50/s is the figure used here (``--rate``). chat.deleteScheduledMessage is
Tier 3 (50+ per minute): not limited by default (``--delete-rate N`` per minute limits it).

Checks: every notice ends ``sent``/``scheduled`` (withdrawn reminders ``cancelled``), none
``failed`` or still waiting, and no notice's message (``block_id`` ``convenor-notice-<id>``)
reached Slack twice. Bar: 2,000 DMs queued in < 1 s of the organiser's request time, delivered
at Slack's documented rate without a single 429 left unhandled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.checkin import Postgres  # noqa: E402
from tests.slack_fake import FakeSlack  # noqa: E402

BOT_TOKEN = "xoxb-benchmark"
SIGNING_SECRET = "benchmark-signing-secret"
SECRET_KEY = "benchmark-secret-key"
PUBLIC_URL = "https://convenor.example.org"
SLUG = "notify-bench"
WORKSHOPS = 20
POSTING = ("chat.postMessage", "chat.scheduleMessage")
DELETE = "chat.deleteScheduledMessage"
LIMIT = 200
BAR_QUEUE_S = 1.0


def slack_id(n: int) -> str:
    return f"U{n:07d}"


# --------------------------------------------------------------------------- set-up


def build_app(url: str, fake: FakeSlack):
    from app import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url, "PUBLIC_URL": PUBLIC_URL,
        "CAROUSEL_TIME_LIMIT_S": 10,
    })


def seed(delegates: int) -> tuple[int, int, int]:
    """Create the conference; return (conference id, keynote id, carousel id). App context."""
    from bot.models import SlackUser
    from carousels.workshops import services as ws
    from events.conference import services
    from events.conference.models import Delegate
    from events.extensions import db

    day = dt.date.today() + dt.timedelta(days=7)
    owner = services.create_organiser("bench@example.org", "correct-horse-9")
    conference = services.create_conference(owner, {
        "slug": SLUG, "name": "Notifications Benchmark", "starts_on": day.isoformat(),
        "ends_on": day.isoformat(), "timezone": "Europe/London", "venue": "London",
        "published": True})
    hall = services.create_room(conference, {"name": "Main Hall", "capacity": delegates + 100})

    def at(hhmm: str) -> str:
        return f"{day.isoformat()}T{hhmm}"

    keynote = services.create_session(conference, {
        "title": "Opening keynote", "kind": "keynote", "starts_at": at("09:00"),
        "ends_at": at("09:45"), "room_id": hall.id})
    carousel = services.create_session(conference, {
        "title": "Carousel workshops", "kind": "carousel", "starts_at": at("10:45"),
        "ends_at": at("12:10")})
    rows = []
    for n in range(1, delegates + 1):
        values, errors = services.delegate_values({
            "name": f"Delegate {n}", "email": f"delegate{n}@example.org",
            "organisation": f"Trust {n % 150}", "role": "Headteacher"})
        assert not errors, errors
        rows.append(Delegate(conference=conference, **{**values, "slack_user_id": slack_id(n)}))
    db.session.add_all(rows)
    # The bot has met everyone already (linked through Slack): their DM channel is open.
    db.session.add_all(SlackUser(slack_user_id=slack_id(n), dm_channel_id="D" + slack_id(n))
                       for n in range(1, delegates + 1))
    db.session.commit()
    for n, (start, end) in enumerate((("10:50", "11:15"), ("11:40", "12:05")), 1):
        ws.add_slot(carousel, {"label": f"Carousel {n}", "starts_at": at(start),
                               "ends_at": at(end)})
    capacity = math.ceil(delegates * 1.1 / WORKSHOPS)
    for w in range(WORKSHOPS):
        room = services.create_room(conference, {"name": f"Room {w + 1}", "capacity": capacity})
        ws.add_workshop(carousel, {"title": f"Workshop {w + 1}", "room_id": room.id,
                                   "capacity": capacity, "led_by": "peer"})
    return conference.id, keynote.id, carousel.id


def new_version_moving(carousel, moved: int, seed_value: int = 1) -> int:
    """Save the next plan version with exactly ``moved`` delegates' seats changed (pairs, and
    one triple when ``moved`` is odd, rotate their first-slot workshops); return the version."""
    from carousels.rounds import services as rounds
    from carousels.workshops import services as ws

    fmt = rounds.FORMATS["carousel"]
    plan = rounds.published_plan(fmt, carousel)
    slots, workshops = ws.get_slots(carousel), ws.get_workshops(carousel)
    first, second = slots[0].number, slots[1].number
    before = ws.plan_assignments(plan, slots, workshops)
    after = {d: dict(s) for d, s in before.items()}
    people = [d for d, s in before.items() if first in s and second in s]
    random.Random(seed_value).shuffle(people)
    sizes = [2] * (moved // 2)
    if moved % 2:
        sizes[-1:] = [3] if sizes else [3]
    chosen: set[int] = set()
    for size in sizes:
        group: list[int] = []
        for d in people:
            if d in chosen or d in group:
                continue
            mine = before[d][first]
            if any(before[o][first] == mine for o in group):
                continue
            trial = group + [d]
            # Each takes the next one's first-slot workshop; none may then have it twice.
            if len(trial) == size and any(
                    before[trial[(i + 1) % size]][first] == before[p][second]
                    for i, p in enumerate(trial)):
                continue
            group = trial
            if len(group) == size:
                break
        if len(group) < size:
            raise RuntimeError("could not find delegates to swap")
        for i, d in enumerate(group):
            after[d][first] = before[group[(i + 1) % size]][first]
        chosen |= set(group)
    new = ws._save_plan(carousel, after, dict(plan.stats),
                        f"From version {plan.version}: {moved} delegates moved (benchmark)")
    rounds.commit_plan(fmt)
    return new.version


# --------------------------------------------------------------------------- the worker


class Worker:
    """``run_once`` looped in one thread the way ``run_forever`` loops it; ``skew`` moves its
    clock ahead (to step over the change notices' merge window)."""

    def __init__(self, app) -> None:
        self.app = app
        self.skew = timedelta(0)
        self.stop = threading.Event()
        self.passes = 0
        self.counts: Counter = Counter()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self.loop, name="notify-bench-worker",
                                       daemon=True)
        self.thread.start()

    def loop(self) -> None:
        from events.extensions import db
        from events.notify import services, worker
        from events.types import utcnow

        while not self.stop.is_set():
            counts = {}
            with self.app.app_context():
                try:
                    counts = worker.run_once(now=utcnow() + self.skew, limit=LIMIT)
                except Exception as exc:  # noqa: BLE001 - reported, the loop goes on
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                    db.session.rollback()
                finally:
                    db.session.remove()
            self.passes += 1
            self.counts.update(counts)
            if counts:
                continue
            services.wake.wait(1.0)
            services.wake.clear()

    def cpu(self) -> float:
        """CPU seconds the worker thread has used so far."""
        return time.clock_gettime(time.pthread_getcpuclockid(self.thread.ident))

    def close(self) -> None:
        from events.notify import services

        self.stop.set()
        services.wake.set()
        self.thread.join(timeout=30)


def waiting_notices() -> int:
    from sqlalchemy import func, select

    from events.extensions import db
    from events.notify.models import PENDING, UNSCHEDULE, Notice

    try:
        return db.session.scalar(select(func.count(Notice.id)).where(
            Notice.status.in_((PENDING, UNSCHEDULE)))) or 0
    finally:
        db.session.rollback()


def wait_drained(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if waiting_notices() == 0:
            return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- measurements


@dataclass
class Phase:
    name: str
    notices: int = 0
    kinds: dict = field(default_factory=dict)
    withdrawn: int = 0
    request_ms: float = 0.0
    request_cpu_ms: float = 0.0
    deliver_s: float = 0.0
    worker_cpu_s: float = 0.0
    posted: int = 0
    scheduled: int = 0
    deleted: int = 0
    answered_429: int = 0
    rows_per_s: float = 0.0
    msgs_per_s: float = 0.0
    drained: bool = False
    baseline_n: int = 0
    baseline_s: float = 0.0
    baseline_429: int = 0
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.deliver_s / self.baseline_s if self.baseline_s else float("nan")


class CommitClock:
    """Record when the main thread's session commits (the request's commit)."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session as OrmSession

        self.at: float | None = None
        self.armed = False
        self.main = threading.main_thread()
        event.listen(OrmSession, "after_commit", self.on_commit)

    def on_commit(self, _session) -> None:  # noqa: ANN001
        if self.armed and threading.current_thread() is self.main:
            self.at = time.monotonic()

    def arm(self) -> None:
        self.at, self.armed = None, True

    def disarm(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session as OrmSession

        self.armed = False
        if event.contains(OrmSession, "after_commit", self.on_commit):
            event.remove(OrmSession, "after_commit", self.on_commit)


def measure(phase: Phase, fake: FakeSlack, worker: Worker, request, *,
            timeout: float) -> None:
    """Run ``request()`` (in an app context), then wait until the worker has handed every
    notice it wrote to the fake; fill ``phase``."""
    from sqlalchemy import func, select

    from events.extensions import db
    from events.notify.models import CANCELLED, Notice

    last_id = db.session.scalar(select(func.max(Notice.id))) or 0
    cancelled_before = db.session.scalar(
        select(func.count(Notice.id)).where(Notice.status == CANCELLED)) or 0
    db.session.rollback()
    mark = len(fake.calls)
    limited_before = fake.rate_limited
    clock = CommitClock()
    clock.arm()
    worker_cpu = worker.cpu()
    cpu = time.thread_time()
    start = time.monotonic()
    try:
        request()
    finally:
        clock.disarm()
    end = time.monotonic()
    phase.request_cpu_ms = (time.thread_time() - cpu) * 1000
    phase.request_ms = (end - start) * 1000
    committed = clock.at or end
    phase.drained = wait_drained(timeout)
    phase.worker_cpu_s = worker.cpu() - worker_cpu
    with fake._cond:
        calls = fake.calls[mark:]
    ok = [c for c in calls if c.status == 200 and isinstance(c.response, dict)
          and c.response.get("ok")]
    last = max((c.at for c in ok), default=committed)
    phase.deliver_s = last - committed
    phase.posted = sum(c.method == "chat.postMessage" for c in ok)
    phase.scheduled = sum(c.method == "chat.scheduleMessage" for c in ok)
    phase.deleted = sum(c.method == DELETE for c in ok)
    phase.answered_429 = fake.rate_limited - limited_before
    rows = db.session.execute(select(Notice.kind, func.count(Notice.id))
                              .where(Notice.id > last_id).group_by(Notice.kind)).all()
    phase.kinds = dict(rows)
    phase.notices = sum(phase.kinds.values())
    phase.withdrawn = (db.session.scalar(select(func.count(Notice.id)).where(
        Notice.status == CANCELLED, Notice.id <= last_id)) or 0) - cancelled_before
    db.session.rollback()
    handled = phase.notices + phase.withdrawn
    phase.rows_per_s = handled / phase.deliver_s if phase.deliver_s > 0 else float("nan")
    phase.msgs_per_s = (phase.posted + phase.scheduled) / phase.deliver_s \
        if phase.deliver_s > 0 else float("nan")


def baseline(phase: Phase, fake: FakeSlack, n: int, delegates: int, rate: float | None) -> None:
    """A plain ``chat.postMessage`` loop for ``n`` DMs, no outbox, the same rate limit."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    fake.rate_limit(POSTING, rate)  # a full bucket, as the outbox had
    web = WebClient(token=BOT_TOKEN, base_url=fake.url, timeout=15,
                    retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1000)])
    limited_before = fake.rate_limited
    start = time.monotonic()
    for i in range(n):
        user = slack_id(i % delegates + 1)
        text = f"🔔 Opening keynote is cancelled (baseline message {i + 1})."
        web.chat_postMessage(channel="D" + user, text=text, blocks=[{
            "type": "section", "block_id": f"baseline-{phase.name}-{i}",
            "text": {"type": "mrkdwn", "text": text}}])
    phase.baseline_s = time.monotonic() - start
    phase.baseline_n = n
    phase.baseline_429 = fake.rate_limited - limited_before


def check(fake: FakeSlack) -> dict:
    """Statuses of every notice, and how many notices reached Slack more than once."""
    from sqlalchemy import func, select

    from events.extensions import db
    from events.notify.models import Notice

    statuses = dict(db.session.execute(
        select(Notice.status, func.count(Notice.id)).group_by(Notice.status)).all())
    db.session.rollback()
    seen: Counter = Counter()
    with fake._cond:
        for call in fake.calls:
            if call.method in POSTING and call.status == 200 and call.response.get("ok"):
                for block in call.args.get("blocks") or []:
                    block_id = block.get("block_id", "")
                    if block_id.startswith("convenor-notice-"):
                        seen[block_id] += 1
    return {"statuses": statuses, "doubles": sum(1 for v in seen.values() if v > 1),
            "messages": len(seen)}


@dataclass
class Result:
    database: str
    setup_s: float
    first_publish: dict
    phases: list[Phase]
    checks: dict
    worker_errors: list[str]


def run_database(label: str, url: str, args, fake: FakeSlack) -> Result:
    from carousels.rounds import notices as round_notices
    from carousels.rounds import services as rounds
    from events.conference import services
    from events.conference.models import Session
    from events.extensions import db

    fake.reset()
    fake.rate_limit(POSTING, None)
    fake.rate_limit((DELETE,), None)
    app = build_app(url, fake)
    worker = None
    started = time.monotonic()
    with app.app_context():
        db.create_all()
        conference_id, keynote_id, carousel_id = seed(args.delegates)
        carousel = db.session.get(Session, carousel_id)
        rounds.allocate(carousel)
        worker = Worker(app)
        try:
            rounds.publish(carousel)
            if not wait_drained(900):
                raise RuntimeError("the first publish's notices were not drained")
            first = {"messages": len(fake.calls_to("chat.postMessage")),
                     "scheduled": len(fake.calls_to("chat.scheduleMessage"))}
            setup_s = time.monotonic() - started
            print(f"[{label}] set up in {setup_s:.1f} s: {first}", flush=True)

            # Measurement 1: re-publish a plan that moves --moved delegates.
            fmt = rounds.FORMATS["carousel"]
            carousel = db.session.get(Session, carousel_id)
            old = rounds.seat_details(fmt, carousel, rounds.published_plan(fmt, carousel))
            version = new_version_moving(carousel, args.moved)
            new = rounds.seat_details(fmt, carousel, rounds.get_plan(fmt, carousel, version))
            changed = len(round_notices.seat_changes(old, new))
            if changed != args.moved:
                raise RuntimeError(f"{changed} delegates' seats changed, not {args.moved}")
            db.session.rollback()
            republish = Phase("republish", note=f"{changed} delegates moved")
            fake.rate_limit(POSTING, args.rate)
            fake.rate_limit((DELETE,), args.delete_rate / 60 if args.delete_rate else None)
            carousel = db.session.get(Session, carousel_id)
            measure(republish, fake, worker, lambda: rounds.publish(carousel), timeout=600)
            print(f"[{label}] re-publish: {republish}", flush=True)
            baseline(republish, fake, republish.posted + republish.scheduled, args.delegates,
                     args.rate)
            print(f"[{label}] baseline {republish.baseline_n}: {republish.baseline_s:.1f} s",
                  flush=True)

            # Measurement 2: cancel the keynote (one change notice per delegate).
            worker.skew = timedelta(seconds=61)
            fake.rate_limit(POSTING, args.rate)
            keynote = db.session.get(Session, keynote_id)
            cancel = Phase("cancel", note="worker clock 61 s ahead (merge window)")
            measure(cancel, fake, worker, lambda: services.cancel_session(keynote), timeout=900)
            print(f"[{label}] cancel: {cancel}", flush=True)
            baseline(cancel, fake, cancel.posted + cancel.scheduled, args.delegates, args.rate)
            print(f"[{label}] baseline {cancel.baseline_n}: {cancel.baseline_s:.1f} s",
                  flush=True)
            checks = check(fake)
        finally:
            if worker is not None:
                worker.close()
            db.session.remove()
            db.engine.dispose()
    return Result(label, setup_s, first, [republish, cancel], checks, worker.errors)


# --------------------------------------------------------------------------- report


def machine_notes(load: tuple[float, float, float]) -> list[str]:
    from importlib.metadata import version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    code = f"commit {commit}" + (" plus uncommitted changes" if dirty else "")
    return [
        f"- Machine: `nproc` = {os.cpu_count()}, CPU `{cpu}`, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, "
        f"slack_sdk {version('slack_sdk')}",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Code: {code}",
        f"- Load average before the run: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(1 / 5 / 15 min)",
    ]


def report(results: list[Result], args, command: str, load, pg_version: str | None) -> str:
    rate = f"{args.rate:g}/s" if args.rate else "no limit"
    lines = [
        "# Notifications benchmark", "",
        "See docs/benchmarks.md for the method (and `benchmarks/notify.py`'s docstring).", "",
        f"Command: `{command}`.", "",
        f"{args.delegates} delegates, all linked to Slack (every notice is a Slack DM; no "
        f"email); re-publish moves {args.moved}; the fake Slack Web API in the benchmark's "
        f"process answers 429 + `Retry-After` when a token bucket of {rate} (burst: one "
        "second's worth) shared by `chat.postMessage` and `chat.scheduleMessage` is empty"
        + (f"; `chat.deleteScheduledMessage` limited to {args.delete_rate:g}/min"
           if args.delete_rate else "; `chat.deleteScheduledMessage` not limited") + ". "
        f"The worker: `run_once(limit={LIMIT})` looped in one thread like `run_forever`. "
        "*Request* is the organiser's call (the service, its commit and the signals after it), "
        "wall-clock and the CPU time of the calling thread (the machine is shared: wall-clock "
        "includes waiting for a core); "
        "*delivery* runs from that commit to the last notice handed to the fake; *rows/s* "
        "counts every outbox row the worker finished (DMs, scheduled reminders, withdrawn "
        "reminders deleted from Slack's schedule) per second of delivery; *worker CPU ms/row* "
        "is the worker thread's CPU time over those rows (the fake's threads not included). "
        "*Baseline*: one "
        "thread calling `WebClient.chat_postMessage` in a loop with slack_sdk's "
        "`RateLimitErrorRetryHandler`, as many messages as the outbox delivered, against the "
        "same fake and limit, right after.", "",
        "| Database | Change | Notices written | Request ms (CPU ms) | Delivery s | Slack calls "
        "(post / schedule / delete) | 429s answered | Rows/s | Messages/s | Worker CPU ms/row | "
        "Baseline s (msgs) | Baseline msgs/s | Baseline 429s | Outbox ÷ baseline time |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for p in result.phases:
            kinds = ", ".join(f"{v} {k}" for k, v in sorted(p.kinds.items()))
            written = f"{p.notices} ({kinds})" + (f" + {p.withdrawn} withdrawn"
                                                  if p.withdrawn else "")
            label = {"republish": f"re-publish ({p.note})",
                     "cancel": "cancel the keynote"}[p.name]
            lines.append(
                f"| {result.database} | {label} | {written} | {p.request_ms:.0f} "
                f"({p.request_cpu_ms:.0f}) | "
                f"{p.deliver_s:.1f} | {p.posted} / {p.scheduled} / {p.deleted} | "
                f"{p.answered_429} | {p.rows_per_s:.0f} | {p.msgs_per_s:.1f} | "
                f"{1000 * p.worker_cpu_s / max(1, p.notices + p.withdrawn):.1f} | "
                f"{p.baseline_s:.1f} ({p.baseline_n}) | "
                f"{p.baseline_n / p.baseline_s if p.baseline_s else float('nan'):.1f} | "
                f"{p.baseline_429} | {p.ratio:.2f} |")
    lines.append("")
    met_queue = all(p.request_ms < BAR_QUEUE_S * 1000 for r in results for p in r.phases
                    if p.name == "cancel")
    clean = all(r.checks["doubles"] == 0 and not r.checks["statuses"].get("failed")
                and not r.checks["statuses"].get("pending")
                and not r.checks["statuses"].get("unschedule") and all(p.drained for p in r.phases)
                and not r.worker_errors for r in results)
    slowest = max((p.request_ms for r in results for p in r.phases if p.name == "cancel"),
                  default=float("nan"))
    slowest_cpu = max((p.request_cpu_ms for r in results for p in r.phases
                       if p.name == "cancel"), default=float("nan"))
    lines.append(
        f"**Bar: {args.delegates:,} DMs queued in < 1 s of the organiser's request time** — "
        + ("met" if met_queue else "**NOT met**")
        + f" (cancel the keynote: slowest {slowest:.0f} ms wall-clock, {slowest_cpu:.0f} ms "
        "of CPU). **Delivered at the rate limit "
        "without a 429 left unhandled** — " + ("met" if clean else "**NOT met**")
        + ": every notice ended sent/scheduled (withdrawn reminders cancelled), none failed "
        "or waiting, none posted twice." if clean else
        f"**Bar: {args.delegates:,} DMs queued in < 1 s** — "
        + ("met" if met_queue else "**NOT met**") + "; delivery check **failed** (see below).")
    lines.append("")
    for result in results:
        checks = result.checks
        lines.append(
            f"- {result.database}: set-up and first publish {result.setup_s:.0f} s "
            f"({result.first_publish['messages']} seats DMs, "
            f"{result.first_publish['scheduled']} reminders scheduled, no rate limit); "
            f"final outbox: {dict(sorted(checks['statuses'].items()))}; "
            f"{checks['messages']} distinct notice messages on Slack, "
            f"{checks['doubles']} posted twice"
            + (f"; worker errors: {result.worker_errors[:3]}" if result.worker_errors else ""))
    if pg_version:
        lines.append(f"- PostgreSQL: {pg_version}, default durability")
    lines.append("")
    lines += machine_notes(load)
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delegates", type=int, default=2000)
    parser.add_argument("--moved", type=int, default=300)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or both, comma-separated")
    parser.add_argument("--rate", type=float, default=50.0,
                        help="chat.postMessage + chat.scheduleMessage calls/s (0: no limit)")
    parser.add_argument("--delete-rate", type=float, default=0.0,
                        help="chat.deleteScheduledMessage calls per minute (0: no limit)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.moved < 2 or args.moved > args.delegates:
        parser.error("--moved must be between 2 and --delegates")
    command = "python benchmarks/notify.py " + " ".join(sys.argv[1:])
    load = os.getloadavg()
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    fake = FakeSlack()
    postgres = Postgres(False) if "postgresql" in databases else None
    workdir = Path(tempfile.mkdtemp(prefix="convenor-bench-notify-"))
    results = []
    try:
        for database in databases:
            if database == "sqlite":
                url, label = f"sqlite:///{workdir / 'notify.db'}", "SQLite (WAL)"
            elif database == "postgresql":
                url, label = postgres.database("notify_bench"), "PostgreSQL"
            else:
                parser.error(f"unknown database {database}")
            results.append(run_database(label, url, args, fake))
    finally:
        fake.close()
        if postgres is not None:
            postgres.stop()
    text = report(results, args, command, load, postgres.version if postgres else None)
    print(text)
    if args.out:
        args.out.write_text(text)
    ok = all(r.checks["doubles"] == 0 and not r.checks["statuses"].get("failed")
             and all(p.drained for p in r.phases) for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
