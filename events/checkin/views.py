"""Check-in pages: the door scanner page, the arrivals dashboard, badge printing with progress,
the delegate page's QR code and the ``badges`` CLI. Thin over ``events.checkin.services``.

The scanner page runs in a door-staff browser session: it calls the JSON API
(``events.checkin.api``) with the session cookie and a CSRF header.
"""

from __future__ import annotations

import csv
import io
import threading

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from events import adapters, hooks
from events.adapters import ConfirmForm, manager_required
from events.checkin import services as checkin
from events.checkin.badges import qr_png
from events.conference import services
from events.conference.models import Conference
from events.csvsafe import safe_row
from events.errors import ConvenorError
from events.extensions import db

door_bp = Blueprint("door", __name__, url_prefix="/door")
org_bp = Blueprint("checkin", __name__, url_prefix="/organiser/<slug>/checkin")
me_bp = Blueprint("checkin_me", __name__)

#: Templates added to the organiser's page for one delegate (get ``conference``, ``delegate``).
DELEGATE_ADMIN_PANELS = ["checkin/_delegate_badge.html"]


def _conference(slug: str) -> Conference | None:
    try:
        return services.get_conference(slug)
    except ConvenorError:
        return None


# --------------------------------------------------------------------------- door scanner


def _door_conference(slug: str) -> Conference:
    conference = _conference(slug)
    if conference is None:
        abort(404)
    if current_user.role not in ("organiser", "door_staff") or not current_user.manages(conference):
        abort(403)
    return conference


@door_bp.route("/")
@login_required
def index():
    """List the conferences this person can check people in at."""
    conferences = list(current_user.conferences)
    if len(conferences) == 1:
        return redirect(url_for(".scanner", slug=conferences[0].slug))
    return render_template("checkin/door_index.html", conferences=conferences, conference=None)


@door_bp.route("/<slug>/")
@login_required
def scanner(slug):
    """The door scanner: camera, typed or hand-held scanner input, manual search, offline queue."""
    conference = _door_conference(slug)
    return render_template("checkin/scanner.html", conference=conference,
                           lists=checkin.checkin_lists(conference))


@door_bp.route("/<slug>/sw.js")
def service_worker(slug):
    """A service worker that keeps the scanner page and its scripts available offline."""
    conference = _conference(slug)
    if conference is None:
        abort(404)
    body = render_template("checkin/sw.js", slug=conference.slug)
    return Response(body, mimetype="text/javascript",
                    headers={"Service-Worker-Allowed": f"/door/{slug}/", "Cache-Control": "no-cache"})


# --------------------------------------------------------------------------- organisers


class BadgeForm(ConfirmForm):
    """Choose which badges to print and how."""

    layout = SelectField("Layout", choices=[
        SelectChoice("a6", "A6 — one badge per page (badge printers)"),
        SelectChoice("a4", "A4 sheets — four A6 badges per page")])
    organisation = SelectField("Organisation", choices=[])
    who = SelectField("Which delegates", choices=[SelectChoice("all", "Everyone registered"),
                                                  SelectChoice("not_arrived", "Not checked in yet")])


class ListForm(ConfirmForm):
    """Add a check-in list."""

    target = SelectField("Valid once on", choices=[])


def _list_choices(conference: Conference) -> list[SelectChoice]:
    have = {r.name for r in checkin.checkin_lists(conference)}
    choices = []
    day = conference.starts_on
    while day <= conference.ends_on:
        key = f"day-{day.isoformat()}"
        if key not in have:
            choices.append(SelectChoice(f"day:{day.isoformat()}", f"Day — {day:%A} {day.day} {day:%B}"))
        day = day.fromordinal(day.toordinal() + 1)
    for s in services.programme_sessions(conference):
        if s.kind in ("break",):
            continue
        if f"session-{s.id}" not in have:
            choices.append(SelectChoice(f"session:{s.id}", f"Session — {s.title}"))
        unit = {"carousel": "slot", "world_cafe": "round"}.get(s.kind)
        if unit:
            for n in range(1, checkin.round_count(s) + 1):
                if f"session-{s.id}-{unit}-{n}" not in have:
                    choices.append(SelectChoice(f"{unit}:{s.id}:{n}", f"{s.title} — {unit} {n}"))
    return choices


def _badge_form(conference: Conference) -> BadgeForm:
    form = BadgeForm()
    orgs = sorted({d.organisation for d in conference.delegates if d.organisation})
    form.organisation.choices = [SelectChoice("", "All organisations")] + [SelectChoice(o, o) for o in orgs]
    return form


@org_bp.route("/")
@manager_required
def dashboard(conference: Conference):
    """Arrivals: checked in / expected, per list and organisation, per 5 minutes, latest scans."""
    form = ListForm()
    form.target.choices = _list_choices(conference)
    return render_template("checkin/arrivals.html", conference=conference,
                           stats=checkin.arrivals(conference), list_form=form,
                           badge_form=_badge_form(conference), confirm=ConfirmForm())


@org_bp.route("/checkins.csv")
@manager_required
def checkins_csv(conference: Conference):
    """Download every check-in and check-out as CSV (cells safe from spreadsheet formulas)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(checkin.CHECKIN_COLUMNS)
    for row in checkin.checkin_rows(conference):
        writer.writerow(safe_row(row))
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{conference.slug}-checkins.csv"',
        "Cache-Control": "private, no-store"})


@org_bp.route("/lists", methods=["POST"])
@manager_required
def add_list_form(conference: Conference):
    form = ListForm()
    form.target.choices = _list_choices(conference)
    if not form.validate_on_submit():
        flash("Choose what the new list is for.", "error")
        return redirect(url_for(".dashboard", slug=conference.slug))
    kind, _, rest = form.target.data.partition(":")
    data: dict = {"kind": kind}
    if kind == "day":
        data["day"] = rest
    else:
        session_id, _, number = rest.partition(":")
        data.update(session_id=session_id, number=number or None)
    try:
        row = checkin.create_list(conference, data)
    except ConvenorError as exc:
        adapters.discard_changes()
        flash(exc.message, "error")
    else:
        flash(f"Added the check-in list “{row.label}”.", "success")
    return redirect(url_for(".dashboard", slug=conference.slug))


@org_bp.route("/lists/<name>/delete", methods=["POST"])
@manager_required
def delete_list_form(conference: Conference, name: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        checkin.delete_list(conference, name)
    except ConvenorError as exc:
        flash(exc.message, "error")
    else:
        flash("Removed the check-in list.", "success")
    return redirect(url_for(".dashboard", slug=conference.slug))


def _run_job(app: Flask, job_id: str) -> None:
    with app.app_context():
        try:
            checkin.run_badge_job(job_id)
        finally:
            db.session.remove()


@org_bp.route("/badges", methods=["POST"])
@manager_required
def print_badges(conference: Conference):
    """Start building a badge PDF and show its progress."""
    form = _badge_form(conference)
    if not form.validate_on_submit():
        flash("Choose a layout and which delegates to print.", "error")
        return redirect(url_for(".dashboard", slug=conference.slug))
    people = checkin.badge_people(conference, form.organisation.data or "",
                                  not_arrived=form.who.data == "not_arrived")
    job = checkin.start_badge_job(conference, [d.id for d in people], form.layout.data)
    app = current_app._get_current_object()
    if app.config.get("BADGE_JOBS_INLINE"):
        checkin.run_badge_job(job.id)
    else:
        threading.Thread(target=_run_job, args=(app, job.id), daemon=True).start()
    return redirect(url_for(".badge_job", slug=conference.slug, job_id=job.id))


def _job_or_404(conference: Conference, job_id: str):
    try:
        return checkin.get_badge_job(conference, job_id)
    except ConvenorError:
        abort(404)


@org_bp.route("/badges/<job_id>")
@manager_required
def badge_job(conference: Conference, job_id: str):
    """Show a badge PDF's progress; the page polls the status and offers the download."""
    job = _job_or_404(conference, job_id)
    return render_template("checkin/badge_job.html", conference=conference, job=job)


@org_bp.route("/badges/<job_id>/status")
@manager_required
def badge_job_status(conference: Conference, job_id: str):
    try:
        job = checkin.get_badge_job(conference, job_id)
    except ConvenorError:
        return adapters.error(404, "no such badge job")
    return jsonify({"status": job.status, "done": job.done, "total": job.total, "error": job.error,
                    "download": url_for(".badge_pdf", slug=conference.slug, job_id=job.id)
                    if job.status == "done" else None})


@org_bp.route("/badges/<job_id>/badges.pdf")
@manager_required
def badge_pdf(conference: Conference, job_id: str):
    job = _job_or_404(conference, job_id)
    if job.status != "done" or job.pdf is None:
        abort(409)
    name = f"{conference.slug}-badges-{job.layout}.pdf"
    return Response(job.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


@org_bp.route("/delegates/<int:delegate_id>/badge", methods=["POST"])
@manager_required
def badge_action(conference: Conference, delegate_id: int):
    """Re-issue or revoke a delegate's badge from their page."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delegate = services.get_delegate(conference, delegate_id)
    except ConvenorError:
        abort(404)
    if request.form.get("action") == "revoke":
        checkin.revoke(delegate)
        flash(f"{delegate.name}'s badge is revoked: scanning it now says so.", "success")
    else:
        checkin.reissue(delegate)
        flash(f"{delegate.name} has a new badge code; print a new badge. The old one is refused.",
              "success")
    return redirect(url_for("organiser.edit_delegate", slug=conference.slug, delegate_id=delegate.id))


@org_bp.route("/delegates/<int:delegate_id>/badge.png")
@manager_required
def delegate_badge_png(conference: Conference, delegate_id: int):
    try:
        delegate = services.get_delegate(conference, delegate_id)
    except ConvenorError:
        abort(404)
    return Response(qr_png(checkin.secret_for(delegate).secret, 8), mimetype="image/png",
                    headers={"Cache-Control": "private, no-store"})


# --------------------------------------------------------------------------- delegate page


@me_bp.route("/me/<token>/badge.png")
def my_badge(token):
    """The delegate's own check-in QR code (behind their private link)."""
    try:
        delegate = services.delegate_by_token(token)
    except ConvenorError:
        abort(404)
    if delegate.status != "active":
        abort(404)
    return Response(qr_png(checkin.secret_for(delegate).secret, 8), mimetype="image/png",
                    headers={"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex",
                             "Referrer-Policy": "no-referrer"})


# --------------------------------------------------------------------------- CLI


def _register_cli(app: Flask) -> None:
    import click

    from events.adapters import fail

    @app.cli.command("badges")
    @click.argument("slug")
    @click.argument("out", type=click.Path(dir_okay=False))
    @click.option("--layout", type=click.Choice(["a6", "a4"]), default="a6",
                  help="a6: one badge per page; a4: sheets of four.")
    @click.option("--organisation", default="", help="Only delegates of this organisation.")
    @click.option("--not-arrived", is_flag=True, help="Only delegates not checked in at the door.")
    def badges_command(slug, out, layout, organisation, not_arrived):
        """Write a PDF of printable badges for a conference's registered delegates."""
        from events.checkin.badges import badge_pdf

        conference = _conference(slug)
        if conference is None:
            fail(f"no conference called {slug!r}")
        if organisation and not checkin.badge_people(conference, organisation):
            fail(f"nobody registered from {organisation!r}")
        people = checkin.badge_people(conference, organisation, not_arrived=not_arrived)
        checkin.ensure_secrets(conference)
        try:
            with open(out, "wb") as handle:
                handle.write(badge_pdf((checkin.badge_for(d) for d in people), layout=layout,
                                       title=f"{conference.name} badges"))
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror}")
        click.echo(f"wrote {len(people)} badge{'' if len(people) == 1 else 's'} to {out}")


# --------------------------------------------------------------------------- registration


def register(app: Flask) -> None:
    """Attach the check-in API and pages."""
    app.register_blueprint(door_bp)
    app.register_blueprint(org_bp)
    app.register_blueprint(me_bp)
    hooks.add(hooks.CHECKIN_COUNTERS, checkin.count_arrived)
    hooks.add(hooks.ORGANISER_NAV, ("checkin.dashboard", "Check-in"))
    hooks.add(hooks.DEMO_HOOKS, checkin.demo)
    hooks.add(hooks.DELEGATE_PANELS, "checkin/_delegate_panel.html")
    hooks.add(hooks.DELEGATE_BADGE_PANELS, "checkin/_delegate_panel.html")
    hooks.add(hooks.DASHBOARD_PANELS, "checkin/_dashboard_panel.html")
    _register_cli(app)
    app.add_template_global(checkin.delegate_checkins, "delegate_checkins")
    app.add_template_global(checkin.door_summary, "checkin_summary")
    app.add_template_global(DELEGATE_ADMIN_PANELS, "delegate_admin_panels")

