"""The Slack adapter: ``POST /slack/events`` through Bolt, thin over ``bot.answers`` and the services.

Every listener acknowledges first. Answers that need only the database come back in the ack
(``process_before_response=True``: the ack is the HTTP response); anything that calls Slack's Web
API or takes longer (looking a new user up, opening a modal, allocating, publishing) runs in a
lazy listener on ``AppContextExecutor`` and reports through ``respond()`` or a DM.

The route verifies the signature itself before Bolt parses anything (Bolt's own path answers 500
to a malformed timestamp, signature or body), and a global middleware drops Slack's retries and
replays by ``event_id`` / ``trigger_id``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from flask import Blueprint, Flask, current_app, jsonify, request
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from bot import answers, blocks, intents
from bot import services as bot_services
from bot.reply import Action, Item, Reply
from carousels.rounds import services as rounds
from carousels.workshops import services as workshop_services
from events.checkin import badges
from events.checkin import services as checkin
from events.conference import services
from events.conference.models import Conference, Delegate, Organiser
from events.errors import ConvenorError

log = logging.getLogger(__name__)

bp = Blueprint("slack", __name__)

TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")
SIGNATURE_RE = re.compile(r"v0=[0-9a-f]{64}")
ORGANISER_COMMANDS = {"allocate", "publish", "round", "announce", "stats"}
REFUSAL = "Only the conference's organisers can do that."
USAGE = {
    "allocate": "Usage: `/convenor allocate cafe|carousel|<session id>`",
    "publish": "Usage: `/convenor publish cafe|carousel|<session id> [version]`",
    "round": "Usage: `/convenor round cafe|carousel|<session id> <n> start`",
    "announce": "Usage: `/convenor announce <text>`",
    "link": "Usage: `/convenor link ABCD-EFGH` (the code from your page)",
    "reminders": "Usage: `/convenor reminders on|off`",
    "agenda": "Usage: `/convenor agenda [today|tomorrow|YYYY-MM-DD]`",
    "table": "Usage: `/convenor table [round]`",
    "cancel": "Usage: `/convenor cancel` (then press the button to confirm)",
}
#: Commands a known delegate gets answered in the ack (an unknown one is looked up after it).
DELEGATE_COMMANDS = ("next", "agenda", "table", "cancel")


# --------------------------------------------------------------------------- wiring


class AppContextExecutor(ThreadPoolExecutor):
    """Run Bolt's lazy listeners inside a Flask app context, with a fresh database session."""

    def __init__(self, flask_app: Flask, max_workers: int = 8):
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-lazy")
        self.flask_app = flask_app

    def submit(self, fn, /, *args, **kwargs):  # noqa: D102 - Executor's contract
        def run():
            with self.flask_app.app_context():
                try:
                    return fn(*args, **kwargs)
                except Exception:  # pragma: no cover - logged, the ack has already gone
                    log.exception("Slack lazy listener failed")
                    raise
                finally:
                    bot_services.end_session()

        return super().submit(run)


def build(flask_app: Flask) -> App:
    """Build the Bolt app for ``flask_app`` with every listener registered."""
    client = WebClient(token=flask_app.config["SLACK_BOT_TOKEN"],
                       base_url=flask_app.config["SLACK_API_URL"])
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    # request_verification_enabled=False: the route (slack_events) has already checked the
    # headers' shape and the signature of every request Bolt sees — it is the only way in, and
    # its 401 cases are tested — so Bolt's own second HMAC check is skipped.
    bolt = App(signing_secret=flask_app.config["SLACK_SIGNING_SECRET"], client=client,
               token_verification_enabled=False, process_before_response=True,
               request_verification_enabled=False,
               listener_executor=AppContextExecutor(flask_app))
    bolt.middleware(dedupe)
    bolt.error(forget_failed)
    # No lazy= here: ack_convenor queues run_convenor itself, only for the commands that need
    # it (a Bolt lazy listener would copy the whole request and start a thread for every one).
    bolt.command("/convenor")(ack_convenor)
    bolt.view("signup")(ack=check_signup, lazy=[save_signup])
    bolt.view("prefs")(ack=save_prefs, lazy=[after_prefs])
    bolt.event("message")(ack=_ack, lazy=[answer_dm])
    bolt.event("app_mention")(ack=_ack, lazy=[answer_mention])
    bolt.event("app_home_opened")(ack=_ack, lazy=[publish_home])
    for action_id in ("home_next", "home_table", "home_stats"):
        bolt.action(action_id)(ack=_ack, lazy=[home_action])
    bolt.action("cancel_confirm")(ack=_ack, lazy=[confirm_cancel])
    bolt.action("cancel_keep")(ack=_ack, lazy=[keep_place])
    bolt.action("home_prefs")(ack=_ack, lazy=[open_prefs_action])
    bolt.action("home_signup")(ack=_ack, lazy=[open_signup_action])
    return bolt


def _ack(ack):
    ack()


@bp.post("/slack/events")
def slack_events():
    """Receive Events API callbacks, slash commands and interactivity from Slack."""
    handler: SlackRequestHandler | None = current_app.extensions.get("convenor_slack")
    if handler is None:
        return jsonify({"error": "the Slack bot is not configured on this server", "details": []}), 404
    raw = request.get_data(cache=True)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _unauthorised("the body is not UTF-8")
    if not TIMESTAMP_RE.fullmatch(timestamp) or not SIGNATURE_RE.fullmatch(signature):
        return _unauthorised("missing or malformed Slack signature headers")
    verifier = SignatureVerifier(current_app.config["SLACK_SIGNING_SECRET"])
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return _unauthorised("the Slack signature does not match")
    if not _known_shape(body, request.content_type or ""):
        return jsonify({"error": "not a slash command, interaction or Events API callback",
                        "details": []}), 400
    response = handler.handle(request)
    if response.status_code == 404:
        # A verified callback the bot has no listener for: 200, or Slack would retry it.
        return "", 200
    return response


def _unauthorised(message: str):
    return jsonify({"error": message, "details": []}), 401


def _known_shape(body: str, content_type: str) -> bool:
    """Return whether a verified body is a command, an interaction or an Events API envelope."""
    if not body.strip():
        return False
    if content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("type") in ("url_verification", "event_callback")
    form = parse_qs(body)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return False
        return isinstance(payload, dict) and isinstance(payload.get("type"), str)
    return "command" in form and "user_id" in form


def install(app: Flask) -> None:
    """Turn the bot on when both Slack secrets are set; always register the route.

    ``bot.install`` exempts the blueprint from CSRF (Slack signs its requests instead).
    """
    app.register_blueprint(bp)
    if app.config.get("SLACK_BOT_TOKEN") and app.config.get("SLACK_SIGNING_SECRET"):
        bolt = build(app)
        app.extensions["convenor_slack_bolt"] = bolt
        app.extensions["convenor_slack"] = SlackRequestHandler(bolt)


# --------------------------------------------------------------------------- dedupe


def _receipt_key(body: dict) -> str | None:
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def dedupe(body, next, logger):  # noqa: A002 - Bolt passes ``next`` by name
    """Process each event or interaction once: a retry or replay gets an empty 200."""
    key = _receipt_key(body)
    if key is None:
        return next()
    if not bot_services.record_receipt(key):
        return BoltResponse(status=200, body="")
    return next()


def forget_failed(error, body, logger):
    """Let Slack's retry redo a request whose listener failed: drop its receipt."""
    log.error("Slack listener failed: %s", error)
    bot_services.forget_receipt(_receipt_key(body or {}))
    return BoltResponse(status=500, body="")


# --------------------------------------------------------------------------- who is who


def served_conference() -> Conference | None:
    """Return the conference this workspace serves (configured, or the only published one)."""
    return bot_services.served_conference(current_app.config.get("CONVENOR_SLACK_CONFERENCE"))


WITHDRAWN = Reply("Your registration was withdrawn — ask the organisers.", code="canceled")
NOT_CONNECTED = Reply("This Slack workspace is not connected to a conference yet — "
                      "ask the organisers.", code="not_connected")


def base_url() -> str:
    """Return the public base URL for links the bot sends."""
    return current_app.config.get("PUBLIC_URL", "")


def slack_profile(client: WebClient, user_id: str) -> dict:
    """Return the Slack user (``users.info``); an empty dict when Slack does not know them.

    Any other failure raises ``SlackApiError``: the caller tells the user it could not finish
    (rather than "I don't know you", which would be wrong).
    """
    try:
        return client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        if (exc.response.get("error") if exc.response is not None else None) == "user_not_found":
            return {}
        raise


COULD_NOT_FINISH = "Sorry — Slack did not answer in time, so I could not finish. Please try again."


def tells_on_slack_failure(listener):
    """Wrap a lazy listener: when Slack's Web API fails it (after the client's retries), tell the
    user in a DM that it could not finish instead of failing silently."""

    @functools.wraps(listener)
    def run(**kwargs):
        try:
            return listener(**kwargs)
        except SlackApiError as exc:
            log.warning("Slack API failed in %s: %s", listener.__name__, exc)
            event, body = kwargs.get("event") or {}, kwargs.get("body") or {}
            user_id = event.get("user") or (body.get("user") or {}).get("id")
            client = kwargs.get("client")
            if user_id and client is not None:
                try:
                    dm(client, user_id, Reply(COULD_NOT_FINISH, code="slack_failed"))
                except SlackApiError:
                    log.warning("could not tell %s either", user_id)

    return run


def resolve_delegate(conference: Conference, user_id: str,
                     client: WebClient | None) -> tuple[Delegate | None, Reply | None]:
    """Return the Slack user's delegate, linking by their Slack email when ``client`` is given.

    Without a delegate, the second value says what they can do (sign up, link, ask).
    """
    delegate = services.delegate_for_slack_user(conference, user_id)
    if delegate is not None:
        if delegate.status == "cancelled":
            return None, WITHDRAWN
        return delegate, None
    if client is not None:
        profile = slack_profile(client, user_id)
        email = (profile.get("profile") or {}).get("email")
        if email and not profile.get("is_bot") and not profile.get("deleted"):
            try:
                return services.link_slack_user(conference, user_id, email), None
            except ConvenorError as exc:
                if exc.code != "not_found":
                    return None, Reply(exc.message, code=exc.code)
    return None, unknown_person(conference)


def unknown_person(conference: Conference) -> Reply:
    """Tell someone the bot does not know what they can do next."""
    actions = []
    text = "I don't know you yet. "
    if conference.published and conference.registration_open:
        text += "Type `/convenor signup` to register, or if"
        actions.append(Action("Sign up", "home_signup", style="primary"))
    else:
        text += "If"
    text += (" you registered with another email, type `/convenor link CODE` with the code "
             "from “Link Slack” on your page, or ask an organiser.")
    return Reply(text, actions=actions, code="unknown_user")


def resolve_organiser(conference: Conference, user_id: str,
                      client: WebClient | None) -> Organiser | None:
    """Return the organiser this Slack user is, if they manage ``conference``; else None.

    The first time, the Slack profile's email must match an organiser's (guests, bots and
    deleted users never match); the link is then kept on ``SlackUser``.
    """
    organiser = bot_services.linked_organiser(user_id)
    if organiser is None and client is not None:
        profile = slack_profile(client, user_id)
        email = (profile.get("profile") or {}).get("email") or ""
        refused = (profile.get("is_bot") or profile.get("deleted") or profile.get("is_restricted")
                   or profile.get("is_ultra_restricted"))
        if email and not refused:
            organiser = bot_services.link_organiser(user_id, email)
    if organiser is None:
        return None
    try:
        services.require_manager(organiser, conference)
    except ConvenorError:
        return None
    return organiser


def known_organiser(user_id: str) -> bool:
    """Return whether this Slack user is already linked to an organiser (no Slack call)."""
    return bot_services.is_linked_organiser(user_id)


def set_reminders(user_id: str, on: bool) -> Reply:
    """Store the user's reminder setting."""
    bot_services.set_reminders(user_id, on)
    return Reply("Reminders are on: I'll tell you where to go 5 minutes before each of your "
                 "rounds." if on else "Reminders are off. Type `/convenor reminders on` to turn "
                 "them back on.")


# --------------------------------------------------------------------------- /convenor


def _message(reply: Reply) -> dict:
    # The fallback text is shown in notifications and parsed like mrkdwn: escape it too.
    return {"text": blocks.escape(blocks.to_text(reply))[:3000], "blocks": blocks.to_blocks(reply)}


def plan_command(text: str, user_id: str) -> tuple[str, Reply | None]:
    """Decide a ``/convenor`` command in the request thread (database only).

    Returns ``("done", reply)`` when the ack can answer, or ``("lazy", interim)`` when Slack's
    Web API or slow work is needed (``interim`` may be None: an empty ack).
    """
    # One query: the served conference, this Slack user's delegate and linked organiser.
    who = bot_services.who_is(current_app.config.get("CONVENOR_SLACK_CONFERENCE"), user_id)
    conference = who.conference
    if conference is None:
        return "done", NOT_CONNECTED
    words = text.split()
    sub = words[0].lower() if words else "help"
    args = words[1:]
    manager = _manager(who.organiser, conference)
    if sub in ORGANISER_COMMANDS:
        if who.organiser is None:
            return "lazy", None
        return plan_organiser(conference, sub, args, text, manager)
    if sub in ("signup", "prefs"):
        return "lazy", None
    if sub == "reminders":
        if len(args) != 1 or args[0].lower() not in ("on", "off"):
            return "done", Reply(USAGE["reminders"], code="usage")
        return "done", set_reminders(user_id, args[0].lower() == "on")
    if sub == "link":
        if len(args) != 1:
            return "done", Reply(USAGE["link"], code="usage")
        try:
            delegate = services.redeem_slack_link_code(conference, args[0], user_id)
        except ConvenorError as exc:
            return "done", Reply(exc.message, code=exc.code)
        return "done", Reply(f"Linked: you are {delegate.name} on Slack now.",
                             links=answers.delegate_links(delegate, base_url()))
    if sub == "help" or sub not in DELEGATE_COMMANDS:
        if who.organiser is not None or who.delegate is not None:
            # Door staff are linked too: require_manager decides who sees organiser commands.
            return "done", answers.help_reply(organiser=manager is not None)
        return "lazy", None  # an organiser Slack has not matched yet gets their commands too
    if who.delegate is not None and who.delegate.status == "cancelled":
        return "done", WITHDRAWN
    if who.delegate is None:
        if sub == "cancel" and who.organiser is not None:
            return "done", answers.nothing_to_cancel(conference, organiser=manager is not None)
        return "lazy", None
    return "done", delegate_command(who.delegate, sub, args)


def _manager(organiser: Organiser | None, conference: Conference) -> Organiser | None:
    """Return ``organiser`` if they manage ``conference`` (``require_manager``), else None."""
    if organiser is None:
        return None
    try:
        services.require_manager(organiser, conference)
    except ConvenorError:
        return None
    return organiser


def delegate_command(delegate: Delegate, sub: str, args: list[str]) -> Reply:
    """Answer ``next``, ``agenda`` and ``table`` for a known delegate."""
    if sub == "next":
        kind = intents.parse("next " + " ".join(args)).kind if args else None
        return answers.answer_next(delegate, kind=kind, base_url=base_url())
    if sub == "agenda":
        if len(args) > 1:
            return Reply(USAGE["agenda"], code="usage")
        return answers.answer_agenda(delegate, day=args[0].lower() if args else None,
                                     base_url=base_url())
    if sub == "cancel":
        return Reply(USAGE["cancel"], code="usage") if args else answers.cancel_prompt(delegate)
    if args and not (len(args) == 1 and args[0].isdigit()):
        return Reply(USAGE["table"], code="usage")
    return answers.answer_table(delegate, round_number=int(args[0]) if args else None)


def plan_organiser(conference: Conference, sub: str, args: list[str], text: str,
                   organiser: Organiser | None) -> tuple[str, Reply | None]:
    """Check an organiser command's arguments; stats answers at once, the rest run lazily.

    ``organiser`` is the manager of ``conference`` this Slack user is, or None (refused).
    """
    if organiser is None:
        return "done", Reply(REFUSAL, code="forbidden")
    if sub == "stats":
        return "done", answers.stats_reply(conference)
    if sub == "announce":
        if not text.split(None, 1)[1:]:
            return "done", Reply(USAGE["announce"], code="usage")
        return "lazy", Reply("Sending the announcement …")
    if sub == "allocate" and len(args) != 1:
        return "done", Reply(USAGE["allocate"], code="usage")
    if sub == "publish" and not (1 <= len(args) <= 2 and (len(args) == 1 or args[1].isdigit())):
        return "done", Reply(USAGE["publish"], code="usage")
    if sub == "round" and not (len(args) == 3 and args[1].isdigit() and args[2].lower() == "start"):
        return "done", Reply(USAGE["round"], code="usage")
    try:
        session = rounds.get_block(conference, args[0])
    except ConvenorError as exc:
        return "done", _error_reply(exc)
    if sub == "allocate":
        return "lazy", answers.allocate_started(session)
    return "lazy", Reply(f"Working on {session.title} …")


def _error_reply(exc: ConvenorError) -> Reply:
    if exc.code == "ambiguous":
        choices = [Item(str(d.get("title", d)), detail=f"id {d.get('id')}") if isinstance(d, dict)
                   else Item(str(d)) for d in exc.details]
        return Reply(exc.message + " Choose one by its id:", items=choices, code="ambiguous")
    return Reply(exc.message, code=exc.code)


def ack_convenor(ack, command, client: WebClient, respond=None):
    """Answer ``/convenor …`` at once when the database suffices; otherwise ack and go lazy."""
    decision, reply = plan_command(command.get("text", ""), command["user_id"])
    if reply is None:
        ack()
    else:
        ack(response_type="ephemeral", **_message(reply))
    if decision == "lazy":
        # Only what the ack could not answer runs after it (deciding again would redo the
        # ack's writes, such as redeeming a link code twice).
        later(run_convenor, command=dict(command), client=client, respond=respond)


def later(fn, /, **kwargs) -> None:
    """Run ``fn(**kwargs)`` after the ack, on the lazy listeners' executor (with an app context)."""
    bolt: App = current_app.extensions["convenor_slack_bolt"]
    bolt.listener_runner.listener_executor.submit(fn, **kwargs)


def run_convenor(command, client: WebClient, respond=None):
    """Do the slow part of ``/convenor …``: look the user up, open a modal, run organiser work."""
    text = command.get("text", "")
    user_id = command["user_id"]
    conference = served_conference()
    if conference is None:
        return
    words = text.split()
    sub = words[0].lower() if words else "help"
    try:
        if sub == "signup":
            open_signup(client, conference, user_id, command.get("trigger_id"), respond)
        elif sub == "prefs":
            open_prefs(client, conference, user_id, command.get("trigger_id"), respond)
        elif sub in ORGANISER_COMMANDS:
            run_organiser(client, conference, sub, words[1:], text, user_id, respond)
        elif sub not in DELEGATE_COMMANDS:
            organiser = resolve_organiser(conference, user_id, client)
            respond(response_type="ephemeral", replace_original=False,
                    **_message(answers.help_reply(organiser=organiser is not None)))
        else:
            delegate, problem = resolve_delegate(conference, user_id, client)
            if delegate is None and sub == "cancel" and (problem is None
                                                         or problem.code == "unknown_user"):
                organiser = resolve_organiser(conference, user_id, client) is not None
                problem = answers.nothing_to_cancel(conference, organiser=organiser)
            reply = problem if delegate is None else delegate_command(delegate, sub, words[1:])
            respond(response_type="ephemeral", replace_original=False, **_message(reply))
    except SlackApiError as exc:
        log.warning("Slack API failed for /convenor %s: %s", sub, exc)
        respond(response_type="ephemeral", replace_original=False,
                text=COULD_NOT_FINISH)


def run_organiser(client: WebClient, conference: Conference, sub: str, args: list[str],
                  text: str, user_id: str, respond) -> None:
    """Run an organiser command after the ack; report through ``respond`` and a DM."""
    organiser = resolve_organiser(conference, user_id, client)
    if organiser is None:
        respond(response_type="ephemeral", replace_original=False, text=REFUSAL)
        return
    decision, interim = plan_organiser(conference, sub, args, text, organiser)
    if decision == "done":
        respond(response_type="ephemeral", replace_original=False, **_message(interim))
        return
    try:
        if sub == "announce":
            reply = answers.announce(conference, text.split(None, 1)[1], organiser,
                                     channel=bool(current_app.config.get("CONVENOR_SLACK_CHANNEL")))
        elif sub == "allocate":
            session = rounds.get_block(conference, args[0])
            plan = rounds.allocate(session)
            dm(client, user_id, answers.allocation_report(session, plan, base_url=base_url()))
            return
        elif sub == "publish":
            session = rounds.get_block(conference, args[0])
            result = rounds.publish(session, int(args[1]) if len(args) > 1 else None)
            reply = answers.publish_report(session, result)
        else:
            session = rounds.get_block(conference, args[0])
            result = rounds.start(session, int(args[1]))
            reply = answers.round_report(session, result)
    except ConvenorError as exc:
        bot_services.discard_changes()
        reply = _error_reply(exc)
    respond(response_type="ephemeral", replace_original=False, **_message(reply))


def dm(client: WebClient, user_id: str, reply: Reply) -> str:
    """Send ``reply`` to the user's DM; return the DM channel id (kept on ``SlackUser``)."""
    channel = dm_channel(client, user_id)
    client.chat_postMessage(channel=channel, **_message(reply))
    return channel


def dm_channel(client: WebClient, user_id: str) -> str:
    """Return the user's DM conversation id, opening it once and remembering it."""
    known = bot_services.dm_channel_id(user_id)
    if known:
        return known
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    bot_services.remember_dm_channel(user_id, channel)
    return channel


# --------------------------------------------------------------------------- sign-up


def _input(block_id: str, label: str, *, initial: str = "", optional: bool = True,
           multiline: bool = False, max_length: int = 200) -> dict:
    element = {"type": "plain_text_input", "action_id": "value", "max_length": max_length,
               "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:max_length]
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": label}, "element": element}


def signup_view(conference: Conference, name: str, email: str) -> dict:
    """Return the sign-up modal: name from Slack, email shown (not editable), the rest to fill."""
    form = [
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"Register for *{blocks.escape(conference.name)}*. Your email from Slack: "
            f"*{blocks.escape(email)}*"}},
        _input("name", "Name", initial=name, optional=False),
        _input("organisation", "Organisation (trust or school)"),
        _input("role", "Role"),
        _input("pronouns", "Pronouns (optional)", max_length=40),
        {"type": "input", "block_id": "access", "optional": True,
         "label": {"type": "plain_text", "text": "Access needs"},
         "element": {"type": "checkboxes", "action_id": "value", "options": [
             {"text": {"type": "plain_text", "text": "Step-free access"}, "value": "step_free"},
             {"text": {"type": "plain_text", "text": "Hearing loop"}, "value": "hearing_loop"}]}},
        _input("access_other", "Other access needs", max_length=500),
        _input("dietary", "Dietary needs", max_length=300),
    ]
    return blocks.modal("signup", "Sign up", form, submit="Register",
                        private_metadata=json.dumps({"conference": conference.slug}))


def open_signup(client: WebClient, conference: Conference, user_id: str, trigger_id: str | None,
                respond=None) -> None:
    """Open the sign-up modal, or say why not (closed, already registered)."""
    if not (conference.published and conference.registration_open):
        _tell(client, user_id, Reply("Registration is closed — ask the organisers.",
                                     code="registration_closed"), respond)
        return
    delegate, _ = resolve_delegate(conference, user_id, client)
    if delegate is not None and delegate.status == "waitlisted":
        _tell(client, user_id, waitlisted_reply(delegate), respond)
        return
    if delegate is not None:
        _tell(client, user_id, Reply(f"You are already registered as {delegate.name}.",
                                     links=answers.delegate_links(delegate, base_url())), respond)
        return
    profile = slack_profile(client, user_id)
    email = (profile.get("profile") or {}).get("email")
    if not email or profile.get("is_bot") or profile.get("deleted"):
        _tell(client, user_id, Reply("Slack did not share your email, so I can't register you — "
                                     "ask the organisers.", code="no_email"), respond)
        return
    name = profile.get("real_name") or (profile.get("profile") or {}).get("real_name") or ""
    client.views_open(trigger_id=trigger_id, view=signup_view(conference, name, email))


def _tell(client: WebClient, user_id: str, reply: Reply, respond=None) -> None:
    if respond is not None:
        respond(response_type="ephemeral", replace_original=False, **_message(reply))
    else:
        dm(client, user_id, reply)


def _values(view: dict) -> dict:
    """Return ``{block_id: value}`` from a submitted view's state."""
    out = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "checkboxes":
                out[block_id] = [o["value"] for o in element.get("selected_options") or []]
            elif kind == "static_select":
                option = element.get("selected_option")
                out[block_id] = option["value"] if option else None
            else:
                out[block_id] = element.get("value") or ""
    return out


def _signup_data(view: dict) -> dict:
    values = _values(view)
    access = values.get("access") or []
    return {"name": values.get("name", ""), "organisation": values.get("organisation", ""),
            "role": values.get("role", ""), "pronouns": values.get("pronouns", ""),
            "dietary": values.get("dietary", ""),
            "access_needs": {"step_free": "step_free" in access,
                             "hearing_loop": "hearing_loop" in access,
                             "other": values.get("access_other", "")}}


def check_signup(ack, view, context):
    """Validate the sign-up form: field errors go back inline, otherwise close the modal."""
    values, errors = services.delegate_values({**_signup_data(view), "email": "x@example.org"})
    inline = {}
    for error in errors:
        block = error["field"].split(".")[0]
        block = {"access_needs": "access_other"}.get(block, block)
        if block in ("name", "organisation", "role", "pronouns", "dietary", "access_other"):
            inline.setdefault(block, error["message"])
    # The lazy listener runs whatever the ack said: tell it whether the form was accepted.
    context["convenor_accepted"] = not inline
    if inline:
        ack(response_action="errors", errors=inline)
    else:
        ack()


@tells_on_slack_failure
def save_signup(view, body, client: WebClient, context):
    """Register the person (their email from Slack), then DM the badge, links and next item."""
    if not context.get("convenor_accepted"):
        return  # the form went back with errors
    user_id = body["user"]["id"]
    conference = served_conference()
    if conference is None:
        return
    profile = slack_profile(client, user_id)
    email = (profile.get("profile") or {}).get("email")
    if not email:
        dm(client, user_id, Reply("Slack did not share your email, so I can't register you — "
                                  "ask the organisers.", code="no_email"))
        return
    try:
        delegate, created = services.self_register(conference, _signup_data(view),
                                                   slack_user_id=user_id, email=email)
    except ConvenorError as exc:
        bot_services.discard_changes()
        dm(client, user_id, Reply(exc.message, code=exc.code))
        return
    if not created:
        return  # a double click or retry: the first submission sends the confirmation
    if delegate.status == "waitlisted":
        dm(client, user_id, waitlisted_reply(delegate))
        return
    welcome(client, user_id, delegate)
    publish_home_for(client, user_id)


def waitlisted_reply(delegate: Delegate) -> Reply:
    """Tell someone on the waitlist where they stand (no badge until they have a place)."""
    return Reply(f"{delegate.conference.name} is full, {delegate.name}: you are number "
                 f"{services.waitlist_position(delegate)} on the waitlist. You'll get your badge "
                 "and links as soon as a place frees up.", code="waitlisted")


def welcome(client: WebClient, user_id: str, delegate: Delegate) -> None:
    """DM a new delegate their QR badge, private link, calendar link and next item."""
    channel = dm(client, user_id, Reply(
        f"You're registered for {delegate.conference.name}, {delegate.name}. Show this QR code "
        "at the door; your page has your agenda.",
        links=answers.delegate_links(delegate, base_url())))
    secret = checkin.secret_for(delegate).secret
    client.files_upload_v2(channel=channel, content=badges.qr_png(secret), filename="badge.png",
                           title="Your badge QR code",
                           alt_txt=f"QR code for {delegate.name}'s badge")
    reply = answers.answer_next(delegate, base_url=base_url())
    if reply.code not in ("over", "none"):
        client.chat_postMessage(channel=channel, **_message(reply))


@tells_on_slack_failure
def open_signup_action(body, client: WebClient):
    """The *Sign up* button (in the App Home or a DM answer)."""
    conference = served_conference()
    if conference is not None:
        open_signup(client, conference, body["user"]["id"], body.get("trigger_id"))


# --------------------------------------------------------------------------- ranking


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def prefs_view(delegate: Delegate, carousels: list[dict]) -> dict:
    """Return the ranking modal: every open carousel's workshops with a rank select each."""
    form: list[dict] = []
    for block in carousels:
        session = block["session"]
        workshops = block["workshops"]
        ranked = block.get("ranking") or []
        header = f"*{blocks.escape(session.title)}*"
        if block.get("deadline_text"):
            header += f" — rank by {blocks.escape(block['deadline_text'])}"
        form.append({"type": "section", "text": {"type": "mrkdwn", "text": header}})
        options = [{"text": {"type": "plain_text", "text": f"{_ordinal(i)} choice"},
                    "value": str(i)} for i in range(1, len(workshops) + 1)]
        options.append({"text": {"type": "plain_text", "text": "Not ranked"}, "value": "0"})
        for workshop in workshops:
            rank = ranked.index(workshop["id"]) + 1 if workshop["id"] in ranked else 0
            label = workshop["title"]
            where = " · ".join(p for p in (workshop.get("leaders"), workshop.get("room")) if p)
            element = {"type": "static_select", "action_id": "rank", "options": options,
                       "initial_option": options[rank - 1] if rank else options[-1]}
            form.append({"type": "input", "block_id": f"w{session.id}_{workshop['id']}",
                         "optional": True, "label": {"type": "plain_text", "text": label[:150]},
                         "hint": {"type": "plain_text", "text": where[:150]} if where else None,
                         "element": element})
    for item in form:
        if item.get("hint") is None:
            item.pop("hint", None)
    return blocks.modal("prefs", "Rank workshops", form[:100], submit="Save ranking",
                        private_metadata=json.dumps({"delegate": delegate.id}))


def open_carousels(delegate: Delegate) -> list[dict]:
    """Return the carousels whose preferences are open for this delegate, in plain dicts."""
    out = []
    for block in workshop_services.delegate_carousels(delegate, now=answers.now()):
        if not block.get("preferences_open"):
            continue
        workshops = [{"id": w.id, "title": w.title, "leaders": workshop_services.leaders_text(w)
                      if hasattr(workshop_services, "leaders_text") else "",
                      "room": w.room.name if getattr(w, "room", None) else ""}
                     for w in block["workshops"]]
        out.append({**block, "workshops": workshops,
                    "ranking": [w if isinstance(w, int) else w.id for w in block.get("ranking", [])]})
    return out


def open_prefs(client: WebClient, conference: Conference, user_id: str, trigger_id: str | None,
               respond=None) -> None:
    """Open the ranking modal, or say why not."""
    delegate, problem = resolve_delegate(conference, user_id, client)
    if delegate is None:
        _tell(client, user_id, problem, respond)
        return
    carousels = open_carousels(delegate)
    if not carousels:
        _tell(client, user_id, Reply("Ranking is not open for any carousel right now.",
                                     code="preferences_closed"), respond)
        return
    client.views_open(trigger_id=trigger_id, view=prefs_view(delegate, carousels))


@tells_on_slack_failure
def open_prefs_action(body, client: WebClient):
    """The *Rank workshops* button."""
    conference = served_conference()
    if conference is not None:
        open_prefs(client, conference, body["user"]["id"], body.get("trigger_id"))


def save_prefs(ack, view, body, context):
    """Save the ranking from the modal; a refused ranking comes back as inline errors."""
    conference = served_conference()
    user_id = body["user"]["id"]
    delegate = services.delegate_for_slack_user(conference, user_id) if conference else None
    if delegate is None:
        ack(response_action="errors", errors={_first_block(view): "I don't know you yet."})
        return
    ranks_by_session: dict[int, dict[int, int | None]] = {}
    for block_id, value in _values(view).items():
        match = re.fullmatch(r"w(\d+)_(\d+)", block_id)
        if match:
            rank = int(value) if value and value.isdigit() and int(value) > 0 else None
            ranks_by_session.setdefault(int(match[1]), {})[int(match[2])] = rank
    # Check every carousel's ranks before saving any, so a refusal saves nothing.
    rankings: dict[int, list[int]] = {}
    for session_id, ranks in ranks_by_session.items():
        try:
            rankings[session_id] = workshop_services.ranking_from_ranks(ranks)
        except ConvenorError as exc:
            block = _error_block(session_id, ranks, exc) or _first_block(view)
            ack(response_action="errors", errors={block: exc.message})
            return
    for session_id, ranks in ranks_by_session.items():
        try:
            session = services.get_session(conference, session_id)
            workshop_services.set_preferences(session, delegate, rankings[session_id],
                                              now=answers.now())
        except ConvenorError as exc:
            bot_services.discard_changes()
            block = _error_block(session_id, ranks, exc) or _first_block(view)
            ack(response_action="errors", errors={block: exc.message})
            return
    context["convenor_accepted"] = True  # after_prefs runs whatever the ack said
    ack()


def _first_block(view: dict) -> str:
    for block in view.get("blocks") or []:
        if block.get("type") == "input":
            return block["block_id"]
    # Slack rejects errors keyed to a block the view lacks: fall back to a submitted one.
    return next(iter((view.get("state") or {}).get("values") or {}), "w0_0")


def _error_block(session_id: int, ranks: dict[int, int | None], exc: ConvenorError) -> str | None:
    """Return the modal block an error belongs to: the second workshop with a repeated rank."""
    seen: dict[int, int] = {}
    for workshop_id, rank in ranks.items():
        if rank is None:
            continue
        if rank in seen and exc.code == "duplicate_rank":
            return f"w{session_id}_{workshop_id}"
        seen[rank] = workshop_id
    return f"w{session_id}_{next(iter(ranks))}" if ranks else None


@tells_on_slack_failure
def after_prefs(body, client: WebClient, context):
    """DM the saved ranking and refresh the App Home."""
    if not context.get("convenor_accepted"):
        return  # refused: the modal shows why
    conference = served_conference()
    user_id = body["user"]["id"]
    delegate = services.delegate_for_slack_user(conference, user_id) if conference else None
    if delegate is None:
        return
    items = []
    for block in workshop_services.delegate_carousels(delegate, now=answers.now()):
        titles = {w.id: w.title for w in block["workshops"]}
        for n, workshop in enumerate(block.get("ranking") or [], start=1):
            wid = workshop if isinstance(workshop, int) else workshop.id
            items.append(Item(f"{_ordinal(n)}: {titles.get(wid, '')}", when=block["session"].title))
    dm(client, user_id, Reply("Your ranking is saved:", items=items))
    publish_home_for(client, user_id)


# --------------------------------------------------------------------------- DMs, mentions


def answer_text(conference: Conference | None, user_id: str, text: str,
                client: WebClient) -> Reply:
    """Answer a question typed in a DM or an @mention."""
    if conference is None:
        return NOT_CONNECTED
    intent = intents.parse(text)
    if intent.name == "link" and intent.query:
        decision, reply = plan_command(f"link {intent.query}", user_id)
        return reply or answers.help_reply()
    if intent.name in ("help", "unknown"):
        return answers.help_reply(organiser=resolve_organiser(conference, user_id, client) is not None)
    delegate, problem = resolve_delegate(conference, user_id, client)
    if delegate is None:
        return problem or unknown_person(conference)
    if intent.name == "signup":
        return Reply("You are already registered.", links=answers.delegate_links(delegate, base_url()))
    return answers.answer(intent, delegate, base_url=base_url())


@tells_on_slack_failure
def answer_dm(event, client: WebClient):
    """Answer a question sent to the bot in a direct message."""
    if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
        return
    reply = answer_text(served_conference(), event["user"], event.get("text", ""), client)
    client.chat_postMessage(channel=event["channel"], **_message(reply))


@tells_on_slack_failure
def answer_mention(event, client: WebClient):
    """Answer an @mention in a channel privately (ephemeral): nothing personal in public."""
    if event.get("bot_id"):
        return
    reply = answer_text(served_conference(), event["user"], event.get("text", ""), client)
    client.chat_postEphemeral(channel=event["channel"], user=event["user"], **_message(reply))


# --------------------------------------------------------------------------- App Home


def home_for(conference: Conference | None, user_id: str, client: WebClient) -> dict:
    """Return the App Home view for this Slack user."""
    if conference is None:
        return blocks.home_view(NOT_CONNECTED, Reply(""), actions=[])
    delegate, problem = resolve_delegate(conference, user_id, client)
    organiser = resolve_organiser(conference, user_id, None)
    extra = answers.stats_reply(conference) if organiser else None
    if delegate is None:
        return blocks.home_view(problem or unknown_person(conference), Reply(""),
                                actions=(problem or unknown_person(conference)).actions,
                                organiser=extra)
    actions = [Action("What's next", "home_next", style="primary"), Action("My table", "home_table"),
               Action("Rank workshops", "home_prefs")]
    if organiser:
        actions.append(Action("Stats", "home_stats"))
    return blocks.home_view(answers.answer_next(delegate, base_url=base_url()),
                            answers.answer_agenda(delegate, base_url=base_url()),
                            actions=actions, organiser=extra)


def publish_home_for(client: WebClient, user_id: str) -> None:
    """Publish (or refresh) a user's App Home."""
    client.views_publish(user_id=user_id, view=home_for(served_conference(), user_id, client))


@tells_on_slack_failure
def publish_home(event, client: WebClient):
    """Draw the App Home when the user opens it."""
    if event.get("tab", "home") == "home":
        publish_home_for(client, event["user"])


@tells_on_slack_failure
def home_action(body, client: WebClient, action):
    """The App Home buttons *What's next*, *My table* and *Stats*: answer in a DM."""
    user_id = body["user"]["id"]
    conference = served_conference()
    if conference is None:
        dm(client, user_id, NOT_CONNECTED)
        return
    if action["action_id"] == "home_stats":
        organiser = resolve_organiser(conference, user_id, client)
        dm(client, user_id, answers.stats_reply(conference) if organiser else Reply(REFUSAL))
        return
    delegate, problem = resolve_delegate(conference, user_id, client)
    if delegate is None:
        dm(client, user_id, problem or unknown_person(conference))
    elif action["action_id"] == "home_table":
        dm(client, user_id, answers.answer_table(delegate))
    else:
        dm(client, user_id, answers.answer_next(delegate, base_url=base_url()))


# --------------------------------------------------------------------------- cancelling


def _answer_action(body: dict, client: WebClient, respond, reply: Reply) -> None:
    """Answer a button press in place of the message that held it (else in a DM)."""
    if respond is not None and body.get("response_url"):
        respond(replace_original=True, response_type="ephemeral", **_message(reply))
    else:
        dm(client, body["user"]["id"], reply)


@tells_on_slack_failure
def confirm_cancel(body, client: WebClient, action, respond=None):
    """The *Cancel my registration* button under ``/convenor cancel``: withdraw, once."""
    user_id = body["user"]["id"]
    conference = served_conference()
    if conference is None:
        _answer_action(body, client, respond, NOT_CONNECTED)
        return
    delegate = services.delegate_for_slack_user(conference, user_id)
    if delegate is None:
        reply = answers.nothing_to_cancel(conference,
                                          organiser=known_organiser(user_id) and resolve_organiser(
                                              conference, user_id, None) is not None)
    elif (action or {}).get("value") not in (None, "", str(delegate.id)):
        # The prompt was for another registration (relinked since): ask again, change nothing.
        reply = Reply("That button is out of date — type `/convenor cancel` again.", code="stale")
    else:
        delegate, cancelled_now = services.cancel_registration(delegate)
        reply = answers.cancelled_reply(delegate, cancelled_now)
    _answer_action(body, client, respond, reply)


@tells_on_slack_failure
def keep_place(body, client: WebClient, respond=None):
    """The *Keep my place* button: nothing changes."""
    _answer_action(body, client, respond, Reply("Good — your registration stays as it is."))


# --------------------------------------------------------------------------- channel announcements


def post_announcement(flask_app: Flask, text: str) -> None:
    """Post an organiser's announcement to the conference channel (runs off the request)."""
    with flask_app.app_context():
        bolt: App | None = flask_app.extensions.get("convenor_slack_bolt")
        channel = flask_app.config.get("CONVENOR_SLACK_CHANNEL")
        if bolt is None or not channel:
            return
        reply = Reply(f"📣 {text}")
        try:
            bolt.client.chat_postMessage(channel=channel, **_message(reply))
        except SlackApiError as exc:  # pragma: no cover - logged; screens already have it
            log.warning("could not post the announcement to %s: %s", channel, exc)


def on_announcement(conference, announcement=None, **_):
    """Forward an announcement made anywhere (web, API, CLI, Slack) to the Slack channel."""
    flask_app = current_app._get_current_object()
    bolt = flask_app.extensions.get("convenor_slack_bolt")
    if bolt is None or not flask_app.config.get("CONVENOR_SLACK_CHANNEL"):
        return
    text = (announcement or {}).get("text", "")
    bolt.listener_runner.listener_executor.submit(post_announcement, flask_app, text)


# --------------------------------------------------------------------------- waitlist promotions


def tell_promoted(flask_app: Flask, delegate_id: int) -> None:
    """DM someone who just got a place from the waitlist: their badge and links (off the request)."""
    with flask_app.app_context():
        bolt: App | None = flask_app.extensions.get("convenor_slack_bolt")
        delegate = bot_services.delegate_by_id(delegate_id)
        if bolt is None or delegate is None or not delegate.slack_user_id:
            return
        try:
            welcome(bolt.client, delegate.slack_user_id, delegate)
        except SlackApiError as exc:  # pragma: no cover - logged; their page has it all
            log.warning("could not tell %s about their place: %s", delegate.slack_user_id, exc)


def on_promoted(conference, delegate=None, **_):
    """A place freed up and a waitlisted delegate got it: tell them on Slack if they are there."""
    flask_app = current_app._get_current_object()
    bolt = flask_app.extensions.get("convenor_slack_bolt")
    if bolt is None or delegate is None or not delegate.slack_user_id:
        return
    bolt.listener_runner.listener_executor.submit(tell_promoted, flask_app, delegate.id)
