"""The organisers' Notifications page: what the outbox sent, what waits, what failed (and a
*Retry failed* button)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from events import hooks
from events.adapters import ConfirmForm, manager_required
from events.conference.models import Conference
from events.notify import services

bp = Blueprint("notify", __name__)

LABELS = {"pending": "Waiting", "scheduled": "Handed to Slack's scheduler",
          "unschedule": "Being taken back from Slack", "sent": "Sent", "cancelled": "Not needed",
          "failed": "Failed"}
KINDS = {"change": "Programme change", "seats": "Places", "reminder": "Reminder",
         "starting": "Starting now", "welcome": "Welcome (links)", "lost_link": "Lost link"}


@bp.route("/organiser/<slug>/notifications")
@manager_required
def organiser_notifications(conference: Conference):
    """Show the outbox's figures and its failures."""
    return render_template("notify/organiser.html", conference=conference, form=ConfirmForm(),
                           summary=services.outbox_summary(conference), labels=LABELS,
                           kinds=KINDS)


@bp.post("/organiser/<slug>/notifications/retry")
@manager_required
def retry(conference: Conference):
    """Put every failed notice back in the queue."""
    if ConfirmForm().validate_on_submit():
        count = services.retry_failed(conference)
        flash(f"{count} failed message{'s' if count != 1 else ''} queued again.", "success")
    return redirect(url_for(".organiser_notifications", slug=conference.slug))


def register(app) -> None:
    app.register_blueprint(bp)
    hooks.add(hooks.ORGANISER_NAV, ("notify.organiser_notifications", "Notifications"))
