"""The Slack channel of the notification outbox: DMs, Slack-scheduled reminders, and taking
them back — the sender ``events.notify.worker`` calls for every ``slack`` notice.

It runs in the worker (never in a request). It uses its own Web API client without the rate-limit
retry handler, so a 429 comes back to the worker, which waits ``Retry-After`` and pauses Slack
sends meanwhile instead of sleeping in a thread. Each message carries the notice's id in a
``block_id``; after a crash the worker passes ``recovering=True`` and the sender first looks in
the DM's recent history for that id, so a message that went out just before the crash is not
posted twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.blocks import escape, is_web_url
from bot.models import SlackLookup, SlackUser
from events.conference import services as conference_services
from events.conference.models import Delegate
from events.errors import ConvenorError
from events.extensions import db
from events.notify.models import UNSCHEDULE, Notice
from events.notify.worker import HANDOFF, Outcome

log = logging.getLogger(__name__)

ICONS = {"change": "🔔", "seats": "🪑", "reminder": "⏰", "starting": "▶️"}


def client() -> WebClient | None:
    """The worker's Web API client (``None`` when the bot is not configured)."""
    app = current_app._get_current_object()
    config = app.config
    if not (config.get("SLACK_BOT_TOKEN") and config.get("SLACK_SIGNING_SECRET")):
        return None
    made = app.extensions.get("convenor_slack_notify_client")
    if made is None:
        made = WebClient(token=config["SLACK_BOT_TOKEN"], base_url=config["SLACK_API_URL"],
                         timeout=15)
        app.extensions["convenor_slack_notify_client"] = made
    return made


def marker(notice: Notice) -> str:
    """The ``block_id`` that identifies a notice's message in the DM's history."""
    return f"convenor-notice-{notice.id}"


def render(notices: list[Notice], delegate: Delegate | None) -> tuple[str, list[dict]]:
    """Return the fallback text and the blocks of one message for ``notices`` (a merged group
    of changes, or one notice). Every user-supplied string is escaped."""
    first = notices[0]
    icon = ICONS.get(first.kind, "🔔")
    parts: list[str] = []
    lines: list[str] = []
    for notice in notices:
        payload = notice.payload or {}
        if payload.get("text") and payload.get("lines") != [payload.get("text")]:
            parts.append(payload["text"])
        lines += [line for line in payload.get("lines", []) if line not in lines]
    head = parts[0] if len(parts) == 1 else ("What changed for you:" if len(notices) > 1 else "")
    body = "\n".join(f"• {escape(line)}" for line in lines) if len(lines) > 1 or head else \
        escape(lines[0] if lines else first.payload.get("text", ""))
    text_md = f"{icon} *{escape(head)}*\n{body}" if head else f"{icon} {body}"
    blocks: list[dict] = [{"type": "section", "block_id": marker(first),
                           "text": {"type": "mrkdwn", "text": text_md[:2900]}}]
    base = current_app.config.get("PUBLIC_URL", "")
    if delegate is not None and is_web_url(base):
        page = f"{base}/me/{delegate.token}"
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": f"<{page}|Your day> · <{page}/agenda.ics|calendar feed> · "
                    "`/convenor reminders off` to stop reminders"}]})
    plain = " ".join([head] + lines) if head else " ".join(lines)
    # The fallback text is shown in notifications and parsed too: escaped like the blocks.
    return escape(f"{icon} {plain}"[:3000]), blocks


def _dm_channel(web: WebClient, user_id: str, slack_user: SlackUser | None = None) -> str:
    if slack_user is None:
        slack_user = db.session.scalar(
            select(SlackUser).where(SlackUser.slack_user_id == user_id))
    if slack_user is not None and slack_user.dm_channel_id:
        return slack_user.dm_channel_id
    channel = web.conversations_open(users=user_id)["channel"]["id"]
    if slack_user is None:
        slack_user = SlackUser(slack_user_id=user_id)
        db.session.add(slack_user)
    slack_user.dm_channel_id = channel
    return channel


def _already_posted(web: WebClient, channel: str, notice: Notice) -> bool:
    """Whether the message of ``notice`` is in the DM already (a crash after Slack took it)."""
    try:
        history = web.conversations_history(channel=channel, limit=100)
    except SlackApiError:
        return False
    wanted = marker(notice)
    return any(block.get("block_id") == wanted
               for message in history.get("messages", []) for block in message.get("blocks") or [])


def _already_scheduled(web: WebClient, channel: str, notice: Notice, text: str) -> str | None:
    """The id of this reminder in Slack's schedule, if a crash hid that it was handed over."""
    try:
        listed = web.chat_scheduledMessages_list(channel=channel)
    except SlackApiError:
        return None
    post_at = int(notice.due_at.timestamp())
    for message in listed.get("scheduled_messages", []):
        if int(message.get("post_at", 0)) == post_at and message.get("text") == text:
            return message.get("id")
    return None


def send(notices: list[Notice], *, now: datetime, recovering: bool = False) -> Outcome:
    """Deliver ``notices`` (one message) to their Slack user; see the module docstring."""
    web = client()
    if web is None:
        return Outcome("cancelled", "the Slack bot is not configured")
    first = notices[0]
    try:
        if first.status == UNSCHEDULE:
            if first.scheduled_message_id and first.delivered_to:
                web.chat_deleteScheduledMessage(channel=first.delivered_to,
                                                scheduled_message_id=first.scheduled_message_id)
            return Outcome("unscheduled", "replaced or no longer needed")
        # Read fresh: the worker's commits do not expire what an earlier notice loaded.
        slack_user = db.session.scalar(
            select(SlackUser).where(SlackUser.slack_user_id == first.recipient)
            .execution_options(populate_existing=True))
        if first.kind in ("reminder", "starting") and slack_user is not None \
                and not slack_user.reminders:
            return Outcome("cancelled", "reminders turned off")
        delegate = db.session.get(Delegate, first.delegate_id, populate_existing=True) \
            if first.delegate_id else None
        channel = _dm_channel(web, first.recipient, slack_user)
        text, blocks = render(notices, delegate)
        ahead = first.kind == "reminder" and first.due_at - now > HANDOFF
        if recovering and not ahead and _already_posted(web, channel, first):
            return Outcome("sent", "found in the DM after a restart", delivered_to=channel)
        if recovering and ahead:
            found = _already_scheduled(web, channel, first, text)
            if found:
                return Outcome("scheduled", "found in Slack's schedule after a restart",
                               scheduled_message_id=found, delivered_to=channel)
        if ahead:
            answer = web.chat_scheduleMessage(channel=channel, text=text, blocks=blocks,
                                              post_at=int(first.due_at.timestamp()))
            return Outcome("scheduled", scheduled_message_id=answer["scheduled_message_id"],
                           delivered_to=channel)
        web.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return Outcome("sent", delivered_to=channel)
    except SlackApiError as exc:
        response = exc.response
        status = getattr(response, "status_code", None)
        error = response.get("error") if response is not None else str(exc)
        if status == 429:
            try:
                wait = float(response.headers.get("Retry-After", "30"))
            except (TypeError, ValueError):
                wait = 30.0
            return Outcome("retry", "Slack rate limit", retry_after=max(1.0, wait))
        if first.status == UNSCHEDULE and error == "invalid_scheduled_message_id":
            return Outcome("unscheduled", "already gone from Slack's schedule")
        if error in ("user_not_found", "account_inactive", "cannot_dm_bot", "user_disabled"):
            return Outcome("cancelled", f"Slack: {error}")
        return Outcome("error", f"Slack: {error}")
    except OSError as exc:  # connection refused, timeout
        return Outcome("error", f"could not reach Slack: {exc}")


# --------------------------------------------------------------------------- finding delegates on Slack

#: Lookups per reconcile pass (``users.lookupByEmail`` is a Tier 3 method: about 50 a minute).
LOOKUPS_PER_PASS = 20
#: A miss is asked again after this long.
LOOKUP_AGAIN_AFTER = timedelta(days=1)


def discover(now: datetime) -> int:
    """Reconcile step: find active delegates who are on this Slack workspace under their
    registration email (``users.lookupByEmail``) and link them, so they are told on Slack; each
    address is asked at most once a day. Returns 0 (it enqueues nothing itself)."""
    from bot import services as bot_services

    web = client()
    conference = bot_services.served_conference(
        current_app.config.get("CONVENOR_SLACK_CONFERENCE")) if web is not None else None
    if conference is None:
        return 0
    recent = select(SlackLookup.email).where(SlackLookup.looked_up_at > now - LOOKUP_AGAIN_AFTER)
    people = db.session.scalars(
        select(Delegate).where(Delegate.conference_id == conference.id,
                               Delegate.status == "active", Delegate.slack_user_id.is_(None),
                               Delegate.email != "", Delegate.email.not_in(recent))
        .order_by(Delegate.id).limit(LOOKUPS_PER_PASS)).all()
    for delegate in people:
        email = delegate.email
        try:
            user = web.users_lookupByEmail(email=email).get("user") or {}
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error != "users_not_found":
                log.info("users.lookupByEmail stopped this pass: %s", error)
                break  # rate limited or failing: try again next pass
            user = {}
        found = user.get("id") if user and not user.get("deleted") and not user.get("is_bot") \
            else None
        row = db.session.scalar(select(SlackLookup).where(SlackLookup.email == email)) \
            or SlackLookup(email=email)
        row.slack_user_id, row.looked_up_at = found, now
        db.session.add(row)
        db.session.commit()
        if found:
            try:
                conference_services.link_slack_user(conference, found, email)
            except ConvenorError as exc:  # linked to someone else meanwhile: leave it
                db.session.rollback()
                log.info("not linking %s: %s", found, exc.message)
    return 0
