"""Notifications on Slack, end to end: a change commits with its outbox rows, the worker
(``run_once(now=…)``) hands them to the fake Slack Web API, and each person hears once.

The day is ``bot_world``'s (11 March 2027): Hana hosts Table 1 of the World Cafe, Ben is an
ordinary delegate; both are linked to Slack, the ten others are not.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.integration.bot_world import *  # noqa: F403

# ruff: noqa: F405


def ok_posts(fake, user: str) -> list[dict]:
    """Messages Slack accepted into ``user``'s DM."""
    return [c.args for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == "D" + user and c.status == 200 and c.response.get("ok")]


def text(message: dict) -> str:
    return text_of(message)


def run(now):
    from events.notify import worker

    return worker.run_once(now=now)


def notices(**where):
    from events.extensions import db
    from events.notify.models import Notice

    query = select(Notice)
    for key, value in where.items():
        query = query.where(getattr(Notice, key) == value)
    return list(db.session.scalars(query.order_by(Notice.id)))


@pytest.fixture
def at(clock, fake_slack, monkeypatch):
    """Set the time everywhere (services, the fake Slack's scheduler): ``at("08:00")``."""
    from events.notify import services as notify

    monkeypatch.setattr(notify, "clock", lambda: clock.now)
    fake_slack.clock = lambda: clock.now.timestamp()

    def move(hhmm: str, seconds: int = 0):
        clock.now = utc(hhmm) + timedelta(seconds=seconds)
        return clock.now

    move("08:00")
    return move


@pytest.fixture
def day(world, at):
    """The world at 08:00 on the day, with the first publish's messages sent."""
    run(at("08:00"))
    return world


def test_first_publish_tells_each_seated_linked_delegate_their_places(day, fake_slack):
    ben = ok_posts(fake_slack, BEN)
    places = [m for m in ben if "are out" in m["text"]]
    assert len(places) == 2  # the carousel and the World Cafe, one message each
    cafe = next(m for m in places if "World Cafe" in m["text"])
    assert "Round 1" in text(cafe) and "Round 3" in text(cafe)
    host = [m for m in ok_posts(fake_slack, HOST) if "World Cafe" in m["text"]]
    assert len(host) == 1 and "you host Table 1: stay at your table" in text(host[0])
    # Unlinked delegates are not on Slack: their notices are emails.
    assert not [c for c in fake_slack.calls_to("chat.postMessage")
                if c.args.get("channel") not in ("D" + BEN, "D" + HOST, "C0ANNOUNCE")]
    emails = notices(channel="email", kind="seats")
    assert {n.delegate_id for n in emails} <= {p.id for p in day.people[2:]}
    assert emails


def test_reminders_are_scheduled_on_slack_five_minutes_before_each_round(day, fake_slack):
    scheduled = [c.args for c in fake_slack.calls_to("chat.scheduleMessage")
                 if c.args.get("channel") == "D" + BEN]
    # Two carousel slots and three cafe rounds.
    assert len(scheduled) == 5
    times = sorted(int(s["post_at"]) for s in scheduled)
    assert times[0] == int(utc("10:45").timestamp())  # Carousel 1 at 10:50, minus 5 min
    cafe1 = next(s for s in scheduled if int(s["post_at"]) == int(utc("13:25").timestamp()))
    assert "Round 1 starts in 5 min" in cafe1["text"]
    host_cafe = [c.args for c in fake_slack.calls_to("chat.scheduleMessage")
                 if c.args.get("channel") == "D" + HOST and "Round" in c.args["text"]]
    assert all("you host Table 1" in s["text"] and "stay at your table" in s["text"]
               for s in host_cafe)
    assert len(fake_slack.scheduled) == 10


def test_nothing_is_sent_twice(day, fake_slack):
    before = len(fake_slack.calls_to("chat.postMessage")), len(fake_slack.scheduled)
    run(utc("08:01"))
    from events.notify import worker

    worker.reconcile(utc("08:01"))
    run(utc("08:02"))
    assert (len(fake_slack.calls_to("chat.postMessage")), len(fake_slack.scheduled)) == before


def test_moving_the_keynote_tells_everyone_once_and_changes_merge(day, fake_slack, at):
    from events.conference import services

    now = at("08:05")
    services.update_session(day.keynote, {"starts_at": "2027-03-11T09:15",
                                          "ends_at": "2027-03-11T10:00"})
    services.update_session(day.lunch, {"starts_at": "2027-03-11T12:20",
                                        "ends_at": "2027-03-11T13:20"})
    # Within the minute the changes wait, to be merged.
    before = len(ok_posts(fake_slack, BEN))
    run(now + timedelta(seconds=30))
    assert len(ok_posts(fake_slack, BEN)) == before
    run(now + timedelta(seconds=61))
    new = ok_posts(fake_slack, BEN)[before:]
    assert len(new) == 1
    message = text(new[0])
    assert "Overcoming obstacles is now 09:15–10:00 in Main Hall (was 09:00–09:45, Main Hall)" \
        in message
    assert "Lunch is now 12:20–13:20 in Atrium" in message
    assert len(ok_posts(fake_slack, HOST)[-1:]) == 1
    # Every other active delegate: one change email each, nothing on Slack.
    emails = notices(channel="email", kind="change")
    assert len({n.delegate_id for n in emails}) == 10
    run(now + timedelta(minutes=5))
    assert len(ok_posts(fake_slack, BEN)) == before + 1


def test_cancelling_a_past_or_unchanged_field_tells_nobody(day, fake_slack):
    from events.conference import services

    count = len(notices())
    services.update_session(day.keynote, {"title": "Overcoming obstacles together"})
    assert len(notices()) == count


def test_republish_tells_only_the_delegates_whose_seats_changed(day, fake_slack, at):
    from carousels.cafe import services as cs
    from carousels.rounds import services as rounds

    tables = cs.get_tables(day.cafe)
    plan = rounds.published_plan(cs.FORMAT, day.cafe)
    seats = rounds.seat_details(cs.FORMAT, day.cafe, plan)
    ben_round2 = next(s for s in seats[day.ben.id] if s["round"] == 2)
    other = next(t for t in tables if t.name != ben_round2["table"] and t.id != tables[0].id)
    cs.move_delegate(day.cafe, day.ben.id, 2, other.id)
    draft = rounds.latest_plan(cs.FORMAT, day.cafe)
    after = rounds.seat_details(cs.FORMAT, day.cafe, draft)
    changed = {d for d in set(seats) | set(after) if seats.get(d) != after.get(d)}
    assert changed == {day.ben.id}
    host_before = len(ok_posts(fake_slack, HOST))
    ben_before = len(ok_posts(fake_slack, BEN))
    rounds.publish(day.cafe)
    run(at("08:10"))
    ben_new = ok_posts(fake_slack, BEN)[ben_before:]
    assert len(ben_new) == 1 and "have changed" in ben_new[0]["text"]
    assert other.name in text(ben_new[0])
    assert len(ok_posts(fake_slack, HOST)) == host_before
    # Ben's round-2 reminder was taken back from Slack and scheduled again with the new table.
    deleted = fake_slack.calls_to("chat.deleteScheduledMessage")
    assert len(deleted) == 1
    again = [c.args for c in fake_slack.calls_to("chat.scheduleMessage")
             if c.args.get("channel") == "D" + BEN and other.name in c.args["text"]]
    assert len(again) == 1 and int(again[0]["post_at"]) == int(utc("13:45").timestamp())
    assert len([m for m in fake_slack.scheduled.values()
                if m["channel_id"] == "D" + BEN]) == 5


def test_changing_a_table_tells_the_people_at_it_and_moves_their_reminders(day, fake_slack, at):
    from carousels.cafe import services as cs
    from carousels.rounds import services as rounds

    tables = cs.get_tables(day.cafe)
    plan = rounds.published_plan(cs.FORMAT, day.cafe)
    seats = rounds.seat_details(cs.FORMAT, day.cafe, plan)
    at_table1 = {d for d, ss in seats.items() for s in ss if s["table"] == tables[0].name}
    now = at("08:20")
    cs.update_table(tables[0], {"question": "What does belonging look like?"})
    run(now + timedelta(seconds=61))
    assert {n.delegate_id for n in notices(kind="change")} == at_table1
    told = ok_posts(fake_slack, HOST)[-1]
    assert "What does belonging look like?" in text(told) and "Table 1" in text(told)
    # Hana hosts Table 1 in all three rounds: three reminders taken back, three scheduled anew.
    assert len(fake_slack.calls_to("chat.deleteScheduledMessage")) == 3
    mine = [m for m in fake_slack.scheduled.values() if m["channel_id"] == "D" + HOST]
    assert len(mine) == 5
    assert sum("What does belonging look like?" in m["text"] for m in mine) == 3


def test_a_round_started_early_turns_its_reminder_into_starting_now(day, fake_slack, at):
    from carousels.rounds import services as rounds

    now = at("13:00")
    ben_before = len(ok_posts(fake_slack, BEN))
    rounds.start(day.cafe, 1, now=now)
    run(now)
    new = ok_posts(fake_slack, BEN)[ben_before:]
    assert len(new) == 1 and "Round 1 is starting now" in new[0]["text"]
    # The 13:25 reminder is gone from Slack's schedule; the later rounds' remain.
    left = sorted(m["post_at"] for m in fake_slack.scheduled.values()
                  if m["channel_id"] == "D" + BEN)
    assert int(utc("13:25").timestamp()) not in left
    assert int(utc("13:45").timestamp()) in left
    at("13:01")
    rounds.start(day.cafe, 1, now=now + timedelta(minutes=1))
    run(now + timedelta(minutes=2))
    assert len(ok_posts(fake_slack, BEN)) == ben_before + 1


def test_a_round_started_after_its_reminder_went_out_sends_nothing_more(day, fake_slack, at):
    from carousels.rounds import services as rounds

    now = at("13:31")  # Slack posted the 13:25 reminder
    before = len(fake_slack.calls_to("chat.postMessage"))
    rounds.start(day.cafe, 1, now=now)
    run(now)
    assert len(fake_slack.calls_to("chat.postMessage")) == before


def test_reminders_off_means_no_reminder_and_no_starting_now(day, fake_slack, bot, at):
    from carousels.rounds import services as rounds

    response = bot.command("reminders off", user=BEN)
    assert response.status_code == 200
    bot.settle()
    now = at("13:00")
    before = len(ok_posts(fake_slack, BEN))
    rounds.start(day.cafe, 1, now=now)
    run(now)
    assert not [m for m in ok_posts(fake_slack, BEN)[before:] if "starting now" in m["text"]]
    # Every reminder Slack held for Ben was taken back; Hana's stay.
    assert not [m for m in fake_slack.scheduled.values() if m["channel_id"] == "D" + BEN]
    assert [m for m in fake_slack.scheduled.values() if m["channel_id"] == "D" + HOST]


def test_reminders_back_on_are_scheduled_again(day, fake_slack, bot, at):
    from events.notify import worker

    bot.command("reminders off", user=BEN)
    bot.settle()
    now = at("08:30")
    run(now)
    assert not [m for m in fake_slack.scheduled.values() if m["channel_id"] == "D" + BEN]
    bot.command("reminders on", user=BEN)
    bot.settle()
    worker.reconcile(now + timedelta(minutes=1))
    run(now + timedelta(minutes=1))
    assert len([m for m in fake_slack.scheduled.values() if m["channel_id"] == "D" + BEN]) == 5


def test_slack_rate_limit_waits_retry_after_and_sends_once(world, fake_slack, at):
    now = at("08:00")
    fake_slack.fail_next("chat.postMessage", 1, status=429, retry_after=7)
    counts = run(now)
    assert counts.get("retry")
    waiting = [n for n in notices(channel="slack", kind="seats") if n.status == "pending"]
    assert waiting and all(n.next_attempt_at >= now + timedelta(seconds=7) for n in waiting)
    run(now + timedelta(seconds=3))  # still waiting: nothing for Slack
    assert all(n.status == "pending" for n in notices(channel="slack", kind="seats"))
    run(now + timedelta(seconds=8))
    assert all(n.status == "sent" for n in notices(channel="slack", kind="seats"))
    markers = [b["block_id"] for c in fake_slack.calls_to("chat.postMessage")
               if c.status == 200 for b in c.args.get("blocks") or [] if "block_id" in b]
    assert len(markers) == len(set(markers))


def test_slack_errors_back_off_then_fail_visibly(world, fake_slack, at):
    from events.notify import services as notify

    now = at("08:00")
    fake_slack.fail_next("chat.postMessage", 50, error="internal_error")
    run(now)
    seats = notices(channel="slack", kind="seats")
    assert all(n.status == "pending" and n.attempts == 1 for n in seats)
    for minutes in (2, 8, 40):
        run(now + timedelta(minutes=minutes))
    assert all(n.status == "failed" and "internal_error" in n.error for n in seats)
    summary = notify.outbox_summary(world.conference)
    assert summary["counts"]["failed"] == len(seats)


def test_the_reconcile_pass_rebuilds_lost_notices_once(world, fake_slack, at):
    from events.extensions import db
    from events.notify import worker
    from events.notify.models import Notice
    from events.types import utcnow

    at("08:00")  # the fake Slack's clock; the plans were published just now, in real time
    now = utcnow()
    # As if the outbox rows of the publishes had been lost (a restore, a bug): nothing pending.
    db.session.execute(Notice.__table__.delete())
    db.session.commit()
    added = worker.reconcile(now)
    assert added > 0
    run(utc("08:00"))
    assert len([m for m in ok_posts(fake_slack, BEN) if "are out" in m["text"]]) == 2
    assert worker.reconcile(now + timedelta(minutes=1)) == 0
    run(utc("08:01"))
    assert len([m for m in ok_posts(fake_slack, BEN) if "are out" in m["text"]]) == 2
    assert db.session.scalar(select(func.count(Notice.id))) > 0


def test_escaping_in_notices(world, fake_slack, at):
    from carousels.cafe import services as cs
    from events.conference import services

    now = at("08:00")
    services.update_delegate(world.host, {"name": "<!channel> *Hana* & co"})
    cs.update_table(world.tables[0], {"question": "<https://evil.example|click> me"})
    run(now + timedelta(seconds=61))
    outgoing = json.dumps([c.args for c in fake_slack.calls
                           if c.method in ("chat.postMessage", "chat.scheduleMessage")])
    assert "<!channel>" not in outgoing and "<https://evil" not in outgoing
    assert "&lt;https://evil.example|click&gt;" in outgoing


def test_organisers_see_failures_and_can_retry_them(world, fake_slack, at, login):
    now = at("08:00")
    fake_slack.fail_next("chat.postMessage", 200, error="channel_not_found")
    for minutes in (0, 2, 8, 40):
        run(now + timedelta(minutes=minutes))
    client = login()
    page = client.get(f"/organiser/{world.conference.slug}/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ben Delegate" in html and "Slack: channel_not_found" in html
    assert "Retry failed messages" in html
    failed = notices(channel="slack", status="failed")
    assert failed
    response = client.post(f"/organiser/{world.conference.slug}/notifications/retry")
    assert response.status_code == 302
    assert all(n.status == "pending" for n in notices(channel="slack", kind="seats"))
    fake_slack.fail_next("chat.postMessage", 0)
    with fake_slack._cond:
        fake_slack._failures.clear()
    run(now + timedelta(minutes=50))
    assert all(n.status == "sent" for n in notices(channel="slack", kind="seats"))


def test_only_the_conferences_organisers_see_the_notifications_page(world, app):
    client = app.test_client()
    page = client.get(f"/organiser/{world.conference.slug}/notifications")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_worker_finds_unlinked_delegates_on_slack_once_a_day(world, fake_slack, at):
    from events.notify import worker

    carla, dan = world.people[2], world.people[3]
    fake_slack.add_user("U0CARLA1", carla.email, real_name=carla.name)
    now = at("08:00")
    worker.reconcile(now)
    assert carla.slack_user_id == "U0CARLA1" and dan.slack_user_id is None
    asked = [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")]
    assert sorted(asked) == sorted(p.email for p in world.people[2:])  # all ten, once
    # Carla is now told on Slack.
    from events.conference import services

    services.update_session(world.keynote, {"starts_at": "2027-03-11T09:15",
                                            "ends_at": "2027-03-11T10:00"})
    run(now + timedelta(seconds=61))
    assert [m for m in ok_posts(fake_slack, "U0CARLA1") if "Overcoming obstacles" in m["text"]]
    worker.reconcile(now + timedelta(hours=2))
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 10  # misses are not asked again
    worker.reconcile(now + timedelta(days=1, minutes=1))
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 19  # a day later: the nine misses
