"""Adapters for calendars and exchange formats: feeds, schedule exports, imports, CSV, CLI.

Thin over ``events.calendar``, ``events.exchange`` and ``events.allocation_export``.
``register(app)`` attaches the blueprints and CLI commands; importing this module adds the
delegate-page panel, the organiser "Import programme" page and the dashboard panel.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import click
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
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from events import adapters, hooks
from events.adapters import ConfirmForm, managed, manager_required, public_conference, token_required
from events.conference import services
from events.conference.models import Conference, Delegate
from events.errors import ConvenorError
from events.exchange import allocations as allocation_export
from events.exchange import calendar
from events.exchange import services as exchange
from events.extensions import csrf
from events.openapi import EXTRA_PATHS, op

bp = Blueprint("feeds", __name__)
api_bp = Blueprint("feeds_api", __name__, url_prefix="/api/v1")

#: Flask adds "; charset=utf-8" to text types itself (naming it here sent it twice).
ICS = "text/calendar"
PRIVATE = {"Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex",
           "Referrer-Policy": "no-referrer"}


# --------------------------------------------------------------------------- helpers


def base_url() -> str:
    """Return the public base URL (PUBLIC_URL, else the request's host)."""
    return current_app.config.get("PUBLIC_URL") or request.url_root.rstrip("/")


def external(endpoint: str, **values) -> str:
    """Return an absolute URL, on PUBLIC_URL when it is configured."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _session_items(conference: Conference) -> list[tuple[int, calendar.AgendaItem]]:
    base = base_url()
    return [
        (s.id, calendar.session_item(
            s, uid=calendar.session_uid(base, conference.slug, s.id),
            url=external("views.session_page", slug=conference.slug, session_id=s.id)))
        for s in exchange.feed_sessions(conference)
    ]


def _conditional(body: bytes, mimetype: str, headers: dict | None = None,
                 filename: str | None = None) -> Response:
    """Return ``body`` with a strong ETag; 304 when the client already has it."""
    response = Response(body, mimetype=mimetype)
    response.set_etag(calendar.etag(body).strip('"'))
    response.headers.update(headers or {"Cache-Control": "public, no-cache"})
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response.make_conditional(request)


def _delegate(token: str) -> Delegate:
    try:
        return services.delegate_by_token(token)
    except ConvenorError:
        abort(404)


def _alarms() -> bool:
    return request.args.get("alarms", "1").lower() not in ("0", "no", "false", "off")


# --------------------------------------------------------------------------- calendar feeds


@bp.get("/c/<slug>/programme.ics")
def programme_ics(slug):
    """Serve the whole programme as a subscribable calendar (cancelled sessions included)."""
    conference = public_conference(slug)
    items = [item for _, item in _session_items(conference)]
    body = calendar.render(
        items, name=conference.name, tz_name=conference.timezone,
        description=conference.tagline, url=external("feeds.programme_ics", slug=slug),
        span=(conference.starts_on, conference.ends_on), alarms=_alarms())
    return _conditional(body, ICS)


@bp.get("/c/<slug>/sessions/<int:session_id>.ics")
def session_ics(slug, session_id):
    """Download one session as an .ics file."""
    conference = public_conference(slug)
    try:
        session = services.get_session(conference, session_id)
    except ConvenorError:
        abort(404)
    item = calendar.session_item(
        session, uid=calendar.session_uid(base_url(), slug, session.id),
        url=external("views.session_page", slug=slug, session_id=session.id))
    body = calendar.render([item], name=f"{session.title} · {conference.name}",
                           tz_name=conference.timezone)
    return _conditional(body, ICS, filename=f"{slug}-session-{session.id}.ics")


@bp.get("/me/<token>/agenda.ics")
def agenda_ics(token):
    """Serve a delegate's own day as a private calendar feed."""
    delegate = _delegate(token)
    if delegate.status == "cancelled":
        return Response("This registration was cancelled, so this calendar no longer updates.\n",
                        410, mimetype="text/plain", headers=PRIVATE)
    conference = delegate.conference
    extra = [item for provide in hooks.AGENDA_PROVIDERS for item in provide(delegate) or []]
    items = calendar.agenda_items(_session_items(conference), extra)
    body = calendar.render(
        items, name=f"{conference.name} — my day", tz_name=conference.timezone,
        description=f"{delegate.name}'s agenda", url=external("feeds.agenda_ics", token=token),
        span=(conference.starts_on, conference.ends_on), alarms=_alarms())
    return _conditional(body, ICS, headers=PRIVATE)


@bp.post("/me/<token>/new-link")
def rotate_own_link(token):
    """Let a delegate replace their private link; the old page and feed stop working."""
    delegate = _delegate(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    new = services.rotate_delegate_token(delegate)
    flash("Your private link has been replaced. Bookmark this page, and subscribe to your "
          "calendar again: the old link and feed no longer work.", "success")
    return redirect(url_for("views.delegate_page", token=new))


def calendar_context(delegate: Delegate) -> dict:
    """Return the subscribe links for the delegate page's calendar panel."""
    https = external("feeds.agenda_ics", token=delegate.token)
    webcal = "webcal://" + https.split("://", 1)[1]
    name = f"{delegate.conference.name} — my day"
    return {"calendar_links": {
        "https": https,
        "webcal": webcal,
        "google": "https://calendar.google.com/calendar/render?" + urlencode({"cid": webcal}),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?"
                   + urlencode({"url": https, "name": name}, quote_via=quote),
        "outlook365": "https://outlook.office.com/calendar/0/addfromweb?"
                      + urlencode({"url": https, "name": name}, quote_via=quote),
    }, "rotate_form": ConfirmForm()}


# --------------------------------------------------------------------------- schedule exports


def _schedule(conference: Conference) -> dict:
    return exchange.schedule_data(
        conference, exchange.feed_sessions(conference), base_url=base_url(),
        session_url=lambda s: external("views.session_page", slug=conference.slug,
                                       session_id=s.id),
        schedule_url=external("feeds.schedule_json", slug=conference.slug))


@bp.get("/c/<slug>/schedule.json")
def schedule_json(slug):
    """Serve the frab/c3voc schedule JSON (what pretalx emits)."""
    import json

    conference = public_conference(slug)
    body = json.dumps(_schedule(conference), ensure_ascii=False, indent=1).encode()
    response = _conditional(body, "application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/c/<slug>/schedule.xml")
def schedule_xml(slug):
    """Serve the frab schedule XML."""
    conference = public_conference(slug)
    response = _conditional(exchange.schedule_xml(_schedule(conference)),
                            "application/xml")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --------------------------------------------------------------------------- organiser UI

IMPORT_FORMATS = [("", "Detect it (frab/pretalx or Sessionize JSON)"),
                  ("frab", "frab / pretalx schedule.json"),
                  ("sessionize", "Sessionize “All data” JSON"),
                  ("indico", "Indico registrants CSV (delegates)")]


class ProgrammeImportForm(FlaskForm):
    file = FileField("File to import", validators=[FileRequired()],
                     description="A schedule.json from pretalx or frab, a Sessionize “All "
                     "data” JSON export, or an Indico registrant CSV. Up to 5 MB.")
    format = SelectField("Format", choices=[SelectChoice(v, label) for v, label in IMPORT_FORMATS],
                         default="")


def _preview(conference: Conference, fmt: str, raw: bytes):
    if fmt == "indico":
        return exchange.preview_indico(conference, raw)
    return exchange.preview_programme(conference, raw, fmt or None)


@bp.route("/organiser/<slug>/import-programme", methods=["GET", "POST"])
@manager_required
def import_programme(conference: Conference):
    """Upload a programme or registrant file, preview it, then import all of it or nothing."""
    form = ProgrammeImportForm()
    confirm = ConfirmForm()
    page = {"conference": conference, "form": form, "confirm": confirm, "preview": None,
            "error": None, "fmt": "", "payload": ""}
    if request.method == "POST" and "payload" in request.form:
        if not confirm.validate_on_submit():
            abort(400)
        fmt = request.form.get("fmt", "")
        if fmt not in {f for f, _ in IMPORT_FORMATS}:
            abort(400)
        try:
            raw = base64.b64decode(request.form["payload"], validate=True)
        except ValueError:
            abort(400)
        try:
            if fmt == "indico":
                count = exchange.import_indico(conference, raw)
                flash(f"Imported {count} delegates.", "success")
                return redirect(url_for("organiser.delegates", slug=conference.slug))
            draft = exchange.import_programme(conference, raw, fmt or None)
        except ConvenorError as exc:
            adapters.discard_changes()
            page["error"] = exc
            return render_template("organiser/import_programme.html", **page), 422
        flash(f"Imported {len(draft.sessions)} sessions, {len(draft.new_rooms)} new rooms and "
              f"{len(draft.new_speakers)} new speakers.", "success")
        return redirect(url_for("organiser.sessions", slug=conference.slug))
    if form.validate_on_submit():
        raw = form.file.data.read()
        form.file.data.close()  # big uploads are spooled to a temporary file
        fmt = form.format.data or ""
        page["fmt"] = fmt
        try:
            page["preview"] = _preview(conference, fmt, raw)
        except ConvenorError as exc:
            page["error"] = exc
            return render_template("organiser/import_programme.html", **page), 422
        page["payload"] = base64.b64encode(raw).decode()
        return render_template("organiser/import_programme.html", **page), (
            200 if page["preview"].ok else 422)
    return render_template("organiser/import_programme.html", **page), (
        422 if form.errors else 200)


def _allocations_response(conference: Conference) -> Response:
    fmt = "wide" if request.args.get("format") == "wide" else "long"
    csv_text = allocation_export.export(conference, hooks.ALLOCATION_ROWS, fmt)
    return Response(csv_text, mimetype="text/csv", headers={
        "Content-Disposition":
            f'attachment; filename="{conference.slug}-allocations-{fmt}.csv"'})


@bp.get("/organiser/<slug>/allocations.csv")
@manager_required
def allocations_csv(conference: Conference):
    """Download every published allocation as CSV (?format=long or wide)."""
    return _allocations_response(conference)


# --------------------------------------------------------------------------- API


@api_bp.errorhandler(ConvenorError)
def _api_error(exc: ConvenorError):
    adapters.discard_changes()
    return jsonify(exc.as_json()), adapters.http_status(exc)


@api_bp.get("/conferences/<slug>/allocations.csv")
@token_required
def api_allocations_csv(slug):
    return _allocations_response(managed(slug))


@api_bp.post("/conferences/<slug>/programme/import")
@token_required
def api_import_programme(slug):
    conference = managed(slug)
    fmt = request.args.get("format") or None
    if fmt is not None and fmt not in exchange.FORMATS:
        raise ConvenorError("bad_request", "format must be frab or sessionize")
    raw = request.get_data()
    if request.args.get("dry_run") in ("1", "true", "yes"):
        draft = exchange.preview_programme(conference, raw, fmt)
        return jsonify({"dry_run": True, "would_create": len(draft.sessions),
                        "new_rooms": draft.new_rooms, "new_speakers": draft.new_speakers,
                        "warnings": draft.warnings,
                        "error": "the file has problems" if draft.errors else None,
                        "details": draft.errors}), (422 if draft.errors else 200)
    draft = exchange.import_programme(conference, raw, fmt)
    return jsonify({"created": len(draft.sessions), "new_rooms": draft.new_rooms,
                    "new_speakers": draft.new_speakers, "warnings": draft.warnings}), 201


@api_bp.post("/conferences/<slug>/delegates/import-indico")
@token_required
def api_import_indico(slug):
    conference = managed(slug)
    if (request.mimetype or "") not in ("text/csv", "application/csv", "text/plain"):
        raise ConvenorError("unsupported_media_type", "send the CSV with Content-Type: text/csv")
    if request.args.get("dry_run") in ("1", "true", "yes"):
        preview = exchange.preview_indico(conference, request.get_data())
        return jsonify({"dry_run": True, "would_create": len(preview.rows),
                        "error": "the file has problems" if preview.errors else None,
                        "details": preview.errors}), (422 if preview.errors else 200)
    created = exchange.import_indico(conference, request.get_data())
    return jsonify({"created": created, "total": conference.delegates.count()}), 201


_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
EXTRA_PATHS["/conferences/{slug}/allocations.csv"] = {"get": {
    **op("Export published carousel and World Cafe allocations as CSV", {
        "200": {"description": "CSV (header only when nothing is published)",
                "content": {"text/csv": {"schema": {"type": "string"}}}}},
        params=[_SLUG, {"name": "format", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["long", "wide"]}}]),
}}
EXTRA_PATHS["/conferences/{slug}/programme/import"] = {"post": {
    **op("Import a frab/pretalx or Sessionize programme JSON, all or nothing "
          "(?dry_run=1 to preview)", {
              "201": {"description": "Imported", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"created": {"type": "integer"}}}}}},
              "200": {"description": "Dry run", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"dry_run": {"type": "boolean"},
                                                   "would_create": {"type": "integer"}}}}}},
              "422": {"$ref": "#/components/responses/Error"}},
          params=[_SLUG,
                  {"name": "format", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": list(exchange.FORMATS)}},
                  {"name": "dry_run", "in": "query", "required": False,
                   "schema": {"type": "string"}}]),
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "The schedule.json or Sessionize file as is"}}}},
}}

EXTRA_PATHS["/conferences/{slug}/delegates/import-indico"] = {"post": {
    **op("Import delegates from an Indico registrant CSV (no header: first name, last name, "
          "affiliation, position, phone, email), all or nothing (?dry_run=1 to preview)", {
              "201": {"description": "Imported", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"created": {"type": "integer"},
                                                   "total": {"type": "integer"}}}}}},
              "200": {"description": "Dry run", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"dry_run": {"type": "boolean"},
                                                   "would_create": {"type": "integer"}}}}}},
              "415": {"$ref": "#/components/responses/Error"},
              "422": {"$ref": "#/components/responses/Error"}},
          params=[_SLUG, {"name": "dry_run", "in": "query", "required": False,
                          "schema": {"type": "string"}}]),
    "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
}}

# --------------------------------------------------------------------------- CLI


def _fail(message: str, details: list | None = None) -> None:
    for detail in (details or [])[:50]:
        where = detail.get("item") or (f"line {detail['line']}" if "line" in detail else "")
        click.echo(f"  {where}: {detail.get('message', '')}" if where
                   else f"  {detail.get('message', '')}", err=True)
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _read(path: Path) -> bytes:
    if not path.is_file():
        _fail(f"no such file: {path}")
    return path.read_bytes()


def register(app: Flask) -> None:
    """Attach the feeds, exports and import commands to ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    hooks.add(hooks.DELEGATE_PANELS, "events/_calendar_panel.html")
    hooks.add(hooks.DELEGATE_CONTEXT, calendar_context)
    hooks.add(hooks.ORGANISER_NAV, ("feeds.import_programme", "Import programme"))
    hooks.add(hooks.DASHBOARD_PANELS, "organiser/_exports_panel.html")

    @app.cli.command("import-schedule")
    @click.argument("slug")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--format", "fmt", type=click.Choice(list(exchange.FORMATS)), default=None,
                  help="File format; detected when left out.")
    @click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
    def import_schedule(slug, path, fmt, dry_run):
        """Import a frab/pretalx schedule.json or Sessionize JSON, all or nothing."""
        try:
            conference = services.get_conference(slug)
            raw = _read(path)
            if dry_run:
                draft = exchange.preview_programme(conference, raw, fmt)
                if draft.errors:
                    raise ConvenorError("invalid_file", f"{len(draft.errors)} problem(s) in "
                                        "the file", draft.errors)
            else:
                draft = exchange.import_programme(conference, raw, fmt)
        except ConvenorError as exc:
            adapters.discard_changes()
            _fail(exc.message, exc.details)
        for warning in draft.warnings:
            click.echo(f"  note: {warning['item']}: {warning['message']}")
        verb = "would import" if dry_run else "imported"
        click.echo(f"{'dry run: ' if dry_run else ''}{verb} {len(draft.sessions)} sessions, "
                   f"{len(draft.new_rooms)} new rooms, {len(draft.new_speakers)} new speakers "
                   f"into {slug}")

    @app.cli.command("import-indico")
    @click.argument("slug")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
    def import_indico(slug, path, dry_run):
        """Import delegates from an Indico registrant CSV (no header), all or nothing."""
        try:
            conference = services.get_conference(slug)
            raw = _read(path)
            if dry_run:
                preview = exchange.preview_indico(conference, raw)
                if preview.errors:
                    raise ConvenorError("invalid_csv", "the file has problems", preview.errors)
                count = len(preview.rows)
            else:
                count = exchange.import_indico(conference, raw)
        except ConvenorError as exc:
            adapters.discard_changes()
            _fail(exc.message, exc.details)
        if dry_run:
            click.echo(f"dry run: {count} delegates would be imported into {slug}")
        else:
            click.echo(f"imported {count} delegates into {slug}")

