"""Profile one Slack ack in process: where the server's CPU goes for a signed ``/convenor`` command.

Run: ``.venv/bin/python benchmarks/slack_profile.py [--command next] [--n 200] [--top 25]``.

Seeds a SQLite demo database exactly as ``benchmarks/slack.py`` does (300 delegates linked to
Slack ids), builds the app in this process against the fake Slack Web API, posts ``--n`` signed
commands through the Flask test client (random linked delegates) after a warm-up, and prints
the CPU time per ack, the SQL statements per ack and cProfile's top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.slack import (  # noqa: E402
    BOT_TOKEN,
    PUBLIC_URL,
    SECRET_KEY,
    SIGNING_SECRET,
    prepare_database,
    slack_id,
)
from tests.slack_fake import FakeSlack  # noqa: E402
from tests.slack_fixtures import command_body, signed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default="next", help="the /convenor text, e.g. next, agenda")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--no-profile", action="store_true",
                        help="only time the acks (cProfile roughly doubles the CPU time)")
    args = parser.parse_args()

    fake = FakeSlack()
    workdir = Path(tempfile.mkdtemp(prefix="convenor-slack-profile-"))
    url = f"sqlite:///{workdir / 'convenor.db'}"
    settings = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.url,
                "PUBLIC_URL": PUBLIC_URL}
    linked = prepare_database(url, dict(os.environ, **settings))
    os.environ.update(settings)
    from sqlalchemy import event

    from app import create_app
    from events.extensions import db

    app = create_app()
    client = app.test_client()
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
    rng = random.Random(1)

    def post() -> None:
        body, _ = command_body(args.command, user_id=slack_id(rng.randint(1, linked)))
        response = client.post("/slack/events", data=body.encode(), headers=signed(body, SIGNING_SECRET))
        assert response.status_code == 200 and response.get_json().get("text"), response.data[:200]

    for _ in range(20):
        post()
    statements[0] = 0
    profiler = cProfile.Profile(time.process_time)
    cpu = time.process_time()
    if not args.no_profile:
        profiler.enable()
    for _ in range(args.n):
        post()
    profiler.disable()
    cpu = time.process_time() - cpu
    how = "not profiled" if args.no_profile else "profiled"
    print(f"/convenor {args.command}: {1000 * cpu / args.n:.1f} ms CPU per ack ({how}), "
          f"{statements[0] / args.n:.1f} SQL statements per ack, {args.n} acks")
    if not args.no_profile:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    fake.close()


if __name__ == "__main__":
    main()
