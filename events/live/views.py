"""Live-update adapters: Now & Next screen, catch-up JSON, organisers' Live page, announcements API."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from events import adapters, hooks
from events.adapters import apply_errors, fail, manager_required, public_conference
from events.conference import services
from events.conference.models import Conference
from events.errors import ConvenorError
from events.extensions import csrf
from events.live import services as live_services
from events.live import sockets as live

bp = Blueprint("live", __name__)
api_bp = Blueprint("live_api", __name__, url_prefix="/api/v1")
api_bp.register_error_handler(ConvenorError, adapters.convenor_error)


class AnnouncementForm(FlaskForm):
    """Send an announcement to every screen."""

    text = TextAreaField(
        "Announcement",
        validators=[DataRequired(), Length(max=live_services.MAX_ANNOUNCEMENT)],
        description="Shown at once on every open page and venue screen. "
        f"At most {live_services.MAX_ANNOUNCEMENT} characters.",
    )


def _manages(conference: Conference) -> bool:
    return bool(current_user.is_authenticated and current_user.role == "organiser"
                and current_user.manages(conference))


# --------------------------------------------------------------------------- public pages


@bp.route("/c/<slug>/now")
def now(slug):
    """Show the Now & Next screen for venue displays."""
    conference = public_conference(slug)
    at_ms = None
    if request.args.get("at"):
        # Rehearse the screen at another moment, e.g. ?at=2027-03-11T10:30 (conference time).
        try:
            moment = datetime.fromisoformat(request.args["at"])
        except ValueError:
            abort(400)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=conference.tz)
        at_ms = int(moment.timestamp() * 1000)
    return render_template("live/now.html", conference=conference, at_ms=at_ms,
                           data=live_services.now_data(conference),
                           announcements=live_services.recent_announcements(conference, 3))


@bp.route("/c/<slug>/now.json")
def now_json(slug):
    """Return the Now & Next data: every session, rooms and the latest announcements."""
    return jsonify(live_services.now_data(public_conference(slug)))


@bp.route("/c/<slug>/live/since/<int:version>")
def since(slug, version):
    """Return the live events a page missed since ``version`` (send X-Delegate-Token for private ones)."""
    delegate = None
    token = request.headers.get("X-Delegate-Token")
    if token:
        # A delegate's own link works before the programme is published, so catching up does too.
        try:
            conference = services.get_conference(slug)
            delegate = services.delegate_by_token(token)
        except ConvenorError:
            abort(404)
        if delegate.conference_id != conference.id or delegate.status != "active":
            abort(404)
    else:
        conference = public_conference(slug)
    body = live_services.changes_since(conference, version, delegate=delegate,
                              organiser=_manages(conference))
    return jsonify(body), 200, {"Cache-Control": "no-store"}


# --------------------------------------------------------------------------- organisers


@bp.route("/organiser/<slug>/live", methods=["GET", "POST"])
@manager_required
def organiser_live(conference: Conference):
    """Send announcements and run the day's live actions."""
    form = AnnouncementForm()
    if form.validate_on_submit():
        try:
            live_services.create_announcement(conference, {"text": form.text.data}, current_user)
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash("Announcement sent to every screen.", "success")
            return redirect(url_for(".organiser_live", slug=conference.slug))
    return render_template(
        "live/organiser.html", conference=conference, form=form, panels=hooks.LIVE_PANELS,
        announcements=live_services.recent_announcements(conference, 20),
        queue=live.config_summary()["message_queue"],
    ), 422 if form.errors else 200


# --------------------------------------------------------------------------- API


def announcement_json(a) -> dict:
    """Return an announcement as API JSON."""
    return a.as_dict()


@api_bp.get("/conferences/<slug>/announcements")
@adapters.token_required
def list_announcements(slug):
    conference = adapters.managed(slug)
    return jsonify([announcement_json(a)
                    for a in live_services.recent_announcements(conference, 100)])


@api_bp.post("/conferences/<slug>/announcements")
@adapters.token_required
def create_announcement(slug):
    conference = adapters.managed(slug)
    announcement = live_services.create_announcement(conference, adapters.body(), g.organiser)
    return jsonify(announcement_json(announcement)), 201


# --------------------------------------------------------------------------- wiring


def register(app) -> None:
    """Register the live blueprints and add the Live page, dashboard and delegate panels."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    live.register_handlers()
    app.add_template_global(lambda c: live_services.recent_announcements(c, 3), "live_announcements")
    hooks.add(hooks.ORGANISER_NAV, ("live.organiser_live", "Live"))
    hooks.add(hooks.DASHBOARD_PANELS, "live/_dashboard_panel.html")
    hooks.add(hooks.DELEGATE_PANELS, "live/_delegate_panel.html")
    hooks.add(hooks.DEMO_HOOKS, live_services.add_demo_announcements)

    @app.cli.command("announce")
    @click.argument("slug")
    @click.argument("text")
    def announce(slug, text):
        """Send an announcement to every open page (reaches servers through SOCKETIO_MESSAGE_QUEUE)."""
        try:
            announcement = live_services.create_announcement(services.get_conference(slug),
                                                             {"text": text})
        except ConvenorError as exc:
            fail(exc.message)
        click.echo(f"announcement {announcement.id} sent")
