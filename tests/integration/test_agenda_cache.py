"""The in-process cache of a delegate's day (events/cache.py): every change that can alter an
answer shows at once; writes that cannot (Slack receipts, draft plans) keep it."""

from __future__ import annotations

from carousels.cafe import services as cs
from carousels.rounds import services as rounds
from carousels.workshops import services as ws
from carousels.workshops.models import CarouselPlan
from events import cache
from events.conference import services
from events.extensions import db
from tests.integration.bot_world import *  # noqa: F403
from tests.integration.bot_world import BEN, HOST, text_of


def _ben_day(world) -> str:
    db.session.expire_all()
    return repr(services.delegate_agenda(world.ben)) + repr(cs.delegate_tables(world.ben))


def test_the_cache_serves_repeats_and_every_relevant_change_shows_at_once(world, bot):
    assert cache.installed()
    first = _ben_day(world)
    before = cache.generation()
    assert _ben_day(world) == first
    # Slack's bookkeeping writes nothing an answer shows.
    bot.command("reminders off")
    bot.settle()
    assert cache.generation() == before

    ben_table = cs.delegate_table(world.ben, round_number=1)
    table = next(t for t in world.tables if t.name == ben_table["table"])
    cs.update_table(table, {"question": "A brand new question?"})
    assert "A brand new question?" in _ben_day(world)

    seat = next(e for e in services.delegate_agenda(world.ben) if e.get("workshop"))
    workshop = next(w for w in world.workshops if w.title == seat["workshop"])
    ws.update_workshop(workshop, {"title": "Renamed workshop"})
    assert "Renamed workshop" in _ben_day(world)

    services.update_session(world.lunch, {"title": "Long lunch"})
    assert "Long lunch" in _ben_day(world)

    services.update_delegate(world.host, {"name": "Hana Renamed"})
    assert "Hana Renamed" in repr(cs.delegate_tables(world.host)) or "Hana Renamed" in _ben_day(world)


def test_a_draft_keeps_the_cache_and_publishing_it_shows(world):
    _ben_day(world)
    before = cache.generation()
    plan = rounds.allocate(world.cafe)
    assert plan.status == "draft"
    assert cache.generation() == before  # a new draft changes nobody's day
    rounds.publish(world.cafe, plan.version)
    assert cache.generation() > before
    db.session.expire_all()
    assert all(s["plan_version"] == plan.version for s in cs.delegate_tables(world.ben))


def test_a_bulk_update_through_the_session_shows(world, bot):
    assert "Carousel 2 · 11:40" in text_of(bot.command("next").get_json())
    db.session.execute(CarouselPlan.__table__.update().values(status="draft", published_at=None))
    db.session.commit()
    assert "not published yet" in text_of(bot.command("next carousel").get_json())
    assert "you are the host" in text_of(bot.command("table", user=HOST).get_json())
    assert BEN


def test_nothing_is_cached_before_install(monkeypatch):
    monkeypatch.setattr(cache, "_installed", [False])
    lru = cache.LRU(4)
    calls = []
    assert lru.get("k", lambda: calls.append(1) or 1) == 1
    assert lru.get("k", lambda: calls.append(1) or 1) == 1
    assert len(calls) == 2


def test_the_lru_is_bounded_and_entries_expire(monkeypatch):
    monkeypatch.setattr(cache, "_installed", [True])
    lru = cache.LRU(2, max_age_s=0.0)
    calls = []
    lru.get("a", lambda: calls.append("a"))
    lru.get("a", lambda: calls.append("a"))
    assert calls == ["a", "a"]  # expired at once
    lru = cache.LRU(2)
    for key in "abca":
        lru.get(key, lambda key=key: calls.append(key))
    assert calls[2:] == ["a", "b", "c", "a"]  # "a" was evicted by "c"
