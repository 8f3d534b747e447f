"""The redeem decision on plain data: each outcome, the order they are checked in, and invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events.checkin.rules import OUTCOMES, Decision, Entry, Facts, decide

NOW = datetime(2027, 3, 11, 8, 30, tzinfo=UTC)
FIRST = Entry(at=NOW - timedelta(minutes=20), device="Desk 2")


def facts(**overrides) -> Facts:
    values = {"type": "entry", "list_exists": True, "known": True}
    values.update(overrides)
    return Facts(**values)


def test_first_entry_is_ok_now():
    assert decide(facts(), NOW) == Decision("ok", "entry", NOW)


def test_offline_scan_keeps_the_device_time():
    then = NOW - timedelta(hours=2)
    assert decide(facts(scanned_at=then), NOW).at == then


def test_second_entry_says_when_and_where_the_first_was():
    decision = decide(facts(entry=FIRST), NOW)
    assert decision == Decision("already_checked_in", "entry", FIRST.at, "Desk 2")
    assert not decision.writes


def test_exit_needs_an_entry():
    assert decide(facts(type="exit"), NOW).outcome == "not_checked_in"
    assert decide(facts(type="exit", entry=FIRST), NOW) == Decision("ok", "exit", NOW)


def test_refusals_in_order():
    assert decide(facts(list_exists=False, known=False, revoked=True), NOW).outcome == "unknown_list"
    assert decide(facts(known=False, revoked=True, active=False), NOW).outcome == "invalid"
    assert decide(facts(revoked=True, active=False, entry=FIRST), NOW).outcome == "revoked"
    assert decide(facts(active=False, entry=FIRST), NOW).outcome == "canceled"


@given(type=st.sampled_from(["entry", "exit"]), list_exists=st.booleans(), known=st.booleans(),
       revoked=st.booleans(), active=st.booleans(), entered=st.booleans(),
       offset=st.integers(min_value=-100_000, max_value=0))
def test_only_ok_writes_and_times_come_from_the_facts(type, list_exists, known, revoked, active,
                                                      entered, offset):
    scanned = NOW + timedelta(seconds=offset) if offset else None
    f = Facts(type=type, list_exists=list_exists, known=known, revoked=revoked, active=active,
              entry=FIRST if entered else None, scanned_at=scanned)
    decision = decide(f, NOW)
    assert decision.outcome in OUTCOMES
    assert decision.type == type
    assert decision.writes == (decision.outcome == "ok")
    if decision.outcome == "ok":
        assert list_exists and known and not revoked and active
        assert decision.at == (scanned or NOW)
        assert entered == (type == "exit")
    elif decision.outcome == "already_checked_in":
        assert (decision.at, decision.device) == (FIRST.at, FIRST.device)
    else:
        assert decision.at is None
