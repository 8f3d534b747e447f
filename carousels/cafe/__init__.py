"""World Cafe: tables, hosts, timed rounds and the table plan that mixes people."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the World Cafe pages, API and its providers in the ``events`` extension points."""
    from . import (
        models,  # noqa: F401  (the tables, for create_all and migrations)
        views,
    )

    views.register(app)
