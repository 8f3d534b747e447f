"""The round-plan lifecycle shared by carousels and World Cafe: draft, publish, supersede, start."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the rounds API (start any round of any round-based block)."""
    from events.extensions import csrf

    from . import api

    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
