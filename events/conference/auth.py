"""Organiser sign-in (Flask-Login) and bearer-token checks shared by the adapters."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from events.conference import services
from events.conference.forms import LoginForm
from events.conference.models import Organiser
from events.extensions import login_manager
from events.security import retry_after

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."


@login_manager.user_loader
def load_user(user_id: str) -> Organiser | None:
    """Return the signed-in organiser for Flask-Login."""
    return services.get_organiser(int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None, organiser=None) -> str:
    # Only same-site relative paths, so a crafted link cannot bounce people elsewhere.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    if organiser is not None and organiser.role == "door_staff":
        return url_for("door.index")
    return url_for("organiser.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign an organiser in."""
    form = LoginForm()
    if form.validate_on_submit():
        organiser = services.authenticate(form.email.data, form.password.data)
        if organiser is not None:
            login_user(organiser, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next"), organiser))
        form.password.errors.append("Email or password is not right.")
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.errorhandler(429)
def throttled(exc):
    """Show the sign-in form again, saying how long to wait (the password is not checked)."""
    wait = retry_after(exc)
    form = LoginForm(formdata=None)
    form.email.data = request.form.get("email", "")
    message = (f"Too many sign-in attempts. For your security, wait {wait} seconds "
               "before trying again.")
    return render_template("auth/login.html", form=form, throttled=message), 429, \
        {"Retry-After": str(wait)}


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign the current organiser out."""
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("views.index"))
