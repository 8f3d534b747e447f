"""A fake Slack Web API for tests: a real HTTP server on 127.0.0.1, no network.

``FakeSlack`` serves ``/api/<method>`` (GET with query parameters; POST with a form,
JSON or multipart body), the upload URLs it hands out (``/upload/<file_id>``) and any
``/response/<name>`` path (a ``response_url``). Every request is recorded as a ``Call``;
tests read them with ``calls_to`` or block on ``wait_for`` (a ``threading.Condition``,
no sleeps). ``fail_next`` makes the next N calls of a method answer 429 with
``Retry-After``, a 5xx, or HTTP 200 ``{"ok": false, "error": ...}``. ``rate_limit`` puts
methods behind a shared token bucket (N calls per second, a burst) that answers 429 with
``Retry-After`` when empty, as Slack's workspace-wide limits do (off by default).

Point the app at it with ``SLACK_API_URL = fake.url`` (ends in ``/api/``).

Slack's own checks that the bot could trip are imitated: ``chat.postMessage`` refuses
more than 50 blocks (``invalid_blocks``), views more than 100 (``invalid_arguments``),
``chat.scheduleMessage`` refuses ``time_in_past``, ``time_too_far`` (over 120 days) and
``restricted_too_many`` (over 30 per channel in 5 minutes), and API calls without a
token get ``not_authed``.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Call", "FakeSlack"]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SCHEDULE_MAX_AHEAD_S = 120 * 86400
SCHEDULE_PER_CHANNEL = 30
SCHEDULE_WINDOW_S = 300

# Form fields that Slack clients send JSON-encoded; recorded decoded.
JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks", "unfurls", "inputs", "outputs"}
)

# Pseudo-method names for the two non-API paths.
UPLOAD = "upload"
RESPONSE_URL = "response_url"


@dataclass
class Call:
    """One request the fake received.

    ``method`` is the Web API method (``chat.postMessage``), ``"upload"`` for the upload
    URL or ``"response_url"`` for a ``/response/<name>`` path. ``args`` merges the query
    string and the body (form, JSON or multipart); JSON-encoded form fields such as
    ``blocks`` and ``view`` are decoded. For ``response_url`` calls ``args`` is the JSON
    body; for uploads it is ``{"file_id": ..., "content": <bytes>}``.
    """

    method: str
    args: dict[str, Any]
    http_method: str
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    body: bytes = field(default=b"", repr=False)
    status: int = 200
    response: Any = field(default=None, repr=False)
    #: ``time.monotonic()`` when the fake answered it.
    at: float = 0.0


class _Bucket:
    """A token bucket: ``rate`` calls per second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """Take a token; return 0 when one was there, else the seconds until one is."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str | None


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except ValueError:
                pass
    return args


def _form(text: str) -> dict[str, Any]:
    parsed = parse_qs(text, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    if not message.is_multipart():
        return out
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            out[name] = payload.decode("utf-8", "replace")
        else:
            out[name] = payload
    return out


def _blocks_count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts from concurrent lazy listeners (the benchmark)


class FakeSlack:
    """A threaded HTTP server imitating the parts of Slack's Web API the bot uses."""

    team_id = "T1"
    team = "Convenor Test"
    bot_user_id = "UBOT"
    bot_id = "B1"
    app_id = "A1"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}
        self.scheduled: dict[str, dict[str, Any]] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._buckets: dict[str, _Bucket] = {}
        #: How many calls the token buckets of ``rate_limit`` answered with 429.
        self.rate_limited = 0
        #: Seconds since the epoch as Slack sees them (``chat.scheduleMessage`` checks).
        self.clock: Callable[[], float] = time.time
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        host, port = self._server.server_address[:2]
        self.root = f"http://{host}:{port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
        )
        self._thread.start()
        self._closed = False

    # ------------------------------------------------------------------ public API

    @property
    def url(self) -> str:
        """Base URL of the Web API, ending in ``/api/`` (for ``SLACK_API_URL``)."""
        return self.root + "api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` served by the fake; posts to it are recorded as ``response_url``."""
        return f"{self.root}response/{name}"

    def add_user(
        self,
        user_id: str,
        email: str,
        *,
        real_name: str = "",
        guest: bool | str = False,
        bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Register a workspace member for ``users.info`` / ``users.lookupByEmail``.

        ``guest=True`` (or ``"multi"``) is a multi-channel guest (``is_restricted``);
        ``guest="single"`` a single-channel guest (``is_restricted`` and
        ``is_ultra_restricted``). Returns the user object Slack would return.
        """
        name = (email.split("@", 1)[0] if email else user_id.lower()) or user_id.lower()
        display = real_name or name
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display,
            "display_name_normalized": display,
            "team": self.team_id,
        }
        if email:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": bool(guest),
            "is_ultra_restricted": guest == "single",
            "tz": "Europe/London",
            "tz_offset": 0,
            "profile": profile,
        }
        with self._cond:
            self.users[user_id] = user
        return user

    def fail_next(
        self,
        method: str,
        n: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``n`` calls of ``method`` fail.

        ``error`` given: HTTP 200 ``{"ok": false, "error": error}``. Otherwise HTTP
        ``status``: 429 answers ``{"ok": false, "error": "ratelimited"}`` with a
        ``Retry-After`` header; other statuses (5xx) ``{"ok": false, "error":
        "internal_error"}``. ``method`` may be ``"upload"`` or ``"response_url"``.
        """
        failure = _Failure(200 if error else status, retry_after, error)
        with self._cond:
            self._failures[method].extend(failure for _ in range(n))

    def rate_limit(self, methods: tuple[str, ...] | list[str], per_second: float | None,
                   *, burst: float | None = None) -> None:
        """Put ``methods`` behind one shared token bucket of ``per_second`` calls (``burst``
        at once, default one second's worth), starting full; ``None`` removes the limit.

        A call that finds the bucket empty is answered HTTP 429 ``{"ok": false, "error":
        "ratelimited"}`` with ``Retry-After`` in whole seconds (at least 1), like Slack, and
        counted in ``rate_limited``.
        """
        with self._cond:
            for method in methods:
                self._buckets.pop(method, None)
            if per_second:
                bucket = _Bucket(per_second, burst if burst is not None else max(1.0, per_second))
                for method in methods:
                    self._buckets[method] = bucket

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        timeout: float = 5.0,
    ) -> Call:
        """Return the first recorded call of ``method`` matching ``predicate``.

        Calls recorded before this was called count. Blocks on a condition until one
        arrives; raises ``AssertionError`` listing what was recorded after ``timeout``.
        """
        deadline = time.monotonic() + timeout

        def found() -> Call | None:
            for call in self.calls:
                if call.method == method and predicate(call):
                    return call
            return None

        with self._cond:
            while (call := found()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(
                        f"no matching {method} call within {timeout}s; recorded: {seen or 'nothing'}"
                    )
                self._cond.wait(remaining)
            return call

    def reset(self) -> None:
        """Forget calls, queued failures, uploads and scheduled messages (users stay)."""
        with self._cond:
            self.calls.clear()
            self._failures.clear()
            self.uploads.clear()
            self._pending_uploads.clear()
            self.scheduled.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _ts(self) -> str:
        return f"{int(self.clock())}.{next(self._ids):06d}"

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _take_failure(self, method: str) -> _Failure | None:
        with self._cond:
            queue = self._failures.get(method)
            return queue.popleft() if queue else None

    def _take_token(self, method: str) -> _Failure | None:
        with self._cond:
            bucket = self._buckets.get(method)
            if bucket is None:
                return None
            wait = bucket.take()
            if not wait:
                return None
            self.rate_limited += 1
        return _Failure(429, max(1, math.ceil(wait)), None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "FakeSlack/1.0"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        return Handler

    def _handle(self, req: BaseHTTPRequestHandler, http_method: str) -> None:
        try:
            self._dispatch(req, http_method)
        except Exception as exc:  # a bug in the fake: answer it visibly rather than drop the line
            call = Call("", {}, http_method, req.path)
            self._reply(req, call, 500, {"ok": False, "error": f"fake_slack_bug: {exc!r}"})

    def _dispatch(self, req: BaseHTTPRequestHandler, http_method: str) -> None:
        parts = urlsplit(req.path)
        path = parts.path
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        headers = {key: value for key, value in req.headers.items()}
        content_type = req.headers.get("Content-Type", "")

        if path.startswith("/api/"):
            method = path[len("/api/") :]
            args = _form(parts.query)
            try:
                args.update(self._body_args(content_type, body))
            except ValueError:
                self._reply(
                    req,
                    Call(method, args, http_method, path, headers, body),
                    200,
                    {"ok": False, "error": "invalid_json"},
                )
                return
            _decode_json_fields(args)
            call = Call(method, args, http_method, path, headers, body)
            failure = self._take_failure(method) or self._take_token(method)
            if failure:
                self._fail(req, call, failure)
                return
            if not (req.headers.get("Authorization") or args.get("token")):
                self._reply(req, call, 200, {"ok": False, "error": "not_authed"})
                return
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            result = handler(args) if handler else {"ok": False, "error": "unknown_method"}
            self._reply(req, call, 200, result)
        elif path.startswith("/upload/") and http_method == "POST":
            file_id = path[len("/upload/") :]
            call = Call(UPLOAD, {"file_id": file_id, "content": body}, http_method, path, headers, body)
            failure = self._take_failure(UPLOAD)
            if failure:
                self._fail(req, call, failure)
                return
            with self._cond:
                known = file_id in self._pending_uploads
                if known:
                    self.uploads[file_id] = body
            if known:
                self._reply(req, call, 200, f"OK - {len(body)}", content_type="text/plain")
            else:
                self._reply(req, call, 404, "file not found", content_type="text/plain")
        elif path.startswith("/response/") and http_method == "POST":
            try:
                args = json.loads(body.decode("utf-8")) if body else {}
            except ValueError:
                args = {"_raw": body.decode("utf-8", "replace")}
            if not isinstance(args, dict):
                args = {"_raw": args}
            call = Call(RESPONSE_URL, args, http_method, path, headers, body)
            failure = self._take_failure(RESPONSE_URL)
            if failure:
                self._fail(req, call, failure)
                return
            self._reply(req, call, 200, {"ok": True})
        else:
            call = Call("", _form(parts.query), http_method, path, headers, body)
            self._reply(req, call, 404, {"ok": False, "error": "not_found"})

    @staticmethod
    def _body_args(content_type: str, body: bytes) -> dict[str, Any]:
        if not body:
            return {}
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind == "application/json":
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("JSON body is not an object")
            return data
        if kind == "multipart/form-data":
            return _multipart(content_type, body)
        return _form(body.decode("utf-8", "replace"))

    def _fail(self, req: BaseHTTPRequestHandler, call: Call, failure: _Failure) -> None:
        extra: dict[str, str] = {}
        if failure.error:
            payload = {"ok": False, "error": failure.error}
        elif failure.status == 429:
            payload = {"ok": False, "error": "ratelimited"}
            if failure.retry_after is not None:
                extra["Retry-After"] = str(failure.retry_after)
        else:
            payload = {"ok": False, "error": "internal_error"}
        self._reply(req, call, failure.status, payload, extra_headers=extra)

    def _reply(
        self,
        req: BaseHTTPRequestHandler,
        call: Call,
        status: int,
        payload: Any,
        *,
        content_type: str = "application/json; charset=utf-8",
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        call.status = status
        call.response = payload
        call.at = time.monotonic()
        # Record before answering, so a client that returns has its call visible.
        self._record(call)
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        req.send_response(status)
        req.send_header("Content-Type", content_type)
        req.send_header("Content-Length", str(len(data)))
        for key, value in (extra_headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(data)

    # ------------------------------------------------------------------ methods

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://convenor-test.slack.com/",
            "team": self.team,
            "user": "convenor",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            user = self.users.get(str(args.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _api_users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Slack's name
        wanted = str(args.get("email", "")).strip().lower()
        with self._cond:
            for user in self.users.values():
                if wanted and user["profile"].get("email", "").lower() == wanted:
                    return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": str(args["channel"])}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(users)
        return {"ok": True, "channel": {"id": channel_id}}

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        message = {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "ts": ts}
        for key in ("text", "blocks", "attachments", "thread_ts"):
            if key in args:
                message[key] = args[key]
        return message

    def _check_message(self, args: dict[str, Any]) -> str | None:
        if not args.get("channel"):
            return "channel_not_found"
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return "no_text"
        if _blocks_count(args.get("blocks")) > MAX_MESSAGE_BLOCKS:
            return "invalid_blocks"
        return None

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if error := self._check_message(args):
            return {"ok": False, "error": error}
        ts = self._ts()
        return {"ok": True, "channel": str(args["channel"]), "ts": ts, "message": self._message(args, ts)}

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """The bot's messages posted to a conversation, newest first (``limit``, default 100)."""
        channel = str(args.get("channel", ""))
        limit = int(args.get("limit", 100) or 100)
        with self._cond:
            posted = [c for c in self.calls if c.method == "chat.postMessage"
                      and str(c.args.get("channel")) == channel and c.status == 200
                      and isinstance(c.response, dict) and c.response.get("ok")]
        messages = [{"type": "message", "user": self.bot_user_id, "text": c.args.get("text", ""),
                     "blocks": c.args.get("blocks") or []} for c in reversed(posted)]
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if error := self._check_message(args):
            return {"ok": False, "error": error}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._ts()}

    def _api_chat_scheduleMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if error := self._check_message(args):
            return {"ok": False, "error": error}
        try:
            post_at = int(float(args.get("post_at", "")))
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_time"}
        now = self.clock()
        if post_at < now:
            return {"ok": False, "error": "time_in_past"}
        if post_at > now + SCHEDULE_MAX_AHEAD_S:
            return {"ok": False, "error": "time_too_far"}
        channel = str(args["channel"])
        with self._cond:
            recent = [
                m
                for m in self.scheduled.values()
                if m["channel_id"] == channel and m["date_created"] > now - SCHEDULE_WINDOW_S
            ]
            if len(recent) >= SCHEDULE_PER_CHANNEL:
                return {"ok": False, "error": "restricted_too_many"}
            message_id = self._next_id("Q")
            self.scheduled[message_id] = {
                "id": message_id,
                "channel_id": channel,
                "post_at": post_at,
                "date_created": int(now),
                "text": args.get("text", ""),
                "blocks": args.get("blocks"),
            }
        message = self._message(args, "")
        message.pop("ts")
        return {
            "ok": True,
            "channel": channel,
            "scheduled_message_id": message_id,
            "post_at": post_at,
            "message": message,
        }

    def _api_chat_deleteScheduledMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        message_id = str(args.get("scheduled_message_id", ""))
        with self._cond:
            found = self.scheduled.get(message_id)
            if found is None or found["channel_id"] != str(args.get("channel", "")):
                return {"ok": False, "error": "invalid_scheduled_message_id"}
            del self.scheduled[message_id]
        return {"ok": True}

    def _api_chat_scheduledMessages_list(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        channel = args.get("channel")
        with self._cond:
            items = [
                {key: m[key] for key in ("id", "channel_id", "post_at", "date_created", "text")}
                for m in self.scheduled.values()
                if not channel or m["channel_id"] == channel
            ]
        items.sort(key=lambda m: m["post_at"])
        return {"ok": True, "scheduled_messages": items, "response_metadata": {"next_cursor": ""}}

    def _view(self, args: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or "type" not in view:
            return {"ok": False, "error": "invalid_arguments"}
        if _blocks_count(view.get("blocks")) > MAX_VIEW_BLOCKS:
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {
                    "messages": ["[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"]
                },
            }
        view_id = view_id or self._next_id("V")
        shown = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "hash": self._next_id("h"),
            "state": {"values": {}},
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **view,
        }
        shown["id"] = view_id
        return {"ok": True, "view": shown}

    def _api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args)

    def _api_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._api_views_open(args)

    def _api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or args.get("external_id")
        if not view_id:
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args, str(view_id))

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args)

    def _api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        with self._cond:
            self._pending_uploads[file_id] = {
                "filename": args["filename"],
                "length": int(args["length"]),
                "alt_txt": args.get("alt_txt"),
            }
        return {"ok": True, "upload_url": f"{self.root}upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        out = []
        with self._cond:
            for item in files:
                file_id = item.get("id") if isinstance(item, dict) else None
                pending = self._pending_uploads.get(file_id or "")
                if pending is None or file_id not in self.uploads:
                    return {"ok": False, "error": "file_not_found"}
                out.append(
                    {
                        "id": file_id,
                        "name": pending["filename"],
                        "title": item.get("title") or pending["filename"],
                        "alt_txt": pending["alt_txt"],
                        "size": len(self.uploads[file_id]),
                        "channels": [args["channel_id"]] if args.get("channel_id") else [],
                    }
                )
        return {"ok": True, "files": out}
