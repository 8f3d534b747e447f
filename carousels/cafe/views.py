"""World Cafe web pages: organisers set up, allocate, move, publish and re-plan; delegates see tables.

Thin over ``carousels.cafe_services``. ``register(app)`` attaches the blueprints; importing
this module adds the organiser nav entry, the delegate-page panel, the Live-page panel, the
demo hook and the calendar and CSV-export providers.

The allocation runs inside the POST request. The engine is bounded by CAFE_TIME_LIMIT_S
(5 s by default) and realistic conferences (300 delegates) finish in about a second, so a
background job with polling would add state (and break across several server processes)
for no gain; the page instead shows a "Working…" indicator while the request runs.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, render_template, request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from carousels.cafe import services as cs
from carousels.rounds import adapters as rounds_views
from events.adapters import ConfirmForm, manager_required
from events.conference.models import Conference

bp = Blueprint("cafe", __name__, url_prefix="/organiser/<slug>/cafe")


def _opt_int(value):
    return int(value) if value not in (None, "", "None") else None


# --------------------------------------------------------------------------- forms


RoundsForm = rounds_views.rounds_form("round", counted=4, most=cs.MAX_ROUNDS, lasting=15,
                                      apart=2, change="Time to change tables.")


class TablesForm(FlaskForm):
    """Add several numbered tables at once (ids prefixed: the setup page has three forms)."""

    count = IntegerField("Number of tables", default=10, id="tables-count",
                         validators=[DataRequired(), NumberRange(min=1, max=cs.MAX_TABLES)])
    capacity = IntegerField("Seats per table (host included)", default=8, id="tables-capacity",
                            validators=[DataRequired(), NumberRange(min=1, max=cs.MAX_CAPACITY)])
    step_free = IntegerField("How many of them are step-free", default=0, id="tables-step_free",
                             description="The first tables added are marked step-free.",
                             validators=[Optional(), NumberRange(min=0)])


class TableForm(FlaskForm):
    """Add or edit one table."""

    number = IntegerField("Table number", description="Leave empty for the next number.",
                          validators=[Optional(), NumberRange(min=1)])
    label = StringField("Name on the floor (optional)", description='Shown instead of "Table 7".',
                        validators=[Optional(), Length(max=60)])
    question = TextAreaField("Question or theme", validators=[Optional(), Length(max=1000)])
    host_id = SelectField("Host", coerce=_opt_int,
                          description="The host stays at this table in every round.")
    step_free = BooleanField("Step-free access")
    capacity = IntegerField("Seats (host included)", default=8,
                            validators=[DataRequired(), NumberRange(min=1, max=cs.MAX_CAPACITY)])


class MoveForm(FlaskForm):
    """Seat one person at another table in one round."""

    delegate_id = SelectField("Person", coerce=_opt_int, validators=[DataRequired()])
    round_number = SelectField("Round", coerce=_opt_int, validators=[DataRequired()])
    table_id = SelectField("Move to table", coerce=_opt_int, validators=[DataRequired()])


class AbsenceForm(FlaskForm):
    """Mark someone who left or arrived late."""

    delegate_id = SelectField("Person", coerce=_opt_int, validators=[DataRequired()])
    reason = SelectField("What happened", choices=[
        SelectChoice("left", "Left before this round (gone for the rest)"),
        SelectChoice("late", "Arrives at this round (missed the earlier ones)"),
        SelectChoice("absent", "Misses this round only"),
    ])
    round_number = SelectField("Round", coerce=_opt_int, validators=[DataRequired()])


class ReplanForm(FlaskForm):
    """Re-plan the remaining rounds."""

    from_round = SelectField("Re-plan from round", coerce=_opt_int, validators=[DataRequired()])


def _delegate_choices(conference: Conference, blank: str | None = None) -> list:
    choices = [SelectChoice("", blank)] if blank is not None else []
    for d in cs.active_delegates(conference):
        label = f"{d.name} — {d.organisation}" if d.organisation else d.name
        if d.needs_step_free:
            label += " (needs step-free)"
        choices.append(SelectChoice(d.id, label))
    return choices


def _round_choices(rounds) -> list:
    return [SelectChoice(r.number, f"Round {r.number}") for r in rounds]


# --------------------------------------------------------------------------- pages


def _session(conference: Conference, session_id: int):
    return rounds_views.block_or_404(cs.FORMAT, conference, session_id)


rounds_views.add_index_route(
    bp, cs.cafe_sessions, lambda s: {
        "session": s, "rounds": len(cs.get_rounds(s)), "tables": len(cs.get_tables(s)),
        "latest": cs.latest_plan(s), "published": cs.published_plan(s)},
    "carousels/cafe_index.html", "List the conference's World Cafe sessions.")


def _setup_page(conference, session, status=200, **forms):
    table_form = forms.get("table_form") or TableForm(formdata=None)
    table_form.host_id.choices = _delegate_choices(conference, "No host")
    hosts = {t.host_id for t in cs.get_tables(session) if t.host_id}
    return render_template(
        "carousels/cafe_setup.html", conference=conference, session=session,
        rounds=cs.get_rounds(session), tables=cs.get_tables(session),
        rounds_form=forms.get("rounds_form") or RoundsForm(formdata=None),
        tables_form=forms.get("tables_form") or TablesForm(formdata=None),
        table_form=table_form, confirm=ConfirmForm(), host_count=len(hosts),
        delegate_count=len(cs.active_delegates(conference)),
    ), status


rounds_views.add_rounds_route(bp, cs.FORMAT, RoundsForm, cs.set_rounds, setup_page=_setup_page,
                              message="Set {count} rounds.")


rounds_views.add_setup_route(
    bp, cs.FORMAT, "tables", "add_tables", TablesForm,
    lambda session, form: cs.add_tables(session, {"count": form.count.data,
                                                  "capacity": form.capacity.data,
                                                  "step_free": form.step_free.data or 0}),
    lambda made, _: f"Added {len(made)} tables.", setup_page=_setup_page,
    form_name="tables_form", doc="Add several tables.")


def _table_data(form: TableForm) -> dict:
    return {"number": form.number.data, "label": form.label.data or "",
            "question": form.question.data or "", "host_id": form.host_id.data,
            "step_free": form.step_free.data, "capacity": form.capacity.data}


def _table_form(conference: Conference, session, table=None) -> TableForm:
    form = TableForm(obj=table)
    form.host_id.choices = _delegate_choices(conference, "No host")
    return form


rounds_views.add_row_routes(
    bp, cs.FORMAT, "table", plural="tables", make_form=_table_form, values=_table_data,
    add=cs.add_table, get=cs.get_table, update=cs.update_table, delete=cs.delete_table,
    label="{row.name}", setup_page=_setup_page, edit_template="carousels/cafe_table.html")


def _plan_forms(conference, session, plan, rounds, tables):
    move = MoveForm(prefix="move")
    move.delegate_id.choices = rounds_views.seated_choices(plan)
    move.round_number.choices = _round_choices([r for r in rounds if r.started_at is None])
    move.table_id.choices = [SelectChoice(t.id, f"{t.name}{' (step-free)' if t.step_free else ''}")
                             for t in tables]
    absence = AbsenceForm(prefix="absence")
    absence.delegate_id.choices = _delegate_choices(conference)
    absence.round_number.choices = _round_choices(rounds)
    replan = ReplanForm(prefix="replan")
    replan.from_round.choices = _round_choices(rounds)
    if request.method == "GET":
        replan.from_round.data = cs.first_open_round(session)
    return {"move_form": move, "absence_form": absence, "replan_form": replan}


def _plan_page(conference, session, status=200, version=None, **forms):
    rounds = cs.get_rounds(session)
    tables = cs.get_tables(session)
    published = cs.published_plan(session)
    plan = rounds_views.shown_plan(cs.FORMAT, session, version)
    defaults = _plan_forms(conference, session, plan, rounds, tables)
    defaults.update(forms)
    return render_template(
        "carousels/cafe_plan.html", conference=conference, session=session, rounds=rounds,
        tables=tables, plan=plan, published=published, plans=cs.get_plans(session),
        floor=cs.floor_plan(session, plan) if plan else [],
        problems=cs.plan_problems(session, plan) if plan else [],
        absences=cs.get_absences(session), confirm=ConfirmForm(),
        seats=sum(t.capacity for t in tables), delegate_count=len(cs.active_delegates(conference)),
        time_limit=current_app.config.get("CAFE_TIME_LIMIT_S", cs.DEFAULT_TIME_LIMIT_S),
        **defaults,
    ), status


rounds_views.add_page_routes(
    bp, cs.FORMAT, setup_page=_setup_page, plan_page=_plan_page,
    setup_doc="Show the rounds and tables with forms to change them.",
    plan_doc="Show the table plan as a floor plan per round, with its counts and actions.")


_back = rounds_views.back


@bp.route("/<int:session_id>/allocate", methods=["POST"])
@manager_required
def allocate(conference: Conference, session_id: int):
    """Run the allocation engine (or re-plan the remaining rounds)."""
    session = _session(conference, session_id)
    replan = ReplanForm(prefix="replan")
    from_round = None
    if request.form.get("replan-from_round"):
        replan.from_round.choices = _round_choices(cs.get_rounds(session))
        if not replan.validate_on_submit():
            return _plan_page(conference, session, 422, replan_form=replan)
        from_round = replan.from_round.data
    elif not ConfirmForm().validate_on_submit():
        abort(400)
    return rounds_views.run_allocation(
        conference, session, lambda: cs.allocate(session, from_round=from_round), _report,
        _plan_page)


def _report(plan) -> str:
    stats = plan.stats
    return (f"{plan.note}: version {plan.version} (draft) with {stats.get('repeat_pairs', 0)} "
            f"repeated meetings and {stats.get('same_org_pairs', 0)} same-organisation pairs, "
            f"in {stats.get('seconds', 0)} s. Check it, then publish.")


@bp.route("/<int:session_id>/move", methods=["POST"])
@manager_required
def move(conference: Conference, session_id: int):
    """Move a person to another table in one round (rules enforced)."""
    session = _session(conference, session_id)
    plan = cs.latest_plan(session)
    form = _plan_forms(conference, session, plan, cs.get_rounds(session),
                       cs.get_tables(session))["move_form"]
    return rounds_views.move(conference, session, form, lambda: cs.move_delegate(
        session, form.delegate_id.data, form.round_number.data, form.table_id.data), _plan_page)


# Publish and start: the same routes for both formats.
rounds_views.add_lifecycle_routes(bp, cs.FORMAT, _plan_page, seen="tables", told="table",
                                  start="rounds")


@bp.route("/<int:session_id>/absences", methods=["POST"])
@manager_required
def mark_absence(conference: Conference, session_id: int):
    """Mark someone who left or arrived late."""
    session = _session(conference, session_id)
    form = _plan_forms(conference, session, cs.latest_plan(session), cs.get_rounds(session),
                       cs.get_tables(session))["absence_form"]
    return rounds_views.submit(
        form, lambda: cs.mark_absence(session, {"delegate_id": form.delegate_id.data,
                                                "reason": form.reason.data,
                                                "round_number": form.round_number.data}),
        lambda _: "Noted. Re-plan the remaining rounds to take it into account.",
        lambda: _back(conference, session, "#replan"),
        lambda: _plan_page(conference, session, 422, absence_form=form))


@bp.route("/<int:session_id>/absences/<int:delegate_id>/clear", methods=["POST"])
@manager_required
def clear_absence(conference: Conference, session_id: int, delegate_id: int):
    """Forget someone's absences."""
    session = _session(conference, session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    cs.clear_absences(session, delegate_id)
    flash("Absence cleared.", "success")
    return _back(conference, session, "#replan")


@bp.route("/<int:session_id>/print/tables")
@manager_required
def print_tables(conference: Conference, session_id: int):
    """Print a sheet per table per round: host, question, names."""
    session = _session(conference, session_id)
    plan = rounds_views.printed_plan(cs.FORMAT, session)
    return render_template("carousels/cafe_print_tables.html", conference=conference,
                           session=session, plan=plan, floor=cs.floor_plan(session, plan))


@bp.route("/<int:session_id>/print/cards")
@manager_required
def print_cards(conference: Conference, session_id: int):
    """Print a card per delegate with their table for each round."""
    session = _session(conference, session_id)
    plan = rounds_views.printed_plan(cs.FORMAT, session)
    details = cs.seat_details(session, plan)
    people = sorted(((d, details[d.id]) for d in {s.delegate for s in plan.seats}),
                    key=lambda item: item[0].name)
    return render_template("carousels/cafe_print_cards.html", conference=conference,
                           session=session, plan=plan, people=people)


# --------------------------------------------------------------------------- delegate page


def delegate_context(delegate) -> dict:
    """Add the delegate's World Cafe tables to their page."""
    return {"cafe_tables": cs.delegate_tables(delegate)}


# --------------------------------------------------------------------------- wiring


def register(app: Flask) -> None:
    """Attach the World Cafe pages and API."""
    from carousels.cafe import api as cafe_api
    from carousels.cafe import hooks as cafe_hooks
    from carousels.rounds import install_format

    install_format(app, cs.FORMAT, pages=[bp], api=cafe_api, providers=cafe_hooks,
                   default_time_limit=cs.DEFAULT_TIME_LIMIT_S, nav=("cafe.index", "World Cafe"),
                   panel="carousels/cafe_delegate_panel.html", context=delegate_context)
    app.add_template_global(cafe_hooks.live_rounds, "cafe_live_rounds")
    app.add_template_global(cs.org_colour, "cafe_org_colour")
