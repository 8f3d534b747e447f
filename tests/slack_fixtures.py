"""Pytest plugin for the Slack bot's tests: the fake Web API and signed Slack requests.

Load it with ``pytest_plugins = ["tests.slack_fixtures"]`` in ``tests/conftest.py``.

- ``fake_slack``: a started ``FakeSlack`` (``SLACK_API_URL`` is set to its URL in the
  environment for the test); closed afterwards.
- ``signed(body, secret, ...)``: the headers Slack would send with ``body``.
- Builders returning ``(body, content_type)`` exactly as Slack posts them:
  ``command_body``, ``event_body``, ``url_verification_body``, ``action_body``,
  ``view_submission_body``; state helpers ``text_input``, ``select``, ``multi_select``,
  ``checkboxes``; event helpers ``dm_event``, ``mention_event``, ``home_opened_event``.
- ``slack_post``: ``slack_post(client, kind, **fields)`` builds, signs with the app's
  ``SLACK_SIGNING_SECRET`` and POSTs to ``/slack/events`` on the Flask test client.

PYTEST_DONT_REWRITE: test modules may import the helpers before pytest loads this
plugin; the marker keeps pytest from warning that it cannot rewrite it (it has no asserts).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.slack_fake import Call, FakeSlack

__all__ = [
    "Call",
    "FakeSlack",
    "action_body",
    "checkboxes",
    "command_body",
    "dm_event",
    "event_body",
    "home_opened_event",
    "mention_event",
    "multi_select",
    "select",
    "signed",
    "text_input",
    "url_verification_body",
    "view_submission_body",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
EVENTS_PATH = "/slack/events"
VERIFICATION_TOKEN = "legacy-verification-token"
TEAM_DOMAIN = "convenor-test"

_counter = itertools.count(1)


def _trigger_id() -> str:
    return f"{next(_counter)}.{int(time.time())}.{uuid.uuid4().hex}"


def _event_ts() -> str:
    return f"{int(time.time())}.{next(_counter):06d}"


# --------------------------------------------------------------------------- signing


def signed(
    body: str,
    secret: str,
    *,
    timestamp: int | None = None,
    skew: int = 0,
    retry_num: int | None = None,
    bad_secret: bool = False,
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers Slack sends with ``body``: timestamp, ``v0=`` signature, content type.

    The timestamp is ``timestamp`` (default now) plus ``skew`` seconds; ``bad_secret``
    signs with a different secret; ``retry_num`` adds ``X-Slack-Retry-Num`` and
    ``X-Slack-Retry-Reason``. The content type is JSON for a body starting with ``{``,
    else form-encoded, unless ``content_type`` is given.
    """
    ts = str((int(time.time()) if timestamp is None else int(timestamp)) + skew)
    key = secret + "-wrong" if bad_secret else secret
    headers = {
        "Content-Type": content_type or (JSON if body.lstrip().startswith("{") else FORM),
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(key).generate_signature(timestamp=ts, body=body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


# --------------------------------------------------------------------------- bodies


def command_body(
    text: str,
    *,
    user_id: str = "U1",
    command: str = "/convenor",
    trigger_id: str | None = None,
    response_url: str = "",
    channel_id: str = "D1",
    team_id: str = "T1",
    user_name: str = "",
) -> tuple[str, str]:
    """A slash command as Slack posts it (form-encoded); a fresh ``trigger_id`` by default."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else "general",
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields), FORM


def event_body(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = "T1",
    api_app_id: str = "A1",
) -> tuple[str, str]:
    """An Events API ``event_callback`` envelope around ``event``; a fresh ``event_id`` by default."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": FakeSlack.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": uuid.uuid4().hex,
    }
    return json.dumps(envelope), JSON


def url_verification_body(challenge: str) -> tuple[str, str]:
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}), JSON


def dm_event(text: str, *, user_id: str = "U1", channel_id: str = "D1") -> dict[str, Any]:
    """A ``message`` event in the bot's DM (``message.im``)."""
    ts = _event_ts()
    return {
        "type": "message",
        "channel": channel_id,
        "user": user_id,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        "team": "T1",
    }


def mention_event(text: str, *, user_id: str = "U1", channel_id: str = "C1") -> dict[str, Any]:
    """An ``app_mention`` event; ``text`` is prefixed with the bot's mention."""
    ts = _event_ts()
    return {
        "type": "app_mention",
        "channel": channel_id,
        "user": user_id,
        "text": f"<@{FakeSlack.bot_user_id}> {text}",
        "ts": ts,
        "event_ts": ts,
        "team": "T1",
    }


def home_opened_event(*, user_id: str = "U1", tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id,
        "tab": tab,
        "event_ts": _event_ts(),
    }


def _user(user_id: str, team_id: str = "T1") -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def _team(team_id: str = "T1") -> dict[str, Any]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _payload_form(payload: Mapping[str, Any]) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(payload)}), FORM


def action_body(
    action_id: str,
    *,
    user_id: str = "U1",
    value: str = "",
    trigger_id: str | None = None,
    view: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    block_id: str | None = None,
    channel_id: str = "D1",
) -> tuple[str, str]:
    """A ``block_actions`` payload for a button press (``payload=`` form).

    With ``view`` (e.g. ``{"id": "V1", "type": "home"}``) the button is in that view
    (App Home or a modal); otherwise in a message in ``channel_id``.
    """
    action_ts = _event_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id or action_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    if view is not None:
        full_view = {"id": "V1", "type": "home", "callback_id": "", "private_metadata": "", **view}
        full_view.setdefault("state", {"values": {}})
        payload["view"] = full_view
        payload["container"] = {"type": "view", "view_id": full_view["id"]}
    else:
        message_ts = _event_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["message"] = {"type": "message", "user": FakeSlack.bot_user_id, "ts": message_ts, "text": ""}
    if response_url is not None:
        payload["response_url"] = response_url
    return _payload_form(payload)


def text_input(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def select(value: str | None, text: str | None = None) -> dict[str, Any]:
    """A ``static_select`` state; ``None`` when nothing is chosen."""
    return {"type": "static_select", "selected_option": None if value is None else _option(value, text)}


def multi_select(*values: str) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [_option(v) for v in values]}


def checkboxes(*values: str) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [_option(v) for v in values]}


def _state_element(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping) and "type" in value:
        return dict(value)
    if value is None or isinstance(value, str):
        return text_input(value)
    if isinstance(value, list | tuple):
        return multi_select(*value)
    raise TypeError(f"state value must be a str, list or element dict, not {value!r}")


def view_submission_body(
    callback_id: str,
    state_values: Mapping[str, Mapping[str, Any]],
    *,
    user_id: str = "U1",
    private_metadata: str = "",
    trigger_id: str | None = None,
    view_id: str = "V1",
) -> tuple[str, str]:
    """A ``view_submission`` payload (``payload=`` form).

    ``state_values`` is ``view.state.values``: block_id → action_id → element state.
    An element state dict with a ``type`` is passed as is; a ``str``/``None`` is short
    for ``text_input(...)`` and a list for ``multi_select(...)``.
    """
    values = {
        block_id: {action_id: _state_element(value) for action_id, value in actions.items()}
        for block_id, actions in state_values.items()
    }
    payload = {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": "A1",
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": "T1",
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": uuid.uuid4().hex[:16],
            "title": {"type": "plain_text", "text": "Convenor", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A1",
            "external_id": "",
            "app_installed_team_id": "T1",
            "bot_id": FakeSlack.bot_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_form(payload)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """A started fake Slack Web API; ``SLACK_API_URL`` points at it for this test."""
    fake = FakeSlack()
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    try:
        yield fake
    finally:
        fake.close()


_SIGNING_OPTIONS = ("timestamp", "skew", "retry_num", "bad_secret")


def _build(kind: str, fields: dict[str, Any]) -> tuple[str, str]:
    if kind == "command":
        return command_body(fields.pop("text", ""), **fields)
    if kind == "event":
        return event_body(fields.pop("event"), **fields)
    if kind == "action":
        return action_body(fields.pop("action_id"), **fields)
    if kind == "view":
        return view_submission_body(fields.pop("callback_id"), fields.pop("state_values", {}), **fields)
    if kind == "url_verification":
        return url_verification_body(fields.pop("challenge", "challenge-token"))
    if kind == "raw":
        return fields.pop("body"), fields.pop("content_type", FORM)
    raise ValueError(f"unknown kind {kind!r}: command, event, action, view, url_verification or raw")


def post_signed(
    client: Any,
    kind: str,
    *,
    secret: str | None = None,
    headers_override: Mapping[str, str | None] | None = None,
    **fields: Any,
) -> Any:
    """Build a ``kind`` request from ``fields``, sign it and POST it to ``/slack/events``.

    ``secret`` defaults to the app's ``SLACK_SIGNING_SECRET``. Signing options
    ``timestamp``, ``skew``, ``retry_num``, ``bad_secret`` go to ``signed``; the rest to the
    builder (``kind="raw"`` takes ``body`` and ``content_type``). ``headers_override``
    replaces headers; a ``None`` value removes one.
    """
    signing = {key: fields.pop(key) for key in _SIGNING_OPTIONS if key in fields}
    body, content_type = _build(kind, dict(fields))
    if secret is None:
        secret = client.application.config.get("SLACK_SIGNING_SECRET") or "signing-secret-not-configured"
    headers: dict[str, str | None] = dict(signed(body, secret, content_type=content_type, **signing))
    headers.update(headers_override or {})
    sent = {key: value for key, value in headers.items() if value is not None}
    return client.post(EVENTS_PATH, data=body.encode("utf-8"), headers=sent)


@pytest.fixture
def slack_post() -> Callable[..., Any]:
    """``slack_post(client, kind, *, secret=None, headers_override=None, **fields)`` → response."""
    return post_signed
