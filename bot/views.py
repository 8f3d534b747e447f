"""The delegate's "Link Slack" button: a one-time code for a Slack account with another email."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from events.conference import services
from events.errors import ConvenorError

bp = Blueprint("bot_pages", __name__)


@bp.post("/me/<token>/slack-link")
def slack_link_code(token):
    """Show a new one-time code that links the delegate's Slack account (15 minutes)."""
    if not current_app.extensions.get("convenor_slack"):
        abort(404)
    try:
        delegate = services.delegate_by_token(token)
    except ConvenorError:
        abort(404)
    if delegate.status == "cancelled":
        abort(404)
    code = services.issue_slack_link_code(delegate)
    return render_template("bot/link_code.html", delegate=delegate, conference=delegate.conference,
                           code=code), 200, {"Cache-Control": "private, no-store",
                                             "X-Robots-Tag": "noindex",
                                             "Referrer-Policy": "no-referrer"}
