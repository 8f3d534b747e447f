"""Plain-word questions to the bot: at least ten phrasings per intent, typos and number words included."""

from __future__ import annotations

import pytest

from bot.intents import INTENT_NAMES, Intent, parse

I = Intent  # noqa: E741 - keeps the tables below readable

CASES: dict[str, list[tuple[str, Intent]]] = {
    "next": [
        ("what's my next carousel?", I("next", kind="carousel")),
        ("where do I go next", I("next")),
        ("next session", I("next")),
        ("nxt carousel", I("next", kind="carousel")),
        ("NEXT", I("next")),
        ("Whats next??", I("next")),
        ("when is my next workshop", I("next", kind="carousel")),
        ("what's coming up", I("next")),
        ("next keynote please", I("next", kind="keynote")),
        ("When's the next coffee break?", I("next", kind="break")),
        ("next world cafe round", I("next", kind="world_cafe")),
        ("where should I be?", I("next")),
        ("what's happening now", I("next")),
        ("what now?", I("next")),
        ("upcoming", I("next")),
        ("where is my workshop", I("next", kind="carousel")),
        ("when is my keynote?", I("next", kind="keynote")),
        ("Nxet sesion :coffee:", I("next")),
        ("<@U0123ABC> what's my next carousel", I("next", kind="carousel")),
        ("carousel?", I("next", kind="carousel")),
        ("what’s up next 🙂", I("next")),
    ],
    "agenda": [
        ("my agenda", I("agenda")),
        ("what's on today", I("agenda", day="today")),
        ("schedule for tomorrow", I("agenda", day="tomorrow")),
        ("agenda 2025-06-12", I("agenda", day="2025-06-12")),
        ("agneda", I("agenda")),
        ("AGENDA TOMORROW!", I("agenda", day="tomorrow")),
        ("sched tmrw", I("agenda", day="tomorrow")),
        ("show me the full programme", I("agenda")),
        ("today", I("agenda", day="today")),
        ("anything on tomorrow?", I("agenda", day="tomorrow")),
        ("what's on", I("agenda")),
        ("my day", I("agenda")),
        ("What am I doing today?", I("agenda", day="today")),
        ("timetable", I("agenda")),
        ("my shcedule", I("agenda")),
        ("calendar link", I("agenda")),
    ],
    "table": [
        ("which table am I on in round 3?", I("table", round=3)),
        ("my table", I("table")),
        ("tabel", I("table")),
        ("Table for round three", I("table", round=3)),
        ("where do I sit in the 2nd round", I("table", round=2)),
        ("TABLE 4", I("table", round=4)),
        ("what table am I at for the third round?", I("table", round=3)),
        ("where am I sitting in round two", I("table", round=2)),
        ("r3 table?", I("table", round=3)),
        ("world cafe round 1", I("table", round=1)),
        ("my world cafe table", I("table")),
        ("where is my table", I("table")),
        ("round five", I("table", round=5)),
        ("Which TABEL, round #2", I("table", round=2)),
        ("which table am I at next", I("table")),
        ("table 12", I("table", round=12)),
    ],
    "host": [
        ("who is my host", I("host")),
        ("who hosts my table", I("host")),
        ("who's hosting round 2?", I("host", round=2)),
        ("hsot?", I("host")),
        ("my host in round three", I("host", round=3)),
        ("Who is the host of my table?", I("host")),
        ("HOST", I("host")),
        ("who's facilitating my table", I("host")),
        ("who is my table host for the 4th round", I("host", round=4)),
        ("whos my host", I("host")),
        ("who is hosting my table in round 2", I("host", round=2)),
    ],
    "roster": [
        ("who is at my table in round 2?", I("roster", round=2)),
        ("who's at my table", I("roster")),
        ("who else is at my table", I("roster")),
        ("who am I hosting in round three", I("roster", round=3)),
        ("who is sitting with me", I("roster")),
        ("who will I meet in round 4", I("roster", round=4)),
        ("people at my table", I("roster")),
        ("roster", I("roster")),
        ("who's on my tabel in the 2nd round", I("roster", round=2)),
        ("Who is at my table, round 1?", I("roster", round=1)),
        ("list the attendees at my table", I("roster")),
        ("WHO AM I WITH IN ROUND FIVE", I("roster", round=5)),
    ],
    "when": [
        ("when is Ade Adepitan's keynote?", I("when", query="Ade Adepitan's keynote")),
        ("what time is the panel", I("when", query="panel")),
        ("What time does lunch start?", I("when", query="lunch")),
        ("When does Jon Yates speak?", I("when", query="Jon Yates")),
        ("at what time does the World Cafe start", I("when", query="World Cafe")),
        ("how long until lunch", I("when", query="lunch")),
        ("when's Leora Cruddas on?", I("when", query="Leora Cruddas")),
        ("WHEN IS LUNCH", I("when", query="LUNCH")),
        ("wen is the keynote", I("when", query="keynote")),
        ("When is 'Overcoming obstacles'?", I("when", query="Overcoming obstacles")),
        ("when is lunch tomorrow", I("when", query="lunch", day="tomorrow")),
        ("what time is Q&amp;A with Cheryl Shirley", I("when", query="Q&A with Cheryl Shirley")),
        ("<@U999> when is adepitan", I("when", query="adepitan")),
    ],
    "where": [
        ("where is lunch", I("where", query="lunch")),
        ("where's coffee", I("where", query="coffee")),
        ("where is registration", I("where", query="registration")),
        ("Where is the Mountbatten Room?", I("where", query="Mountbatten Room")),
        ("how do I get to the Main Hall", I("where", query="Main Hall")),
        ("which room is the panel in", I("where", query="panel")),
        ("wheres the cloakroom", I("where", query="cloakroom")),
        ("where can I find coffee?", I("where", query="coffee")),
        ("location of the prayer room", I("where", query="prayer room")),
        ("WHERE IS LUNCH BEING SERVED", I("where", query="LUNCH")),
        ("whr is lunch", I("where", query="lunch")),
        ("where is table 7", I("where", query="table 7")),
        ("where’s the café ☕", I("where", query="café")),
    ],
    "signup": [
        ("sign me up", I("signup")),
        ("register me", I("signup")),
        ("Sign up!", I("signup")),
        ("signup", I("signup")),
        ("I want to register", I("signup")),
        ("how do I register?", I("signup")),
        ("can I sign up please", I("signup")),
        ("where do I sign up", I("signup")),
        ("rejister me", I("signup")),
        ("sign-up", I("signup")),
        ("enrol me", I("signup")),
        ("SING ME UP", I("signup")),
    ],
    "prefs": [
        ("rank workshops", I("prefs")),
        ("my preferences", I("prefs")),
        ("choose workshops", I("prefs")),
        ("change my workshop choices", I("prefs")),
        ("pick my workshops", I("prefs")),
        ("Rankings?", I("prefs")),
        ("PREFS", I("prefs")),
        ("update my preferences!", I("prefs")),
        ("preferances", I("prefs")),
        ("I want to rank the carousel workshops", I("prefs")),
        ("rnak workshops", I("prefs")),
        ("vote for workshops", I("prefs")),
    ],
    "link": [
        ("link ABCD-EFGH", I("link", query="ABCD-EFGH")),
        ("link abcd-efgh", I("link", query="ABCD-EFGH")),
        ("ABCD-EFGH", I("link", query="ABCD-EFGH")),
        ("my code is abcd efgh", I("link", query="ABCD-EFGH")),
        ("Link: ABCDEFGH", I("link", query="ABCD-EFGH")),
        ("here is my link code: WXYZ-2345.", I("link", query="WXYZ-2345")),
        ("link wxyz\u20132345", I("link", query="WXYZ-2345")),
        ("redeem ABCD-EFGH", I("link", query="ABCD-EFGH")),
        ("connect slack ABCD-EFGH please", I("link", query="ABCD-EFGH")),
        ("<@U123|convenor> link qrst-uvwx", I("link", query="QRST-UVWX")),
        ("link", I("link")),
        ("link my slack account", I("link")),
    ],
    "help": [
        ("help", I("help")),
        ("HELP!", I("help")),
        ("?", I("help")),
        ("", I("help")),
        ("what can you do", I("help")),
        ("What can you do?", I("help")),
        ("hi", I("help")),
        ("hello there", I("help")),
        ("commands", I("help")),
        ("help me please", I("help")),
        ("how does this work", I("help")),
        ("<@U0123> help", I("help")),
        ("hepl", I("help")),
        ("hlp", I("help")),
        ("👋", I("help")),
    ],
    "unknown": [
        ("asdf qwerty", I("unknown")),
        ("tell me a joke", I("unknown")),
        ("thanks", I("unknown")),
        ("what's the wifi password", I("unknown")),
        ("allocate cafe", I("unknown")),
        ("reminders off", I("unknown")),
        ("is it raining", I("unknown")),
        ("Bonjour, ça va ?", I("unknown")),
        ("the most important thing", I("unknown")),
        ("1234", I("unknown")),
        ("who won the match", I("unknown")),
    ],
}

ALL = [(name, text, expected) for name, cases in CASES.items() for text, expected in cases]


@pytest.mark.parametrize(("name", "text", "expected"), ALL, ids=[f"{n}:{t!r}" for n, t, _ in ALL])
def test_parse(name, text, expected):
    got = parse(text)
    assert got.name == name
    assert got == expected


def test_every_intent_has_ten_phrasings():
    assert set(CASES) == set(INTENT_NAMES)
    assert all(len(cases) >= 10 for cases in CASES.values())


def test_parse_is_deterministic():
    for _, text, _ in ALL:
        assert parse(text) == parse(text)


def test_an_invalid_date_is_not_a_day():
    assert parse("agenda 2025-02-30") == Intent("agenda")


def test_a_name_like_a_keyword_is_not_corrected():
    assert parse("when is Tabler's talk") == Intent("when", query="Tabler's talk")


def test_a_long_message_does_not_break_it():
    assert parse("where is lunch " * 500).name == "where"
