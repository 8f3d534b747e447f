"""App Home, buttons, escaping of people's text, and Slack failing under a lazy listener."""

from __future__ import annotations

import json

from carousels.cafe import services as cs
from carousels.workshops import services as ws
from events.conference import services
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, HOST, ORGANISER, STRANGER, text_of
from tests.slack_fixtures import dm_event, home_opened_event, mention_event


def test_app_home_shows_the_next_item_the_agenda_and_buttons(world, bot):
    r = bot.event(home_opened_event(user_id=BEN))
    assert r.status_code == 200
    view = bot.fake.wait_for("views.publish").args
    assert view["user_id"] == BEN and view["view"]["type"] == "home"
    shown = json.dumps(view["view"], ensure_ascii=False)
    assert "Carousel 2 · 11:40 · Room " in shown and "(in 20 min)" in shown
    assert "Overcoming obstacles" in shown and "Lunch" in shown and "Closing panel" in shown
    buttons = [e["action_id"] for b in view["view"]["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == ["home_next", "home_table", "home_prefs"]
    assert len(view["view"]["blocks"]) <= 100


def test_app_home_for_an_organiser_and_for_a_stranger(world, bot):
    bot.command("stats", user=ORGANISER)
    bot.settle()
    bot.event(home_opened_event(user_id=ORGANISER))
    organiser = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == ORGANISER).args
    shown = json.dumps(organiser["view"], ensure_ascii=False)
    assert "Organisers" in shown and "Arrivals" in shown
    services.update_conference(world.conference, {"registration_open": True})
    bot.event(home_opened_event(user_id=STRANGER))
    stranger = bot.fake.wait_for("views.publish", lambda c: c.args["user_id"] == STRANGER).args
    assert "home_signup" in json.dumps(stranger["view"])
    bot.event(home_opened_event(user_id=BEN, tab="messages"))
    bot.settle()
    assert not [c for c in bot.fake.calls_to("views.publish") if c.args["user_id"] == BEN]


def test_home_buttons_answer_in_a_dm(world, bot):
    bot.post("action", action_id="home_next", user_id=BEN, view={"id": "V1", "type": "home"})
    assert "Carousel 2 · 11:40" in text_of(bot.dm_to(BEN))
    bot.post("action", action_id="home_table", user_id=HOST, view={"id": "V1", "type": "home"})
    assert "you are the host — stay at Table 1" in text_of(bot.dm_to(HOST))
    bot.post("action", action_id="home_stats", user_id=BEN, view={"id": "V1", "type": "home"})
    assert "Only the conference's organisers" in text_of(
        bot.dm_to(BEN, lambda c: "organisers" in c.args.get("text", "")))


# --------------------------------------------------------------------------- escaping


def test_names_and_titles_are_escaped_everywhere(world, bot, make_delegate):
    evil_title = "<https://x|y> & *bold*"
    ws.update_workshop(world.workshops[0], {"title": evil_title})
    ws.update_workshop(world.workshops[1], {"title": evil_title + " 2"})
    ws.update_workshop(world.workshops[2], {"title": evil_title + " 3"})
    services.update_delegate(world.people[4], {"name": "<!channel>"})
    services.update_delegate(world.ben, {"name": "<!here> Ben"})
    cs.update_table(world.tables[0], {"question": "<!everyone> who?"})
    bot.command("next")
    bot.command("agenda")
    bot.command("table", user=HOST)
    bot.event(dm_event("who is at my table in round 1?", user_id=HOST, channel_id="D" + HOST))
    bot.event(dm_event("who is at my table in round 2?", user_id=HOST, channel_id="D" + HOST))
    bot.event(dm_event("who is at my table in round 3?", user_id=HOST, channel_id="D" + HOST))
    bot.event(mention_event("what's my agenda", user_id=BEN))
    bot.event(home_opened_event(user_id=BEN))
    code = services.issue_slack_link_code(world.people[4])
    acks = [bot.command("next").get_json(), bot.command("agenda").get_json(),
            bot.command("table", user=HOST).get_json(),
            bot.command(f"link {code}", user=STRANGER).get_json()]
    bot.settle()
    # Every mrkdwn text: the raw control sequences never appear, the escaped ones do.
    mrkdwn = []

    def collect(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                mrkdwn.append(node["text"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for call in bot.fake.calls:
        collect(call.args)
        if call.method != "upload" and isinstance(call.args.get("text"), str):
            mrkdwn.append(call.args["text"])  # the fallback text is parsed for mentions too
    collect(acks)
    mrkdwn += [a["text"] for a in acks]
    joined = "\n".join(mrkdwn)
    assert "&lt;https://x|y&gt; &amp; *bold*" in joined
    assert "Linked: you are &lt;!channel&gt; on Slack now." in joined
    assert "&lt;!everyone&gt; who?" in joined
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://x|y>"):
        assert raw not in joined, raw


# --------------------------------------------------------------------------- Slack failing


def test_a_rate_limited_dm_still_arrives_once(world, bot):
    bot.fake.fail_next("chat.postMessage", 1, status=429, retry_after=1)
    bot.event(dm_event("what's next?", user_id=BEN, channel_id="D" + BEN))
    bot.settle()
    attempts = bot.fake.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert "Carousel 2" in text_of(attempts[1].args)


def test_a_failing_slack_call_tells_the_user(world, bot, make_delegate):
    make_delegate(world.conference, name="Cara", email="cara@example.org")
    bot.fake.add_user("U0CARA01", "cara@example.org")
    bot.fake.fail_next("users.info", 1, error="fatal_error")
    r = bot.command("next", user="U0CARA01")
    assert "could not finish" in text_of(bot.respond(r))
    assert services.delegate_for_slack_user(world.conference, "U0CARA01") is None
    # Asked again, Slack answers: linked and answered.
    r = bot.command("next", user="U0CARA01")
    assert "Carousel" in text_of(bot.respond(r)) or "Lunch" in text_of(bot.respond(r))

    services.update_conference(world.conference, {"registration_open": True})
    bot.fake.fail_next("views.open", 1, error="expired_trigger_id")
    r = bot.command("signup", user=STRANGER)
    assert "could not finish" in text_of(bot.respond(r))

    bot.fake.fail_next("users.info", 1, error="fatal_error")
    bot.event(dm_event("what's next?", user_id=STRANGER, channel_id="D" + STRANGER))
    assert "could not finish" in text_of(bot.dm_to(STRANGER))
