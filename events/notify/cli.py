"""``flask notify-worker``: the relay that sends the outbox (one or more per deployment)."""

from __future__ import annotations

import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from events.notify import worker


def register(app: Flask) -> None:
    """Add the ``notify-worker`` command."""
    app.cli.add_command(notify_worker)


@click.command("notify-worker")
@click.option("--once", is_flag=True, help="Reconcile, send what is due, and exit.")
@with_appcontext
def notify_worker(once: bool) -> None:
    """Send due notifications (Slack DMs, email, reminders) from the outbox."""
    if once:
        added = worker.reconcile()
        counts = worker.run_once()
        click.echo(f"reconciled {added} missing; " + (
            ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"))
        return
    app = current_app._get_current_object()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("notify-worker: sending the outbox (Ctrl-C to stop)")
    worker.run_forever(app, stop=stop)
