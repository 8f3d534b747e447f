"""Notification pages: the organisers' Notifications page (what the outbox sent, what waits,
what failed, *Retry failed*), *Send links* and its progress, "email me my link" on the public
page, and the delegate's choice of how to hear about changes. Thin over ``events.notify.links``
and ``events.notify.services``.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice

from events import hooks
from events.adapters import ConfirmForm, discard_changes, manager_required, public_conference
from events.conference import services as conference_services
from events.conference.models import Conference, Delegate
from events.errors import ConvenorError
from events.notify import links, services

bp = Blueprint("notify", __name__)

#: The one answer to "email me my link", registered or not, limited or not.
LOST_LINK_ANSWER = ("If that address is registered for this conference, we have sent the link "
                    "to it. It can take a few minutes to arrive; check your spam folder too.")
NOTIFY_LABELS = {
    "auto": "Automatically: on Slack when my account is linked, otherwise by email",
    "slack": "Slack only",
    "email": "Email only",
    "both": "Both Slack and email",
}


class LostLinkForm(FlaskForm):
    email = StringField("Your email address")


class SendLinksForm(FlaskForm):
    scope = StringField("Send to")
    batch = HiddenField()


class NotifyByForm(FlaskForm):
    notify_by = RadioField("How should we tell you about changes?",
                           choices=[SelectChoice(k, v) for k, v in NOTIFY_LABELS.items()])


@bp.post("/c/<slug>/email-my-link")
def lost_link(slug):
    """Email a delegate their private link; the same answer whoever asks."""
    conference = public_conference(slug)
    form = LostLinkForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        links.request_link(conference, form.email.data or "", client=request.remote_addr or "")
    except ConvenorError:
        discard_changes()
        flash("Enter the email address you registered with.", "error")
        return redirect(url_for("views.home", slug=slug) + "#lost-link")
    flash(LOST_LINK_ANSWER, "info")
    return redirect(url_for("views.home", slug=slug) + "#lost-link")


@bp.post("/me/<token>/notify")
def notify_by(token):
    """Save how a delegate wants to hear about changes."""
    try:
        delegate = conference_services.delegate_by_token(token)
    except ConvenorError:
        abort(404)
    form = NotifyByForm()
    if not form.validate_on_submit():
        flash("Choose one of the ways offered.", "error")
        return redirect(url_for("views.delegate_page", token=token)), 303
    try:
        links.set_notify_by(delegate, form.notify_by.data)
    except ConvenorError as exc:
        discard_changes()
        flash(exc.message.capitalize() + ".", "error")
    else:
        flash("Saved: " + NOTIFY_LABELS[delegate.notify_by].lower() + ".", "success")
    return redirect(url_for("views.delegate_page", token=token)), 303


def notify_context(delegate: Delegate) -> dict:
    """Template variables of the delegate page's "how should we tell you" panel."""
    return {"notify_options": [(c, NOTIFY_LABELS[c]) for c in links.notify_choices(delegate)]}


@bp.post("/organiser/<slug>/delegates/send-links")
@manager_required
def send_links(conference: Conference):
    """Queue the welcome email with each chosen delegate's private link and badge."""
    form = SendLinksForm()
    if not form.validate_on_submit():
        abort(400)
    scope = form.scope.data or ""
    if scope.startswith("org:"):
        scope = scope[4:]
    elif scope not in ("all", "not_sent"):
        scope = ""
    try:
        progress = links.send_links(conference, scope=scope, batch=form.batch.data or None)
    except ConvenorError as exc:
        discard_changes()
        flash(exc.message.capitalize() + ".", "error")
        return redirect(url_for("organiser.delegates", slug=conference.slug)), 303
    if not progress["total"]:
        flash("Nobody to send to: everyone chosen already has a link on its way or no place.",
              "info")
        return redirect(url_for("organiser.delegates", slug=conference.slug)), 303
    return redirect(url_for(".links_progress", slug=conference.slug,
                            batch=progress["batch"])), 303


def _progress(conference: Conference, batch: str) -> dict:
    try:
        return links.links_progress(conference, batch)
    except ConvenorError:
        abort(404)


@bp.get("/organiser/<slug>/links/<batch>")
@manager_required
def links_progress(conference: Conference, batch: str):
    """Show how far a *Send links* batch is, updating itself."""
    return render_template("notify/links_progress.html", conference=conference,
                           progress=_progress(conference, batch))


@bp.get("/organiser/<slug>/links/<batch>.json")
@manager_required
def links_progress_json(conference: Conference, batch: str):
    """The batch's progress as JSON, polled by the progress page."""
    return jsonify(_progress(conference, batch)), 200, {"Cache-Control": "no-store"}


#: Outbox states and kinds in the organisers' words.
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
    """Attach the pages, the organisers' menu entry and the delegate-page panel."""
    app.register_blueprint(bp)
    hooks.add(hooks.ORGANISER_NAV, ("notify.organiser_notifications", "Notifications"))
    hooks.add(hooks.DELEGATE_PANELS, "notify/_delegate_panel.html")
    hooks.add(hooks.DELEGATE_CONTEXT, notify_context)
