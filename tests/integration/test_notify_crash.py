"""Crashes: the outbox commits with the change, a worker killed at any point (``kill -9``, by
fault injection: ``CONVENOR_NOTIFY_CRASH_AT``) loses and doubles nothing, and the live change log
commits with the change, so a crash between the commit and the push loses no live update.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.integration.bot_world import *  # noqa: F403

# ruff: noqa: F405

ROOT = Path(__file__).resolve().parents[2]


def _worker_once(app, fake_slack, crash_at: str | None) -> int:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SLACK_SETTINGS[
               "SLACK_SIGNING_SECRET"], "SLACK_API_URL": fake_slack.url,
           "PUBLIC_URL": "https://convenor.test", "NOTIFY_LEASE_S": "0.2",
           "SECRET_KEY": "crash-test"}
    env.pop("CONVENOR_NOTIFY_CRASH_AT", None)
    if crash_at:
        env["CONVENOR_NOTIFY_CRASH_AT"] = crash_at
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "notify-worker", "--once"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 137), done.stderr[-2000:]
    return done.returncode


class Killed(BaseException):
    """The simulated ``kill -9``: nothing after it runs, nothing uncommitted survives."""


def _link_everyone(world, fake_slack):
    """Put all twelve delegates on Slack, and let the reconcile pass enqueue what they are owed."""
    from events.conference import services
    from events.notify import worker
    from events.types import utcnow

    for i, person in enumerate(world.people[2:]):
        user = f"U0P{i:05d}"
        services.update_delegate(person, {"slack_user_id": user})
        fake_slack.add_user(user, person.email, real_name=person.name)
    worker.reconcile(utcnow())


def _check_exactly_once(fake_slack, expected_reminders: int | None = None):
    from events.extensions import db
    from events.notify.models import Notice

    slack = list(db.session.scalars(select(Notice).where(Notice.channel == "slack")))
    assert slack and all(n.status in ("sent", "scheduled") for n in slack), \
        Counter(n.status for n in slack)
    posted = Counter(b["block_id"] for c in fake_slack.calls_to("chat.postMessage")
                     if c.status == 200 and c.response.get("ok")
                     for b in c.args.get("blocks") or [] if b.get("block_id"))
    sent = {f"convenor-notice-{n.id}" for n in slack if n.status == "sent"}
    assert set(posted) == sent
    assert all(count == 1 for count in posted.values()), posted
    reminders = [n for n in slack if n.kind == "reminder"]
    if expected_reminders is not None:
        assert len(reminders) == expected_reminders
    assert len(fake_slack.scheduled) == len(reminders)
    assert {n.scheduled_message_id for n in reminders} == set(fake_slack.scheduled)


def test_a_worker_killed_at_twenty_points_sends_each_notice_exactly_once(world, fake_slack,
                                                                         monkeypatch):
    from events.extensions import db
    from events.notify import worker
    from events.types import utcnow

    _link_everyone(world, fake_slack)
    rng = random.Random(20261203)
    now = utcnow()
    kills = 0
    while kills < 20:
        point, nth = rng.choice(["claimed", "sent", "sent", "marked"]), rng.randint(1, 4)
        seen = Counter()

        def crash(name, point=point, nth=nth, seen=seen):
            seen[name] += 1
            if name == point and seen[name] == nth:
                raise Killed(f"{point}:{nth}")

        monkeypatch.setattr(worker, "crash_hook", crash)
        try:
            counts = worker.run_once(now=now, limit=8)
        except Killed:
            kills += 1
            db.session.rollback()  # the dead process's open transaction is gone
            db.session.remove()
        else:
            assert counts, "the queue emptied before twenty kills"
        now += timedelta(minutes=3)  # every claim a dead worker held has expired
    monkeypatch.setattr(worker, "crash_hook", None)
    while worker.run_once(now=now):
        now += timedelta(minutes=3)
    _check_exactly_once(fake_slack, expected_reminders=12 * 5)


def test_kill_9_of_the_worker_process_then_restart(world, fake_slack, app):
    """The same with a real process killed by the operating system's rules (``os._exit``)."""
    from events.extensions import db
    from events.notify import worker
    from events.types import utcnow

    db.session.commit()
    db.session.remove()
    assert _worker_once(app, fake_slack, "sent:2") == 137
    assert _worker_once(app, fake_slack, "marked:3") == 137
    worker.run_once(now=utcnow() + timedelta(minutes=5))
    _check_exactly_once(fake_slack, expected_reminders=2 * 5)


def test_a_crash_between_commit_and_push_loses_no_live_update(world, app):
    from carousels.cafe import services as cs
    from carousels.rounds import services as rounds
    from events import signals

    slug = world.conference.slug
    client = app.test_client()
    version = client.get(f"/c/{slug}/live/since/0").get_json()["version"]
    tables = cs.get_tables(world.cafe)
    plan = rounds.published_plan(cs.FORMAT, world.cafe)
    seats = rounds.seat_details(cs.FORMAT, world.cafe, plan)
    moved = next(d for d in seats if d != world.host.id)
    current = next(s for s in seats[moved] if s["round"] == 1)["table"]
    target = next(t for t in tables if t.name != current and t.id != tables[0].id)
    cs.move_delegate(world.cafe, moved, 1, target.id)
    # As if the process died right after the commit: no receiver of the signal ever runs.
    with signals.allocation_published.muted(), signals.block_changed.muted():
        rounds.publish(world.cafe)
        cs.update_table(tables[1], {"question": "What would you stop doing?"})
    body = client.get(f"/c/{slug}/live/since/{version}").get_json()
    events = [c["event"] for c in body["changes"]]
    assert not body["reload"]
    assert events.count("allocation_published") == 1 and events.count("block_changed") == 1
    published = next(c for c in body["changes"] if c["event"] == "allocation_published")
    assert published["data"]["plan_version"] == rounds.published_plan(cs.FORMAT, world.cafe).version
    assert body["version"] == published["version"] + 1


def test_a_rolled_back_change_logs_nothing(world, app):
    from events.conference import services
    from events.errors import ConvenorError

    slug = world.conference.slug
    client = app.test_client()
    before = client.get(f"/c/{slug}/live/since/0").get_json()
    try:
        services.update_session(world.keynote, {"ends_at": "2027-03-11T08:00"})
    except ConvenorError:
        pass
    after = client.get(f"/c/{slug}/live/since/0").get_json()
    assert after["version"] == before["version"] and after["changes"] == before["changes"]
