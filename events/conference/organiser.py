"""Organiser web UI: build the programme, manage delegates. Thin over the service layer."""

from __future__ import annotations

import base64
import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from events import adapters, hooks
from events.adapters import apply_errors, manager_required
from events.conference import importers, services, timetable
from events.conference.forms import (
    ConferenceForm,
    ConfirmForm,
    DelegateForm,
    ImportForm,
    RoomForm,
    SessionForm,
    SpeakerForm,
)
from events.conference.models import Conference
from events.errors import ConvenorError
from events.notify import links as notify_links

bp = Blueprint("organiser", __name__, url_prefix="/organiser")
PAGE_SIZE = 50



@bp.app_context_processor
def _organiser_nav():
    return {"extra_nav": hooks.ORGANISER_NAV}


def _data(form, *names) -> dict:
    return {name: getattr(form, name).data for name in names}


@bp.before_request
def _organisers_only():
    if current_user.is_authenticated and current_user.role != "organiser":
        abort(403)


@bp.route("/")
@login_required
def index():
    """List the conferences this organiser manages."""
    return render_template("organiser/index.html", conferences=current_user.conferences)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_conference():
    """Create a conference."""
    form = ConferenceForm()
    if form.validate_on_submit():
        try:
            conference = services.create_conference(
                current_user,
                _data(form, "slug", "name", "tagline", "starts_on", "ends_on", "timezone",
                      "venue", "published", "registration_open", "registration_capacity",
                      "notify_email", "email_reminders", "contact_email"),
            )
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Created {conference.name}.", "success")
            return redirect(url_for(".dashboard", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title="New conference",
                           conference=None), 422 if form.errors else 200


@bp.route("/<slug>/")
@manager_required
def dashboard(conference: Conference):
    """Show a conference at a glance."""
    sessions = services.programme_sessions(conference)
    return render_template("organiser/dashboard.html", conference=conference, sessions=sessions,
                           delegate_count=conference.delegates.count(), panels=hooks.DASHBOARD_PANELS)


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@manager_required
def settings(conference: Conference):
    """Edit the conference's details."""
    form = ConferenceForm(obj=conference)
    del form.slug
    if form.validate_on_submit():
        try:
            services.update_conference(
                conference,
                _data(form, "name", "tagline", "starts_on", "ends_on", "timezone", "venue",
                      "published", "registration_open", "registration_capacity",
                      "notify_email", "email_reminders", "contact_email"),
            )
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash("Conference details saved.", "success")
            return redirect(url_for(".dashboard", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title="Conference details",
                           conference=conference), 422 if form.errors else 200


# --------------------------------------------------------------------------- rooms, speakers


@bp.route("/<slug>/rooms", methods=["GET", "POST"])
@manager_required
def rooms(conference: Conference):
    """List rooms and add one."""
    form = RoomForm()
    if form.validate_on_submit():
        try:
            room = services.create_room(
                conference, _data(form, "name", "capacity", "step_free", "hearing_loop")
            )
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Added {room.name}.", "success")
            return redirect(url_for(".rooms", slug=conference.slug))
    return render_template("organiser/rooms.html", conference=conference, form=form), (
        422 if form.errors else 200
    )


@bp.route("/<slug>/rooms/<int:room_id>", methods=["GET", "POST"])
@manager_required
def edit_room(conference: Conference, room_id: int):
    """Edit a room."""
    room = _or_404(services.get_room, conference, room_id)
    form = RoomForm(obj=room)
    if form.validate_on_submit():
        try:
            services.update_room(room, _data(form, "name", "capacity", "step_free",
                                             "hearing_loop"))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Saved {room.name}.", "success")
            return redirect(url_for(".rooms", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title=f"Edit {room.name}",
                           conference=conference), 422 if form.errors else 200


@bp.route("/<slug>/speakers", methods=["GET", "POST"])
@manager_required
def speakers(conference: Conference):
    """List speakers and add one."""
    form = SpeakerForm()
    if form.validate_on_submit():
        try:
            speaker = services.create_speaker(
                conference, _data(form, "name", "honours", "organisation", "bio")
            )
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Added {speaker.display_name}.", "success")
            return redirect(url_for(".speakers", slug=conference.slug))
    return render_template("organiser/speakers.html", conference=conference, form=form), (
        422 if form.errors else 200
    )


@bp.route("/<slug>/speakers/<int:speaker_id>", methods=["GET", "POST"])
@manager_required
def edit_speaker(conference: Conference, speaker_id: int):
    """Edit a speaker."""
    speaker = _or_404(services.get_speaker, conference, speaker_id)
    form = SpeakerForm(obj=speaker)
    if form.validate_on_submit():
        try:
            services.update_speaker(speaker, _data(form, "name", "honours", "organisation", "bio"))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Saved {speaker.display_name}.", "success")
            return redirect(url_for(".speakers", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title=f"Edit {speaker.name}",
                           conference=conference), 422 if form.errors else 200


def _or_404(getter, conference, item_id):
    try:
        return getter(conference, item_id)
    except ConvenorError:
        abort(404)


# --------------------------------------------------------------------------- sessions


@bp.route("/<slug>/sessions")
@manager_required
def sessions(conference: Conference):
    """Show the programme as a timetable grid or a list."""
    items = services.programme_sessions(conference)
    view = "list" if request.args.get("view") == "list" else "grid"
    return render_template("organiser/sessions.html", conference=conference, sessions=items,
                           days=timetable.build(items, conference.tz, conference.rooms), view=view,
                           confirm=ConfirmForm(),
                           session_link=lambda s: url_for(".edit_session", slug=conference.slug,
                                                          session_id=s.id))


def _session_form(conference: Conference, session=None) -> SessionForm:
    form = SessionForm(obj=session)
    form.room_id.choices = [SelectChoice("", "No room / several rooms")] + [
        SelectChoice(r.id, f"{r.name} ({r.capacity} seats{', step-free' if r.step_free else ''})")
        for r in conference.rooms
    ]
    form.speaker_ids.choices = [SelectChoice(s.id, s.display_name) for s in conference.speakers]
    if request.method == "GET" and session is not None:
        form.starts_at.data = conference.local(session.starts_at).replace(tzinfo=None)
        form.ends_at.data = conference.local(session.ends_at).replace(tzinfo=None)
        form.speaker_ids.data = [s.id for s in session.speakers]
    return form


CHANGE_LABELS = {"starts_at": "time", "ends_at": "time", "room_id": "room", "status": "status",
                 "speakers": "speakers", "capacity": "seats", "kind": "kind", "title": "title",
                 "description": "description"}


def _session_data(form: SessionForm) -> dict:
    return _data(form, "title", "kind", "starts_at", "ends_at", "room_id", "capacity",
                 "speaker_ids", "description")


@bp.route("/<slug>/sessions/new", methods=["GET", "POST"])
@manager_required
def new_session(conference: Conference):
    """Add a session."""
    form = _session_form(conference)
    if form.validate_on_submit():
        try:
            session = services.create_session(conference, _session_data(form))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Added “{session.title}”.", "success")
            return redirect(url_for(".sessions", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title="New session",
                           conference=conference), 422 if form.errors else 200


@bp.route("/<slug>/sessions/<int:session_id>", methods=["GET", "POST"])
@manager_required
def edit_session(conference: Conference, session_id: int):
    """Edit a session: move it, change its room, speakers or text."""
    session = _or_404(services.get_session, conference, session_id)
    form = _session_form(conference, session)
    if form.validate_on_submit():
        try:
            _, changes = services.update_session(session, _session_data(form))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            labels = [CHANGE_LABELS.get(c, c) for c in changes]
            flash(f"Saved “{session.title}”" + (f": changed {', '.join(dict.fromkeys(labels))}."
                                                if changes else " (nothing changed)."), "success")
            return redirect(url_for(".sessions", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title=f"Edit “{session.title}”",
                           conference=conference, edited_session=session,
                           confirm=ConfirmForm()), 422 if form.errors else 200


@bp.route("/<slug>/sessions/<int:session_id>/status", methods=["POST"])
@manager_required
def session_status(conference: Conference, session_id: int):
    """Cancel or reinstate a session."""
    session = _or_404(services.get_session, conference, session_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    status = "scheduled" if request.form.get("status") == "scheduled" else "cancelled"
    try:
        services.update_session(session, {"status": status})
    except ConvenorError as exc:
        adapters.discard_changes()
        flash(exc.message, "error")
    else:
        flash(f"“{session.title}” is now {status}.", "success")
    return redirect(url_for(".sessions", slug=conference.slug, view=request.args.get("view")))


# --------------------------------------------------------------------------- delegates


@bp.route("/<slug>/delegates")
@manager_required
def delegates(conference: Conference):
    """List delegates with search, filters and pages."""
    try:
        page = adapters.query_int("page", 1, minimum=1, maximum=100_000)
    except ConvenorError:
        page = 1
    filters = {k: request.args.get(k, "").strip() for k in ("q", "organisation", "role", "access")}
    items, total = services.search_delegates(
        conference, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template("organiser/delegates.html", conference=conference, delegates=items,
                           total=total, page=page, pages=pages, filters=filters,
                           facets=services.delegate_facets(conference),
                           link_status=notify_links.link_status(items),
                           links_batch=secrets.token_urlsafe(9))


DELEGATE_FIELDS = ("name", "email", "organisation", "role", "region", "pronouns", "needs_step_free",
                   "needs_hearing_loop", "access_other", "dietary", "slack_user_id")


@bp.route("/<slug>/delegates/new", methods=["GET", "POST"])
@manager_required
def new_delegate(conference: Conference):
    """Register one delegate by hand."""
    form = DelegateForm()
    if form.validate_on_submit():
        try:
            delegate = services.create_delegate(conference, _data(form, *DELEGATE_FIELDS))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Registered {delegate.name}.", "success")
            return redirect(url_for(".delegates", slug=conference.slug))
    return render_template("organiser/form.html", form=form, title="New delegate",
                           conference=conference), 422 if form.errors else 200


@bp.route("/<slug>/delegates/<int:delegate_id>", methods=["GET", "POST"])
@manager_required
def edit_delegate(conference: Conference, delegate_id: int):
    """Edit a delegate."""
    delegate = _or_404(services.get_delegate, conference, delegate_id)
    form = DelegateForm(obj=delegate)
    if form.validate_on_submit():
        try:
            services.update_delegate(delegate, _data(form, *DELEGATE_FIELDS))
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Saved {delegate.name}.", "success")
            return redirect(url_for(".delegates", slug=conference.slug))
    return render_template("organiser/delegate.html", form=form, delegate=delegate,
                           conference=conference, confirm=ConfirmForm()), (
        422 if form.errors else 200
    )


@bp.route("/<slug>/delegates/<int:delegate_id>/rotate-link", methods=["POST"])
@manager_required
def rotate_link(conference: Conference, delegate_id: int):
    """Replace a delegate's private link (the old one stops working)."""
    delegate = _or_404(services.get_delegate, conference, delegate_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.rotate_delegate_token(delegate)
    flash(f"{delegate.name} has a new private link; the old one no longer works.", "success")
    return redirect(url_for(".edit_delegate", slug=conference.slug, delegate_id=delegate.id))


@bp.route("/<slug>/delegates/import", methods=["GET", "POST"])
@manager_required
def import_delegates(conference: Conference):
    """Upload a CSV, preview it with per-line errors, then import all of it or nothing."""
    form = ImportForm()
    confirm = ConfirmForm()
    if request.method == "POST" and "payload" in request.form:
        if not confirm.validate_on_submit():
            abort(400)
        try:
            raw = base64.b64decode(request.form["payload"], validate=True)
        except ValueError:
            abort(400)
        try:
            count = importers.import_delegates(conference, raw)
        except ConvenorError as exc:
            adapters.discard_changes()
            return render_template("organiser/import.html", conference=conference, form=form,
                                   confirm=confirm, error=exc, preview=None), 422
        flash(f"Imported {count} delegates.", "success")
        return redirect(url_for(".delegates", slug=conference.slug))
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            preview = importers.preview_delegates(conference, raw)
        except ConvenorError as exc:
            return render_template("organiser/import.html", conference=conference, form=form,
                                   confirm=confirm, error=exc, preview=None), 422
        return render_template(
            "organiser/import.html", conference=conference, form=form, confirm=confirm,
            preview=preview, error=None, payload=base64.b64encode(raw).decode(),
        ), 200 if preview.ok else 422
    return render_template("organiser/import.html", conference=conference, form=form,
                           confirm=confirm, preview=None, error=None), (
        422 if form.errors else 200
    )


@bp.route("/<slug>/delegates.csv")
@manager_required
def export_delegates(conference: Conference):
    """Download every delegate as CSV."""
    text = importers.export_delegates(
        conference, lambda d: url_for("views.delegate_page", token=d.token, _external=True)
    )
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{conference.slug}-delegates.csv"'})
