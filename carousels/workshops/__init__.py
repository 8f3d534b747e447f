"""Carousels: slots of parallel workshops, ranked preferences and the optimal assignment."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the carousel pages, the ranking page, API and providers."""
    from events import hooks

    from . import (
        models,  # noqa: F401  (the tables, for create_all and migrations)
        services,
        views,
    )

    views.register(app)
    # A workshop holds its room in its slots: sessions booked there clash with it.
    hooks.add(hooks.ROOM_BOOKINGS, services.workshop_bookings)
    hooks.add(hooks.ROOM_HOLDINGS, services.block_holdings)
