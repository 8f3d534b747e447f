"""The conference: programme, rooms, speakers, delegates, organisers, the public pages and the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the conference pages, sign-in, organiser pages, JSON API, CLI and filters."""
    from events import cache
    from events.extensions import csrf

    from . import api, auth, cli, organiser, views

    cache.install()  # a delegate's day is cached per process, keyed by the data's generation
    app.register_blueprint(views.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    cli.register(app)
    views.register_filters(app)
