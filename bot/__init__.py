"""The Slack bot and the web chat: one more adapter over the services, answering each
delegate's day ("what's my next carousel?") and running organisers' commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register ``POST /slack/events`` (the bot itself only when both Slack secrets are set),
    the web chat on the delegate page, and the ``slack-manifest`` command."""
    from events import hooks, signals
    from events.extensions import csrf

    from . import chat, cli, models, notify, slack, views  # noqa: F401  (models: the bot's tables)

    slack.install(app)
    hooks.NOTICE_SENDERS["slack"] = notify.send
    hooks.add(hooks.NOTICE_RECONCILERS, notify.discover)
    csrf.exempt(slack.bp)  # Slack signs its requests; the route verifies the signature
    app.register_blueprint(views.bp)
    app.add_template_global(lambda: "convenor_slack" in app.extensions, "slack_enabled")
    signals.announcement_made.connect(slack.on_announcement)
    signals.delegate_promoted.connect(slack.on_promoted)
    chat.install(app)
    hooks.add(hooks.DELEGATE_PANELS, "bot/_chat_panel.html")
    cli.register(app)
