"""Page pieces both round-based formats share: find the block and plan, publish, start, go back.

Each format's ``views.py`` keeps its routes (their endpoints and URLs) and calls these for the
parts of the lifecycle that are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from wtforms.fields.choices import SelectChoice

from carousels.rounds import services
from events.adapters import ConfirmForm, apply_errors
from events.conference.models import Conference, Session
from events.errors import ConvenorError


def block_or_404(fmt: services.Format, conference: Conference, session_id: int) -> Session:
    """Return the conference's block of this format, or answer 404."""
    try:
        return services.get_session(fmt, conference, session_id)
    except ConvenorError:
        abort(404)


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


def printed_plan(fmt: services.Format, session: Session) -> Any:
    """Return the plan to print: ``?version=``, else the published, else the newest; 404 if none."""
    version = request.args.get("version", type=int)
    try:
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
        plan = services.publish_plan(fmt, session, request.form.get("version", type=int))
    except ConvenorError as exc:
        flash(exc.message, "error")
        return page(conference, session, 422)
    flash(f"Published version {plan.version}: delegates now see their {seen}.", "success")
    return back(conference, session)


def start(fmt: services.Format, conference: Conference, session: Session, number: int,
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


def move(conference: Conference, session: Session, form: Any, do_move: Callable[[], Any],
         page: Callable[..., Any]) -> Any:
    """Run a hand move from a valid ``form``; show its errors on the plan page if refused."""
    if form.validate_on_submit():
        try:
            do_move()
        except ConvenorError as exc:
            apply_errors(form, exc)
        else:
            flash("Moved. The counts below are updated; publish when ready.", "success")
            return back(conference, session, "#move")
    return page(conference, session, 422, move_form=form)
