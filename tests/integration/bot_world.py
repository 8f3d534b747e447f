"""Fixtures for the Slack bot's end-to-end tests: the app with the bot on, against the fake Web API,
and a seeded conference day (keynote, carousel with a published assignment, lunch, World Cafe with
a published table plan, a cancelled panel), delegates on Slack and an organiser Slack knows.

Test modules load them with ``from tests.integration.bot_world import *``. Times are fixed: the
bot's clock (``bot.answers.now``) reads ``clock.now`` (11 March 2027, London = UTC that day).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

__all__ = ["BotClient", "Clock", "World", "app", "bot", "clock", "utc", "world", "SLACK_SETTINGS",
           "ORGANISER", "DOOR", "GUEST", "STRANGER", "HOST", "BEN", "text_of"]

#: Slack user ids the fake knows.
ORGANISER, DOOR, GUEST, STRANGER = "U0ORGAN1", "U0DOOR01", "U0GUEST1", "U0STRANG"
#: The host of Table 1 and an ordinary delegate, both linked to Slack.
HOST, BEN = "U0HOST01", "U0BEN001"
ORGS = ["Oak Trust", "Ash Trust", "Elm Trust", "Yew Trust"]
SIGNING_SECRET = secrets.token_hex(20)
SLACK_SETTINGS = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                  "PUBLIC_URL": "https://convenor.test", "CONVENOR_SLACK_CHANNEL": "C0ANNOUNCE",
                  "CAFE_TIME_LIMIT_S": 0.3, "CAROUSEL_TIME_LIMIT_S": 0.3}


def utc(hhmm: str, day: int = 11) -> datetime:
    """Return ``hhmm`` on ``day`` March 2027 in UTC (London is on GMT then)."""
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


@dataclass
class Clock:
    """The bot's clock; tests move it."""

    now: datetime = field(default_factory=lambda: utc("11:20"))


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Replace ``bot.answers.now`` with a settable fixed time (11:20 on the day)."""
    from bot import answers

    fixed = Clock()
    monkeypatch.setattr(answers, "now", lambda: fixed.now)
    return fixed


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path, fake_slack, clock):
    """The app with the Slack bot on (signing secret, token, the fake's URL), SQLite and PostgreSQL."""
    from events.extensions import db
    from tests.conftest import _make_app, _truncate_all

    extra = {**SLACK_SETTINGS, "SLACK_API_URL": fake_slack.url}
    if request.param == "sqlite":
        application = _make_app(f"sqlite:///{tmp_path / 'test.db'}", extra)
    else:
        application = _make_app(request.getfixturevalue("pg_url"), extra)
    executor = application.extensions["convenor_slack_bolt"].listener_runner.listener_executor
    executor.started = []
    submit = executor.submit

    def recorded(fn, /, *args, **kwargs):
        future = submit(fn, *args, **kwargs)
        executor.started.append(future)
        return future

    executor.submit = recorded  # BotClient.settle waits for these
    with application.app_context():
        if request.param == "sqlite":
            db.create_all()
        else:
            _truncate_all(db)
        try:
            yield application
        finally:
            # Let lazy listeners finish before the tables go.
            bolt = application.extensions.get("convenor_slack_bolt")
            if bolt is not None:
                bolt.listener_runner.listener_executor.shutdown(wait=True)
            db.session.remove()
            if request.param != "sqlite":
                _truncate_all(db)
            db.engine.dispose()


# --------------------------------------------------------------------------- the day


@dataclass
class World:
    conference: Any
    keynote: Any
    carousel: Any
    lunch: Any
    cafe: Any
    panel: Any
    people: list
    host: Any
    ben: Any
    organiser: Any
    workshops: list
    tables: list


@pytest.fixture
def world(app, fake_slack, conference, organiser, make_organiser, make_room, make_session,
          make_delegate) -> World:
    """Seed the day and the Slack users (see the module docstring)."""
    from carousels.cafe import services as cs
    from carousels.rounds import services as rounds
    from carousels.workshops import services as ws
    from events.conference import services

    hall = make_room(conference, "Main Hall", 300)
    atrium = make_room(conference, "Atrium", 200, step_free=True)
    ade = services.create_speaker(conference, {"name": "Ade Adepitan", "honours": "MBE"})
    pete = services.create_speaker(conference, {"name": "Pete F. Atherton", "honours": "PhD"})
    keynote = make_session(conference, "Overcoming obstacles", "09:00", "09:45", room_id=hall.id,
                           speaker_ids=[ade.id])
    carousel = make_session(conference, "Carousels: AI and peer-led workshops", "10:45", "12:10",
                            kind="carousel")
    lunch = make_session(conference, "Lunch", "12:15", "13:15", kind="break", room_id=atrium.id)
    cafe = make_session(conference, "World Cafe: what will it take?", "13:30", "14:45",
                        kind="world_cafe", room_id=atrium.id)
    panel = make_session(conference, "Closing panel", "15:00", "15:30", kind="plenary",
                         room_id=hall.id)
    services.cancel_session(panel)

    people = [make_delegate(conference, name=f"Person {i:02d}", organisation=ORGS[i % 4])
              for i in range(12)]
    host, ben = people[0], people[1]
    services.update_delegate(host, {"name": "Hana Host", "slack_user_id": HOST})
    services.update_delegate(ben, {"name": "Ben Delegate", "slack_user_id": BEN})

    for n, (start, end) in enumerate((("10:50", "11:15"), ("11:40", "12:05")), 1):
        ws.add_slot(carousel, {"label": f"Carousel {n}", "starts_at": f"2027-03-11T{start}",
                               "ends_at": f"2027-03-11T{end}"})
    workshops = []
    for i, title in enumerate(("AI in the classroom", "SEND inclusion", "Attendance")):
        room = make_room(conference, f"Room {'ABC'[i]}", 20)
        workshops.append(ws.add_workshop(carousel, {
            "title": title, "room_id": room.id, "capacity": 4,
            **({"leader_ids": [pete.id]} if i == 0 else {"led_by": "peer"})}))
    ws.set_preferences_window(carousel, {"open": True, "deadline": "2027-03-10T18:00"})
    rounds.allocate(carousel)
    rounds.publish(carousel)

    cs.set_rounds(cafe, {"count": 3, "minutes": 15, "gap": 5})
    cs.add_tables(cafe, {"count": 4, "capacity": 4, "step_free": 4})
    tables = cs.get_tables(cafe)
    cs.update_table(tables[0], {"question": "What does inclusion look like?", "host_id": host.id})
    cs.update_table(tables[1], {"question": "What helps pupils belong?"})
    rounds.allocate(cafe)
    rounds.publish(cafe)

    lead, _ = organiser
    door, _ = make_organiser("door@example.org", role="door_staff")
    fake_slack.add_user(ORGANISER, "Lead@Example.org", real_name="Lena Lead")
    fake_slack.add_user(DOOR, "door@example.org", real_name="Dora Door")
    fake_slack.add_user(GUEST, "lead@example.org", real_name="Guest Lookalike", guest=True)
    fake_slack.add_user(STRANGER, "stranger@example.org", real_name="Sam Stranger")
    fake_slack.add_user(HOST, host.email, real_name="Hana Host")
    fake_slack.add_user(BEN, ben.email, real_name="Ben Delegate")
    return World(conference, keynote, carousel, lunch, cafe, panel, people, host, ben, lead,
                 workshops, tables)


# --------------------------------------------------------------------------- talking to the bot


class BotClient:
    """Post signed requests to ``/slack/events`` and read what the bot sent to the fake."""

    def __init__(self, app, fake, slack_post):
        self.app = app
        self.client = app.test_client()
        self.fake = fake
        self._post = slack_post
        self._n = 0

    def post(self, kind: str, **fields):
        return self._post(self.client, kind, **fields)

    def command(self, text: str, user: str = BEN, **fields):
        """Send ``/convenor text``; the response's ``response_url`` is unique (``.response_url``)."""
        self._n += 1
        name = f"r{self._n}"
        fields.setdefault("response_url", self.fake.response_url(name))
        response = self.post("command", text=text, user_id=user, **fields)
        response.response_url_path = f"/response/{name}"
        return response

    def respond(self, response, timeout: float = 10.0):
        """Wait for the lazy listener's ``respond()`` to this command; return its JSON."""
        path = response.response_url_path
        return self.fake.wait_for("response_url", lambda c: c.path == path, timeout).args

    def event(self, event: dict, **fields):
        return self.post("event", event=event, **fields)

    def dm_to(self, user: str, predicate=lambda call: True, timeout: float = 10.0):
        """Wait for a chat.postMessage to ``user``'s DM (channel ``D<user>``); return its args."""
        return self.fake.wait_for(
            "chat.postMessage",
            lambda c: c.args.get("channel") == "D" + user and predicate(c), timeout).args

    def dms(self, user: str) -> list[dict]:
        return [c.args for c in self.fake.calls_to("chat.postMessage")
                if c.args.get("channel") == "D" + user]

    def outgoing(self) -> str:
        """Every text the bot sent to Slack so far, JSON-encoded (for escaping checks)."""
        return json.dumps([c.args for c in self.fake.calls if c.method not in ("upload",)],
                          ensure_ascii=False, default=str)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every lazy listener started so far has finished (see ``app``)."""
        executor = self.app.extensions["convenor_slack_bolt"].listener_runner.listener_executor
        while executor.started:
            executor.started.pop(0).result(timeout=timeout)


def text_of(message: dict) -> str:
    """Return a message's fallback text and its blocks' text, joined."""
    parts = [message.get("text") or ""]
    parts += [json.dumps(b, ensure_ascii=False) for b in message.get("blocks") or []]
    return "\n".join(parts)


@pytest.fixture
def bot(app, fake_slack, slack_post) -> BotClient:
    return BotClient(app, fake_slack, slack_post)
