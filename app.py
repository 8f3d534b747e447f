"""Convenor application factory and entry point."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from events.extensions import csrf, db, login_manager, migrate, socketio

BASE_DIR = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "convenor.db")
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver named.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def create_app(config: dict | None = None) -> Flask:
    """Create the Convenor app: configuration from the environment, then ``config`` on top."""
    app = Flask(__name__, instance_relative_config=True)
    from events.adapters import install_edges

    install_edges(app)  # bounded <int:…> URL parts and strict JSON, before any route exists
    os.makedirs(app.instance_path, exist_ok=True)
    production = os.environ.get("CONVENOR_ENV", "development") == "production"
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        # Old keys still accepted for session cookies while a new SECRET_KEY rolls out (comma-separated).
        SECRET_KEY_FALLBACKS=[k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k],
        SQLALCHEMY_DATABASE_URI=_database_url(app.instance_path),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SOCKETIO_MESSAGE_QUEUE=os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        SLACK_SIGNING_SECRET=os.environ.get("SLACK_SIGNING_SECRET") or None,
        SLACK_BOT_TOKEN=os.environ.get("SLACK_BOT_TOKEN") or None,
        SLACK_API_URL=os.environ.get("SLACK_API_URL") or "https://slack.com/api/",
        SLACK_APP_TOKEN=os.environ.get("SLACK_APP_TOKEN") or None,
        CONVENOR_SLACK_CONFERENCE=os.environ.get("CONVENOR_SLACK_CONFERENCE") or None,
        CONVENOR_SLACK_CHANNEL=os.environ.get("CONVENOR_SLACK_CHANNEL") or None,
        # Email (events.notify.mail): unset MAIL_SERVER writes messages to instance/outbox/.
        MAIL_SERVER=os.environ.get("MAIL_SERVER") or None,
        MAIL_PORT=int(os.environ.get("MAIL_PORT") or 25),
        MAIL_USE_TLS=os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes", "on"),
        MAIL_USERNAME=os.environ.get("MAIL_USERNAME") or None,
        MAIL_PASSWORD=os.environ.get("MAIL_PASSWORD") or None,
        MAIL_DEFAULT_SENDER=os.environ.get("MAIL_DEFAULT_SENDER") or "convenor@localhost",
        MAIL_TIMEOUT=float(os.environ.get("MAIL_TIMEOUT") or 15),
        PUBLIC_URL=os.environ.get("PUBLIC_URL", "").rstrip("/"),
        # How long a notify-worker's claim on a notice lasts before another may take it over.
        NOTIFY_LEASE_S=float(os.environ.get("NOTIFY_LEASE_S") or 120),
        PRODUCTION=production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Redirect plain HTTP to HTTPS in the app (usually the proxy's job; HSTS is on in production).
        FORCE_HTTPS=_flag(os.environ.get("CONVENOR_FORCE_HTTPS", "")),
        # Reverse proxies in front of the app, whose X-Forwarded-For/-Proto are trusted (0: none).
        PROXY_COUNT=int(os.environ.get("CONVENOR_PROXY_COUNT") or 0),
        # Rate limits (events/security.py, docs/security.md); storage defaults to Redis when the
        # app has one (REDIS_URL or a redis:// Socket.IO queue), else this process's memory.
        RATELIMIT_ENABLED=os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI") or None,
        RATELIMIT_LOGIN_PER_IP=os.environ.get("RATELIMIT_LOGIN_PER_IP") or "10 per minute",
        RATELIMIT_LOGIN_PER_EMAIL=os.environ.get("RATELIMIT_LOGIN_PER_EMAIL") or "5 per minute",
        RATELIMIT_PRIVATE_LINK=os.environ.get("RATELIMIT_PRIVATE_LINK") or "60 per minute",
        RATELIMIT_BADGE_CODES=os.environ.get("RATELIMIT_BADGE_CODES") or "30 per minute",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    pool = os.environ.get("DATABASE_POOL_SIZE", "")
    if pool.isdigit() and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Threads beyond the pool wait for a connection; match the pool to the server's threads.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "pool_size": int(pool),
                                                   "max_overflow": int(pool)}
    if config:
        app.config.update(config)
    if not app.config["SECRET_KEY"]:
        if app.config["PRODUCTION"]:
            raise ConfigError("SECRET_KEY must be set when CONVENOR_ENV=production")
        # Development only: a per-process key, so sessions do not survive a restart.
        app.config["SECRET_KEY"] = os.urandom(32).hex()
    _check_slack(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = _limit_storage(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    socketio.init_app(
        app,
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        async_mode="threading",
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS", []) or None,
    )
    _sqlite_pragmas(app)

    # Each feature registers its blueprints, CLI, signal receivers and extension points here,
    # in this order (the organiser's menu and the delegate page's panels follow it).
    import bot
    import carousels.cafe
    import carousels.rounds
    import carousels.workshops
    import events.checkin
    import events.conference
    import events.exchange
    import events.live
    import events.notify
    import events.security

    events.conference.install(app)  # programme, delegates, sign-in, organiser pages, JSON API
    events.live.install(app)  # Socket.IO /live, Now & Next, announcements
    events.exchange.install(app)  # calendars, frab schedules, imports, allocation CSV
    carousels.cafe.install(app)  # World Cafe: tables, plans, delegate tables
    carousels.rounds.install(app)  # start any round of either format
    carousels.workshops.install(app)  # carousels: slots, workshops, ranked preferences
    events.checkin.install(app)  # QR check-in: badges, lists, redeem API, scanner, arrivals
    events.notify.install(app)  # the outbox: Slack DMs, email, reminders; notify-worker
    bot.install(app)  # the Slack bot (POST /slack/events) and the web chat on delegate pages
    events.security.install(app)  # last: headers on every response, rate limits on routes by name
    return app


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _limit_storage(app: Flask) -> str:
    """Share rate-limit counters through Redis when the app has one, else keep them in memory."""
    for url in (os.environ.get("REDIS_URL"), app.config.get("SOCKETIO_MESSAGE_QUEUE")):
        if url and url.startswith(("redis://", "rediss://")):
            return url
    return "memory://"


def _check_slack(app: Flask) -> None:
    """Refuse a half-configured Slack bot in production (one secret without the other)."""
    token, secret = app.config.get("SLACK_BOT_TOKEN"), app.config.get("SLACK_SIGNING_SECRET")
    if not app.config["PRODUCTION"]:
        return
    if bool(token) != bool(secret):
        raise ConfigError("set both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or neither")
    if token and not app.config.get("PUBLIC_URL"):
        raise ConfigError("the Slack bot needs PUBLIC_URL for the links it sends")


def _sqlite_pragmas(app: Flask) -> None:
    """Turn on WAL, foreign keys and a busy timeout for SQLite connections."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: no corruption on a crash; fsync at checkpoints, not every commit.
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


if __name__ == "__main__":
    application = create_app()
    if os.environ.get("CONVENOR_NOTIFY_WORKER", "1") != "0":
        # The embedded default sends the outbox (email, Slack DMs) from this process; with
        # several processes, set CONVENOR_NOTIFY_WORKER=0 and run `flask notify-worker`.
        from events.notify import worker

        worker.start_in_process(application)
    socketio.run(
        application,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        allow_unsafe_werkzeug=True,
    )
