"""Shared fixtures: the app on SQLite and on a real PostgreSQL, clients, factories, servers.

Throwaway PostgreSQL and Redis servers are started once per test session in temporary
directories. With CI=true a missing server is a failure, never a quiet skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.slack_fixtures", "tests.smtp_fixtures"]

CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def require(what: str, available: bool, how: str) -> None:
    """Skip when a real dependency is missing locally, but fail in CI."""
    if available:
        return
    message = f"{what} is not available ({how})"
    if CI:
        pytest.fail(message + " — CI must have it", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> bool:
    """Wait until something listens on ``port``; return whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- servers


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def pg_server():
    """Start a throwaway PostgreSQL cluster; yield a function making fresh database URLs."""
    bindir = _pg_bin()
    require("PostgreSQL", bindir is not None, "install the Debian package postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="convenor-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: hand the directory to the postgres user.
        shutil.chown(workdir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data = workdir / "data"
    port = free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
         "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"],
        check=True, capture_output=True,
    )
    options = (f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
         str(workdir / "log"), "-w", "start"],
        check=True, capture_output=True,
    )
    created: list[str] = []

    def make_database(name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    make_database.port = port
    try:
        yield make_database
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    """Start a throwaway Redis server; yield its URL."""
    binary = shutil.which("redis-server")
    require("Redis", binary is not None, "install the Debian package redis-server")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="convenor-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        if not wait_for_port(port):
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Return Debian's Chromium, required for browser tests."""
    path = "/usr/bin/chromium"
    require("Chromium", os.path.exists(path), "install the Debian package chromium")
    return path


# --------------------------------------------------------------------------- app


@pytest.fixture(scope="session")
def pg_url(pg_server):
    """A PostgreSQL database with the current schema, shared by the session's tests."""
    from app import create_app
    from events.extensions import db

    url = pg_server("convenor_test")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def _truncate_all(db) -> None:
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _make_app(url: str, extra: dict | None = None):
    from app import create_app

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "convenor.test",
        "SECRET_KEY": "test-secret-key",
    }
    config.update(extra or {})
    return create_app(config)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path):
    """The Convenor app on a fresh database: SQLite, and again on PostgreSQL."""
    from events.extensions import db

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        application = _make_app(url)
        with application.app_context():
            db.create_all()
            yield application
            db.session.remove()
            db.engine.dispose()
    else:
        url = request.getfixturevalue("pg_url")
        application = _make_app(url)
        with application.app_context():
            _truncate_all(db)
            yield application
            db.session.remove()
            _truncate_all(db)
            db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path):
    """The app on SQLite only, for tests whose subject is not the database."""
    from events.extensions import db

    application = _make_app(f"sqlite:///{tmp_path / 'test.db'}")
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def pg_app(pg_url):
    """The app on PostgreSQL only, for concurrency tests."""
    from events.extensions import db

    application = _make_app(pg_url)
    with application.app_context():
        _truncate_all(db)
        yield application
        db.session.remove()
        _truncate_all(db)
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --------------------------------------------------------------------------- factories

DAY = date(2027, 3, 11)


def at(hhmm: str, day: date = DAY) -> str:
    """Return an ISO local time on the test conference's day, e.g. at("09:30")."""
    return f"{day.isoformat()}T{hhmm}"


@pytest.fixture
def make_organiser(app):
    """Create an organiser; return (organiser, api_token)."""
    from events.conference import services

    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = "correct-horse-9", role="organiser"):
        organiser = services.create_organiser(
            email or f"organiser{next(counter)}@example.org", password, role=role
        )
        return organiser, services.issue_api_token(organiser, "test")

    return make


@pytest.fixture
def organiser(make_organiser):
    """The default organiser and their API token."""
    return make_organiser("lead@example.org")


@pytest.fixture
def make_conference(app, organiser):
    """Create a conference managed by the default organiser (overrides welcome)."""
    from events.conference import services

    counter = iter(range(1, 10_000))

    def make(owner=None, **overrides):
        n = next(counter)
        data = {"slug": f"conf-{n}", "name": f"Conference {n}", "starts_on": DAY.isoformat(),
                "ends_on": DAY.isoformat(), "timezone": "Europe/London", "venue": "London",
                "published": True}
        data.update(overrides)
        return services.create_conference(owner or organiser[0], data)

    return make


@pytest.fixture
def conference(make_conference):
    return make_conference(slug="tlc", name="Trust Leaders' Conference")


@pytest.fixture
def make_room(app):
    from events.conference import services

    def make(conference, name="Main Hall", capacity=100, **overrides):
        return services.create_room(conference, {"name": name, "capacity": capacity, **overrides})

    return make


@pytest.fixture
def make_session(app):
    from events.conference import services

    def make(conference, title="Keynote", start="09:00", end="10:00", **overrides):
        data = {"title": title, "kind": "keynote", "starts_at": at(start), "ends_at": at(end)}
        data.update(overrides)
        return services.create_session(conference, data)

    return make


@pytest.fixture
def make_delegate(app):
    from events.conference import services

    counter = iter(range(1, 100_000))

    def make(conference, **overrides):
        n = next(counter)
        data = {"name": f"Delegate {n}", "email": f"delegate{n}@example.org",
                "organisation": "Oak Trust", "role": "Headteacher"}
        data.update(overrides)
        return services.create_delegate(conference, data)

    return make


@pytest.fixture
def api(client, organiser):
    """A test client that sends the default organiser's bearer token."""

    class Api:
        token = organiser[1]

        def _call(self, method, path, token=None, **kwargs):
            headers = dict(kwargs.pop("headers", {}) or {})
            headers.setdefault("Authorization", f"Bearer {token or self.token}")
            return client.open(path, method=method, headers=headers, **kwargs)

        def get(self, path, **kw):
            return self._call("GET", path, **kw)

        def post(self, path, **kw):
            return self._call("POST", path, **kw)

        def patch(self, path, **kw):
            return self._call("PATCH", path, **kw)

        def put(self, path, **kw):
            return self._call("PUT", path, **kw)

        def delete(self, path, **kw):
            return self._call("DELETE", path, **kw)

    return Api()


@pytest.fixture
def login(client):
    """Sign a browser-style client in as an organiser (password 'correct-horse-9')."""

    def do(email="lead@example.org", password="correct-horse-9"):
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do


def utc(*args) -> datetime:
    """Build an aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


ARTIFACTS.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- live server + browser


@pytest.fixture
def live_server(tmp_path):
    """Start `python app.py` on a free port over a fresh SQLite file; yield a handle.

    The handle has ``url``, ``database_url`` and ``app`` (an in-process app on the same
    database, for seeding and for checking rows).
    """
    from events.extensions import db

    database_url = f"sqlite:///{tmp_path / 'live.db'}"
    local = _make_app(database_url)
    with local.app_context():
        db.create_all()
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port),
               SECRET_KEY="live-test-secret")
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([os.sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)

    class Live:
        url = f"http://127.0.0.1:{port}"
        app = local

    Live.database_url = database_url
    try:
        if not wait_for_port(port):
            pytest.fail("the app server did not start: " + (tmp_path / "server.log").read_text())
        yield Live
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture
def browser(chromium_path):
    """A headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


# Hypothesis: on a shared 2-core CI machine a slow example is not a failure (speed is measured
# by benchmarks/, never by tests), and the example database is not kept between runs.
hypothesis_settings.register_profile("convenor", deadline=None, database=None)
hypothesis_settings.load_profile("convenor")
