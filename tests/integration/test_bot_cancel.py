"""``/convenor cancel``: a delegate withdraws their own registration, only through the button."""

from __future__ import annotations

from sqlalchemy import func, select

from events.conference import services
from events.conference.models import Delegate
from events.extensions import db
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, ORGANISER, STRANGER, text_of
from tests.integration.test_bot_modals import SIGNUP_STATE


def _status(delegate_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Delegate, delegate_id).status


def _press(bot, action_id: str, user: str, value: str = "", name: str = "press") -> dict:
    """Press a button under the ephemeral prompt; return what the bot put in its place."""
    r = bot.post("action", action_id=action_id, user_id=user, value=value,
                 response_url=bot.fake.response_url(name))
    assert r.status_code == 200
    answer = bot.fake.wait_for("response_url", lambda c: c.path == f"/response/{name}").args
    bot.settle()
    return answer


def _full_with_stranger_waiting(world, bot, make_delegate):
    """Fill the conference, then STRANGER (on Slack) and Wendy (not) join the waitlist."""
    active = db.session.scalar(select(func.count(Delegate.id)).where(
        Delegate.conference_id == world.conference.id, Delegate.status == "active"))
    services.update_conference(world.conference, {"registration_open": True,
                                                   "registration_capacity": active})
    bot.post("view", callback_id="signup", user_id=STRANGER, state_values=SIGNUP_STATE)
    bot.settle()
    wendy = make_delegate(world.conference, name="Wendy Waiting", status="waitlisted")
    sam = services.delegate_for_slack_user(world.conference, STRANGER)
    assert sam.status == "waitlisted" and services.waitlist_position(sam) == 1
    return sam, wendy


def _welcomes(bot, user: str) -> list[dict]:
    return [m for m in bot.dms(user) if "You're registered" in (m.get("text") or "")]


def test_cancel_asks_first_then_the_button_cancels_once_and_promotes(world, bot, make_delegate):
    sam, wendy = _full_with_stranger_waiting(world, bot, make_delegate)
    ben_id = world.ben.id

    prompt = bot.command("cancel")
    assert prompt.status_code == 200
    body = prompt.get_json()
    assert body["response_type"] == "ephemeral"
    text = text_of(body)
    assert "Cancel your registration" in text and "first person on the waitlist" in text
    buttons = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["cancel_confirm", "cancel_keep"]
    assert buttons[0]["value"] == str(ben_id) and buttons[0]["style"] == "danger"
    bot.settle()
    assert _status(ben_id) == "active"  # asking changes nothing

    done = _press(bot, "cancel_confirm", BEN, str(ben_id), "first")
    assert done["replace_original"] is True and "is cancelled" in text_of(done)
    assert _status(ben_id) == "cancelled"
    assert _status(sam.id) == "active" and _status(wendy.id) == "waitlisted"
    # The promoted person is told on Slack: badge and links.
    bot.fake.wait_for("files.completeUploadExternal",
                      lambda c: c.args.get("channel_id") == "D" + STRANGER, timeout=10)
    bot.settle()
    assert len(_welcomes(bot, STRANGER)) == 1

    again = _press(bot, "cancel_confirm", BEN, str(ben_id), "second")
    assert "already cancelled" in text_of(again) and "nothing has changed" in text_of(again)
    assert _status(ben_id) == "cancelled" and _status(wendy.id) == "waitlisted"
    assert len(_welcomes(bot, STRANGER)) == 1

    # Cancelled now: the command itself says so, with no buttons.
    after = bot.command("cancel").get_json()
    assert "withdrawn" in text_of(after) and "cancel_confirm" not in text_of(after)


def test_keep_my_place_changes_nothing(world, bot):
    assert "cancel_keep" in text_of(bot.command("cancel").get_json())
    kept = _press(bot, "cancel_keep", BEN, name="keep")
    assert kept["replace_original"] is True and "stays" in text_of(kept)
    assert _status(world.ben.id) == "active"


def test_a_waitlisted_delegate_leaves_the_waitlist(world, bot, make_delegate):
    sam, wendy = _full_with_stranger_waiting(world, bot, make_delegate)
    prompt = text_of(bot.command("cancel", user=STRANGER).get_json())
    assert "Leave the waitlist" in prompt and "number 1" in prompt
    done = _press(bot, "cancel_confirm", STRANGER, str(sam.id), "leave")
    assert "is cancelled" in text_of(done)
    assert _status(sam.id) == "cancelled"
    assert services.waitlist_position(db.session.get(Delegate, wendy.id)) == 1
    assert _welcomes(bot, STRANGER) == []


def test_someone_without_a_registration_has_nothing_to_cancel(world, bot):
    # A stranger is looked up after the ack (users.info), then told.
    stranger = bot.command("cancel", user=STRANGER)
    assert stranger.status_code == 200 and stranger.get_data() == b""
    told = text_of(bot.respond(stranger))
    assert "no registration" in told and "cancel_confirm" not in told
    # An organiser who is not a delegate: the same, with where organisers withdraw people.
    first = bot.command("cancel", user=ORGANISER)
    organiser = text_of(bot.respond(first)) if not first.get_data() else text_of(first.get_json())
    assert "no registration" in organiser and "delegates page" in organiser
    bot.settle()
    known = text_of(bot.command("cancel", user=ORGANISER).get_json())
    assert "no registration" in known and "delegates page" in known
    # A forged press by someone with no registration changes nothing.
    forged = _press(bot, "cancel_confirm", ORGANISER, str(world.ben.id), "forged")
    assert "no registration" in text_of(forged)
    assert _status(world.ben.id) == "active"


def test_a_button_for_another_registration_is_refused(world, bot):
    stale = _press(bot, "cancel_confirm", BEN, str(world.host.id), "stale")
    assert "out of date" in text_of(stale)
    assert _status(world.ben.id) == "active" and _status(world.host.id) == "active"


def test_cancel_with_arguments_gets_its_usage_and_help_lists_it(world, bot):
    assert "Usage: `/convenor cancel`" in text_of(bot.command("cancel now").get_json())
    assert "/convenor cancel" in text_of(bot.command("help").get_json())
