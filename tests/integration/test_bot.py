"""The Slack bot end to end: signed requests to POST /slack/events against the fake Web API.

Verification, dedupe and the delegates' commands and questions; the organisers' commands, the
modals, App Home, the web chat and the manifest are in the other ``test_bot_*`` modules.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.models import SlackReceipt, SlackUser
from events.conference import services
from events.extensions import db
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, HOST, ORGANISER, SIGNING_SECRET, STRANGER, text_of, utc
from tests.slack_fixtures import command_body, dm_event, event_body, mention_event, signed


def _receipts() -> int:
    return db.session.scalar(select(func.count(SlackReceipt.id)))


# --------------------------------------------------------------------------- verification


def _raw(bot, body: str | bytes, headers: dict):
    data = body.encode("utf-8") if isinstance(body, str) else body
    return bot.client.post("/slack/events", data=data, headers=headers)


def _bad_requests():
    body, _ = command_body("help", user_id=BEN)
    good = signed(body, SIGNING_SECRET)
    now = int(time.time())
    yield "wrong secret", body, signed(body, SIGNING_SECRET, bad_secret=True)
    yield "tampered body", body.replace("help", "next"), good
    yield "no headers", body, {"Content-Type": good["Content-Type"]}
    yield "no signature", body, {**good, "X-Slack-Signature": ""}
    yield "old timestamp", body, signed(body, SIGNING_SECRET, skew=-400)
    yield "future timestamp", body, signed(body, SIGNING_SECRET, skew=400)
    yield "non-numeric timestamp", body, {**good, "X-Slack-Request-Timestamp": "12a4"}
    yield "5000-digit timestamp", body, {**signed(body, SIGNING_SECRET, timestamp=int("9" * 15)),
                                         "X-Slack-Request-Timestamp": "9" * 5000}
    yield "negative timestamp", body, {**good, "X-Slack-Request-Timestamp": f"-{now}"}
    yield "non-ASCII signature", body, {**good, "X-Slack-Signature": "v0=" + "é" * 64}
    yield "short signature", body, {**good, "X-Slack-Signature": good["X-Slack-Signature"][:-2]}
    raw = b"command=%2Fconvenor&text=\xff\xfe&user_id=U1"
    from slack_sdk.signature import SignatureVerifier

    ts = str(now)
    sig = "v0=" + SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=ts, body=raw.decode("latin-1"))[3:]
    yield "non-UTF-8 body", raw, {"Content-Type": "application/x-www-form-urlencoded",
                                  "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


@pytest.mark.parametrize("case", [c[0] for c in _bad_requests()])
def test_unverified_requests_get_401_and_nothing_happens(conference, bot, case):
    _, body, headers = next(c for c in _bad_requests() if c[0] == case)
    before = _receipts()
    r = _raw(bot, body, headers)
    assert r.status_code == 401, (case, r.get_data(as_text=True))
    assert r.is_json and r.get_json()["error"]
    bot.settle()
    assert _receipts() == before
    assert [c.method for c in bot.fake.calls] == []


def test_bot_not_configured_is_404_and_get_is_405(tmp_path, slack_post, bot):
    from tests.conftest import _make_app

    plain = _make_app(f"sqlite:///{tmp_path / 'plain.db'}")  # no Slack secrets
    assert "convenor_slack" not in plain.extensions
    r = slack_post(plain.test_client(), "command", text="help", secret="whatever")
    assert r.status_code == 404 and r.get_json()["error"]
    assert plain.test_client().get("/slack/events").status_code == 405
    assert bot.client.get("/slack/events").status_code == 405


@pytest.mark.parametrize(("body", "content_type"), [
    ("", "application/x-www-form-urlencoded"),
    ("   ", "application/json"),
    ("{bad", "application/json"),
    ("[1, 2]", "application/json"),
    ('{"type": "block_suggestion_unknown"}', "application/json"),
    ("payload=%7Bbad", "application/x-www-form-urlencoded"),
    ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    ("hello=world", "application/x-www-form-urlencoded"),
    ("text=next&user_id=U1", "application/x-www-form-urlencoded"),
])
def test_signed_but_unknown_bodies_get_400(conference, bot, body, content_type):
    r = bot.post("raw", body=body, content_type=content_type)
    assert r.status_code == 400 and r.get_json()["error"], r.get_data(as_text=True)
    bot.settle()
    assert [c.method for c in bot.fake.calls] == []


def test_url_verification_echoes_the_challenge(conference, bot):
    r = bot.post("url_verification", challenge="abc123")
    assert r.status_code == 200
    assert "abc123" in r.get_data(as_text=True)


def test_an_unhandled_event_is_200(world, bot):
    r = bot.event({"type": "reaction_added", "user": BEN, "reaction": "tada",
                   "event_ts": "1.2"})
    assert r.status_code == 200
    r = bot.post("action", action_id="no_such_button", user_id=BEN)
    assert r.status_code == 200


def test_a_retried_event_is_processed_once(world, bot):
    body, _ = event_body(dm_event("what's next?", user_id=BEN, channel_id="D" + BEN),
                         event_id="Ev0RETRY1")
    first = _raw(bot, body, signed(body, SIGNING_SECRET))
    assert first.status_code == 200
    bot.dm_to(BEN)
    again = _raw(bot, body, signed(body, SIGNING_SECRET, retry_num=1))
    replay = _raw(bot, body, signed(body, SIGNING_SECRET))
    assert again.status_code == replay.status_code == 200
    bot.settle()
    assert len(bot.dms(BEN)) == 1


def test_a_retried_command_is_processed_once(world, bot):
    body, _ = command_body("reminders off", user_id=BEN, trigger_id="T0SAME")
    first = _raw(bot, body, signed(body, SIGNING_SECRET))
    assert "off" in first.get_json()["text"]
    again = _raw(bot, body, signed(body, SIGNING_SECRET, retry_num=1))
    assert again.status_code == 200 and again.get_data(as_text=True) == ""
    body_on, _ = command_body("reminders on", user_id=BEN, trigger_id="T0SAME")
    replay = _raw(bot, body_on, signed(body_on, SIGNING_SECRET, retry_num=2))
    assert replay.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(SlackUser).where(SlackUser.slack_user_id == BEN)).reminders \
        is False


# --------------------------------------------------------------------------- delegate commands


def _ack(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return text_of(response.get_json())


def test_help_lists_organiser_commands_only_for_organisers(world, bot):
    delegate_help = _ack(bot.command("help"))
    assert "/convenor next" in delegate_help and "/convenor allocate" not in delegate_help
    assert "/convenor allocate" not in _ack(bot.command(""))
    assert "/convenor prefs" in _ack(bot.command("what is this"))
    # An organiser Slack has not yet matched by email is looked up after the ack.
    first = bot.command("help", user=ORGANISER)
    assert first.status_code == 200
    organiser_help = text_of(bot.respond(first)) if not first.get_data() else _ack(first)
    assert "/convenor allocate" in organiser_help and "/convenor announce" in organiser_help
    assert "/convenor stats" in _ack(bot.command("help", user=ORGANISER))


def test_next_gives_the_carousel_seat_line(world, bot, clock):
    text = _ack(bot.command("next"))
    assert "Carousel 2 · 11:40 · Room " in text and "(in 20 min)" in text
    seat = next(e for e in services.delegate_agenda(world.ben) if e.get("slot") == 2)
    assert f"{seat['line']} (in 20 min)" in text
    assert "https://convenor.test/me/" in text
    clock.now = utc("11:50")
    assert "now, until 12:05" in _ack(bot.command("next"))
    clock.now = utc("17:00")
    assert "conference is over" in _ack(bot.command("next"))
    clock.now = utc("08:00", day=10)
    assert "09:00" in (text := _ack(bot.command("next"))) and "(Thu 11 Mar, tomorrow)" in text


def test_next_before_the_carousel_is_published(world, bot):
    from carousels.workshops.models import CarouselPlan

    db.session.execute(CarouselPlan.__table__.update().values(status="draft",
                                                              published_at=None))
    db.session.commit()
    text = _ack(bot.command("next carousel"))
    assert "not published yet" in text and "18:00 on 10 March" in text


def test_agenda_today_tomorrow_and_a_date(world, bot):
    today = _ack(bot.command("agenda"))
    assert "Overcoming obstacles" in today and "Lunch" in today
    assert "Carousel 1: " in today and "round 3, Table " in today
    assert "~" in today and "Closing panel" in today and "(cancelled)" in today
    assert "agenda.ics" in today
    assert _ack(bot.command("agenda 2027-03-11")) == today
    assert _ack(bot.command("agenda Today")) == today
    assert "Nothing in your agenda" in _ack(bot.command("agenda tomorrow"))
    assert "Usage" in _ack(bot.command("agenda 2027-13-45")) or "agenda 2027-03-11" in _ack(
        bot.command("agenda 2027-13-45"))
    assert "Usage: `/convenor agenda" in _ack(bot.command("agenda one two"))


def test_table_for_a_guest_and_for_the_host(world, bot):
    ben_round1 = _ack(bot.command("table"))
    assert ben_round1.startswith("Round 1: Table ")
    assert "Round 2: Table " in _ack(bot.command("table 2"))
    host = _ack(bot.command("table", user=HOST))
    assert "you are the host — stay at Table 1" in host
    assert "What does inclusion look like?" in host
    assert "there is no round 9" in _ack(bot.command("table 9"))
    assert "Usage: `/convenor table" in _ack(bot.command("table two 3"))


def test_link_code_good_wrong_and_too_many(world, bot, make_delegate):
    cara = make_delegate(world.conference, name="Cara Code", email="cara@elsewhere.org")
    code = services.issue_slack_link_code(cara)
    assert "Linked" in _ack(bot.command(f"link {code.lower()}", user=STRANGER))
    db.session.expire_all()
    assert services.delegate_for_slack_user(world.conference, STRANGER).id == cara.id
    bot.settle()
    assert "not valid" in _ack(bot.command(f"link {code}", user="U0OTHER1"))

    dan = make_delegate(world.conference, name="Dan", email="dan@elsewhere.org")
    good = services.issue_slack_link_code(dan)
    for _ in range(4):
        assert "not valid" in _ack(bot.command("link AAAA-BBBB", user="U0OTHER1"))
    refused = _ack(bot.command(f"link {good}", user="U0OTHER1"))
    assert "too many" in refused
    bot.settle()
    db.session.expire_all()
    assert services.delegate_for_slack_user(world.conference, "U0OTHER1") is None
    assert "Usage: `/convenor link" in _ack(bot.command("link", user="U0OTHER1"))


def test_reminders_on_and_off(world, bot):
    assert "Reminders are off" in _ack(bot.command("reminders off"))
    db.session.expire_all()
    row = db.session.scalar(select(SlackUser).where(SlackUser.slack_user_id == BEN))
    assert row.reminders is False
    assert "Reminders are on" in _ack(bot.command("reminders ON"))
    db.session.expire_all()
    assert db.session.get(SlackUser, row.id).reminders is True
    assert "Usage: `/convenor reminders" in _ack(bot.command("reminders maybe"))


def test_an_unlinked_user_is_linked_by_slack_email_after_the_ack(world, bot, make_delegate):
    cara = make_delegate(world.conference, name="Cara", email="cara@example.org")
    bot.fake.add_user("U0CARA01", "CARA@example.org", real_name="Cara")
    response = bot.command("next", user="U0CARA01")
    assert response.status_code == 200 and response.get_data() == b""
    answer = text_of(bot.respond(response))
    assert "Carousel" in answer or "Keynote" in answer or "Lunch" in answer or "World Cafe" in answer
    info = bot.fake.wait_for("users.info")
    assert info.args["user"] == "U0CARA01"
    db.session.expire_all()
    assert services.delegate_for_slack_user(world.conference, "U0CARA01").id == cara.id
    # Known now: the next answer comes in the ack, without asking Slack again.
    assert _ack(bot.command("table", user="U0CARA01"))
    bot.settle()
    assert len(bot.fake.calls_to("users.info")) == 1


def test_an_unknown_email_is_offered_signup_or_a_link_code(world, bot):
    closed = text_of(bot.respond(bot.command("next", user=STRANGER)))
    assert "/convenor link" in closed and "signup" not in closed
    services.update_conference(world.conference, {"registration_open": True})
    opened = bot.respond(bot.command("agenda", user=STRANGER))
    assert "/convenor signup" in text_of(opened) and "home_signup" in text_of(opened)
    db.session.expire_all()
    assert services.delegate_for_slack_user(world.conference, STRANGER) is None


# --------------------------------------------------------------------------- questions in a DM


QUESTIONS = [
    ("what's my next carousel?", BEN, "Carousel 2 · 11:40 · Room "),
    ("which table am I on in round 3?", BEN, "Round 3: Table "),
    ("who is at my table in round 2?", HOST, "Round 2 at Table 1"),
    ("who is at my table in round 2?", BEN, "you do not host a table in round 2"),
    ("when is Ade Adepitan's keynote?", BEN, "Overcoming obstacles: 09:00 in Main Hall"),
    ("where is lunch", BEN, "Lunch: 12:15 in Atrium"),
    ("blorp zing quux", BEN, "/convenor next"),
]


@pytest.mark.parametrize(("question", "user", "expected"), QUESTIONS)
def test_questions_in_a_dm(world, bot, question, user, expected):
    r = bot.event(dm_event(question, user_id=user, channel_id="D" + user))
    assert r.status_code == 200
    answer = bot.dm_to(user)
    assert expected in text_of(answer)


def test_the_roster_names_the_people_at_the_hosts_table(world, bot):
    bot.event(dm_event("who is at my table in round 2?", user_id=HOST, channel_id="D" + HOST))
    text = text_of(bot.dm_to(HOST))
    from carousels.cafe import services as cs

    roster = cs.table_roster(world.host, 2)
    assert roster["people"]
    for person in roster["people"]:
        assert person["name"] in text and person["organisation"] in text


def test_bot_messages_and_edits_are_ignored(world, bot):
    own = dm_event("what's next?", user_id=BEN, channel_id="D" + BEN)
    bot.event({**own, "bot_id": "B1"})
    bot.event({**dm_event("next", user_id=BEN, channel_id="D" + BEN), "subtype": "message_changed"})
    bot.event(dm_event("what's next?", user_id=BEN, channel_id="C0PUBLIC") | {"channel_type": "channel"})
    bot.settle()
    assert bot.fake.calls_to("chat.postMessage") == []


def test_a_mention_is_answered_privately(world, bot):
    r = bot.event(mention_event("what's my next carousel?", user_id=BEN, channel_id="C0GENERAL"))
    assert r.status_code == 200
    answer = bot.fake.wait_for("chat.postEphemeral").args
    assert answer["channel"] == "C0GENERAL" and answer["user"] == BEN
    assert "Carousel 2" in text_of(answer)
    bot.settle()
    assert bot.fake.calls_to("chat.postMessage") == []
