"""The web chat on a delegate's page (Socket.IO ``ask`` on /live) and the Slack app manifest."""

from __future__ import annotations

import itertools

import pytest
import yaml

from bot import chat
from events.conference import services
from events.extensions import socketio
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import SLACK_SETTINGS

NS = "/live"


@pytest.fixture
def ask(app, world, monkeypatch):
    """``ask(text, token=None)``: a fresh /live connection asks once; return the acknowledgement."""
    ticks = itertools.count(step=5)
    monkeypatch.setattr(chat.time, "monotonic", lambda: float(next(ticks)))
    clients = []

    def do(text, token=None, **extra):
        sio = socketio.test_client(app, namespace=NS, auth={"conference": "tlc"})
        clients.append(sio)
        assert sio.is_connected(NS)
        payload = {"delegate_token": world.ben.token if token is None else token, "text": text,
                   **extra}
        return sio.emit("ask", payload, namespace=NS, callback=True)

    yield do
    for sio in clients:
        if sio.is_connected(NS):
            sio.disconnect(namespace=NS)


def test_web_chat_answers_next_and_table(world, ask):
    answer = ask("what's my next carousel?")
    assert answer["text"].startswith("Carousel 2 · 11:40 · Room ") and "(in 20 min)" in answer["text"]
    assert answer["plain"].startswith(answer["text"])
    table = ask("which table am I on in round 3?")
    assert table["text"].startswith("Round 3: Table ") and table["items"]
    assert table["items"][0]["when"] == "14:10–14:25"
    host = ask("who is at my table in round 2?", token=world.host.token)
    assert host["text"].startswith("Round 2 at Table 1") and host["items"]
    agenda = ask("my agenda")
    assert any(i["status"] == "cancelled" and i["title"] == "Closing panel" for i in agenda["items"])


def test_web_chat_shows_text_literally(world, ask):
    services.update_delegate(world.people[4], {"name": "<b>Bold</b> & co"})
    host = ask("who is at my table in round 1?", token=world.host.token)
    roster = ask("who is at my table in round 2?", token=world.host.token)
    names = [i["title"] for a in (host, roster) for i in a["items"]]
    assert all("&lt;" not in n and "&amp;" not in n for n in names)


def test_web_chat_refuses_bad_questions(world, ask):
    assert ask("what's next?", token="not-a-token")["code"] == "not_found"
    services.update_delegate(world.people[5], {"status": "cancelled"})
    assert ask("what's next?", token=world.people[5].token)["code"] == "canceled"
    assert ask("x" * 501)["code"] == "too_long"
    assert ask("   ")["code"] == "bad_request"
    assert ask("sign me up")["code"] == "help"
    assert ask("/convenor allocate cafe")["code"] == "help"
    assert "allocate" not in ask("help")["text"]


def test_web_chat_allows_one_question_a_second(app, world, monkeypatch):
    monkeypatch.setattr(chat.time, "monotonic", lambda: 1000.0)
    sio = socketio.test_client(app, namespace=NS, auth={"conference": "tlc"})
    first = sio.emit("ask", {"delegate_token": world.ben.token, "text": "next"}, namespace=NS,
                     callback=True)
    second = sio.emit("ask", {"delegate_token": world.ben.token, "text": "next"}, namespace=NS,
                      callback=True)
    assert first["code"] is None and "Carousel 2" in first["text"]
    assert second["code"] == "too_fast" and "One question a second" in second["text"]
    sio.disconnect(namespace=NS)


def test_the_delegate_page_has_the_chat_panel(world, client):
    page = client.get(f"/me/{world.ben.token}").get_data(as_text=True)
    assert 'aria-live="polite"' in page and 'for="chat-question"' in page
    assert "js/chat.js" in page


# --------------------------------------------------------------------------- manifest


def _manifest(text: str) -> dict:
    return yaml.safe_load(text)


def test_the_manifest_is_valid_yaml_with_the_listed_features():
    from bot.cli import MANIFEST

    data = _manifest(MANIFEST.read_text())
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/convenor"
    urls = [command["url"], data["settings"]["event_subscriptions"]["request_url"],
            data["settings"]["interactivity"]["request_url"]]
    assert all(u == "https://convenor.example.org/slack/events" for u in urls)
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert set(data["oauth_config"]["scopes"]["bot"]) >= {
        "app_mentions:read", "chat:write", "chat:write.public", "commands", "files:write",
        "im:history", "im:write", "users:read", "users:read.email"}
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {
        "app_home_opened", "app_mention", "message.im"}
    assert data["features"]["app_home"]["home_tab_enabled"] is True


def test_slack_manifest_command_fills_in_public_url(tmp_path):
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'm.db'}", {"PUBLIC_URL": "https://events.example.com"})
    result = app.test_cli_runner().invoke(args=["slack-manifest"])
    assert result.exit_code == 0, result.output
    data = _manifest(result.output)
    assert data["settings"]["event_subscriptions"]["request_url"] == \
        "https://events.example.com/slack/events"
    assert data["features"]["slash_commands"][0]["url"] == "https://events.example.com/slack/events"
    assert "https://convenor.example.org" not in result.output

    bare = _make_app(f"sqlite:///{tmp_path / 'n.db'}", {"PUBLIC_URL": ""})
    result = bare.test_cli_runner().invoke(args=["slack-manifest"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "PUBLIC_URL" in lines[0]
    assert SLACK_SETTINGS["PUBLIC_URL"]
