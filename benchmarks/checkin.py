"""Benchmark the check-in API: N door scanners redeeming badges against a real server process.

Run: ``.venv/bin/python benchmarks/checkin.py [--scanners 50] [--seconds 10]
[--out docs/benchmarks_checkin.md]``.

For every configuration (database × server) the script:

1. seeds a fresh database in-process (``create_app`` + ``db.create_all``): one conference with
   ``--delegates`` delegates, badge secrets from ``events.checkin.ensure_secrets`` and an
   organiser's API token;
2. starts the server as a separate process: gunicorn (``-k gthread``, the production worker, see
   docs/deploy.md) or ``python app.py`` (the Werkzeug server, threaded);
3. runs ``--scanners`` threads for ``--seconds``, each with one keep-alive ``http.client``
   connection, looping ``POST /api/v1/conferences/<slug>/checkins`` with a bearer token and a
   fresh nonce: about 85 % first scans of distinct badges (expected 201 ok), 10 % repeats of
   badges already checked in (expected 200 already_checked_in) and 5 % well-formed codes that are
   no badge (expected 404 invalid). An *error* is a transport failure or any other answer;
4. after the timed run, fires a race: all scanners scan the same fresh badge at once (several
   rounds), where exactly one may win;
5. checks the database: one door entry per delegate that got a 201, none for anyone else, and no
   delegate with two entries.

PostgreSQL is a throwaway cluster in a temporary directory (as in tests/conftest.py), with the
default durability settings (fsync and synchronous_commit on) unless ``--pg-fast``. SQLite runs
in WAL mode (app.py turns it on), default ``synchronous``.

``--servers`` picks server set-ups, comma-separated: ``gunicorn:WxT`` (W workers, T threads),
optionally ``+poolN`` to pass a bigger SQLAlchemy pool through gunicorn's factory call (app.py
itself keeps the default pool), and ``werkzeug``. ``--think-ms 0,1000`` (the default) runs every
configuration twice: flat out (each scanner sends its next scan as soon as it has an answer, a
stress test) and with a pause of about one second between one scanner's scans (0.5–1.5 s; a fast
door, where a person still has to hold up a badge).
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET_KEY = "benchmark-secret-key"
SLUG = "bench"
BAR_P99_MS = 100.0
DEFAULT_SERVERS = "gunicorn:2x8,werkzeug"
FIRST, REPEAT, INVALID = "first", "repeat", "invalid"
EXPECTED = {FIRST: (201, "ok"), REPEAT: (200, "already_checked_in"), INVALID: (404, "invalid")}


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


class Postgres:
    """A throwaway PostgreSQL cluster (initdb/pg_ctl in a temporary directory)."""

    def __init__(self, fast: bool) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        bindir = Path(found[-1]).parent if found else (
            Path(shutil.which("initdb")).parent if shutil.which("initdb") else None)
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
        self.bindir = bindir
        self.workdir = Path(tempfile.mkdtemp(prefix="convenor-bench-pg-"))
        self.run_as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.workdir, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.data = self.workdir / "data"
        self.port = free_port()
        subprocess.run([*self.run_as, str(bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                        "-U", "postgres", "-E", "UTF8", "--locale", "C.UTF-8"],
                       check=True, capture_output=True)
        options = (f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=300")
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run([*self.run_as, str(bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                        "-l", str(self.workdir / "log"), "-w", "start"],
                       check=True, capture_output=True)
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True)
        self.version = out.stdout.strip()

    def database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                        "fast", "stop"], capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class ServerSpec:
    kind: str  # "gunicorn" or "werkzeug"
    workers: int = 1
    threads: int = 1
    pool: int = 0  # 0 = app.py's default SQLAlchemy pool (5 + 10 overflow per process)

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        text = text.strip()
        if text == "werkzeug":
            return cls("werkzeug")
        if not text.startswith("gunicorn:"):
            raise argparse.ArgumentTypeError(f"unknown server {text!r}")
        shape, _, pool = text[len("gunicorn:"):].partition("+pool")
        workers, _, threads = shape.partition("x")
        return cls("gunicorn", int(workers), int(threads), int(pool or 0))

    @property
    def label(self) -> str:
        if self.kind == "werkzeug":
            return "`python app.py` (Werkzeug, threaded)"
        pool = f", pool {self.pool}+10/worker" if self.pool else ""
        return f"gunicorn gthread {self.workers}×{self.threads}{pool}"


class Server:
    """The Convenor server under test, as its own process."""

    def __init__(self, spec: ServerSpec, database_url: str, workdir: Path) -> None:
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, HOST="127.0.0.1",
                   PORT=str(self.port), PYTHONUNBUFFERED="1")
        env.pop("SOCKETIO_MESSAGE_QUEUE", None)
        if spec.kind == "werkzeug":
            cmd = [sys.executable, "app.py"]
        else:
            factory = "app:create_app()"
            if spec.pool:
                options = {"pool_pre_ping": True, "pool_size": spec.pool, "max_overflow": 10}
                factory = f"app:create_app({json.dumps({'SQLALCHEMY_ENGINE_OPTIONS': options})})"
                factory = factory.replace("true", "True")
            env["CONVENOR_ENV"] = "production"
            cmd = [str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread",
                   "-w", str(spec.workers), "--threads", str(spec.threads),
                   "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", factory]
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
        """Return the CPU time used so far by the server process and its children (workers)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(Path(stat).parent.name), int(fields[1])
            if self.proc.pid in (pid, ppid):
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        interesting = [t for t in text if "POST /api/" not in t or '" 5' in t]
        return "\n".join(interesting[-lines:])


# --------------------------------------------------------------------------- seeding and checks


def seed(database_url: str, delegates: int) -> tuple[str, list[str]]:
    """Create the conference, its delegates and badge secrets; return (api token, secrets)."""
    from sqlalchemy import select

    from app import create_app
    from events.checkin import services as checkin
    from events.checkin.models import BadgeSecret
    from events.conference import services
    from events.conference.models import Delegate
    from events.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        db.create_all()
        owner = services.create_organiser("bench@example.org", "correct-horse-9")
        token = services.issue_api_token(owner, "door scanners")
        conference = services.create_conference(owner, {
            "slug": SLUG, "name": "Benchmark Conference", "starts_on": "2027-03-11",
            "ends_on": "2027-03-11", "timezone": "Europe/London", "venue": "London",
            "published": True})
        rows = []
        for n in range(1, delegates + 1):
            values, errors = services.delegate_values({
                "name": f"Delegate {n}", "email": f"delegate{n}@example.org",
                "organisation": f"Trust {n % 150}", "role": "Headteacher"})
            assert not errors, errors
            rows.append(Delegate(conference=conference, **values))
        db.session.add_all(rows)
        db.session.commit()
        made = checkin.ensure_secrets(conference)
        assert made == delegates, made
        checkin.door_list(conference)
        badge_secrets = list(db.session.scalars(select(BadgeSecret.secret).where(
            BadgeSecret.conference_id == conference.id)))
        db.session.remove()
        db.engine.dispose()
    return token, badge_secrets


def verify(database_url: str, checked_in: set[str]) -> dict:
    """Compare the door entries in the database with the badges the scanners saw checked in."""
    from sqlalchemy import func, select

    from app import create_app
    from events.checkin.models import BadgeSecret, Checkin, CheckinList
    from events.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        door = db.session.scalar(select(CheckinList.id).where(CheckinList.name == "door"))
        per_delegate = dict(db.session.execute(
            select(Checkin.delegate_id, func.count(Checkin.id))
            .where(Checkin.list_id == door, Checkin.type == "entry")
            .group_by(Checkin.delegate_id)).all())
        owners = dict(db.session.execute(select(BadgeSecret.secret, BadgeSecret.delegate_id)).all())
        db.session.remove()
        db.engine.dispose()
    expected = {owners[s] for s in checked_in}
    entered = set(per_delegate)
    return {
        "entries": sum(per_delegate.values()),
        "delegates": len(entered),
        "answered_201": len(checked_in),
        "duplicates": sum(1 for n in per_delegate.values() if n > 1),
        "missing": len(expected - entered),
        "unexpected": len(entered - expected),
        "ok": (entered == expected and all(n == 1 for n in per_delegate.values())),
    }


# --------------------------------------------------------------------------- load


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, timed phase only
    answers: dict[str, int] = field(default_factory=lambda: {FIRST: 0, REPEAT: 0, INVALID: 0})
    errors: list[str] = field(default_factory=list)
    transport: int = 0
    unexpected: int = 0


class Workload:
    """Shared state of the scanners: fresh badges to hand out and badges known to be in."""

    def __init__(self, badge_secrets: list[str], seed_value: int) -> None:
        self.fresh = list(badge_secrets)
        random.Random(seed_value).shuffle(self.fresh)
        self.next_fresh = 0
        self.checked_in: list[str] = []
        self.checked_in_set: set[str] = set()
        self.fresh_ran_out = False
        self.lock = threading.Lock()

    def take_fresh(self) -> str | None:
        with self.lock:
            if self.next_fresh >= len(self.fresh):
                self.fresh_ran_out = True
                return None
            self.next_fresh += 1
            return self.fresh[self.next_fresh - 1]

    def pick(self, rng: random.Random) -> tuple[str, str]:
        roll = rng.random()
        if roll >= 0.95:
            return INVALID, secrets.token_urlsafe(24)
        if roll < 0.85 or not self.checked_in:
            secret = self.take_fresh()
            if secret is not None:
                return FIRST, secret
        with self.lock:
            return REPEAT, rng.choice(self.checked_in)

    def done(self, secret: str) -> None:
        with self.lock:
            self.checked_in.append(secret)
            self.checked_in_set.add(secret)


class Scanner:
    """One door device: a keep-alive HTTP connection and its own random choices."""

    def __init__(self, n: int, port: int, token: str) -> None:
        self.n = n
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Connection": "keep-alive"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = f"/api/v1/conferences/{SLUG}/checkins"

    def scan(self, secret: str) -> tuple[int, dict | None, float]:
        """POST one scan; return (status, body, seconds). Raises on transport failure."""
        body = json.dumps({"secret": secret, "list": "door", "nonce": uuid.uuid4().hex,
                           "scanned_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                           "device": f"Scanner {self.n}", "type": "entry"})
        start = time.perf_counter()
        try:
            self.conn.request("POST", self.path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        elapsed = time.perf_counter() - start
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            return response.status, json.loads(raw), elapsed
        except ValueError:
            return response.status, None, elapsed

    def close(self) -> None:
        self.conn.close()


def classify(kind: str, status: int, body: dict | None) -> bool:
    """Return whether the answer is the one expected for this kind of scan."""
    want_status, want_reason = EXPECTED[kind]
    reason = (body or {}).get("status") if kind == FIRST else (body or {}).get("reason")
    return status == want_status and reason == want_reason


def machine_busy() -> tuple[float, float]:
    """Return (busy, total) CPU jiffies of the whole machine from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_load(server: Server, token: str, work: Workload, scanners: int, seconds: float,
             warmup: float, think: float) -> tuple[Tally, dict]:
    """Warm up, then run the timed phase; return the tally and CPU figures of the timed phase."""
    port = server.port
    tallies = [Tally() for _ in range(scanners)]
    devices = [Scanner(n + 1, port, token) for n in range(scanners)]
    start_gate = threading.Barrier(scanners + 1)
    bounds: dict[str, float] = {}

    def loop(n: int) -> None:
        rng = random.Random(1000 + n)
        tally, device = tallies[n], devices[n]
        start_gate.wait()
        if think:  # spread the scanners out instead of starting them all in the same instant
            time.sleep(rng.uniform(0, 1.5) * think)
        while time.perf_counter() < bounds["end"]:
            # The warm-up sends the same mix (so every worker has run every code path and opened
            # its database connections) but its latencies are not counted; its errors are.
            warm = time.perf_counter() < bounds["start"]
            kind, secret = work.pick(rng)
            try:
                status, body, elapsed = device.scan(secret)
            except (OSError, http.client.HTTPException) as exc:
                tally.transport += 1
                tally.errors.append(f"transport: {type(exc).__name__}: {exc}")
            else:
                expected = classify(kind, status, body)
                if expected and kind == FIRST:
                    work.done(secret)
                if not expected:
                    tally.unexpected += 1
                    tally.errors.append(f"{kind}: HTTP {status} {json.dumps(body)[:200]}")
                if not warm:
                    tally.latencies.append(elapsed)
                    tally.answers[kind] += expected
            if think:
                time.sleep(min(rng.uniform(0.5, 1.5) * think,
                               max(0.0, bounds["end"] - time.perf_counter())))

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(scanners)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    bounds["start"] = now + warmup
    bounds["end"] = now + warmup + seconds
    start_gate.wait()
    time.sleep(max(0.0, bounds["start"] - time.perf_counter()))
    cpu0, busy0 = server.cpu_seconds(), machine_busy()
    time.sleep(max(0.0, bounds["end"] - time.perf_counter()))
    cpu1, busy1 = server.cpu_seconds(), machine_busy()
    cpu = {"server_s": cpu1 - cpu0,
           "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])}
    for thread in threads:
        thread.join()
    for device in devices:
        device.close()
    total = Tally()
    for tally in tallies:
        total.latencies += tally.latencies
        total.errors += tally.errors
        total.transport += tally.transport
        total.unexpected += tally.unexpected
        for kind in total.answers:
            total.answers[kind] += tally.answers[kind]
    return total, cpu


def race(port: int, token: str, work: Workload, scanners: int, rounds: int) -> dict:
    """All scanners scan the same fresh badge at the same moment; exactly one may win."""
    devices = [Scanner(n + 1, port, token) for n in range(scanners)]
    result = {"rounds": 0, "wins": 0, "already": 0, "other": []}
    for _ in range(rounds):
        secret = work.take_fresh()
        if secret is None:
            break
        gate = threading.Barrier(scanners)
        answers: list[tuple[int, str]] = [(0, "")] * scanners

        def one(n: int, secret=secret, gate=gate, answers=answers) -> None:
            gate.wait()
            try:
                status, body, _ = devices[n].scan(secret)
                answers[n] = (status, (body or {}).get("reason") or (body or {}).get("status"))
            except (OSError, http.client.HTTPException) as exc:
                answers[n] = (0, f"transport: {exc}")

        threads = [threading.Thread(target=one, args=(n,)) for n in range(scanners)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wins = sum(1 for a in answers if a == (201, "ok"))
        result["rounds"] += 1
        result["wins"] += wins
        result["already"] += sum(1 for a in answers if a == (200, "already_checked_in"))
        result["other"] += [a for a in answers if a not in ((201, "ok"), (200, "already_checked_in"))]
        if wins:
            work.done(secret)
    for device in devices:
        device.close()
    return result


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, int(round(q / 100 * len(sorted_values) + 0.4999)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


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
    ram = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    from importlib.metadata import version

    return [
        f"- Machine: `nproc` = {os.cpu_count()}, CPU `{cpu}`, RAM {ram}, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, gunicorn {version('gunicorn')}, "
        f"SQLAlchemy {version('sqlalchemy')}, psycopg {version('psycopg')}, "
        f"SQLite {sqlite3.sqlite_version}",
        f"- Date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; load average before the "
        f"run: {os.getloadavg()[0]:.2f}",
    ]


def run_one(database: str, spec: ServerSpec, think_ms: float, url: str, args, workdir: Path
            ) -> tuple[str, str, bool]:
    """Seed, serve, load, race and verify one configuration; return (table row, detail, ok)."""
    token, badge_secrets = seed(url, args.delegates)
    work = Workload(badge_secrets, seed_value=7)
    server = Server(spec, url, workdir)
    try:
        tally, cpu = run_load(server, token, work, args.scanners, args.seconds, args.warmup,
                              think_ms / 1000)
        raced = race(server.port, token, work, args.scanners, args.race_rounds)
    finally:
        server.stop()
    check = verify(url, work.checked_in_set)
    lat = sorted(tally.latencies)
    count = len(lat)
    errors = tally.transport + tally.unexpected
    race_ok = raced["wins"] == raced["rounds"] and not raced["other"]
    p99 = percentile(lat, 99) * 1000
    db_label = "SQLite (WAL)" if database == "sqlite" else "PostgreSQL"
    pace = f"~{think_ms / 1000:g} s apart" if think_ms else "flat out"
    once = "yes" if check["ok"] and race_ok else "**NO**"
    row = (f"| {db_label} | {spec.label} | {pace} | {count} | "
           f"{count / args.seconds:.0f} | {percentile(lat, 50) * 1000:.0f} | "
           f"{percentile(lat, 95) * 1000:.0f} | {p99:.0f} | "
           f"{lat[-1] * 1000 if lat else float('nan'):.0f} | {tally.answers[FIRST]} | "
           f"{tally.answers[REPEAT]} | {tally.answers[INVALID]} | {errors} | "
           f"{cpu['server_s'] / max(1, count) * 1000:.1f} | {cpu['machine_busy'] * 100:.0f} | "
           f"{'**yes**' if p99 < BAR_P99_MS and errors == 0 else 'no'} | {once} |")
    detail = (f"{db_label}, {spec.label}, {pace}: the database has {check['entries']} door "
              f"entries for {check['delegates']} delegates; the scanners got {check['answered_201']} "
              f"check-ins (201); delegates with two entries {check['duplicates']}, missing "
              f"{check['missing']}, unexpected {check['unexpected']}. Race: {raced['rounds']} "
              f"badges each scanned by all {args.scanners} scanners at once → {raced['wins']} "
              f"check-ins, {raced['already']} already_checked_in, {len(raced['other'])} other.")
    if work.fresh_ran_out:
        detail += " (Every badge was in before the end; the remaining scans were repeats.)"
    print(row, "\n   ", detail, flush=True)
    if tally.errors or raced["other"]:
        print("    first errors:", *tally.errors[:5], *raced["other"][:5], sep="\n      ")
        print("    server log:\n" + server.log_tail(), flush=True)
    return row, detail, errors == 0 and check["ok"] and race_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scanners", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds first")
    parser.add_argument("--delegates", type=int, default=2000)
    parser.add_argument("--think-ms", default="0,1000",
                        help="comma-separated mean pauses between one scanner's scans (0 = none)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--servers", default=DEFAULT_SERVERS,
                        help="comma-separated: gunicorn:WxT[+poolN], werkzeug")
    parser.add_argument("--race-rounds", type=int, default=20)
    parser.add_argument("--pg-fast", action="store_true",
                        help="PostgreSQL with fsync and synchronous_commit off")
    parser.add_argument("--out", help="also write the results (markdown) to this file")
    args = parser.parse_args()

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    servers = [ServerSpec.parse(s) for s in args.servers.split(",") if s.strip()]
    paces = [float(t) for t in args.think_ms.split(",") if t.strip()]
    notes = machine_notes()
    workdir = Path(tempfile.mkdtemp(prefix="convenor-bench-checkin-"))
    postgres = Postgres(args.pg_fast) if "postgresql" in databases else None
    rows, details, all_ok = [], [], True
    try:
        for database in databases:
            for spec in servers:
                for think_ms in paces:
                    name = f"bench_{database}_{len(rows)}"
                    url = (f"sqlite:///{workdir / (name + '.db')}" if database == "sqlite"
                           else postgres.database(name))
                    row, detail, ok = run_one(database, spec, think_ms, url, args, workdir)
                    rows.append(row)
                    details.append(detail)
                    all_ok &= ok
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    pg_note = ("fsync and synchronous_commit **off**" if args.pg_fast
               else "default durability (fsync and synchronous_commit on)")
    text = "\n".join([
        f"{args.scanners} scanners, {args.seconds:g} s timed after {args.warmup:g} s warm-up, "
        f"{args.delegates} delegates; a fresh database per row. \"Flat out\": each scanner sends "
        "its next scan as soon as it has an answer; \"~1 s apart\": a pause of 0.5–1.5× that "
        f"between one scanner's scans. {postgres.version if postgres else 'PostgreSQL'} with "
        f"{pg_note}; SQLite in WAL mode.",
        "",
        "| Database | Server | Scanners | Requests | req/s | p50 ms | p95 ms | p99 ms | max ms | "
        "201 ok | 200 already | 404 invalid | errors | server CPU ms/req | machine CPU busy % | "
        "p99 < 100 ms, 0 errors | one entry per delegate |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        *rows, "", *[f"- {d}" for d in details], "", *notes]) + "\n"
    print()
    print(text)
    if args.out:
        Path(args.out).write_text("# Check-in API benchmark\n\nCommand: `.venv/bin/python "
                                  "benchmarks/checkin.py` (see docs/benchmarks.md).\n\n" + text)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
