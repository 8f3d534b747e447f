"""Benchmark the Slack bot's ack: concurrent signed ``/convenor`` commands against a real server.

Run: ``.venv/bin/python benchmarks/slack.py [--senders 20] [--seconds 30]
[--db sqlite,postgresql] [--server gunicorn|dev] [--out docs/benchmarks_slack.md]``.

The script:

1. starts the fake Slack Web API (``tests/slack_fake.FakeSlack``) in this process;
2. makes a fresh database — a SQLite file, or a throwaway PostgreSQL cluster in a temporary
   directory (``benchmarks/checkin.Postgres``: initdb as the postgres user, a free port) — and
   runs ``flask --app app db upgrade`` and ``flask --app app demo`` (the demo conference, 300
   delegates), then links every delegate to a Slack id (``U0BENCH001`` …) directly in the
   database;
3. starts the server as its own process with ``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``,
   ``SLACK_API_URL`` (the fake), ``PUBLIC_URL`` and ``DATABASE_URL``: ``gunicorn -k gthread -w 1
   --threads N 'app:create_app()'`` (the production shape in docs/deploy.md) or ``python app.py``
   (Werkzeug, threaded);
4. links an organiser: two Slack users whose profile email (in the fake) is the demo organiser's
   (organiser@example.org) send ``/convenor allocate cafe`` and ``/convenor allocate carousel``
   once; the bot links them by email in a lazy listener and runs the allocations;
5. runs three timed phases in the same server process, each ``--seconds`` long after a short
   untimed warm-up, with ``--senders`` threads each posting signed slash commands as fast as the
   answers come back (one keep-alive ``http.client`` connection each, a random linked delegate
   per command):

   - *baseline*: ``/convenor help`` only (no delegate lookup; the dedupe receipt is still
     written, as for every command);
   - *mixed*: ``next``, ``agenda``, ``table`` and ``help`` in equal shares;
   - *mixed + 2 allocations*: the mixed load while the two organisers keep an ``allocate cafe``
     and an ``allocate carousel`` running in the bot's lazy listeners (each organiser sends the
     next one as soon as the DM with the previous one's figures arrives at the fake).

Latency is the time to the HTTP response (the ack: for these commands the answer itself) in
the client, request sent → body read. An *error* is a transport failure, a non-200, or a 200
that is not the answer (not JSON with text, or an empty ack, or "I don't know you").
Bar: ack p99 < 300 ms with 20 concurrent senders and zero errors (Slack's limit is 3 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.checkin import Postgres, free_port, machine_busy, percentile, wait_port  # noqa: E402
from tests.slack_fake import FakeSlack  # noqa: E402
from tests.slack_fixtures import command_body, signed  # noqa: E402

SIGNING_SECRET = "benchmark-signing-secret"
BOT_TOKEN = "xoxb-benchmark"
SECRET_KEY = "benchmark-secret-key"
PUBLIC_URL = "https://convenor.example.org"
DEMO_SLUG = "trust-leaders-2027"
ORGANISER_EMAIL = "organiser@example.org"
DELEGATES = 300
BAR_P99_MS = 300.0
MIXED = ("next", "agenda", "table", "help")
ALLOCATIONS = (("U0BENCHORG1", "cafe"), ("U0BENCHORG2", "carousel"))
BIN = Path(sys.executable).parent


def slack_id(n: int) -> str:
    return f"U0BENCH{n:03d}"


# --------------------------------------------------------------------------- set-up


def prepare_database(url: str, env: dict) -> int:
    """Migrate, seed the demo and link its delegates to Slack ids; return how many were linked."""
    for command in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([str(BIN / "flask"), "--app", "app", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conference = conn.scalar(text("SELECT id FROM conferences WHERE slug = :s"),
                                 {"s": DEMO_SLUG})
        ids = list(conn.scalars(text(
            "SELECT id FROM delegates WHERE conference_id = :c AND status != 'cancelled' "
            "ORDER BY id LIMIT :n"), {"c": conference, "n": DELEGATES}))
        for n, delegate in enumerate(ids, start=1):
            conn.execute(text("UPDATE delegates SET slack_user_id = :u WHERE id = :d"),
                         {"u": slack_id(n), "d": delegate})
    engine.dispose()
    return len(ids)


class Server:
    """The Convenor server under test, as its own process."""

    def __init__(self, kind: str, threads: int, env: dict, workdir: Path) -> None:
        self.port = free_port()
        env = dict(env, HOST="127.0.0.1", PORT=str(self.port), PYTHONUNBUFFERED="1")
        if kind == "dev":
            cmd = [sys.executable, "app.py"]
            self.label = "`python app.py` (Werkzeug, threaded)"
        else:
            env["CONVENOR_ENV"] = "production"
            cmd = [str(BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", str(threads),
                   "--worker-connections", str(threads), "-b", f"127.0.0.1:{self.port}",
                   "--log-level", "warning", "app:create_app()"]
            self.label = f"gunicorn gthread 1×{threads}"
        self.log_path = workdir / f"server-{self.port}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def cpu_seconds(self) -> float:
        """Return the CPU time used so far by the server process and its children (the worker)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.proc.pid in (int(stat.parent.name), int(fields[1])):
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- clients


class Sender:
    """One Slack delivery connection: signs and posts slash commands to /slack/events."""

    def __init__(self, port: int, response_url: str = "") -> None:
        self.port = port
        self.response_url = response_url
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, text: str, user_id: str, response_url: str = "") -> tuple[int, bytes, float]:
        body, _ = command_body(text, user_id=user_id, response_url=response_url)
        headers = signed(body, SIGNING_SECRET)
        start = time.perf_counter()
        try:
            self.conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        elapsed = time.perf_counter() - start
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return response.status, raw, elapsed

    def close(self) -> None:
        self.conn.close()


def answer_problem(status: int, raw: bytes) -> str | None:
    """Return why an ack is not the answer to a delegate's command, or None when it is."""
    if status != 200:
        return f"HTTP {status} {raw[:120]!r}"
    try:
        data = json.loads(raw)
    except ValueError:
        return f"not JSON (empty ack?): {raw[:80]!r}"
    text = data.get("text") or "" if isinstance(data, dict) else ""
    if not text:
        return f"no text: {raw[:120]!r}"
    if "don't know you" in text or "not connected" in text:
        return f"not the answer: {text[:100]}"
    return None


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    by_command: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Organisers:
    """Two organisers who keep an allocation running each, one after the other, in the bot."""

    def __init__(self, fake: FakeSlack, port: int) -> None:
        self.fake = fake
        self.port = port
        self.stop = threading.Event()
        self.durations: dict[str, list[float]] = {what: [] for _, what in ALLOCATIONS}
        self.ack_ms: list[float] = []
        self.errors: list[str] = []
        self.threads: list[threading.Thread] = []
        self.count = 0

    def _dms(self, user_id: str) -> int:
        with self.fake._cond:
            return sum(1 for c in self.fake.calls if c.method == "chat.postMessage"
                       and c.args.get("channel") == "D" + user_id)

    def _responses(self, name: str) -> list:
        with self.fake._cond:
            return [c for c in self.fake.calls
                    if c.method == "response_url" and c.path.endswith("/" + name)]

    def allocate_once(self, user_id: str, what: str, timeout: float = 300) -> float:
        """Send ``/convenor allocate <what>``; return seconds until the figures' DM arrived."""
        self.count += 1
        name = f"{user_id}-{self.count}"
        before = self._dms(user_id)
        sender = Sender(self.port)
        start = time.perf_counter()
        try:
            status, raw, elapsed = sender.post(f"allocate {what}", user_id,
                                               self.fake.response_url(name))
        finally:
            sender.close()
        self.ack_ms.append(elapsed * 1000)
        if status != 200:
            raise RuntimeError(f"allocate {what}: HTTP {status} {raw[:200]!r}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._dms(user_id) > before:
                return time.perf_counter() - start
            responses = self._responses(name)
            if responses:
                raise RuntimeError(f"allocate {what} answered: {responses[0].args}")
            time.sleep(0.05)
        raise RuntimeError(f"allocate {what}: no DM within {timeout:.0f} s")

    def link(self) -> None:
        """First command of each: the bot links them by email, then allocates (untimed)."""
        for user_id, _ in ALLOCATIONS:
            self.fake.add_user(user_id, ORGANISER_EMAIL, real_name="Bench Organiser")
        for user_id, what in ALLOCATIONS:
            seconds = self.allocate_once(user_id, what)
            print(f"  organiser {user_id} linked; allocate {what} took {seconds:.1f} s alone",
                  flush=True)

    def _loop(self, user_id: str, what: str) -> None:
        while not self.stop.is_set():
            try:
                self.durations[what].append(self.allocate_once(user_id, what))
            except (RuntimeError, OSError, http.client.HTTPException) as exc:
                self.errors.append(str(exc))
                time.sleep(1)

    def start(self) -> None:
        self.stop.clear()
        self.threads = [threading.Thread(target=self._loop, args=a, daemon=True)
                        for a in ALLOCATIONS]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)


def run_phase(server: Server, senders: int, seconds: float, warmup: float,
              commands: tuple[str, ...], seed: int, think: float = 0.0) -> tuple[Tally, dict]:
    """Run ``senders`` threads for ``warmup`` + ``seconds``; return the timed tally and load."""
    tallies = [Tally() for _ in range(senders)]
    conns = [Sender(server.port) for _ in range(senders)]
    gate = threading.Barrier(senders + 1)
    bounds: dict[str, float] = {}

    def loop(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        tally, conn = tallies[n], conns[n]
        gate.wait()
        if think:  # spread the senders out instead of starting them all in the same instant
            time.sleep(rng.uniform(0, 1.5) * think)
        while time.perf_counter() < bounds["end"]:
            warm = time.perf_counter() < bounds["start"]
            command = rng.choice(commands)
            user_id = slack_id(rng.randint(1, DELEGATES))
            try:
                status, raw, elapsed = conn.post(command, user_id)
            except (OSError, http.client.HTTPException) as exc:
                tally.errors.append(f"{command}: transport: {type(exc).__name__}: {exc}")
                continue
            problem = answer_problem(status, raw)
            if problem:
                tally.errors.append(f"{command} ({user_id}): {problem}")
            if not warm:
                tally.latencies.append(elapsed)
                tally.by_command[command] = tally.by_command.get(command, 0) + 1
            if think:
                time.sleep(min(rng.uniform(0.5, 1.5) * think,
                               max(0.0, bounds["end"] - time.perf_counter())))

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(senders)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    bounds["start"], bounds["end"] = now + warmup, now + warmup + seconds
    gate.wait()
    time.sleep(max(0.0, bounds["start"] - time.perf_counter()))
    load, busy0, cpu0 = os.getloadavg()[0], machine_busy(), server.cpu_seconds()
    time.sleep(max(0.0, bounds["end"] - time.perf_counter()))
    busy1, cpu1 = machine_busy(), server.cpu_seconds()
    for thread in threads:
        thread.join()
    for conn in conns:
        conn.close()
    total = Tally()
    for tally in tallies:
        total.latencies += tally.latencies
        total.errors += tally.errors
        for command, count in tally.by_command.items():
            total.by_command[command] = total.by_command.get(command, 0) + count
    return total, {"load": load, "server_cpu_s": cpu1 - cpu0,
                   "busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])}


# --------------------------------------------------------------------------- report


def machine_notes() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return [
        f"- Machine: `nproc` = {os.cpu_count()}, CPU `{cpu}`, {platform.system()} "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, gunicorn {version('gunicorn')}, slack_bolt "
        f"{version('slack_bolt')}, SQLAlchemy {version('sqlalchemy')}",
        f"- Date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- Code: {code_state()}",
    ]


def code_state() -> str:
    """Return the commit measured and whether the server's code had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no")
             .splitlines() if not line[3:].startswith(("benchmarks/", "docs/"))]
    return (f"commit {head}" + (f" plus uncommitted changes in {', '.join(dirty)} (the shared "
                                "working tree, as the server ran it)" if dirty else ""))


HEADER = ("| Database | Server | Workload | Requests | req/s | p50 ms | p95 ms | p99 ms | max ms | "
          "errors | server CPU ms/req | load avg (1 min) at start | machine CPU busy % | "
          "p99 < 300 ms, 0 errors |")
RULE = "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"


def row(db_label: str, server: str, workload: str, tally: Tally, seconds: float,
        load: dict) -> tuple[str, bool]:
    lat = sorted(tally.latencies)
    p99 = percentile(lat, 99) * 1000
    errors = len(tally.errors)
    met = bool(lat) and p99 < BAR_P99_MS and errors == 0
    return (f"| {db_label} | {server} | {workload} | {len(lat)} | {len(lat) / seconds:.0f} | "
            f"{percentile(lat, 50) * 1000:.0f} | {percentile(lat, 95) * 1000:.0f} | {p99:.0f} | "
            f"{lat[-1] * 1000 if lat else float('nan'):.0f} | {errors} | "
            f"{load['server_cpu_s'] * 1000 / max(1, len(lat)):.1f} | {load['load']:.2f} | "
            f"{load['busy'] * 100:.0f} | {'**yes**' if met else '**no**'} |"), met


def run_one(database: str, server_kind: str, args, fake: FakeSlack, workdir: Path
            ) -> tuple[list[str], list[str], bool]:
    """Set up one database × server, run the three phases; return (rows, notes, bar met)."""
    postgres = None
    if database == "postgresql":
        postgres = Postgres(fast=False)
        url = postgres.database("slack_bench")
        db_label = "PostgreSQL"
    else:
        url = f"sqlite:///{workdir / 'slack_bench.db'}"
        db_label = "SQLite (WAL)"
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=SECRET_KEY, SLACK_BOT_TOKEN=BOT_TOKEN,
               SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.url, PUBLIC_URL=PUBLIC_URL)
    for name in ("SOCKETIO_MESSAGE_QUEUE", "CONVENOR_SLACK_CONFERENCE", "CONVENOR_SLACK_CHANNEL",
                 "SLACK_APP_TOKEN"):
        env.pop(name, None)
    if database == "postgresql" and args.pool:
        env["DATABASE_POOL_SIZE"] = str(args.pool)
    rows: list[str] = []
    notes: list[str] = []
    all_met = True
    server = None
    try:
        linked = prepare_database(url, env)
        print(f"{db_label}: demo seeded, {linked} delegates linked to Slack ids", flush=True)
        server = Server(server_kind, args.threads, env, workdir)
        print(f"  {server.label}: pid {server.proc.pid}, port {server.port}", flush=True)
        organisers = Organisers(fake, server.port)
        organisers.link()
        phases = [("baseline", "baseline: `help` only", ("help",), False),
                  ("mixed", "mixed `next`/`agenda`/`table`/`help`", MIXED, False),
                  ("allocating", "mixed + 2 allocations running", MIXED, True)]
        for n, (key, label, commands, allocating) in enumerate(phases):
            if key not in args.workloads:
                continue
            if allocating:
                organisers.start()
            tally, load = run_phase(server, args.senders, args.seconds, args.warmup,
                                    commands, seed=n + 1, think=args.think_ms / 1000)
            if allocating:
                organisers.finish()
            text, met = row(db_label, server.label, label, tally, args.seconds, load)
            all_met &= met
            rows.append(text)
            print(text, flush=True)
            if tally.errors:
                print("    first errors:", *sorted(set(tally.errors))[:8], sep="\n      ")
                print("    server log:\n" + server.log_tail(), flush=True)
                notes.append(f"{db_label}, {label}: {len(tally.errors)} errors, e.g. "
                             f"{tally.errors[0][:160]}")
        done = {what: len(d) for what, d in organisers.durations.items()}
        mean = {what: (sum(d) / len(d) if d else float("nan"))
                for what, d in organisers.durations.items()}
        acks = sorted(organisers.ack_ms)
        notes.append(
            f"{db_label}, {server.label}: during the allocation phase the organisers completed "
            + ", ".join(f"{done[w]} `allocate {w}` (mean {mean[w]:.1f} s each)" for w in done)
            + f"; the organisers' own acks: max {acks[-1]:.0f} ms"
            + (f"; organiser errors: {organisers.errors[:3]}" if organisers.errors else "") + ".")
        if organisers.errors:
            all_met = False
        print("  " + notes[-1], flush=True)
    finally:
        if server is not None:
            server.stop()
        if postgres is not None:
            notes.append(f"{db_label}: {postgres.version}, default durability "
                         "(fsync and synchronous_commit on)")
            postgres.stop()
    return rows, notes, all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per phase")
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="sqlite, postgresql, or both comma-separated")
    parser.add_argument("--server", default="gunicorn",
                        help="gunicorn, dev (python app.py), or both comma-separated")
    parser.add_argument("--threads", type=int, default=1200,
                        help="gunicorn threads (docs/deploy.md uses 1200)")
    parser.add_argument("--pool", type=int, default=0,
                        help="DATABASE_POOL_SIZE for PostgreSQL (0: app.py's default pool)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause between one sender's commands (0.5-1.5x; default 0: "
                             "flat out, the next command as soon as the ack arrives)")
    parser.add_argument("--workloads", default="baseline,mixed,allocating",
                        help="comma-separated: baseline, mixed, allocating")
    parser.add_argument("--out", help="also write the results (markdown) to this file")
    args = parser.parse_args()
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    servers = [s.strip() for s in args.server.split(",") if s.strip()]
    args.workloads = set(filter(None, args.workloads.split(",")))
    for value, allowed in ((databases, ("sqlite", "postgresql")), (servers, ("gunicorn", "dev"))):
        if not value or any(v not in allowed for v in value):
            parser.error(f"choose from {', '.join(allowed)}")

    notes_machine = machine_notes()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="convenor-bench-slack-"))
    fake = FakeSlack()
    rows: list[str] = []
    notes: list[str] = []
    all_met = True
    try:
        for database in databases:
            for kind in servers:
                # A fresh database (and cluster) per configuration.
                sub = workdir / f"{database}-{kind}"
                sub.mkdir()
                got_rows, got_notes, met = run_one(database, kind, args, fake, sub)
                rows += got_rows
                notes += got_notes
                all_met &= met
                fake.reset()
    finally:
        fake.close()
        shutil.rmtree(workdir, ignore_errors=True)

    command = "benchmarks/slack.py " + " ".join(sys.argv[1:])
    text = "\n".join([
        f"Command: `.venv/bin/python {command.strip()}`.",
        "",
        f"{args.senders} senders "
        + (f"(each pausing {args.think_ms / 1000:g} s × 0.5–1.5 between commands)"
           if args.think_ms else "(flat out: each sends its next command as soon as the ack "
           "arrives)")
        + f", {args.seconds:g} s timed per workload after {args.warmup:g} s warm-up, all "
        "three workloads against the same server process; the demo conference with "
        f"{DELEGATES} delegates linked to Slack ids; the fake Slack Web API in the benchmark's "
        "process. Latency: request sent → ack body read, in the client.",
        "",
        HEADER, RULE, *rows, "",
        f"**Bar: ack p99 < {BAR_P99_MS:.0f} ms with {args.senders} concurrent senders and zero "
        f"errors — {'met' if all_met else 'NOT met'}** in this run.",
        "",
        *[f"- {n}" for n in notes], "",
        *notes_machine,
        f"- Load average before the run: {load_before[0]:.2f} / {load_before[1]:.2f} / "
        f"{load_before[2]:.2f} (1 / 5 / 15 min); the benchmark's own {args.senders} client "
        "threads and the fake share the cores with the server.",
    ]) + "\n"
    print()
    print(text)
    if args.out:
        Path(args.out).write_text("# Slack bot benchmark\n\nSee docs/benchmarks.md for the "
                                  "method.\n\n" + text)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
