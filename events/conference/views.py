"""Public HTML pages: conference home, programme, speakers, sessions, delegate page."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from events import hooks
from events.adapters import http_exception, public_conference
from events.conference import services, timetable
from events.errors import ConvenorError
from events.types import utcnow

bp = Blueprint("views", __name__)


@bp.route("/")
def index():
    """List published conferences."""
    conferences = services.published_conferences()
    return render_template("events/index.html", conferences=conferences)


@bp.route("/c/<slug>/")
def home(slug):
    """Show a conference's home page."""
    conference = public_conference(slug)
    sessions = services.programme_sessions(conference)
    keynotes = [s for s in sessions if s.kind == "keynote"]
    return render_template("events/home.html", conference=conference, keynotes=keynotes,
                           sessions=sessions)


@bp.route("/c/<slug>/programme")
def programme(slug):
    """Show the programme as a rooms × time grid per day, with a list view."""
    conference = public_conference(slug)
    days = timetable.build(services.programme_sessions(conference), conference.tz)
    return render_template(
        "events/programme.html",
        conference=conference,
        days=days,
        session_link=lambda s: url_for(".session_page", slug=slug, session_id=s.id),
    )


@bp.route("/c/<slug>/speakers")
def speakers(slug):
    """Show the speakers, keynote speakers first, with their bios."""
    conference = public_conference(slug)
    keynote_ids = {sp.id for s in conference.sessions if s.kind == "keynote" for sp in s.speakers}
    ordered = sorted(conference.speakers, key=lambda sp: (sp.id not in keynote_ids, sp.name))
    return render_template("events/speakers.html", conference=conference, speakers=ordered,
                           keynote_ids=keynote_ids)


@bp.route("/c/<slug>/sessions/<int:session_id>")
def session_page(slug, session_id):
    """Show one session."""
    conference = public_conference(slug)
    try:
        session = services.get_session(conference, session_id)
    except ConvenorError:
        abort(404)
    panels = [found for provide in hooks.SESSION_PANELS if (found := provide(session))]
    return render_template("events/session.html", conference=conference, session=session,
                           panels=panels)


@bp.route("/me/<token>")
def delegate_page(token):
    """Show a delegate their details and their programme (private, unguessable link)."""
    try:
        delegate = services.delegate_by_token(token)
    except ConvenorError:
        abort(404)
    conference = delegate.conference
    private = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex",
               "Referrer-Policy": "no-referrer"}
    if delegate.status == "cancelled":
        return render_template(
            "error.html", title="Registration cancelled",
            message=f"This registration for {conference.name} was cancelled, so this page is "
                    "no longer available. If that is a mistake, contact the organisers."), 410, private
    sessions = services.programme_sessions(conference)
    extra: dict = {}
    for provide in hooks.DELEGATE_CONTEXT:
        extra.update(provide(delegate))
    panels = list(hooks.DELEGATE_PANELS)
    today = utcnow().astimezone(conference.tz).date()
    if conference.starts_on <= today <= conference.ends_on:
        # At the door the badge must be one tap away: it goes before the calendar and the rest.
        badges = [p for p in panels if p in hooks.DELEGATE_BADGE_PANELS]
        panels = badges + [p for p in panels if p not in badges]
    response = render_template("events/delegate.html", conference=conference, delegate=delegate,
                               sessions=sessions, panels=panels,
                               badge_link=bool(hooks.DELEGATE_BADGE_PANELS), **extra)
    return response, 200, private


def register_filters(app) -> None:
    """Add template filters for times in the conference's zone and error pages."""
    app.add_template_global(services.waitlist_position, "waitlist_position")

    @app.template_filter("hm")
    def hm(moment, conference):
        return conference.local(moment).strftime("%H:%M")

    @app.template_filter("longdate")
    def longdate(day):
        return f"{day:%A} {day.day} {day:%B %Y}"

    @app.template_filter("kind_label")
    def kind_label(kind):
        from events.conference.forms import KIND_LABELS

        return KIND_LABELS.get(kind, kind)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_template(
            "error.html",
            title="This form expired",
            message="For your security the form could not be sent. Go back, reload the page "
            "and submit it again.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if request.path.startswith("/api/"):
            return http_exception(exc)
        titles = {404: "Page not found", 403: "Not allowed", 400: "That request did not work"}
        messages = {404: "This page does not exist or is not public.",
                    403: "Your account cannot open this page."}
        return render_template(
            "error.html",
            title=titles.get(exc.code, exc.name),
            message=messages.get(exc.code, exc.description),
        ), exc.code, [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
