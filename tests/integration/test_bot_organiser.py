"""Organisers' ``/convenor`` commands through POST /slack/events; everyone else is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carousels.cafe import services as cs
from carousels.rounds import services as rounds
from carousels.workshops import services as ws
from events.extensions import db
from events.live.models import Announcement
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, DOOR, GUEST, ORGANISER, STRANGER, text_of


def _ack(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return text_of(response.get_json()) if response.get_data() else ""


def _announcements() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Announcement.id)))


def _versions(world) -> tuple:
    db.session.expire_all()
    return (len(cs.get_plans(world.cafe)), len(ws.get_plans(world.carousel)),
            cs.published_plan(world.cafe).version, ws.published_plan(world.carousel).version)


def test_allocate_cafe_acks_then_dms_the_draft(world, bot):
    ack = _ack(bot.command("allocate cafe", user=ORGANISER))
    # The first organiser command looks the organiser up in Slack after the ack.
    report = text_of(bot.dm_to(ORGANISER, timeout=20))
    assert "Draft version 2 of World Cafe" in report and "repeated meetings" in report
    assert "same-trust pairs (lower bound" in report
    assert "/convenor publish cafe 2" in report
    assert f"https://convenor.test/organiser/tlc/cafe/{world.cafe.id}/" in report
    assert ack == "" or "Allocating" in ack
    db.session.expire_all()
    assert cs.latest_plan(world.cafe).version == 2 and cs.published_plan(world.cafe).version == 1
    # Linked now: the next command is checked in the ack.
    assert "Allocating Carousels" in _ack(bot.command("allocate carousel", user=ORGANISER))
    report = text_of(bot.dm_to(ORGANISER, lambda c: "Carousels" in c.args.get("text", ""),
                               timeout=20))
    assert "got their first choice" in report and "/convenor publish carousel 2" in report


def test_publish_reports_version_and_delegates(world, bot):
    rounds.allocate(world.cafe)
    bot.command("stats", user=ORGANISER)
    bot.settle()
    r = bot.command("publish cafe", user=ORGANISER)
    assert "Working on" in _ack(r)
    answer = text_of(bot.respond(r))
    assert "Published version 2 of World Cafe" in answer and "12 delegates" in answer
    db.session.expire_all()
    assert cs.published_plan(world.cafe).version == 2
    missing = bot.command("publish carousel 7", user=ORGANISER)
    assert "no plan version 7" in text_of(bot.respond(missing))
    assert "Usage: `/convenor publish" in _ack(bot.command("publish", user=ORGANISER))
    assert "Usage: `/convenor publish" in _ack(bot.command("publish cafe two", user=ORGANISER))


def test_round_start(world, bot):
    r = bot.command("round cafe 1 start", user=ORGANISER)
    answer = text_of(bot.respond(r))
    assert "Round 1 of World Cafe" in answer and "started" in answer
    db.session.expire_all()
    assert cs.get_rounds(world.cafe)[0].started_at is not None
    r = bot.command("round cafe 9 start", user=ORGANISER)
    assert "no round 9" in text_of(bot.respond(r))
    assert "Usage: `/convenor round" in _ack(bot.command("round cafe 1", user=ORGANISER))


def test_announce_reaches_the_screens_and_the_channel_once(world, bot):
    from events.extensions import socketio

    screen = socketio.test_client(bot.app, namespace="/live", auth={"conference": "tlc"})
    assert screen.is_connected("/live")
    r = bot.command("announce Coffee in the atrium & <!channel>", user=ORGANISER)
    answer = text_of(bot.respond(r))
    assert "Sent to every screen and the conference channel" in answer
    posted = bot.fake.wait_for("chat.postMessage", lambda c: c.args["channel"] == "C0ANNOUNCE")
    bot.settle()
    assert len([c for c in bot.fake.calls_to("chat.postMessage")
                if c.args["channel"] == "C0ANNOUNCE"]) == 1
    assert "Coffee in the atrium &amp; &lt;!channel&gt;" in text_of(posted.args)
    assert "<!channel>" not in posted.args["blocks"][0]["text"]["text"]
    assert _announcements() == 1
    got = [e for e in screen.get_received("/live") if e["name"] == "announcement"]
    assert [e["args"][0]["announcement"]["text"] for e in got] == [
        "Coffee in the atrium & <!channel>"]
    screen.disconnect(namespace="/live")


@pytest.mark.parametrize("text", ["announce", "announce    ", "announce " + "x" * 281])
def test_announce_empty_or_too_long_sends_nothing(world, bot, text):
    bot.command("stats", user=ORGANISER)
    bot.settle()
    r = bot.command(text, user=ORGANISER)
    ack = _ack(r)
    answer = ack if "Usage" in ack else text_of(bot.respond(r))
    assert "Usage: `/convenor announce" in answer or "at most 280 characters" in answer
    bot.settle()
    assert _announcements() == 0
    assert not [c for c in bot.fake.calls_to("chat.postMessage")
                if c.args["channel"] == "C0ANNOUNCE"]


def test_stats(world, bot):
    r = bot.command("stats", user=ORGANISER)
    answer = text_of(bot.respond(r)) if not r.get_data() else _ack(r)
    assert "Arrivals" in answer and "0 of 12" in answer
    assert "published v1" in answer and "0 of 12 ranked" in answer
    assert "On Slack" in answer and "2 of 12 delegates linked" in answer
    assert "Arrivals" in _ack(bot.command("stats", user=ORGANISER))


@pytest.mark.parametrize(("user", "text"), [
    (BEN, "allocate cafe"), (DOOR, "publish cafe"), (GUEST, "round cafe 1 start"),
    (STRANGER, "announce Free drinks"), (DOOR, "stats"), (GUEST, "announce Free drinks"),
    (BEN, "stats"), (DOOR, "allocate carousel"),
])
def test_organiser_commands_are_refused_to_everyone_else(world, bot, user, text):
    before = _versions(world)
    r = bot.command(text, user=user)
    ack = _ack(r)
    answer = ack or text_of(bot.respond(r))
    assert "Only the conference's organisers can do that." in answer
    # Asked again, the refusal comes in the ack or after it; never anything done.
    again = bot.command(text, user=user)
    assert "Only the conference's organisers" in (_ack(again) or text_of(bot.respond(again)))
    bot.settle()
    assert _versions(world) == before
    assert _announcements() == 0
    assert cs.get_rounds(world.cafe)[0].started_at is None
    assert bot.fake.calls_to("chat.postMessage") == []
    assert "/convenor allocate" not in _ack(bot.command("help", user=user)) + "".join(
        text_of(c.args) for c in bot.fake.calls_to("response_url"))


def test_an_ambiguous_block_lists_the_choices(world, bot, make_session):
    second = make_session(world.conference, "Second carousel", "15:40", "16:30", kind="carousel")
    bot.command("stats", user=ORGANISER)
    bot.settle()
    answer = _ack(bot.command("allocate carousel", user=ORGANISER))
    assert "2 carousel blocks" in answer.lower() or "ambiguous" in answer.lower() or \
        "blocks" in answer
    assert f"id {world.carousel.id}" in answer and f"id {second.id}" in answer
    assert "Second carousel" in answer
    bot.settle()
    assert len(ws.get_plans(world.carousel)) == 1
