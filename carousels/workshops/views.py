"""Carousel web pages: organisers define slots and workshops, run, move, publish; delegates rank.

Thin over ``carousels.workshop_services``. ``register(app)`` attaches the blueprints;
importing this module adds the organiser nav entry, the delegate-page panel and (through
``workshop_hooks``) the calendar, CSV, schedule-export and demo providers.

The assignment runs inside the POST request: the engine proves the optimum for a
300-delegate carousel in well under a second, bounded by CAROUSEL_TIME_LIMIT_S (10 s).
"""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from carousels.rounds import adapters as rounds_views
from carousels.workshops import services as ws
from events.adapters import ConfirmForm, manager_required
from events.conference import services
from events.conference.models import Conference
from events.csvsafe import safe_cell as _cell
from events.errors import ConvenorError

bp = Blueprint("carousel", __name__, url_prefix="/organiser/<slug>/carousels")
me_bp = Blueprint("carousel_me", __name__)


def _opt_int(value):
    return int(value) if value not in (None, "", "None") else None


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --------------------------------------------------------------------------- forms


SlotsForm = rounds_views.rounds_form("slot", counted=3, most=ws.MAX_SLOTS, lasting=25, apart=5,
                                     change="Time to change rooms.")


class WorkshopForm(FlaskForm):
    """Add or edit one workshop."""

    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    led_by = SelectField("Led by", choices=[SelectChoice("expert", "Expert-led"),
                                            SelectChoice("peer", "Peer-led")])
    leader_ids = MultiCheckboxField("Leaders", coerce=int, description="Speakers who lead it.")
    room_id = SelectField("Room", coerce=_opt_int)
    capacity = IntegerField("Seats per run", description="Leave empty for the room's seats.",
                            validators=[Optional(), NumberRange(min=1, max=ws.MAX_CAPACITY)])
    slot_numbers = MultiCheckboxField("Runs in", coerce=int)


class WindowForm(FlaskForm):
    """Open or close ranking, with a deadline."""

    open = BooleanField("Delegates can rank workshops")
    deadline = DateTimeLocalField("Deadline", format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                  description="After this, rankings can no longer change.")


class MoveForm(FlaskForm):
    """Put one delegate in another workshop in one slot."""

    delegate_id = SelectField("Delegate", coerce=_opt_int, validators=[DataRequired()])
    slot_number = SelectField("Slot", coerce=_opt_int, validators=[DataRequired()])
    workshop_id = SelectField("Move to workshop", coerce=_opt_int, validators=[DataRequired()])


def _workshop_form(conference, session, form=None, obj=None) -> WorkshopForm:
    form = form or WorkshopForm(formdata=None, obj=obj)
    form.room_id.choices = [SelectChoice("", "No room yet")] + [
        SelectChoice(r.id, f"{r.name} ({r.capacity} seats"
                     f"{', step-free' if r.step_free else ''}"
                     f"{', hearing loop' if r.hearing_loop else ''})")
        for r in ws.conference_rooms(conference)]
    form.leader_ids.choices = [SelectChoice(s.id, s.display_name)
                               for s in ws.conference_speakers(conference)]
    form.slot_numbers.choices = [
        SelectChoice(s.number, f"{s.name} ({conference.local(s.starts_at):%H:%M})")
        for s in ws.get_slots(session)]
    if obj is not None and request.method == "GET":
        form.leader_ids.data = [s.id for s in obj.leaders]
        form.slot_numbers.data = [s.number for s in obj.slots]
    elif obj is None and not form.slot_numbers.data and request.method == "GET":
        form.slot_numbers.data = [s.number for s in ws.get_slots(session)]
    return form


def _workshop_data(form: WorkshopForm) -> dict:
    return {"title": form.title.data, "description": form.description.data or "",
            "led_by": form.led_by.data, "leader_ids": form.leader_ids.data or [],
            "room_id": form.room_id.data, "capacity": form.capacity.data,
            "slot_numbers": form.slot_numbers.data or []}


# --------------------------------------------------------------------------- pages


def _session(conference: Conference, session_id: int):
    return rounds_views.block_or_404(ws.FORMAT, conference, session_id)


rounds_views.add_index_route(
    bp, ws.carousel_sessions, lambda s: {
        "session": s, "slots": len(ws.get_slots(s)), "workshops": len(ws.get_workshops(s)),
        "ranked": len(ws.all_preferences(s)), "window": ws.preferences_state(s),
        "latest": ws.latest_plan(s), "published": ws.published_plan(s)},
    "carousels/workshop_index.html", "List the conference's carousel sessions.")


def _setup_page(conference, session, status=200, **forms):
    block = ws.get_block(session)
    window = forms.get("window_form")
    if window is None:
        window = WindowForm(formdata=None)
        if block is not None:
            window.open.data = block.preferences_open
            window.deadline.data = (conference.local(block.deadline).replace(tzinfo=None)
                                    if block.deadline else None)
    slots = ws.get_slots(session)
    workshops = ws.get_workshops(session)
    seats = [sum(w.capacity for w in workshops if s in w.slots) for s in slots]
    return render_template(
        "carousels/workshop_setup.html", conference=conference, session=session,
        slots=slots, workshops=workshops, seats=seats,
        slots_form=forms.get("slots_form") or SlotsForm(formdata=None),
        workshop_form=_workshop_form(conference, session, forms.get("workshop_form")),
        window_form=window, state=ws.preferences_state(session), confirm=ConfirmForm(),
        delegate_count=len(ws.active_delegates(conference)),
        ranked=len(ws.all_preferences(session)),
    ), status


rounds_views.add_rounds_route(bp, ws.FORMAT, SlotsForm, ws.set_slots, setup_page=_setup_page,
                              message="Set {count} slots; every workshop runs in each of them.",
                              anchor="#slots")


rounds_views.add_setup_route(
    bp, ws.FORMAT, "window", "set_window", WindowForm,
    lambda session, form: ws.set_preferences_window(session, {"open": form.open.data,
                                                              "deadline": form.deadline.data}),
    lambda _, form: ("Delegates can now rank the workshops." if form.open.data
                     else "Ranking is closed."),
    setup_page=_setup_page, form_name="window_form", anchor="#window",
    doc="Open or close ranking with a deadline.")


def _row_form(conference, session, workshop=None) -> WorkshopForm:
    if workshop is None:
        return _workshop_form(conference, session, WorkshopForm())
    return _workshop_form(conference, session,
                          WorkshopForm(obj=workshop) if request.method == "POST" else None,
                          obj=workshop)


rounds_views.add_row_routes(
    bp, ws.FORMAT, "workshop", plural="workshops", make_form=_row_form, values=_workshop_data,
    add=ws.add_workshop, get=ws.get_workshop, update=ws.update_workshop,
    delete=ws.delete_workshop, label="“{row.title}”", setup_page=_setup_page,
    edit_template="carousels/workshop_edit.html", anchor="#workshops")


def _move_form(session, plan, slots, workshops, form=None) -> MoveForm:
    form = form or MoveForm(prefix="move")
    form.delegate_id.choices = rounds_views.seated_choices(plan)
    form.slot_number.choices = [SelectChoice(s.number, s.name) for s in slots
                                if s.started_at is None]
    form.workshop_id.choices = [SelectChoice(w.id, f"{w.title}"
                                             f"{' — ' + w.room.name if w.room else ''}")
                                for w in workshops]
    return form


def _plan_page(conference, session, status=200, version=None, move_form=None):
    slots = ws.get_slots(session)
    workshops = ws.get_workshops(session)
    plan = rounds_views.shown_plan(ws.FORMAT, session, version)
    return render_template(
        "carousels/workshop_plan.html", conference=conference, session=session, slots=slots,
        workshops=workshops, plan=plan, published=ws.published_plan(session),
        plans=ws.get_plans(session), chart=ws.rank_chart(plan) if plan else [],
        fill=ws.fill(session, plan) if plan else [],
        problems=ws.plan_problems(session, plan) if plan else [],
        move_form=_move_form(session, plan, slots, workshops, move_form),
        confirm=ConfirmForm(), state=ws.preferences_state(session),
        ranked=len(ws.all_preferences(session)),
        delegate_count=len(ws.active_delegates(conference)),
    ), status


rounds_views.add_page_routes(
    bp, ws.FORMAT, setup_page=_setup_page, plan_page=_plan_page,
    setup_doc="Show the slots, workshops and preference window with forms to change them.",
    plan_doc="Show the assignment: ranks received, fill per workshop and slot, moves, "
             "publishing.")


_back = rounds_views.back


@bp.route("/<int:session_id>/run", methods=["POST"])
@manager_required
def run(conference: Conference, session_id: int):
    """Run the assignment engine on everyone's current preferences."""
    session = _session(conference, session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return rounds_views.run_allocation(conference, session, lambda: ws.run_assignment(session),
                                       _report, _plan_page)


def _report(plan) -> str:
    stats = plan.stats
    proof = "proven optimal" if stats.get("optimal") else "not proven optimal"
    return (f"Version {plan.version} (draft): {stats.get('first_choice_pct', 0)}% of delegates "
            f"who ranked got their first choice in one of their slots; {proof}, in "
            f"{stats.get('seconds', 0)} s. Check it, then publish.")


@bp.route("/<int:session_id>/move", methods=["POST"])
@manager_required
def move(conference: Conference, session_id: int):
    """Move a delegate to another workshop in one slot (rules enforced)."""
    session = _session(conference, session_id)
    form = _move_form(session, ws.latest_plan(session), ws.get_slots(session),
                      ws.get_workshops(session))
    return rounds_views.move(conference, session, form, lambda: ws.move_delegate(
        session, form.delegate_id.data, form.slot_number.data, form.workshop_id.data), _plan_page)


# Publish and start: the same routes for both formats.
rounds_views.add_lifecycle_routes(bp, ws.FORMAT, _plan_page, seen="workshops", told="workshop",
                                  start="slots")


@bp.route("/<int:session_id>/attendees")
@manager_required
def attendees(conference: Conference, session_id: int):
    """Print the leaders' attendee lists: one sheet per workshop per slot."""
    session = _session(conference, session_id)
    plan = rounds_views.printed_plan(ws.FORMAT, session)
    workshop_id = request.args.get("workshop", type=int)
    workshops = [w for w in ws.get_workshops(session) if workshop_id in (None, w.id)]
    return render_template("carousels/workshop_attendees.html", conference=conference,
                           session=session, plan=plan, workshops=workshops,
                           lists=ws.attendees(session, plan))


@bp.route("/<int:session_id>/attendees.csv")
@manager_required
def attendees_csv(conference: Conference, session_id: int):
    """Download every workshop's attendees per slot as CSV."""
    session = _session(conference, session_id)
    plan = rounds_views.printed_plan(ws.FORMAT, session)
    lists = ws.attendees(session, plan)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["workshop", "leaders", "room", "slot", "starts", "ends", "delegate",
                     "organisation", "email", "access needs"])
    for w in ws.get_workshops(session):
        for slot in w.slots:
            for d in lists.get((w.id, slot.id), []):
                row = (w.title, w.leaders_line, w.room.name if w.room else "", slot.name,
                       conference.local(slot.starts_at).isoformat(),
                       conference.local(slot.ends_at).isoformat(), d.name, d.organisation,
                       d.email, ", ".join(d.access_needs))
                writer.writerow([_cell(v) for v in row])
    name = f"{conference.slug}-carousel-{session.id}-v{plan.version}-attendees.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- delegate page


def delegate_context(delegate) -> dict:
    """Add the delegate's carousels (workshops, ranking, seats) to their page."""
    return {"carousels": [ws.carousel_view(c) for c in ws.delegate_carousels(delegate)]}


def ranking_from_form(form, workshop_ids: list[int]) -> list[int]:
    """Return workshop ids ordered by the "rank-<id>" selects (``ws.ranking_from_ranks``)."""
    ranks: dict[int, int | None] = {}
    for wid in workshop_ids:
        raw = form.get(f"rank-{wid}", "")
        try:
            ranks[wid] = int(raw) if raw else None
        except ValueError:
            raise ConvenorError("invalid", "choose a rank from the list") from None
    return ws.ranking_from_ranks(ranks)


@me_bp.route("/me/<token>/carousels/<int:session_id>/preferences", methods=["POST"])
def rank(token: str, session_id: int):
    """Save a delegate's ranking from their page."""
    try:
        delegate = services.delegate_by_token(token)
        session = ws.get_carousel_session(delegate.conference, session_id)
    except ConvenorError:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    workshops = ws.get_workshops(session)
    try:
        ranking = ranking_from_form(request.form, [w.id for w in workshops])
        ws.set_preferences(session, delegate, ranking)
    except ConvenorError as exc:
        flash(exc.message, "error")
    else:
        flash("Your ranking is saved. You can change it until the deadline." if ranking
              else "Your ranking is cleared.", "success")
    return redirect(url_for("views.delegate_page", token=token) + f"#carousel-{session.id}")


# --------------------------------------------------------------------------- wiring


def register(app: Flask) -> None:
    """Attach the carousel pages, the delegate ranking route and the API."""
    from carousels.rounds import install_format
    from carousels.workshops import api as workshop_api
    from carousels.workshops import hooks as workshop_hooks

    install_format(app, ws.FORMAT, pages=[bp, me_bp], api=workshop_api, providers=workshop_hooks,
                   default_time_limit=ws.DEFAULT_TIME_LIMIT_S, nav=("carousel.index", "Carousels"),
                   panel="carousels/workshop_delegate_panel.html", context=delegate_context)
    app.add_template_global(workshop_hooks.live_slots, "carousel_live_slots")
