"""The ranking and sign-up modals through POST /slack/events: open, submit, errors inline, DMs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from carousels.workshops import services as ws
from events.conference import services
from events.conference.models import Delegate
from events.extensions import db
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, STRANGER, text_of, utc
from tests.slack_fixtures import checkboxes
from tests.slack_fixtures import select as chosen


def _ranks(world, ranks: dict[int, int | None]) -> dict:
    """Modal state for ``{workshop index: rank or None}``."""
    return {f"w{world.carousel.id}_{world.workshops[i].id}":
            {"rank": chosen(str(rank) if rank else "0")} for i, rank in ranks.items()}


def _ranking(world, delegate) -> list[int]:
    db.session.expire_all()
    return [w.id for w in ws.get_preferences(world.carousel, delegate.id)]


@pytest.fixture
def ranking_open(world, clock):
    """The day before, while ranking is open (the deadline is 18:00 on 10 March)."""
    clock.now = utc("09:00", day=10)
    return world


# --------------------------------------------------------------------------- prefs


def test_prefs_opens_the_modal_with_the_workshops_and_the_ranking(ranking_open, bot):
    world = ranking_open
    ws.set_preferences(world.carousel, world.ben, [world.workshops[2].id],
                       now=utc("09:00", day=10))
    r = bot.command("prefs")
    assert r.status_code == 200 and r.get_data() == b""
    opened = bot.fake.wait_for("views.open").args
    view = opened["view"]
    assert opened["trigger_id"] and view["callback_id"] == "prefs"
    shown = json.dumps(view)
    for workshop in world.workshops:
        assert workshop.title in shown
    assert "Pete F. Atherton PhD" in shown and "Room A" in shown and "18:00 on 10 March" in shown
    selects = {b["block_id"]: b["element"]["initial_option"]["value"]
               for b in view["blocks"] if b["type"] == "input"}
    ids = [w.id for w in world.workshops]
    assert selects == {f"w{world.carousel.id}_{ids[0]}": "0", f"w{world.carousel.id}_{ids[1]}": "0",
                       f"w{world.carousel.id}_{ids[2]}": "1"}


def test_a_rank_used_twice_is_an_inline_error(ranking_open, bot):
    world = ranking_open
    r = bot.post("view", callback_id="prefs", user_id=BEN,
                 state_values=_ranks(world, {0: 1, 1: 1, 2: None}))
    body = r.get_json()
    assert body["response_action"] == "errors"
    [(block, message)] = body["errors"].items()
    assert block == f"w{world.carousel.id}_{world.workshops[1].id}" and "rank 1" in message
    bot.settle()
    assert _ranking(world, world.ben) == []
    assert bot.fake.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("when", ["after_deadline", "preferences_closed"])
def test_a_ranking_outside_the_window_is_an_inline_error(ranking_open, bot, clock, when):
    world = ranking_open
    if when == "after_deadline":
        clock.now = utc("18:01", day=10)
    else:
        ws.set_preferences_window(world.carousel, {"open": False})
    r = bot.post("view", callback_id="prefs", user_id=BEN,
                 state_values=_ranks(world, {0: 2, 1: 1, 2: None}))
    body = r.get_json()
    assert body["response_action"] == "errors"
    message = next(iter(body["errors"].values()))
    assert ("deadline" in message) if when == "after_deadline" else ("not open" in message)
    bot.settle()
    assert _ranking(world, world.ben) == []
    assert bot.fake.calls_to("chat.postMessage") == []


def test_a_good_ranking_is_saved_and_confirmed_in_a_dm(ranking_open, bot):
    world = ranking_open
    r = bot.post("view", callback_id="prefs", user_id=BEN,
                 state_values=_ranks(world, {0: 2, 1: None, 2: 1}))
    assert r.status_code == 200 and r.get_data(as_text=True) in ("", "{}")
    ids = [w.id for w in world.workshops]
    assert _ranking(world, world.ben) == [ids[2], ids[0]]
    dm = text_of(bot.dm_to(BEN))
    assert "Your ranking is saved" in dm
    assert dm.index("1st: Attendance") < dm.index("2nd: AI in the classroom")
    bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == BEN)


def test_prefs_when_ranking_is_closed_says_so(world, bot):
    r = bot.command("prefs")
    assert "not open" in text_of(bot.respond(r))
    assert bot.fake.calls_to("views.open") == []


# --------------------------------------------------------------------------- signup


SIGNUP_STATE = {"name": {"value": "Sam Stranger"}, "organisation": {"value": "Rowan Trust"},
                "role": {"value": "CEO"}, "pronouns": {"value": "they/them"},
                "access": {"value": checkboxes("step_free")},
                "access_other": {"value": None}, "dietary": {"value": "vegan"}}


def _delegates(email: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Delegate.id)).where(Delegate.email == email))


def test_signup_while_closed(world, bot):
    r = bot.command("signup", user=STRANGER)
    assert "Registration is closed" in text_of(bot.respond(r))
    assert bot.fake.calls_to("views.open") == []
    # A submission of an old modal registers nobody either.
    bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
    dm = text_of(bot.dm_to(STRANGER))
    assert "registration is closed" in dm.lower()
    assert _delegates("stranger@example.org") == 0


def test_signup_opens_the_modal_with_the_slack_name_and_email(world, bot):
    services.update_conference(world.conference, {"registration_open": True})
    bot.command("signup", user=STRANGER)
    view = bot.fake.wait_for("views.open").args["view"]
    assert view["callback_id"] == "signup"
    name = next(b for b in view["blocks"] if b.get("block_id") == "name")
    assert name["element"]["initial_value"] == "Sam Stranger"
    assert "stranger@example.org" in json.dumps(view)
    assert not any(b.get("block_id") == "email" for b in view["blocks"])  # not editable


def test_signup_submission_registers_and_sends_the_badge(world, bot):
    services.update_conference(world.conference, {"registration_open": True})
    r = bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
    assert r.status_code == 200 and "errors" not in r.get_data(as_text=True)
    complete = bot.fake.wait_for("files.completeUploadExternal", timeout=10)
    assert complete.args["channel_id"] == "D" + STRANGER
    url = bot.fake.calls_to("files.getUploadURLExternal")[0]
    assert url.args["filename"] == "badge.png"
    [upload] = bot.fake.calls_to("upload")
    assert upload.args["content"].startswith(b"\x89PNG")
    bot.settle()
    db.session.expire_all()
    sam = db.session.scalar(select(Delegate).where(Delegate.email == "stranger@example.org"))
    assert sam.name == "Sam Stranger" and sam.organisation == "Rowan Trust"
    assert sam.slack_user_id == STRANGER and sam.needs_step_free and sam.dietary == "vegan"
    welcome = text_of(bot.dms(STRANGER)[0])
    assert "You're registered" in welcome
    assert f"https://convenor.test/me/{sam.token}" in welcome and "agenda.ics" in welcome
    # Registered now: signup says so, with the links.
    again = text_of(bot.respond(bot.command("signup", user=STRANGER)))
    assert "already registered" in again and sam.token in again


def test_a_signup_form_with_a_blank_name_is_an_inline_error(world, bot):
    services.update_conference(world.conference, {"registration_open": True})
    r = bot.post("view", callback_id="signup", user_id=STRANGER,
                 state_values={**SIGNUP_STATE, "name": {"value": "  "}})
    body = r.get_json()
    assert body["response_action"] == "errors" and "name" in body["errors"]
    bot.settle()
    assert _delegates("stranger@example.org") == 0
    assert bot.fake.calls == [c for c in bot.fake.calls if c.method == "auth.test"]


def test_twenty_identical_submissions_give_one_delegate_and_one_dm(world, bot):
    services.update_conference(world.conference, {"registration_open": True})
    for _ in range(20):
        r = bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
        assert r.status_code == 200
    bot.settle()
    assert _delegates("stranger@example.org") == 1
    welcomes = [m for m in bot.dms(STRANGER) if "You're registered" in (m.get("text") or "")]
    assert len(welcomes) == 1
    assert len(bot.fake.calls_to("files.completeUploadExternal")) == 1


def test_signup_when_full_puts_the_person_on_the_waitlist_without_a_badge(world, bot):
    active = db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == world.conference.id, Delegate.status == "active"))
    services.update_conference(world.conference, {"registration_open": True,
                                                   "registration_capacity": active})
    bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
    bot.settle()
    db.session.expire_all()
    sam = db.session.scalar(select(Delegate).where(Delegate.email == "stranger@example.org"))
    assert sam.status == "waitlisted" and services.waitlist_position(sam) == 1
    told = text_of(bot.dm_to(STRANGER))
    assert "is full" in told and "number 1 on the waitlist" in told
    assert bot.fake.calls_to("files.completeUploadExternal") == []
    again = text_of(bot.respond(bot.command("signup", user=STRANGER)))
    assert "number 1 on the waitlist" in again


def test_a_cancellation_gives_the_place_to_the_first_waitlisted_and_tells_them(world, bot):
    active = db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == world.conference.id, Delegate.status == "active"))
    services.update_conference(world.conference, {"registration_open": True,
                                                   "registration_capacity": active})
    bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
    bot.settle()
    leaver = db.session.scalar(select(Delegate).where(
        Delegate.conference_id == world.conference.id, Delegate.status == "active")
        .order_by(Delegate.id.desc()))
    services.update_delegate(leaver, {"status": "cancelled"})
    complete = bot.fake.wait_for("files.completeUploadExternal", timeout=10)
    assert complete.args["channel_id"] == "D" + STRANGER
    bot.settle()
    db.session.expire_all()
    sam = db.session.scalar(select(Delegate).where(Delegate.email == "stranger@example.org"))
    assert sam.status == "active"
    assert any("You're registered" in (m.get("text") or "") for m in bot.dms(STRANGER))
