"""Self-tests of the Slack test doubles: the fake Web API, the signed-request helpers."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode

import pytest
from flask import Flask, jsonify, request
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from tests.slack_fake import FakeSlack
from tests.slack_fixtures import (
    action_body,
    checkboxes,
    command_body,
    dm_event,
    event_body,
    home_opened_event,
    select,
    signed,
    url_verification_body,
    view_submission_body,
)

pytest_plugins = ["tests.slack_fixtures"]

SECRET = "test-signing-secret"


@pytest.fixture
def web(fake_slack: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake_slack.url, retry_handlers=[])


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


# --------------------------------------------------------------------------- fake Web API


def test_url_and_env(fake_slack: FakeSlack) -> None:
    import os

    assert fake_slack.url.startswith("http://127.0.0.1:") and fake_slack.url.endswith("/api/")
    assert os.environ["SLACK_API_URL"] == fake_slack.url
    assert fake_slack.response_url("abc") == fake_slack.url.removesuffix("api/") + "response/abc"


def test_auth_test(web: WebClient, fake_slack: FakeSlack) -> None:
    resp = web.auth_test()
    assert (resp["user_id"], resp["team_id"], resp["team"]) == ("UBOT", "T1", "Convenor Test")
    assert resp["bot_id"] and resp["url"]
    assert fake_slack.calls_to("auth.test")[0].headers["Authorization"] == "Bearer xoxb-test"


def test_users_info_and_lookup_by_email(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", "Ada@Example.org", real_name="Ada Lovelace")
    fake_slack.add_user("U2", "guest@example.org", guest=True)
    fake_slack.add_user("U3", "single@example.org", guest="single", deleted=True)

    user = web.users_info(user="U1")["user"]
    assert user["id"] == "U1" and user["real_name"] == "Ada Lovelace"
    assert user["profile"] == user["profile"] | {"email": "Ada@Example.org", "real_name": "Ada Lovelace"}
    assert (user["is_bot"], user["deleted"], user["is_restricted"], user["is_ultra_restricted"]) == (
        False,
        False,
        False,
        False,
    )
    call = fake_slack.calls_to("users.info")[0]
    assert call.args == {"user": "U1"}
    # slack_sdk's sync WebClient sends every method as a POST form, users.info included
    # ("Intentionally ignore the http_verb" in BaseClient._perform_urllib_http_request).
    assert call.http_method == "POST"

    assert web.users_info(user="U2")["user"]["is_restricted"] is True
    single = web.users_info(user="U3")["user"]
    assert single["is_ultra_restricted"] and single["deleted"]
    with pytest.raises(SlackApiError) as err:
        web.users_info(user="UNOPE")
    assert err.value.response["error"] == "user_not_found"

    assert web.users_lookupByEmail(email="ada@example.org")["user"]["id"] == "U1"
    with pytest.raises(SlackApiError) as err:
        web.users_lookupByEmail(email="nobody@example.org")
    assert err.value.response["error"] == "users_not_found"


def test_get_with_query_parameters(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", "ada@example.org")
    query = urlencode({"token": "xoxb-test", "user": "U1"})
    assert _get(f"{fake_slack.url}users.info?{query}")["user"]["id"] == "U1"
    query = urlencode({"token": "xoxb-test", "email": "ada@example.org"})
    assert _get(f"{fake_slack.url}users.lookupByEmail?{query}")["user"]["id"] == "U1"
    calls = fake_slack.calls_to("users.info") + fake_slack.calls_to("users.lookupByEmail")
    assert [c.http_method for c in calls] == ["GET", "GET"]
    assert calls[0].args == {"token": "xoxb-test", "user": "U1"}


def test_not_authed_and_unknown_method(fake_slack: FakeSlack, web: WebClient) -> None:
    assert _get(fake_slack.url + "auth.test") == {"ok": False, "error": "not_authed"}
    with pytest.raises(SlackApiError) as err:
        web.api_call("no.such.method")
    assert err.value.response["error"] == "unknown_method"
    assert fake_slack.calls_to("no.such.method")[0].status == 200


def test_post_message_records_decoded_blocks(web: WebClient, fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "&lt;!channel&gt;"}}]
    resp = web.chat_postMessage(channel="D1", text="hi", blocks=blocks)
    assert resp["ts"] and resp["channel"] == "D1"
    assert fake_slack.calls_to("chat.postMessage")[0].args["blocks"] == blocks

    # A form post (JSON-encoded field) is recorded decoded too.
    web.api_call("chat.postMessage", params={"channel": "D1", "text": "hi", "blocks": json.dumps(blocks)})
    assert fake_slack.calls_to("chat.postMessage")[1].args["blocks"] == blocks

    with pytest.raises(SlackApiError) as err:
        web.chat_postMessage(channel="D1", text="many", blocks=blocks * 51)
    assert err.value.response["error"] == "invalid_blocks"

    web.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert fake_slack.calls_to("chat.postEphemeral")[0].args["user"] == "U1"


def test_conversations_open(web: WebClient, fake_slack: FakeSlack) -> None:
    assert web.conversations_open(users="U1")["channel"]["id"] == "DU1"
    assert fake_slack.calls_to("conversations.open")[0].args == {"users": "U1"}


def test_views(web: WebClient, fake_slack: FakeSlack) -> None:
    modal = {
        "type": "modal",
        "callback_id": "signup",
        "title": {"type": "plain_text", "text": "Sign up"},
        "blocks": [],
    }
    opened = web.views_open(trigger_id="1.2.abc", view=modal)["view"]
    assert opened["id"] and opened["callback_id"] == "signup"
    assert fake_slack.calls_to("views.open")[0].args["view"] == modal

    updated = web.views_update(view_id=opened["id"], view=modal)["view"]
    assert updated["id"] == opened["id"]

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    published = web.views_publish(user_id="U1", view=home)["view"]
    assert published["id"] and published["type"] == "home"
    assert fake_slack.calls_to("views.publish")[0].args == {"user_id": "U1", "view": home}

    with pytest.raises(SlackApiError) as err:
        web.views_publish(user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}] * 101})
    assert err.value.response["error"] == "invalid_arguments"


def test_schedule_message(web: WebClient, fake_slack: FakeSlack) -> None:
    now = int(time.time())
    with pytest.raises(SlackApiError) as err:
        web.chat_scheduleMessage(channel="DU1", post_at=now - 60, text="late")
    assert err.value.response["error"] == "time_in_past"
    with pytest.raises(SlackApiError) as err:
        web.chat_scheduleMessage(channel="DU1", post_at=now + 121 * 86400, text="far")
    assert err.value.response["error"] == "time_too_far"

    resp = web.chat_scheduleMessage(channel="DU1", post_at=now + 300, text="soon")
    message_id = resp["scheduled_message_id"]
    listed = web.chat_scheduledMessages_list()["scheduled_messages"]
    assert [(m["id"], m["channel_id"], m["post_at"]) for m in listed] == [(message_id, "DU1", now + 300)]

    web.chat_deleteScheduledMessage(channel="DU1", scheduled_message_id=message_id)
    assert web.chat_scheduledMessages_list()["scheduled_messages"] == []
    with pytest.raises(SlackApiError) as err:
        web.chat_deleteScheduledMessage(channel="DU1", scheduled_message_id=message_id)
    assert err.value.response["error"] == "invalid_scheduled_message_id"


def test_schedule_message_follows_the_fake_clock(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.clock = lambda: 2_000_000_000.0
    web.chat_scheduleMessage(channel="DU1", post_at=2_000_000_060, text="in a minute")


def test_files_upload_v2_end_to_end(web: WebClient, fake_slack: FakeSlack) -> None:
    resp = web.files_upload_v2(channel="D1", content=b"png-bytes", filename="badge.png", alt_txt="QR")
    assert resp["file"]["name"] == "badge.png"
    methods = [c.method for c in fake_slack.calls]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    get_url, upload, complete = fake_slack.calls
    assert get_url.args["filename"] == "badge.png" and get_url.args["alt_txt"] == "QR"
    assert get_url.response["upload_url"].startswith(fake_slack.url.removesuffix("api/") + "upload/")
    assert upload.body == b"png-bytes" and upload.args["content"] == b"png-bytes"
    file_id = get_url.response["file_id"]
    assert fake_slack.uploads == {file_id: b"png-bytes"}
    assert complete.args["channel_id"] == "D1"
    assert complete.args["files"] == [{"id": file_id, "title": "badge.png"}]


def test_response_url_records_json_body(fake_slack: FakeSlack) -> None:
    body = json.dumps({"text": "done", "response_type": "ephemeral"}).encode()
    req = urllib.request.Request(
        fake_slack.response_url("r7"), data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
    call = fake_slack.wait_for("response_url")
    assert call.path == "/response/r7" and call.args == {"text": "done", "response_type": "ephemeral"}


def test_fail_next_429_with_retry_after(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", 2, retry_after=7)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            web.chat_postMessage(channel="D1", text="hi")
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "7"
    assert web.chat_postMessage(channel="D1", text="hi")["ok"]
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 429, 200]


def test_fail_next_error_and_5xx(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("views.open", error="expired_trigger_id")
    with pytest.raises(SlackApiError) as err:
        web.views_open(trigger_id="t", view={"type": "modal", "blocks": []})
    assert err.value.response.status_code == 200 and err.value.response["error"] == "expired_trigger_id"

    fake_slack.fail_next("conversations.open", status=503)
    with pytest.raises(SlackApiError) as err:
        web.conversations_open(users="U1")
    assert err.value.response.status_code == 503
    assert web.conversations_open(users="U1")["ok"]


def test_wait_for_a_call_from_another_thread(web: WebClient, fake_slack: FakeSlack) -> None:
    start = threading.Event()

    def later() -> None:
        start.wait(5)
        web.chat_postMessage(channel="D1", text="first")
        web.chat_postMessage(channel="D1", text="second")

    worker = threading.Thread(target=later)
    worker.start()
    start.set()
    call = fake_slack.wait_for("chat.postMessage", lambda c: c.args.get("text") == "second")
    worker.join(5)
    assert call.args["channel"] == "D1"


def test_wait_for_times_out_with_what_was_recorded(web: WebClient, fake_slack: FakeSlack) -> None:
    web.auth_test()
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"chat\.postMessage.*auth\.test"):
        fake_slack.wait_for("chat.postMessage", timeout=0.2)
    assert time.monotonic() - started < 3


def test_reset_forgets_calls_but_keeps_users(web: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.add_user("U1", "ada@example.org")
    fake_slack.fail_next("auth.test")
    web.users_info(user="U1")
    fake_slack.reset()
    assert fake_slack.calls == []
    assert web.auth_test()["ok"]
    assert web.users_info(user="U1")["ok"]


# --------------------------------------------------------------------------- signing and bodies


def test_signed_headers_verify() -> None:
    body, content_type = command_body("next")
    headers = signed(body, SECRET)
    assert headers["Content-Type"] == content_type == "application/x-www-form-urlencoded"
    verifier = SignatureVerifier(SECRET)
    ts, sig = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body, ts, sig)
    assert "X-Slack-Retry-Num" not in headers

    bad = signed(body, SECRET, bad_secret=True)
    assert not verifier.is_valid(body, bad["X-Slack-Request-Timestamp"], bad["X-Slack-Signature"])
    old = signed(body, SECRET, skew=-600)
    assert int(old["X-Slack-Request-Timestamp"]) <= int(time.time()) - 600
    assert not verifier.is_valid(body, old["X-Slack-Request-Timestamp"], old["X-Slack-Signature"])
    assert not verifier.is_valid(body + "x", ts, sig)

    retried = signed(body, SECRET, retry_num=1, timestamp=int(ts))
    assert retried["X-Slack-Retry-Num"] == "1" and retried["X-Slack-Retry-Reason"]
    assert retried["X-Slack-Signature"] == sig

    assert signed(event_body({"type": "app_mention"})[0], SECRET)["Content-Type"] == "application/json"


def test_builders_make_slack_shaped_bodies() -> None:
    body, _ = command_body("next", user_id="U9", response_url="http://x/response/r1")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
    assert (form["command"], form["text"], form["user_id"]) == ("/convenor", "next", "U9")
    assert form["trigger_id"] != {k: v[0] for k, v in parse_qs(command_body("next")[0]).items()}["trigger_id"]

    envelope = json.loads(event_body(dm_event("hi"))[0])
    assert envelope["type"] == "event_callback" and envelope["event"]["channel_type"] == "im"
    assert envelope["event_id"] != json.loads(event_body(dm_event("hi"))[0])["event_id"]
    assert json.loads(event_body({}, event_id="Ev1")[0])["event_id"] == "Ev1"
    assert json.loads(url_verification_body("abc")[0]) == {
        "token": "legacy-verification-token",
        "challenge": "abc",
        "type": "url_verification",
    }

    payload = json.loads(parse_qs(action_body("home_next", value="v")[0])["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "home_next" and payload["actions"][0]["value"] == "v"

    body, _ = view_submission_body(
        "prefs",
        {
            "rank_1": {"rank": select("2")},
            "name": {"name": "Ada"},
            "access": {"needs": checkboxes("step_free")},
        },
        private_metadata="carousel:4",
    )
    view = json.loads(parse_qs(body)["payload"][0])["view"]
    assert view["callback_id"] == "prefs" and view["private_metadata"] == "carousel:4"
    values = view["state"]["values"]
    assert values["rank_1"]["rank"]["selected_option"]["value"] == "2"
    assert values["name"]["name"] == {"type": "plain_text_input", "value": "Ada"}
    assert values["access"]["needs"]["selected_options"][0]["value"] == "step_free"


def test_bodies_drive_bolt_against_the_fake(fake_slack: FakeSlack) -> None:
    """The builders' bodies, signed, are understood by Bolt, which calls auth.test on the fake."""
    app = App(
        signing_secret=SECRET,
        client=WebClient(token="xoxb-test", base_url=fake_slack.url),
        token_verification_enabled=False,
        process_before_response=True,
    )
    seen: list[tuple[str, object]] = []

    def ack_command(ack, command):
        seen.append(("command", command["text"]))
        ack(text="ok")

    def later(respond):
        respond(text="done later", response_type="ephemeral")

    app.command("/convenor")(ack=ack_command, lazy=[later])

    @app.action("home_next")
    def on_action(ack, body):
        seen.append(("action", body["view"]["type"]))
        ack()

    @app.view("prefs")
    def on_view(ack, view):
        seen.append(("view", view["state"]["values"]["b"]["a"]["selected_option"]["value"]))
        ack(response_action="errors", errors={"b": "duplicate_rank"})

    @app.event("message")
    def on_message(ack, event, client):
        client.chat_postMessage(channel=event["channel"], text="echo " + event["text"])
        ack()

    @app.event("app_home_opened")
    def on_home(ack, event, client):
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})
        ack()

    def dispatch(body_and_type: tuple[str, str]):
        body, content_type = body_and_type
        return app.dispatch(BoltRequest(body=body, headers=signed(body, SECRET, content_type=content_type)))

    assert dispatch(command_body("next", response_url=fake_slack.response_url("c1"))).status == 200
    assert dispatch(action_body("home_next", view={"id": "V9", "type": "home"})).status == 200
    resp = dispatch(view_submission_body("prefs", {"b": {"a": select("3")}}))
    assert json.loads(resp.body) == {"response_action": "errors", "errors": {"b": "duplicate_rank"}}
    assert dispatch(event_body(dm_event("hello"))).status == 200
    assert dispatch(event_body(home_opened_event(user_id="U5"))).status == 200
    body, content_type = command_body("next")
    headers = signed(body, SECRET, bad_secret=True)
    assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 401

    assert seen == [("command", "next"), ("action", "home"), ("view", "3")]
    posted = fake_slack.wait_for("chat.postMessage").args
    assert (posted["channel"], posted["text"]) == ("D1", "echo hello")
    assert fake_slack.wait_for("views.publish").args["user_id"] == "U5"
    answered = fake_slack.wait_for("response_url", lambda c: c.path.endswith("/c1"))
    assert answered.args["text"] == "done later"
    assert len(fake_slack.calls_to("auth.test")) == 1


# --------------------------------------------------------------------------- slack_post


@pytest.fixture
def echo_client():
    """A stand-in for the real route: verifies the signature and echoes what it got."""
    app = Flask(__name__)
    app.config["SLACK_SIGNING_SECRET"] = SECRET

    @app.post("/slack/events")
    def events():
        raw = request.get_data(as_text=True)
        ok = SignatureVerifier(SECRET).is_valid(
            raw,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            request.headers.get("X-Slack-Signature", ""),
        )
        return jsonify(
            valid=ok,
            content_type=request.content_type,
            retry=request.headers.get("X-Slack-Retry-Num"),
            form=request.form.to_dict(),
            json=request.get_json(silent=True),
        )

    return app.test_client()


def test_slack_post_signs_with_the_app_secret(slack_post, echo_client) -> None:
    got = slack_post(echo_client, "command", text="agenda today", user_id="U7").get_json()
    assert got["valid"] and got["content_type"] == "application/x-www-form-urlencoded"
    assert (got["form"]["text"], got["form"]["user_id"]) == ("agenda today", "U7")

    got = slack_post(echo_client, "event", event=dm_event("hi"), retry_num=2).get_json()
    assert got["valid"] and got["json"]["event"]["text"] == "hi" and got["retry"] == "2"

    got = slack_post(echo_client, "action", action_id="home_prefs").get_json()
    assert got["valid"] and json.loads(got["form"]["payload"])["actions"][0]["action_id"] == "home_prefs"

    got = slack_post(echo_client, "view", callback_id="signup", state_values={"n": {"n": "Ada"}}).get_json()
    assert json.loads(got["form"]["payload"])["view"]["callback_id"] == "signup"

    got = slack_post(echo_client, "url_verification", challenge="c1").get_json()
    assert got["json"]["challenge"] == "c1"

    assert not slack_post(echo_client, "command", text="x", bad_secret=True).get_json()["valid"]
    assert not slack_post(echo_client, "command", text="x", skew=-600).get_json()["valid"]
    assert not slack_post(echo_client, "command", text="x", secret="other").get_json()["valid"]
    missing = slack_post(echo_client, "command", text="x", headers_override={"X-Slack-Signature": None})
    assert not missing.get_json()["valid"]
    raw = slack_post(echo_client, "raw", body="{bad", content_type="application/json").get_json()
    assert raw["valid"] and raw["json"] is None


def test_fake_slack_closes_its_server() -> None:
    fake = FakeSlack()
    url = fake.url
    fake.close()
    fake.close()
    with pytest.raises(urllib.error.URLError):
        _get(url + "auth.test")


def test_concurrent_calls_are_all_recorded(fake_slack: FakeSlack) -> None:
    def send(i: int) -> None:
        WebClient(token="xoxb-test", base_url=fake_slack.url).chat_postMessage(channel="D1", text=str(i))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    texts = sorted(int(c.args["text"]) for c in fake_slack.calls_to("chat.postMessage"))
    assert texts == list(range(20))
    assert len({c.response["ts"] for c in fake_slack.calls_to("chat.postMessage")}) == 20


def test_a_bug_in_the_fake_answers_500(web: WebClient, fake_slack: FakeSlack, monkeypatch) -> None:
    monkeypatch.setattr(fake_slack, "_api_auth_test", lambda args: 1 / 0)
    with pytest.raises(SlackApiError) as err:
        web.auth_test()
    assert err.value.response.status_code == 500
    assert "ZeroDivisionError" in err.value.response["error"]
