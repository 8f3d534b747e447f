"""Command-line helpers for the bot: print the Slack app manifest, run Socket Mode."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from events.adapters import fail

MANIFEST = Path(__file__).with_name("manifest.yml")
PLACEHOLDER = "https://convenor.example.org"


def manifest_text(public_url: str) -> str:
    """Return the app manifest with ``public_url`` as the base of every request URL."""
    lines = [line for line in MANIFEST.read_text().splitlines(keepends=True)
             if not line.startswith("#")]  # the file's own note is for readers of the file
    return "".join(lines).replace(PLACEHOLDER, public_url.rstrip("/") or PLACEHOLDER)


def register(app: Flask) -> None:
    """Attach ``slack-manifest`` and ``slack-socket`` to ``app``."""

    @app.cli.command("slack-manifest")
    def slack_manifest():
        """Print the Slack app manifest with PUBLIC_URL filled in (paste it into Slack)."""
        url = current_app.config.get("PUBLIC_URL", "")
        if not url:
            fail("set PUBLIC_URL (the https address Slack will call) first")
        click.echo(manifest_text(url), nl=False)

    @app.cli.command("slack-socket")
    def slack_socket():
        """Run the bot over Socket Mode (needs SLACK_APP_TOKEN) instead of public HTTP."""
        bolt = current_app.extensions.get("convenor_slack_bolt")
        token = current_app.config.get("SLACK_APP_TOKEN")
        if bolt is None or not token:
            fail("set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN first")
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(bolt, token).start()  # pragma: no cover - needs Slack
