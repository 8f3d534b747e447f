"""Notifications: the outbox every personal notice goes through (Slack DMs, email), its worker,
and the programme's part of deciding who is told what.

``install`` registers the outbox table, the ``notify-worker`` command, the commit listener that
wakes the worker and the programme changes' reconcile step. Slack (``bot``) and email
(``events.notify.mail``) register their senders in ``events.hooks.NOTICE_SENDERS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def install(app: Flask) -> None:
    """Register the outbox, the worker command, the programme changes' reconcile step, the
    email sender and the email pages (send links, lost link, the delegate's choice)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    from events import hooks

    from . import changes, cli, mail, models, services, views  # noqa: F401  (models: the tables)

    if not event.contains(OrmSession, "after_commit", services.on_commit):
        event.listen(OrmSession, "after_commit", services.on_commit)
        event.listen(OrmSession, "after_rollback", services.on_rollback)
    hooks.add(hooks.NOTICE_RECONCILERS, changes.reconcile_sessions)
    hooks.NOTICE_SENDERS["email"] = mail.send
    cli.register(app)
    views.register(app)
