"""The round-plan lifecycle shared by carousels and World Cafe: draft, publish, supersede, start."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Blueprint, Flask

    from carousels.rounds.services import Format


def install(app: Flask) -> None:
    """Register the rounds API (start any round of any round-based block)."""
    from events import hooks
    from events.extensions import csrf

    from . import api, notices

    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    hooks.add(hooks.SEATED_DELEGATES, notices.seated)
    hooks.add(hooks.NOTICE_RECONCILERS, notices.reconcile)


def install_format(app: Flask, fmt: Format, *, pages: list[Blueprint], api: ModuleType,
                   providers: ModuleType, default_time_limit: float, nav: tuple[str, str],
                   panel: str, context: Callable[[Any], dict]) -> None:
    """Install one round-based format: what both formats plug in the same way.

    Registers ``fmt`` with the shared lifecycle, sets its time limit (``fmt.time_limit_key``,
    from the environment or ``default_time_limit``), attaches its ``pages`` blueprints and its
    ``api.bp`` (CSRF-exempt), installs its ``providers`` (its ``hooks`` module) and adds its
    organiser ``nav`` entry, delegate-page ``panel`` template and ``context``.
    """
    import os

    from events import hooks
    from events.extensions import csrf

    from . import services

    services.register(fmt)
    key = fmt.time_limit_key
    app.config.setdefault(key, float(os.environ.get(key, default_time_limit)))
    for bp in pages:
        app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)
    providers.install()
    hooks.add(hooks.ORGANISER_NAV, nav)
    hooks.add(hooks.DELEGATE_PANELS, panel)
    hooks.add(hooks.DELEGATE_CONTEXT, context)
