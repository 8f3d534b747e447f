"""Benchmark live updates: one programme change fanned out to N connected Socket.IO clients.

Run: ``.venv/bin/python benchmarks/live.py [--clients 1000] [--changes 5] [--out docs/benchmarks_live.md]``.

Measures, in the same run and on the same machine:

1. Convenor, one process: an organiser moves a session through the API (``PATCH``); every
   client on ``/live`` receives ``session_changed``. Latency = receive time - request sent.
2. A bare Flask-SocketIO app (threading mode, same server) broadcasting one event from an HTTP
   request: the baseline, the ratio to beat.
3. and 4. The same two across two processes sharing events through Redis (clients split evenly;
   the change enters through process A).
5. Reconnecting all clients at once (connect + the catch-up fetch each page makes).

Clients are python-socketio threads in this process over WebSocket; servers are
``python app.py`` (Werkzeug, threading) processes. Needs redis-server for the Redis rows.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

SECRET = "benchmark-secret"

BARE_APP = '''
import os, time
from flask import Flask, request
from flask_socketio import SocketIO
app = Flask(__name__)
sio = SocketIO(app, async_mode="threading", message_queue=os.environ.get("MQ") or None)

@sio.on("connect", namespace="/live")
def connect(auth=None):
    return True

@app.post("/emit")
def emit():
    sio.emit("session_changed", {"conference": "bare", "version": 1, "t": time.time()},
             namespace="/live")
    return "", 204

sio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), allow_unsafe_werkzeug=True,
        log_output=False)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def seed(url: str) -> dict:
    """Create a published conference with two rooms and one session; return ids and a token."""
    from app import create_app
    from events.conference import services
    from events.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        db.create_all()
        owner = services.create_organiser("bench@example.org", "correct-horse-9")
        token = services.issue_api_token(owner, "bench")
        conference = services.create_conference(owner, {
            "slug": "bench", "name": "Bench", "starts_on": "2027-03-11", "ends_on": "2027-03-11",
            "published": True})
        rooms = [services.create_room(conference, {"name": n, "capacity": 100}).id
                 for n in ("Room A", "Room B")]
        session = services.create_session(conference, {
            "title": "Keynote", "kind": "keynote", "starts_at": "2027-03-11T09:00",
            "ends_at": "2027-03-11T10:00", "room_id": rooms[0]})
        result = {"token": token, "rooms": rooms, "session": session.id}
        db.session.remove()
        db.engine.dispose()
    return result


class Proc:
    """A server process: Convenor (`python app.py`) or the bare baseline app."""

    def __init__(self, kind: str, workdir: Path, db_url: str = "", mq: str = "",
                 threads: int = 0):
        self.port = free_port()
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(self.port), SECRET_KEY=SECRET,
                   DATABASE_URL=db_url, PYTHONUNBUFFERED="1")
        env.pop("SOCKETIO_MESSAGE_QUEUE", None)
        if mq:
            env["SOCKETIO_MESSAGE_QUEUE"] = mq
            env["MQ"] = mq
        if kind == "convenor":
            cmd = [sys.executable, "app.py"]
        elif kind == "gunicorn":
            # One gthread worker per instance (Socket.IO needs sticky sessions, which gunicorn
            # cannot give across its own workers); each WebSocket holds one thread.
            cmd = [str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread", "-w", "1",
                   "--threads", str(threads), "--worker-connections", str(threads),
                   "-b", f"127.0.0.1:{self.port}",
                   "--log-level", "warning", "app:create_app()"]
        else:
            script = workdir / "bare_app.py"
            script.write_text(BARE_APP)
            cmd = [sys.executable, str(script)]
        self.log = open(workdir / f"{kind}-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Fleet:
    """N python-socketio clients that record when each receives ``session_changed``."""

    def __init__(self, n: int):
        # request_timeout 20 s: socket.io-client's (browsers') default connect timeout.
        self.clients = [socketio.Client(reconnection=False, request_timeout=20) for _ in range(n)]
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.done = threading.Event()
        self.expected = n
        self.retries = 0
        for client in self.clients:
            client.on("session_changed", self._received, namespace="/live")

    def _received(self, _data):
        now = time.perf_counter()
        with self.lock:
            self.times.append(now)
            if len(self.times) >= self.expected:
                self.done.set()

    def connect(self, urls: list[str], auth: dict, workers: int = 64) -> float:
        """Connect every client (round-robin over ``urls``); return the seconds it took."""
        start = time.perf_counter()

        def one(i):
            self.clients[i].connect(urls[i % len(urls)], namespaces=["/live"], auth=auth,
                                    transports=["websocket"], wait_timeout=30)

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(len(self.clients))))
        return time.perf_counter() - start

    def disconnect(self) -> None:
        with ThreadPoolExecutor(256) as pool:
            list(pool.map(lambda c: c.disconnect(), self.clients))

    def arm(self) -> None:
        self.times = []
        self.done.clear()

    def wait(self, timeout: float = 60) -> list[float]:
        if not self.done.wait(timeout):
            raise RuntimeError(f"only {len(self.times)} of {self.expected} clients got the event")
        return list(self.times)


class AsyncFleet:
    """N minimal Socket.IO-over-WebSocket clients on one asyncio loop (in a background thread).

    Far lighter than N python-socketio clients (two threads each), so the figures measure the
    server rather than the client harness. Speaks just enough Engine.IO 4 / Socket.IO 5: open,
    namespace connect with ``auth``, ping/pong, events.
    """

    def __init__(self, n: int):
        self.n = n
        self.expected = n
        self.retries = 0
        self.times: list[float] = []
        self.done = threading.Event()
        self.conns: list = [None] * n
        self.since = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @staticmethod
    def _frame(text: str) -> bytes:
        payload = text.encode()
        mask = os.urandom(4)
        head = bytearray([0x81])
        if len(payload) < 126:
            head.append(0x80 | len(payload))
        else:
            head.append(0x80 | 126)
            head += struct.pack(">H", len(payload))
        return bytes(head) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    @staticmethod
    async def _read_frame(reader) -> tuple[int, bytes]:
        b0, b1 = await reader.readexactly(2)
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", await reader.readexactly(8))[0]
        return b0 & 0x0F, await reader.readexactly(length)

    async def _open(self, i: int, url: str, auth: dict) -> None:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head[:80])
        _, opened = await self._read_frame(reader)  # Engine.IO "0{...}"
        if not opened.startswith(b"0"):
            raise ConnectionError(opened[:80])
        writer.write(self._frame("40/live," + json.dumps(auth)))
        while True:
            _, data = await self._read_frame(reader)
            if data.startswith(b"40/live,"):
                break
            if data.startswith(b"44/live,"):
                raise ConnectionError(data)
        self.conns[i] = (reader, writer, asyncio.ensure_future(self._listen(reader, writer)))

    async def _listen(self, reader, writer) -> None:
        try:
            while True:
                opcode, data = await self._read_frame(reader)
                if opcode == 8:
                    return
                if data == b"2":
                    writer.write(self._frame("3"))
                elif data.startswith(b'42/live,["session_changed"'):
                    self.times.append(time.perf_counter())
                    if len(self.times) >= self.expected:
                        self.done.set()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    async def _open_retrying(self, i: int, url: str, auth: dict, catch_up: bool) -> None:
        rng = random.Random(i)
        for _attempt in range(30):
            try:
                await asyncio.wait_for(self._open(i, url, auth), 20)
                break
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                self.retries += 1
                # As socket.io-client does: retry after ~1 s with +-50% jitter.
                await asyncio.sleep(rng.uniform(0.5, 1.5))
        else:
            raise RuntimeError("a client could not connect")
        if catch_up:
            host, port = url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(f"GET /c/bench/live/since/{self.since} HTTP/1.1\r\nHost: {host}\r\n"
                         "Connection: close\r\n\r\n".encode())
            response = await reader.read()
            writer.close()
            if b" 200 " not in response.split(b"\r\n", 1)[0]:
                raise RuntimeError(response[:80])

    async def _open_all(self, urls: list[str], auth: dict, catch_up: bool, batch: int) -> None:
        indexes = list(range(self.n))
        for start in range(0, self.n, batch):
            await asyncio.gather(*(self._open_retrying(i, urls[i % len(urls)], auth, catch_up)
                                   for i in indexes[start:start + batch]))

    def connect(self, urls: list[str], auth: dict) -> float:
        """Connect every client (round-robin over ``urls``, 50 at a time); return seconds."""
        start = time.perf_counter()
        self._run(self._open_all(urls, auth, False, 50), 600)
        return time.perf_counter() - start

    def reconnect(self, urls: list[str], auth: dict) -> float:
        """Drop every client, then reconnect all at once with their catch-up fetch; seconds."""
        # Each page last saw the version before the latest change: it catches up on one change.
        with urllib.request.urlopen(f"{urls[0]}/c/bench/live/since/0", timeout=30) as response:
            self.since = max(0, json.loads(response.read())["version"] - 1)
        self.disconnect()
        self.retries = 0
        start = time.perf_counter()
        self._run(self._open_all(urls, auth, True, self.n), 600)
        return time.perf_counter() - start

    async def _close_all(self) -> None:
        for i, conn in enumerate(self.conns):
            if conn is None:
                continue
            _reader, writer, task = conn
            task.cancel()
            writer.close()
            self.conns[i] = None

    def disconnect(self) -> None:
        self._run(self._close_all())

    def arm(self) -> None:
        self.times = []
        self.done.clear()

    def wait(self, timeout: float = 60) -> list[float]:
        if not self.done.wait(timeout):
            raise RuntimeError(f"only {len(self.times)} of {self.expected} clients got the event")
        return list(self.times)


def post(url: str, body: dict | None = None, token: str = "", method: str = "POST") -> None:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, method=method, headers=headers,
                                     data=json.dumps(body or {}).encode())
    urllib.request.urlopen(request, timeout=30).read()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(fleet, trigger, changes: int) -> dict:
    """Fire ``changes`` changes one after another; return latency statistics in ms."""
    latencies: list[float] = []
    worst: list[float] = []
    # One untimed warm-up change: lazily opened connections (database, Redis publisher) and the
    # Redis subscriber thread, which subscribes only after the first client connects.
    fleet.arm()
    trigger(changes)
    try:
        fleet.wait(20)
    except RuntimeError as exc:
        print(f"  warm-up: {exc}", flush=True)
    time.sleep(0.5)
    for i in range(changes):
        fleet.arm()
        sent = time.perf_counter()
        trigger(i)
        received = fleet.wait()
        batch = [(t - sent) * 1000 for t in received]
        latencies.extend(batch)
        worst.append(max(batch))
        time.sleep(0.3)  # let the server settle between changes
    return {"p50": statistics.median(latencies), "p99": percentile(latencies, 99),
            "max": max(worst), "samples": len(latencies)}


def convenor_trigger(url: str, seeded: dict):
    def trigger(i):
        post(f"{url}/api/v1/conferences/bench/sessions/{seeded['session']}",
             {"room_id": seeded["rooms"][(i + 1) % 2]}, seeded["token"], method="PATCH")
    return trigger


def bare_trigger(url: str):
    return lambda _i: post(f"{url}/emit")


def reconnect_all(fleet, urls: list[str], auth: dict) -> float:
    """Drop every client, then reconnect all at once, each fetching its catch-up; seconds."""
    if isinstance(fleet, AsyncFleet):
        return fleet.reconnect(urls, auth)
    fleet.disconnect()
    start = time.perf_counter()

    def one(i):
        url = urls[i % len(urls)]
        rng = random.Random(i)
        for _attempt in range(20):
            try:
                fleet.clients[i].connect(url, namespaces=["/live"], auth=auth,
                                         transports=["websocket"], wait_timeout=60)
                break
            except socketio.exceptions.ConnectionError:
                fleet.retries += 1
                # As socket.io-client does: retry after ~1 s with +-50% jitter.
                time.sleep(rng.uniform(0.5, 1.5))
        else:
            raise RuntimeError("a client could not reconnect")
        urllib.request.urlopen(f"{url}/c/bench/live/since/0", timeout=60).read()

    with ThreadPoolExecutor(len(fleet.clients)) as pool:
        list(pool.map(one, range(len(fleet.clients))))
    return time.perf_counter() - start


#: Set from the command line: which client harness the scenarios use.
OPTIONS = {"harness": "asyncio"}


def run_scenario(name: str, servers: list[Proc], trigger, n: int, changes: int, auth: dict,
                 reconnect: bool = False) -> dict:
    fleet = AsyncFleet(n) if OPTIONS["harness"] == "asyncio" else Fleet(n)
    urls = [s.url for s in servers]
    connect_s = fleet.connect(urls, auth)
    stats = measure(fleet, trigger, changes)
    stats["connect_s"] = connect_s
    if reconnect:
        stats["reconnect_s"] = reconnect_all(fleet, urls, auth)
        stats["retries"] = fleet.retries
    fleet.disconnect()
    print(f"{name}: p50 {stats['p50']:.0f} ms, p99 {stats['p99']:.0f} ms, "
          f"worst {stats['max']:.0f} ms over {stats['samples']} deliveries"
          + (f", reconnect {stats['reconnect_s']:.2f} s ({stats['retries']} retries)"
             if reconnect else ""), flush=True)
    return stats


def machine() -> str:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--out", default="")
    parser.add_argument("--harness", choices=["asyncio", "python-socketio"], default="asyncio",
                        help="clients: minimal asyncio ones (default) or python-socketio threads")
    parser.add_argument("--only", default="",
                        help="comma-separated scenarios: convenor_1,gunicorn_1,bare_1,convenor_2,bare_2")
    parser.add_argument("--gunicorn", action="store_true",
                        help="also measure one gunicorn -k gthread process")
    args = parser.parse_args()
    OPTIONS["harness"] = args.harness
    workdir = Path(tempfile.mkdtemp(prefix="convenor-bench-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    seeded = seed(db_url)
    auth = {"conference": "bench"}
    results: dict[str, dict] = {}
    n, changes = args.clients, args.changes
    chosen = set(filter(None, args.only.split(",")))
    if args.gunicorn:
        chosen |= {"gunicorn_1"} if chosen else {"convenor_1", "gunicorn_1", "bare_1",
                                                 "convenor_2", "bare_2"}
    chosen = chosen or {"convenor_1", "bare_1", "convenor_2", "bare_2"}

    if "convenor_1" in chosen:
        server = Proc("convenor", workdir, db_url)
        try:
            results["convenor_1"] = run_scenario("Convenor, 1 process", [server],
                                                 convenor_trigger(server.url, seeded), n, changes,
                                                 auth, reconnect=True)
        finally:
            server.stop()
    if "gunicorn_1" in chosen and shutil.which("gunicorn", path=str(Path(sys.executable).parent)):
        server = Proc("gunicorn", workdir, db_url, threads=n + 200)
        try:
            results["gunicorn_1"] = run_scenario(
                "Convenor, 1 process, gunicorn gthread", [server],
                convenor_trigger(server.url, seeded), n, changes, auth, reconnect=True)
        finally:
            server.stop()
    if "bare_1" in chosen:
        bare = Proc("bare", workdir)
        try:
            results["bare_1"] = run_scenario("Bare Flask-SocketIO, 1 process", [bare],
                                             bare_trigger(bare.url), n, changes, auth)
        finally:
            bare.stop()

    redis_bin = shutil.which("redis-server")
    if redis_bin and chosen & {"convenor_2", "bare_2"}:
        redis_port = free_port()
        redis = subprocess.Popen([redis_bin, "--port", str(redis_port), "--save", "",
                                  "--appendonly", "no", "--dir", str(workdir)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mq = f"redis://127.0.0.1:{redis_port}/0"
        try:
            wait_port(redis_port)
            if "convenor_2" in chosen:
                pair = [Proc("convenor", workdir, db_url, mq),
                        Proc("convenor", workdir, db_url, mq)]
                try:
                    results["convenor_2"] = run_scenario(
                        "Convenor, 2 processes + Redis", pair,
                        convenor_trigger(pair[0].url, seeded), n, changes, auth, reconnect=True)
                finally:
                    for p in pair:
                        p.stop()
            if "bare_2" in chosen:
                pair = [Proc("bare", workdir, mq=mq), Proc("bare", workdir, mq=mq)]
                try:
                    results["bare_2"] = run_scenario(
                        "Bare Flask-SocketIO, 2 processes + Redis", pair,
                        bare_trigger(pair[0].url), n, changes, auth)
                finally:
                    for p in pair:
                        p.stop()
        finally:
            redis.terminate()
            redis.wait()
    shutil.rmtree(workdir, ignore_errors=True)

    report = render(results, n, changes)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


def render(results: dict, n: int, changes: int) -> str:
    rows = [("convenor_1", "Convenor `session_changed`, 1 process"),
            ("gunicorn_1", "Convenor, 1 process, gunicorn `-k gthread`"),
            ("bare_1", "Bare Flask-SocketIO broadcast, 1 process (baseline)"),
            ("convenor_2", "Convenor, 2 processes + Redis"),
            ("bare_2", "Bare Flask-SocketIO, 2 processes + Redis (baseline)")]
    lines = [
        f"Machine: {machine()}. {n} clients ({OPTIONS['harness']} harness, WebSocket, in one "
        "process), "
        f"{changes} changes each, Werkzeug threading servers.",
        "",
        "| Scenario | p50 ms | p99 ms | worst ms | connect all s | reconnect all at once s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in rows:
        r = results.get(key)
        if not r:
            continue
        rec = (f"{r['reconnect_s']:.2f} ({r['retries']} retried)" if "reconnect_s" in r
               else "—")
        lines.append(f"| {label} | {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | "
                     f"{r['connect_s']:.2f} | {rec} |")
    for mine, base in (("convenor_1", "bare_1"), ("convenor_2", "bare_2")):
        if mine in results and base in results:
            lines.append("")
            lines.append(f"p99 ratio {mine} / {base}: "
                         f"{results[mine]['p99'] / results[base]['p99']:.2f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
