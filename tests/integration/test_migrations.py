"""`flask db upgrade` builds the schema on SQLite and PostgreSQL, and it matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def _diff_after_upgrade(url: str) -> list:
    from flask_migrate import upgrade

    from app import create_app
    from events.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return diff


def test_sqlite_migrations_match_models(tmp_path):
    assert _diff_after_upgrade(f"sqlite:///{tmp_path / 'fresh.db'}") == []


@pytest.mark.postgres
def test_postgresql_migrations_match_models(pg_server):
    assert _diff_after_upgrade(pg_server("convenor_migrations")) == []


def test_cli_upgrade_and_demo_are_idempotent(tmp_path):
    from app import create_app
    from events.conference.models import Conference, Delegate

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "organiser@example.org" in first.output and "password:" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already present" in second.output
    with app.app_context():
        assert Conference.query.count() == 1
        assert Delegate.query.count() == 300
        trusts = {d.organisation for d in Delegate.query}
        assert 35 <= len(trusts) <= 45
        assert any(d.needs_step_free for d in Delegate.query)
    # The printed password signs in.
    password = second.output.split("password: ")[1].split()[0]
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/login", data={"email": "organiser@example.org",
                                           "password": password})
    assert response.status_code == 302


def test_upgrade_keeps_the_rows_of_an_existing_database(tmp_path):
    """An install on the previous schema keeps every row through ``flask db upgrade``."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from events.extensions import db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade(revision="fa3c1b3ed76b")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO conferences (id, slug, name, tagline, starts_on, ends_on, timezone, "
                "venue, about, partners, published, version, created_at) VALUES (1, 'old', 'Old', "
                "'', '2027-03-11', '2027-03-11', 'Europe/London', '', '', '', 1, 0, "
                "'2026-01-01 00:00:00')"))
            conn.execute(text("INSERT INTO rooms (conference_id, name, capacity, step_free, "
                              "hearing_loop) VALUES (1, 'Hall', 10, 1, 0)"))
            conn.execute(text(
                "INSERT INTO delegates (conference_id, name, email, organisation, role, region, "
                "pronouns, needs_step_free, needs_hearing_loop, access_other, dietary, token, "
                "status, created_at) VALUES (1, 'Ada', 'ada@example.org', '', '', '', '', 0, 0, "
                "'', '', 'tok', 'active', '2026-01-01 00:00:00')"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM rooms")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM delegates")).scalar() == 1
            assert conn.execute(text("SELECT registration_open FROM conferences")).scalar() == 0
        db.engine.dispose()
