"""Live updates: Socket.IO ``/live``, the change log, Now & Next screens and announcements."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the live pages, the announcements API, the Socket.IO handlers and panels."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from . import (
        models,  # noqa: F401  (the tables, for create_all and migrations)
        sockets,
        views,
    )

    views.register(app)
    if not event.contains(Session, "after_rollback", sockets.forget_stash):
        event.listen(Session, "after_rollback", sockets.forget_stash)
