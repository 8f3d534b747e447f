"""The web chat on the delegate's page: Socket.IO ``ask`` on ``/live``, answered through the
acknowledgement with the same ``Reply`` the Slack bot sends, as text and links."""

from __future__ import annotations

import time

from flask import Flask, request

from bot import answers, blocks, intents
from bot.reply import Reply
from events.conference import services
from events.errors import ConvenorError
from events.extensions import socketio

NAMESPACE = "/live"
MAX_QUESTION = 500
#: Seconds between two questions from one connection.
MIN_INTERVAL = 1.0
#: Intents the web chat answers; sign-up and linking belong to Slack.
WEB_INTENTS = {"next", "agenda", "table", "host", "roster", "when", "where"}
_last_asked: dict[str, float] = {}


def reply_json(reply: Reply) -> dict:
    """Return a reply as plain JSON for the page (rendered with textContent, never as HTML)."""
    return {"text": reply.text, "code": reply.code,
            "items": [{"title": i.title, "when": i.when, "where": i.where, "detail": i.detail,
                       "status": i.status} for i in reply.items],
            "links": [{"label": link.label, "url": link.url} for link in reply.links
                      if link.url.startswith(("http://", "https://", "/"))],
            "plain": blocks.to_text(reply)}


def web_help() -> Reply:
    """Return the web chat's help: the questions it answers (no Slack commands)."""
    return Reply("Ask me “what's next?”, “my agenda for tomorrow”, “which table am I on in round "
                 "3?”, “who is at my table?” or “when is the keynote?”.", code="help")


def on_ask(data):
    """Answer a question typed in the chat box of a delegate's page."""
    sid = getattr(request, "sid", "")
    now = time.monotonic()
    last = _last_asked.get(sid)
    if last is not None and now - last < MIN_INTERVAL:
        return reply_json(Reply("One question a second, please.", code="too_fast"))
    _last_asked[sid] = now
    if len(_last_asked) > 10000:  # forget idle connections
        _last_asked.clear()
    if not isinstance(data, dict):
        return reply_json(Reply("Send {delegate_token, text}.", code="bad_request"))
    token, text = data.get("delegate_token"), data.get("text")
    if not isinstance(token, str) or not isinstance(text, str) or not text.strip():
        return reply_json(Reply("Type a question first.", code="bad_request"))
    if len(text) > MAX_QUESTION:
        return reply_json(Reply(f"Please keep questions under {MAX_QUESTION} characters.",
                                code="too_long"))
    try:
        delegate = services.delegate_by_token(token)
    except ConvenorError:
        return reply_json(Reply("This link is not valid any more — use the newest link you were "
                                "sent.", code="not_found"))
    if delegate.status == "cancelled":
        return reply_json(Reply("Your registration was withdrawn — ask the organisers.",
                                code="canceled"))
    intent = intents.parse(text)
    if intent.name not in WEB_INTENTS:
        return reply_json(web_help())
    return reply_json(answers.answer(intent, delegate))


def install(app: Flask) -> None:
    """Attach the ``ask`` handler to the Socket.IO server ``create_app`` set up."""
    socketio.on_event("ask", on_ask, namespace=NAMESPACE)
