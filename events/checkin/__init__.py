"""QR check-in: badge secrets, check-in lists, the redeem decision, scanner and arrivals."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the check-in API, door and organiser pages, badge CLI and panels."""
    from . import (
        api,
        models,  # noqa: F401  (the tables, for create_all and migrations)
        views,
    )

    api.register(app)
    views.register(app)
