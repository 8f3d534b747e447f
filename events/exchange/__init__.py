"""Exchange: calendar feeds, frab/Sessionize schedules in and out, allocation CSV exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the feeds, exports, imports and their CLI commands and page panels."""
    from . import feeds

    feeds.register(app)
