"""Command-line verbs: ``flask --app app <command>``. Errors are one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, url_for

from events.adapters import fail
from events.conference import importers, services
from events.errors import ConvenorError


def register(app: Flask) -> None:
    """Attach the CLI commands to ``app``."""

    @app.cli.command("create-organiser")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", default="")
    @click.option("--role", type=click.Choice(["organiser", "door_staff"]), default="organiser")
    @click.option("--conference", "slugs", multiple=True, help="Slug of a conference to manage.")
    def create_organiser(email, password, name, role, slugs):
        """Create an organiser account and print a new API token."""
        try:
            conferences = [services.get_conference(s) for s in slugs]
            organiser = services.create_organiser(email, password, name=name, role=role)
            organiser.conferences.extend(conferences)
            token = services.issue_api_token(organiser, "cli")
        except ConvenorError as exc:
            fail(exc.message)
        click.echo(f"created {organiser.role} {organiser.email}")
        click.echo(f"API token (shown once): {token}")

    @app.cli.command("demo")
    def demo():
        """Seed the demo conference (idempotent) and print how to sign in."""
        from events.conference.demo import seed_demo

        result = seed_demo()
        click.echo(result.summary())

    @app.cli.command("import-delegates")
    @click.argument("slug")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
    def import_delegates(slug, path, dry_run):
        """Import delegates from a CSV file, all or nothing."""
        try:
            conference = services.get_conference(slug)
            if not path.exists():
                fail(f"no such file: {path}")
            raw = path.read_bytes()
            if dry_run:
                preview = importers.preview_delegates(conference, raw)
                if preview.errors:
                    raise ConvenorError("invalid_csv", "the file has problems", preview.errors)
                click.echo(f"dry run: {len(preview.rows)} delegates would be imported")
                return
            count = importers.import_delegates(conference, raw)
        except ConvenorError as exc:
            for detail in exc.details[:50]:
                where = f"line {detail['line']}: " if "line" in detail else ""
                click.echo(f"  {where}{detail.get('message', '')}", err=True)
            fail(exc.message)
        click.echo(f"imported {count} delegates into {slug}")

    @app.cli.command("export-delegates")
    @click.argument("slug")
    def export_delegates(slug):
        """Print a conference's delegates as CSV."""
        try:
            conference = services.get_conference(slug)
        except ConvenorError as exc:
            fail(exc.message)
        with app.test_request_context(base_url=app.config.get("PUBLIC_URL") or "http://localhost"):
            click.echo(
                importers.export_delegates(
                    conference, lambda d: url_for("views.delegate_page", token=d.token,
                                                  _external=True)
                ),
                nl=False,
            )
