"""The factory's configuration, the CLI, and serving with Socket.IO."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest

from app import ConfigError, create_app
from tests.conftest import ROOT, free_port, wait_for_port


def test_production_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.setenv("CONVENOR_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_database_url_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/convenor")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/convenor"
    monkeypatch.delenv("DATABASE_URL")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"].endswith("instance/convenor.db")


def test_create_organiser_prints_a_working_token(runner, client, app):
    result = runner.invoke(args=["create-organiser", "new@example.org", "--password",
                                 "long-enough-pw"])
    assert result.exit_code == 0, result.output
    token = result.output.split("API token (shown once): ")[1].strip()
    response = client.get("/api/v1/conferences", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json == []
    from events.conference.models import ApiToken

    assert token not in {t.token_hash for t in ApiToken.query}
    again = runner.invoke(args=["create-organiser", "new@example.org", "--password",
                                "long-enough-pw"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_import_delegates_cli(runner, conference, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("name,email,organisation,role\nAnn Lee,ann@example.org,Oak Trust,CEO\n")
    result = runner.invoke(args=["import-delegates", "tlc", str(good)])
    assert result.exit_code == 0 and "imported 1 delegates" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email,organisation,role\nBo,nope,Oak Trust,CEO\n")
    result = runner.invoke(args=["import-delegates", "tlc", str(bad)])
    assert result.exit_code == 2
    assert "line 2" in result.output and "error: nothing was imported" in result.output
    result = runner.invoke(args=["import-delegates", "missing", str(good)])
    assert result.exit_code == 2 and "no conference" in result.output


@pytest.mark.parametrize("how", ["python", "flask"])
def test_server_serves_pages_and_socketio(tmp_path, how):
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", HOST="127.0.0.1",
               PORT=str(port))
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    command = ([sys.executable, "app.py"] if how == "python" else
               [sys.executable, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1",
                "--port", str(port)])
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(port), "server did not start"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
        url = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
        with urllib.request.urlopen(url) as response:
            assert response.read().startswith(b"0{")  # an Engine.IO open packet
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_database_pool_size_sizes_the_postgresql_pool(monkeypatch):
    from app import create_app
    from events.extensions import db

    monkeypatch.setenv("DATABASE_URL", "postgresql://convenor@127.0.0.1:1/convenor")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "40")
    app = create_app({"TESTING": True})
    with app.app_context():
        assert db.engine.pool.size() == 40  # no connection is made to build the pool
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    assert "pool_size" not in create_app({"TESTING": True}).config["SQLALCHEMY_ENGINE_OPTIONS"]
