"""Adapter pieces both round-based formats share, for their pages and their JSON APIs.

Pages: find the block and plan, publish, start, move, go back, and the route factories
(``add_page_routes`` …). API: ``add_api_routes`` (the calls both formats share in shape, with
each format's URLs and endpoints), the optional body, a round's and a plan version's JSON, the
move body, the publish and move OpenAPI operations. Each format's ``views.py`` and ``api.py``
register their routes through these and keep what only they have. (Not ``views.py``/``api.py`` here:
one feature's pages or API never import another's.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from carousels.rounds import services
from events import adapters
from events.adapters import ConfirmForm, apply_errors, body, manager_required
from events.conference.models import Conference, Session
from events.errors import ConvenorError
from events.openapi import INT, json_body, obj, op, ref


def block_or_404(fmt: services.Format, conference: Conference, session_id: int) -> Session:
    """Return the conference's block of this format, or answer 404."""
    try:
        return services.get_session(fmt, conference, session_id)
    except ConvenorError:
        abort(404)


def found(lookup: Callable[[], Any]) -> Any:
    """Return ``lookup()``, or answer 404 when it raises a ``ConvenorError`` (``not_found``)."""
    try:
        return lookup()
    except ConvenorError:
        abort(404)


def remove(lookup: Callable[[], Any], delete: Callable[[Any], None], name: str,
           done: Callable[[], Any]) -> Any:
    """Delete the row ``lookup()`` finds (404 if none) after the confirm button; flash, ``done()``.

    ``name`` is a format string for the flash, e.g. "Removed {row.name}.".
    """
    confirmed()
    row = found(lookup)
    message = name.format(row=row)
    delete(row)
    flash(message, "success")
    return done()


def confirmed() -> None:
    """Answer 400 unless the form carries a valid CSRF token (the confirm buttons)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def back(conference: Conference, session: Session, anchor: str = "") -> Any:
    """Redirect to the block's plan page (at ``anchor``)."""
    return redirect(url_for(".plan", slug=conference.slug, session_id=session.id) + anchor)


def shown_plan(fmt: services.Format, session: Session, version: int | None) -> Any:
    """Return plan ``version`` (404 if there is none) or the newest plan, for the plan page."""
    plan = None
    if version is not None:
        try:
            plan = services.get_plan(fmt, session, version)
        except ConvenorError:
            abort(404)
    return plan or services.latest_plan(fmt, session)


def _version(raw: str | None) -> int | None:
    """Return a plan version from a query or form value; None when absent or not one."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdecimal() and len(raw) <= 9 else None


def printed_plan(fmt: services.Format, session: Session) -> Any:
    """Return the plan to print: ``?version=``, else the published, else the newest; 404 if none."""
    try:
        version = adapters.query_int("version", minimum=1)
        plan = services.get_plan(fmt, session, version) if version else \
            services.published_plan(fmt, session)
    except ConvenorError:
        abort(404)
    plan = plan or services.latest_plan(fmt, session)
    if plan is None:
        abort(404)
    return plan


def seated_choices(plan: Any) -> list[SelectChoice]:
    """Return the plan's seated delegates as "Name — Organisation" choices, by name."""
    seated = sorted({s.delegate for s in plan.seats}, key=lambda d: (d.name, d.id)) if plan else []
    return [SelectChoice(d.id, f"{d.name} — {d.organisation}" if d.organisation else d.name)
            for d in seated]


def publish(fmt: services.Format, conference: Conference, session: Session,
            page: Callable[..., Any], seen: str) -> Any:
    """Publish the newest plan (or the form's ``version``); delegates now see their ``seen``."""
    confirmed()
    try:
        plan = services.publish_plan(fmt, session, _version(request.form.get("version")))
    except ConvenorError as exc:
        flash(exc.message, "error")
        return page(conference, session, 422)
    flash(f"Published version {plan.version}: delegates now see their {seen}.", "success")
    return back(conference, session)


def start_round(fmt: services.Format, conference: Conference, session: Session, number: int,
                told: str) -> Any:
    """Start a round, then go back to the page that asked (``next``) or the plan page."""
    confirmed()
    try:
        result = services.start_round(fmt, session, number)
    except ConvenorError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{fmt.noun.capitalize()} {number} started: {result['delegates']} delegates were "
              f"told their {told}.", "success")
    target = request.form.get("next", "")
    if target.startswith(f"/organiser/{conference.slug}/") and "//" not in target:
        return redirect(target)
    return back(conference, session)


def submit(form: Any, action: Callable[[], Any], success: Callable[[Any], str],
           done: Callable[[], Any], page: Callable[[], Any]) -> Any:
    """Run ``action()`` for a valid ``form``, flash ``success(result)`` and return ``done()``.

    An invalid form, or the service's ``ConvenorError`` (its field errors put on the form),
    gets ``page()`` instead: the page again with the errors next to the fields.
    """
    if form.validate_on_submit():
        try:
            result = action()
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash(success(result), "success")
            return done()
    return page()


def run_allocation(conference: Conference, session: Session, allocate: Callable[[], Any],
                   report: Callable[[Any], str], page: Callable[..., Any]) -> Any:
    """Run ``allocate()`` (the engine); flash ``report(plan)`` and go back, or show why not."""
    try:
        plan = allocate()
    except ConvenorError as exc:
        flash(exc.message, "error")
        return page(conference, session, 422)
    flash(report(plan), "success")
    return back(conference, session)


def add_lifecycle_routes(bp: Any, fmt: services.Format, page: Callable[..., Any], *,
                         seen: str, told: str, start: str) -> None:
    """Add the block pages' ``publish`` and ``start_<noun>`` routes to a format's blueprint.

    ``POST /<session_id>/publish`` publishes the newest plan (or ``version``): delegates now
    see their ``seen``; ``POST /<session_id>/<start>/<number>/start`` starts a round and tells
    delegates their ``told``. ``page(conference, session, status)`` is the plan page.
    """
    @manager_required
    def publish_route(conference: Conference, session_id: int) -> Any:
        return publish(fmt, conference, block_or_404(fmt, conference, session_id), page, seen)

    @manager_required
    def start_route(conference: Conference, session_id: int, number: int) -> Any:
        return start_round(fmt, conference, block_or_404(fmt, conference, session_id), number,
                           told)

    publish_route.__doc__ = "Publish the newest plan (or ``version``) for delegates."
    start_route.__doc__ = f"Start a {fmt.noun}: delegates' pages and screens show where to go."
    bp.add_url_rule("/<int:session_id>/publish", "publish", publish_route, methods=["POST"])
    bp.add_url_rule(f"/<int:session_id>/{start}/<int:number>/start", f"start_{fmt.noun}",
                    start_route, methods=["POST"])


def to_setup(conference: Conference, session: Session, anchor: str = "") -> Any:
    """Redirect to the block's setup page (at ``anchor``)."""
    return redirect(url_for(".setup", slug=conference.slug, session_id=session.id) + anchor)


def add_index_route(bp: Any, blocks: Callable[[Conference], list[Session]],
                    item: Callable[[Session], dict], template: str, doc: str) -> None:
    """Add ``GET /`` (endpoint ``index``): the conference's blocks, ``item(session)`` each."""
    @manager_required
    def index_route(conference: Conference) -> Any:
        return render_template(template, conference=conference,
                               items=[item(s) for s in blocks(conference)])

    index_route.__doc__ = doc
    bp.add_url_rule("/", "index", index_route)


def add_page_routes(bp: Any, fmt: services.Format, *, setup_page: Callable[..., Any],
                    plan_page: Callable[..., Any], setup_doc: str, plan_doc: str) -> None:
    """Add the block's ``setup`` (``GET /<session_id>/setup``) and ``plan``
    (``GET /<session_id>/``, ``?version=``) pages to a format's blueprint."""
    @manager_required
    def setup_route(conference: Conference, session_id: int) -> Any:
        return setup_page(conference, block_or_404(fmt, conference, session_id))

    @manager_required
    def plan_route(conference: Conference, session_id: int) -> Any:
        return plan_page(conference, block_or_404(fmt, conference, session_id),
                         version=_version(request.args.get("version")))

    setup_route.__doc__, plan_route.__doc__ = setup_doc, plan_doc
    bp.add_url_rule("/<int:session_id>/setup", "setup", setup_route)
    bp.add_url_rule("/<int:session_id>/", "plan", plan_route)


def add_setup_route(bp: Any, fmt: services.Format, name: str, endpoint: str,
                    form_class: type[FlaskForm], action: Callable[[Session, Any], Any],
                    success: Callable[[Any, Any], str], *, setup_page: Callable[..., Any],
                    form_name: str, anchor: str = "", doc: str = "") -> None:
    """Add ``POST /<session_id>/setup/<name>`` (``endpoint``): one form of the setup page.

    A valid ``form_class`` form runs ``action(session, form)``, flashes ``success(result,
    form)`` and goes back to the setup page (at ``anchor``); an invalid form, or the service's
    refusal, shows ``setup_page`` again (422) with the form as ``form_name``.
    """
    @manager_required
    def route(conference: Conference, session_id: int) -> Any:
        session = block_or_404(fmt, conference, session_id)
        form = form_class()
        return submit(form, lambda: action(session, form), lambda result: success(result, form),
                      lambda: to_setup(conference, session, anchor),
                      lambda: setup_page(conference, session, 422, **{form_name: form}))

    route.__doc__ = doc
    bp.add_url_rule(f"/<int:session_id>/setup/{name}", endpoint, route, methods=["POST"])


def add_rounds_route(bp: Any, fmt: services.Format, form_class: type[FlaskForm],
                     set_rounds: Callable[[Session, dict], list], *, setup_page: Callable[..., Any],
                     message: str, anchor: str = "") -> None:
    """Add ``POST /<session_id>/setup/<noun>s`` (endpoint ``set_<noun>s``): lay out the rounds.

    ``message`` is the flash, formatted with ``count``; an invalid form shows ``setup_page``
    again with the form as ``<noun>s_form``.
    """
    plural = f"{fmt.noun}s"
    add_setup_route(bp, fmt, plural, f"set_{plural}", form_class,
                    lambda session, form: set_rounds(session, rounds_data(form)),
                    lambda made, _: message.format(count=len(made)), setup_page=setup_page,
                    form_name=f"{plural}_form", anchor=anchor, doc=f"Lay out the {plural}.")


def add_row_routes(bp: Any, fmt: services.Format, noun: str, *, plural: str,
                   make_form: Callable[..., Any], values: Callable[[Any], dict],
                   add: Callable[[Session, dict], Any], get: Callable[[Session, int], Any],
                   update: Callable[[Any, dict], Any], delete: Callable[[Any], None],
                   label: str, setup_page: Callable[..., Any], edit_template: str,
                   anchor: str = "") -> None:
    """Add the routes that add, edit and remove one of a block's rows (a table, a workshop).

    ``POST /<session_id>/setup/<noun>`` (``add_<noun>``), ``GET|POST
    /<session_id>/<plural>/<noun>_id>`` (``edit_<noun>``) and ``POST …/delete``
    (``delete_<noun>``). ``make_form(conference, session, row=None)`` builds the form,
    ``values(form)`` reads it; ``label`` formats a row in the flashes (e.g. "{row.name}").
    """
    done = functools.partial(to_setup, anchor=anchor)

    @manager_required
    def add_route(conference: Conference, session_id: int) -> Any:
        session = block_or_404(fmt, conference, session_id)
        form = make_form(conference, session)
        return submit(form, lambda: add(session, values(form)),
                      lambda row: f"Added {label.format(row=row)}.",
                      lambda: done(conference, session),
                      lambda: setup_page(conference, session, 422, **{f"{noun}_form": form}))

    @manager_required
    def edit_route(conference: Conference, session_id: int, **ids: int) -> Any:
        session = block_or_404(fmt, conference, session_id)
        row = found(lambda: get(session, ids[f"{noun}_id"]))
        form = make_form(conference, session, row)
        return submit(form, lambda: update(row, values(form)),
                      lambda _: f"Saved {label.format(row=row)}.",
                      lambda: done(conference, session),
                      lambda: (render_template(edit_template, conference=conference,
                                               session=session, form=form, confirm=ConfirmForm(),
                                               **{noun: row}), 422 if form.errors else 200))

    @manager_required
    def delete_route(conference: Conference, session_id: int, **ids: int) -> Any:
        session = block_or_404(fmt, conference, session_id)
        return remove(lambda: get(session, ids[f"{noun}_id"]), delete,
                      f"Removed {label}.", lambda: done(conference, session))

    add_route.__doc__ = f"Add one {noun}."
    edit_route.__doc__ = f"Edit one {noun}."
    delete_route.__doc__ = f"Remove a {noun}."
    bp.add_url_rule(f"/<int:session_id>/setup/{noun}", f"add_{noun}", add_route,
                    methods=["POST"])
    row_rule = f"/<int:session_id>/{plural}/<int:{noun}_id>"
    bp.add_url_rule(row_rule, f"edit_{noun}", edit_route, methods=["GET", "POST"])
    bp.add_url_rule(f"{row_rule}/delete", f"delete_{noun}", delete_route, methods=["POST"])


def move(conference: Conference, session: Session, form: Any, do_move: Callable[[], Any],
         page: Callable[..., Any]) -> Any:
    """Run a hand move from a valid ``form``; show its errors on the plan page if refused."""
    return submit(form, do_move, lambda _: "Moved. The counts below are updated; publish when "
                  "ready.", lambda: back(conference, session, "#move"),
                  lambda: page(conference, session, 422, move_form=form))


def rounds_form(noun: str, *, counted: int, most: int, lasting: int, apart: int,
                change: str) -> type[FlaskForm]:
    """Return the form laying out ``counted`` rounds (at ``most``) of ``lasting`` minutes,
    ``apart`` minutes apart; ``noun`` is "round" or "slot", ``change`` explains the gap."""

    class RoundsForm(FlaskForm):
        """Lay out the rounds evenly (ids prefixed: the setup page has other forms)."""

        count = IntegerField(f"Number of {noun}s", default=counted, id="rounds-count",
                             validators=[DataRequired(), NumberRange(min=1, max=most)])
        minutes = IntegerField(f"Minutes per {noun}", default=lasting, id="rounds-minutes",
                               validators=[DataRequired(), NumberRange(min=1, max=240)])
        gap = IntegerField(f"Minutes between {noun}s", default=apart, description=change,
                           id="rounds-gap",
                           validators=[Optional(), NumberRange(min=0, max=60)])
        starts_at = DateTimeLocalField(f"First {noun} starts", format="%Y-%m-%dT%H:%M",
                                       id="rounds-starts_at",
                                       description="Leave empty to start with the session.",
                                       validators=[Optional()])

    return RoundsForm


def rounds_data(form: Any) -> dict:
    """Return a ``rounds_form``'s values for ``set_rounds``."""
    return {"count": form.count.data, "minutes": form.minutes.data, "gap": form.gap.data or 0,
            "starts_at": form.starts_at.data}


# --------------------------------------------------------------------------- JSON API


def optional_body() -> dict:
    """Return the JSON body, or {} when none was sent."""
    if not request.get_data():
        return {}
    return body()


def round_json(r: Any, **extra: Any) -> dict:
    """Return a round or slot as API JSON (``extra`` after the number), times with the offset."""
    local = r.session.conference.local
    return {"number": r.number, **extra, "starts_at": local(r.starts_at).isoformat(),
            "ends_at": local(r.ends_at).isoformat(),
            "started_at": r.started_at.isoformat() if r.started_at else None}


def plan_json(plan: Any, **seats: Any) -> dict:
    """Return a plan version's header as API JSON, followed by its ``seats`` (rounds or slots)."""
    return {"version": plan.version, "status": plan.status, "note": plan.note,
            "stats": plan.stats, "created_at": plan.created_at.isoformat(),
            "published_at": plan.published_at.isoformat() if plan.published_at else None,
            **seats}


def move_ids(keys: tuple[str, str, str]) -> list[int]:
    """Return the JSON body's three ids ``keys`` as integers, or raise ``bad_request``."""
    data = body()
    try:
        return [int(data[k]) for k in keys]
    except (KeyError, TypeError, ValueError):
        raise ConvenorError("bad_request", f"send {keys[0]}, {keys[1]} and {keys[2]}") from None


def publish_version() -> int | None:
    """Return the optional body's ``version`` (None: the newest); ``bad_request`` if not a number."""
    version = optional_body().get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ConvenorError("bad_request", "version must be a plan's version number",
                            [{"field": "version", "message": "must be a whole number"}])
    return version


def publish_operation(plan_schema: str, params: list) -> dict:
    """Return the OpenAPI operation of a format's publish call (plan schema ``plan_schema``)."""
    return {**op("Publish the newest plan (or `version`) atomically; the previous one becomes "
                 "history. Publishing the published version again changes nothing",
                 {"200": json_body(ref(plan_schema), "The published plan")},
                 params=params, extra=("409", "415", "422")),
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": obj({"version": INT})}}}}


def move_operation(summary: str, plan_schema: str, keys: tuple[str, str, str],
                   params: list) -> dict:
    """Return the OpenAPI operation of a format's hand move (body: the three ``keys``)."""
    return op(summary, {"200": json_body(ref(plan_schema), "The changed draft")},
              body=obj({k: INT for k in keys}, list(keys)), params=params,
              extra=("409", "415", "422"))


def add_api_routes(bp: Any, block: str, lookup: Callable[[Conference, int], Session], *,
                   seats: tuple[str, str, Callable[[Any], Any]],
                   show: tuple[str, Callable[[Session], dict]],
                   created: dict[str, tuple[str, Callable[[Session, dict], Any]]],
                   allocate: tuple[str, str, Callable[[Session], Any]],
                   move_keys: tuple[str, str, str], move: Callable[..., Any],
                   publish: Callable[..., Any], respond: Callable[..., Any]) -> None:
    """Add a format's JSON API calls, under ``/conferences/<slug>/sessions/<session_id>/<block>``.

    ``lookup(conference, session_id)`` finds the block; ``respond(session, plan, status)``
    answers with a plan's JSON. The calls (``(url suffix, endpoint, …)`` each):

    - ``seats``: ``GET /conferences/<slug>/delegates/<delegate_id>/<suffix>``, a delegate's
      seats, ``fn(delegate)``;
    - ``show``: ``GET <block>``, the block's JSON ``fn(session)``;
    - ``created``: by suffix, ``POST <block>/<suffix>`` answering 201 with
      ``fn(session, body)``;
    - ``allocate``: ``POST <block>/<suffix>`` computes a draft plan ``fn(session)`` (201);
    - ``POST <block>/move`` (``move(session, *ids)``, the body's ``move_keys``) and
      ``POST <block>/publish`` (``publish(session, version)``), endpoints ``move`` and
      ``publish``, answering with the plan.
    """
    path = f"/conferences/<slug>/sessions/<int:session_id>/{block}"

    def session_of(slug: str, session_id: int) -> Session:
        return lookup(adapters.managed(slug), session_id)

    @adapters.token_required
    def seats_route(slug: str, delegate_id: int) -> Any:
        from events.conference import services as conference_services

        delegate = conference_services.get_delegate(adapters.managed(slug), delegate_id)
        return jsonify(seats[2](delegate))

    @adapters.token_required
    def show_route(slug: str, session_id: int) -> Any:
        return jsonify(show[1](session_of(slug, session_id)))

    def created_route(create: Callable[[Session, dict], Any]) -> Callable[..., Any]:
        @adapters.token_required
        def route(slug: str, session_id: int) -> Any:
            session = session_of(slug, session_id)
            return jsonify(create(session, body())), 201
        return route

    @adapters.token_required
    def allocate_route(slug: str, session_id: int) -> Any:
        session = session_of(slug, session_id)
        return respond(session, allocate[2](session), 201)

    @adapters.token_required
    def move_route(slug: str, session_id: int) -> Any:
        session = session_of(slug, session_id)
        return respond(session, move(session, *move_ids(move_keys)))

    @adapters.token_required
    def publish_route(slug: str, session_id: int) -> Any:
        session = session_of(slug, session_id)
        return respond(session, publish(session, publish_version()))

    bp.add_url_rule(f"/conferences/<slug>/delegates/<int:delegate_id>/{seats[0]}", seats[1],
                    seats_route)
    bp.add_url_rule(path, show[0], show_route)
    for suffix, (endpoint, create) in created.items():
        bp.add_url_rule(f"{path}/{suffix}", endpoint, created_route(create), methods=["POST"])
    bp.add_url_rule(f"{path}/{allocate[0]}", allocate[1], allocate_route, methods=["POST"])
    bp.add_url_rule(f"{path}/move", "move", move_route, methods=["POST"])
    bp.add_url_rule(f"{path}/publish", "publish", publish_route, methods=["POST"])
