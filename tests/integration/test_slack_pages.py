"""Organiser switch for self-registration, and the delegate's "Link Slack" code page."""

from __future__ import annotations

import re

import pytest

from events.conference import services
from events.extensions import db


def test_registration_open_in_the_api_and_openapi(api, conference):
    assert api.get("/api/v1/conferences/tlc").get_json()["registration_open"] is False
    changed = api.patch("/api/v1/conferences/tlc", json={"registration_open": True})
    assert changed.status_code == 200 and changed.get_json()["registration_open"] is True
    db.session.expire_all()
    assert conference.registration_open is True
    spec = api.get("/api/v1/openapi.json").get_json()
    assert "registration_open" in spec["components"]["schemas"]["ConferenceInput"]["properties"]
    bad = api.patch("/api/v1/conferences/tlc", json={"registration_open": "perhaps"})
    assert bad.status_code == 422
    assert bad.get_json()["details"][0]["field"] == "registration_open"


def test_organiser_opens_registration_in_settings(client, login, conference):
    login()
    page = client.get("/organiser/tlc/settings").get_data(as_text=True)
    assert 'name="registration_open"' in page and "/convenor signup" in page
    response = client.post("/organiser/tlc/settings", data={
        "name": conference.name, "starts_on": "2027-03-11", "ends_on": "2027-03-11",
        "timezone": "Europe/London", "venue": "London", "published": "y",
        "registration_open": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert conference.registration_open is True


def test_link_page_is_off_without_the_bot(client, conference, make_delegate):
    ada = make_delegate(conference)
    assert client.post(f"/me/{ada.token}/slack-link").status_code == 404
    assert "Link Slack" not in client.get(f"/me/{ada.token}").get_data(as_text=True)


@pytest.fixture
def bot_app(tmp_path):
    from events.extensions import db as database
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'bot.db'}", {
        "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/", "PUBLIC_URL": "https://convenor.test"})
    with app.app_context():
        database.create_all()
        yield app
        database.session.remove()
        database.engine.dispose()


def test_link_code_page_gives_a_code_that_links(bot_app):
    organiser = services.create_organiser("lead@example.org", "correct-horse-9")
    conference = services.create_conference(organiser, {
        "slug": "tlc", "name": "TLC", "starts_on": "2027-03-11", "ends_on": "2027-03-11",
        "published": True})
    ada = services.create_delegate(conference, {"name": "Ada", "email": "ada@example.org",
                                                "organisation": "Oak", "role": "CEO"})
    client = bot_app.test_client()
    page = client.get(f"/me/{ada.token}").get_data(as_text=True)
    assert "Link Slack" in page and f"/me/{ada.token}/slack-link" in page
    response = client.post(f"/me/{ada.token}/slack-link")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    code = re.search(r"/convenor link ([A-Z0-9]{4}-[A-Z0-9]{4})", response.get_data(as_text=True))[1]
    assert services.redeem_slack_link_code(conference, code, "U0ADA0001").id == ada.id
    assert "Link Slack" not in client.get(f"/me/{ada.token}").get_data(as_text=True)
    assert client.post("/me/not-a-token/slack-link").status_code == 404
