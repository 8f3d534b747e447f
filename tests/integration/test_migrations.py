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
