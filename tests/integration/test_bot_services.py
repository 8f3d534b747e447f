"""The bot's own database work (bot/services.py): the served conference, Slack users, receipts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import services as bot_services
from bot.models import SlackReceipt, SlackUser
from events.extensions import db
from events.types import utcnow


def test_served_conference_by_slug_or_the_only_published_one(conference, make_conference):
    assert bot_services.served_conference("tlc").id == conference.id
    assert bot_services.served_conference("no-such") is None
    assert bot_services.served_conference(None).id == conference.id
    make_conference(published=False)
    assert bot_services.served_conference(None).id == conference.id
    make_conference()
    assert bot_services.served_conference(None) is None
    assert bot_services.served_conference("tlc").id == conference.id


def test_slack_user_settings_and_dm_channel_are_one_row(app):
    assert bot_services.slack_user("U0NEW001") is None
    assert bot_services.dm_channel_id("U0NEW001") is None
    assert bot_services.set_reminders("U0NEW001", False).reminders is False
    bot_services.remember_dm_channel("U0NEW001", "D0NEW001")
    assert bot_services.set_reminders("U0NEW001", True).reminders is True
    db.session.expire_all()
    assert bot_services.dm_channel_id("U0NEW001") == "D0NEW001"
    assert db.session.scalar(select(func.count(SlackUser.id))) == 1


def test_organisers_are_linked_by_their_email(organiser):
    lead, _ = organiser
    assert bot_services.linked_organiser("U0LEAD01") is None
    assert not bot_services.is_linked_organiser("U0LEAD01")
    assert bot_services.link_organiser("U0LEAD01", "nobody@example.org") is None
    assert bot_services.slack_user("U0LEAD01") is None  # nothing stored for a miss
    assert bot_services.link_organiser("U0LEAD01", " Lead@Example.org ").id == lead.id
    assert bot_services.is_linked_organiser("U0LEAD01")
    assert bot_services.linked_organiser("U0LEAD01").id == lead.id


def test_a_receipt_is_recorded_once_forgotten_and_pruned(app, monkeypatch):
    assert bot_services.record_receipt("trigger:1") is True
    assert bot_services.record_receipt("trigger:1") is False
    bot_services.forget_receipt("trigger:1")
    assert bot_services.record_receipt("trigger:1") is True
    bot_services.forget_receipt(None)  # nothing to forget: no error
    later = utcnow() + bot_services.RECEIPT_TTL + timedelta(minutes=5)
    monkeypatch.setattr(bot_services, "_last_prune", [utcnow() - timedelta(hours=2)])
    assert bot_services.record_receipt("event:2", now=later) is True
    keys = list(db.session.scalars(select(SlackReceipt.key)))
    assert keys == ["event:2"]
