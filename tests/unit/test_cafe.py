"""Unit tests for the World Cafe allocation engine (carousels/cafe.py)."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carousels.cafe import engine as cafe

ROOT = Path(__file__).resolve().parents[2]


def golfer(tables: int, size: int, rounds: int) -> dict[str, Any]:
    return {
        "rounds": rounds,
        "tables": [{"id": f"T{t + 1}", "capacity": size} for t in range(tables)],
        "delegates": [{"id": f"g{i + 1}"} for i in range(tables * size)],
    }


def small() -> dict[str, Any]:
    return {
        "rounds": 3,
        "tables": [
            {"id": "T1", "capacity": 4, "host": "d1", "step_free": True},
            {"id": "T2", "capacity": 4},
            {"id": "T3", "capacity": 4, "step_free": True},
        ],
        "delegates": [
            {"id": f"d{i}", "organisation": f"Trust {i % 3}", "needs_step_free": i == 5}
            for i in range(1, 11)
        ],
    }


def assert_hard_rules(problem: dict[str, Any], rounds: list[dict[str, list[Any]]]) -> None:
    """Check every hard rule directly, without trusting cafe.check()."""
    tables = {t["id"]: t for t in problem["tables"]}
    people = {d["id"]: d for d in problem["delegates"]}
    absent = {int(k): set(v) for k, v in (problem.get("absent") or {}).items()}
    fixed = {(f["round"], f["delegate"]): f["table"] for f in problem.get("fixed") or []}
    assert len(rounds) == problem["rounds"]
    for r, plan in enumerate(rounds, 1):
        assert set(plan) == set(tables)
        seated = [d for group in plan.values() for d in group]
        assert len(seated) == len(set(seated)), f"someone sits twice in round {r}"
        assert set(seated) == set(people) - absent.get(r, set())
        where = {d: tid for tid, group in plan.items() for d in group}
        for tid, group in plan.items():
            table = tables[tid]
            assert len(group) <= table["capacity"]
            for d in group:
                if people[d].get("needs_step_free"):
                    assert table.get("step_free"), f"{d} needs step-free, at {tid}"
            host = table.get("host")
            if host is not None and host not in absent.get(r, set()):
                assert where[host] == tid
        for (fr, d), tid in fixed.items():
            if fr == r:
                assert where[d] == tid


def recount(problem: dict[str, Any], rounds: list[dict[str, list[Any]]]) -> tuple[int, int]:
    """Count repeats and same-organisation pairs independently of the engine."""
    org = {d["id"]: d.get("organisation") for d in problem["delegates"]}
    meetings: Counter[frozenset[Any]] = Counter()
    same = 0
    for plan in rounds:
        for group in plan.values():
            for a, b in itertools.combinations(group, 2):
                meetings[frozenset((a, b))] += 1
                same += org[a] is not None and org[a] == org[b]
    return sum(c - 1 for c in meetings.values()), same


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a small valid problem with hosts, step-free needs, absences and fixed seats."""
    rounds = draw(st.integers(1, 4))
    specs = draw(st.lists(st.tuples(st.integers(1, 5), st.booleans()), min_size=1, max_size=5))
    total = sum(cap for cap, _ in specs)
    n = draw(st.integers(0, total))
    orgs = draw(st.integers(0, 3))
    delegates = []
    for i in range(n):
        d: dict[str, Any] = {"id": f"d{i}"}
        if orgs and draw(st.booleans()):
            d["organisation"] = f"Org {draw(st.integers(0, orgs - 1))}"
        delegates.append(d)
    tables = [{"id": f"T{t}", "capacity": cap, "step_free": sf}
              for t, (cap, sf) in enumerate(specs)]
    ids = [d["id"] for d in delegates]
    hosts = draw(st.lists(st.sampled_from(ids), unique=True, max_size=len(tables))) if ids else []
    for table, h in zip(tables, hosts, strict=False):
        table["host"] = h
    host_sf = {t["host"]: t["step_free"] for t in tables if "host" in t}
    sf_room = sum(t["capacity"] for t in tables if t["step_free"]) - sum(host_sf.values())
    for d in delegates:
        wants = draw(st.booleans()) and draw(st.booleans())
        if d["id"] in host_sf:
            d["needs_step_free"] = wants and host_sf[d["id"]]
        elif wants and sf_room > 0:
            d["needs_step_free"] = True
            sf_room -= 1
    absent: dict[str, list[str]] = {}
    fixed: list[dict[str, Any]] = []
    hosted = set(host_sf)
    for r in range(1, rounds + 1):
        gone = draw(st.lists(st.sampled_from(ids), unique=True, max_size=3)) if ids else []
        if gone:
            absent[str(r)] = gone
        used = Counter(t["id"] for t in tables if t.get("host") in set(ids) - set(gone))
        pins = draw(st.lists(st.sampled_from(ids), unique=True, max_size=4)) if ids else []
        for d in pins:
            if d in gone or d in hosted:
                continue
            person = next(x for x in delegates if x["id"] == d)
            room = [t for t in tables if used[t["id"]] < t["capacity"]
                    and (t["step_free"] or not person.get("needs_step_free"))]
            if room:
                table = draw(st.sampled_from(room))
                used[table["id"]] += 1
                fixed.append({"round": r, "table": table["id"], "delegate": d})
    problem = {"rounds": rounds, "tables": tables, "delegates": delegates,
               "absent": absent, "fixed": fixed, "seed": draw(st.integers(0, 3))}
    try:
        cafe.validate(problem)
    except cafe.CafeInputError:
        # Fixed seats can use up step-free room; drop them rather than reject the example.
        problem["fixed"] = []
    cafe.validate(problem)
    return problem


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_every_allocation_keeps_the_hard_rules(problem: dict[str, Any]) -> None:
    result = cafe.allocate(problem, time_limit_s=0.2)
    assert cafe.check(problem, result["rounds"]) == []
    assert_hard_rules(problem, result["rounds"])
    stats = result["stats"]
    assert (stats["repeat_pairs"], stats["same_org_pairs"]) == recount(problem, result["rounds"])
    assert stats["same_org_pairs"] >= stats["same_org_lower_bound"]
    assert cafe.score(problem, result["rounds"]) == {
        k: v for k, v in stats.items() if k != "seconds"}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 40), st.integers(1, 8), st.integers(1, 3))
def test_lower_bound_matches_the_even_spread_formula(members: int, tables: int,
                                                     rounds: int) -> None:
    problem = {
        "rounds": rounds,
        "tables": [{"id": f"T{t}", "capacity": 50} for t in range(tables)],
        "delegates": [{"id": f"d{i}", "organisation": "Oak"} for i in range(members)],
    }
    q, r = divmod(members, tables)
    expected = r * (q + 1) * q // 2 + (tables - r) * q * (q - 1) // 2
    assert cafe.score(problem, [{} for _ in range(rounds)])["same_org_lower_bound"] == (
        rounds * expected)


@pytest.mark.parametrize(("tables", "size", "rounds"), [(8, 4, 9), (5, 3, 7)])
def test_social_golfer_instances_reach_zero_repeats(tables: int, size: int, rounds: int) -> None:
    problem = golfer(tables, size, rounds)
    result = cafe.allocate(problem, time_limit_s=120)
    assert_hard_rules(problem, result["rounds"])
    assert result["stats"]["repeat_pairs"] == 0
    assert recount(problem, result["rounds"])[0] == 0


def test_same_org_pairs_reach_the_lower_bound_on_an_easy_instance() -> None:
    problem = {
        "rounds": 3,
        "tables": [{"id": f"T{t}", "capacity": 5} for t in range(8)],
        "delegates": [{"id": f"d{i}", "organisation": f"Trust {i % 4}"} for i in range(40)],
    }
    result = cafe.allocate(problem, time_limit_s=30)
    # Ten members over eight tables: two tables hold a pair, per trust and round.
    assert result["stats"]["same_org_lower_bound"] == 3 * 4 * 2
    assert result["stats"]["same_org_pairs"] == 24
    assert result["stats"]["repeat_pairs"] == 0
    assert result["stats"]["max_table_imbalance"] == 0


def test_tables_are_balanced_when_capacity_allows() -> None:
    problem = {
        "rounds": 2,
        "tables": [{"id": "A", "capacity": 6}, {"id": "B", "capacity": 6},
                   {"id": "C", "capacity": 2}],
        "delegates": [{"id": f"d{i}"} for i in range(11)],
    }
    result = cafe.allocate(problem, time_limit_s=10)
    for plan in result["rounds"]:
        assert sorted(len(g) for g in plan.values()) == [2, 4, 5]
    assert result["stats"]["max_table_imbalance"] == 1


def test_same_seed_gives_the_same_plan() -> None:
    problem = small()
    assert cafe.allocate(problem)["rounds"] == cafe.allocate(problem)["rounds"]


def test_replan_keeps_rounds_already_run() -> None:
    problem = {
        "rounds": 4,
        "tables": [{"id": f"T{t}", "capacity": 6, "host": f"d{t}", "step_free": t < 5}
                   for t in range(10)],
        "delegates": [{"id": f"d{i}", "organisation": f"Trust {i % 9}",
                       "needs_step_free": i % 17 == 12} for i in range(56)],
    }
    first = cafe.allocate(problem, time_limit_s=5)["rounds"]
    fixed = [{"round": r + 1, "table": tid, "delegate": d}
             for r in range(2) for tid, group in first[r].items() for d in group]
    gone = ["d20", "d21", "d33"]
    replan = {**problem, "fixed": fixed, "absent": {"3": gone, "4": gone + ["d7"]}}
    result = cafe.allocate(replan, time_limit_s=5)
    assert_hard_rules(replan, result["rounds"])
    for r in range(2):
        assert {t: set(g) for t, g in result["rounds"][r].items()} == {
            t: set(g) for t, g in first[r].items()}
    assert "d7" not in {d for g in result["rounds"][3].values() for d in g}
    assert "d7" in result["rounds"][2]["T7"]
    # Meetings in the rounds already run count toward repeats.
    assert result["stats"]["repeat_pairs"] == recount(replan, result["rounds"])[0] == 0


def test_check_reports_broken_rules() -> None:
    problem = small()
    plan = copy.deepcopy(cafe.allocate(problem)["rounds"])
    assert cafe.check(problem, plan) == []
    plan[0]["T2"].append(plan[0]["T1"].pop(0))  # the host leaves their table
    plan[1]["T2"].extend(["d6", "d7", "d8", "d9"])  # over capacity and seated twice
    plan[2] = {"T1": ["d1"], "T2": ["d5"]}  # d5 needs step-free; the rest are missing
    found = " ".join(cafe.check(problem, plan))
    for phrase in ("d1 hosts T1", "over its capacity", "seats d6 twice",
                   "d5 needs step-free", "d10 is present but not seated"):
        assert phrase in found


def with_(change: Any) -> dict[str, Any]:
    problem = small()
    change(problem)
    return problem


BAD: list[tuple[str, Any, str]] = [
    ("not_enough_seats", with_(lambda p: p["delegates"].extend(
        {"id": f"x{i}"} for i in range(5))), "Round 1 has 15 present delegates but only 12 "
     "seats: 3 short."),
    ("not_enough_step_free", with_(lambda p: [d.update(needs_step_free=True)
                                              for d in p["delegates"][:9]]),
     "Round 1 has 8 delegates still to seat who need step-free access but only 7 free "
     "step-free seats: 1 short."),
    ("unknown_host", with_(lambda p: p["tables"][1].update(host="nobody")),
     "Table T2 has host nobody, who is not a known delegate."),
    ("host_twice", with_(lambda p: p["tables"][1].update(host="d1")),
     "Delegate d1 cannot host two tables (T1 and T2)."),
    ("fixed_over_capacity", with_(lambda p: p.update(fixed=[
        {"round": 2, "table": "T2", "delegate": f"d{i}"} for i in range(6, 11)])),
     "Table T2 has 5 fixed seats in round 2 (counting its host) but capacity 4."),
    ("fixed_conflict", with_(lambda p: p.update(fixed=[
        {"round": 1, "table": "T2", "delegate": "d3"},
        {"round": 1, "table": "T3", "delegate": "d3"}])),
     "Delegate d3 is fixed to two tables in round 1 (T2 and T3)."),
    ("unknown_delegate", with_(lambda p: p.update(fixed=[
        {"round": 1, "table": "T2", "delegate": "d99"}])),
     "Fixed seat number 1 names d99, who is not a known delegate."),
    ("unknown_table", with_(lambda p: p.update(fixed=[
        {"round": 1, "table": "T9", "delegate": "d2"}])),
     "Fixed seat number 1 names table T9, which is not a known table."),
    ("unknown_delegate", with_(lambda p: p.update(absent={"2": ["d42"]})),
     "'absent' for round 2 names d42, who is not a known delegate."),
    ("unknown_round", with_(lambda p: p.update(absent={"7": ["d2"]})),
     "'absent' names round 7, but rounds run from 1 to 3."),
    ("duplicate_id", with_(lambda p: p["delegates"].append({"id": "d2"})),
     "Delegate id d2 appears more than once."),
    ("step_free_conflict", with_(lambda p: p.update(fixed=[
        {"round": 1, "table": "T2", "delegate": "d5"}])),
     "Delegate d5 needs step-free access but is fixed to table T2 in round 1, which is not "
     "step-free."),
    ("malformed", with_(lambda p: p.update(rounds="four")),
     "'rounds' must be a whole number of at least 1."),
    ("malformed", with_(lambda p: p.update(tables=[{"id": "T1", "capacity": 0}])),
     "Table T1 needs a 'capacity' that is a whole number of at least 1."),
    ("malformed", [1, 2], "The input must be a JSON object with 'rounds', 'tables' and "
     "'delegates'."),
]


@pytest.mark.parametrize(("code", "problem", "message"), BAD,
                         ids=[f"{i}-{c}" for i, (c, _, _) in enumerate(BAD)])
def test_bad_input_gives_one_clear_sentence(code: str, problem: Any, message: str) -> None:
    with pytest.raises(cafe.CafeInputError) as caught:
        cafe.allocate(problem)
    assert str(caught.value) == message
    assert caught.value.code == code


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "carousels.cafe", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(("code", "problem", "message"), BAD,
                         ids=[f"{i}-{c}" for i, (c, _, _) in enumerate(BAD)])
def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path, code: str, problem: Any,
                                             message: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(problem))
    done = run_cli(str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"error: {message}\n"


@pytest.mark.parametrize(("content", "start"), [
    ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes"),
    (None, "cannot read"),
])
def test_cli_unreadable_input_exits_2_with_one_line(tmp_path: Path, content: str | None,
                                                    start: str) -> None:
    path = tmp_path / "in.json"
    if content is not None:
        path.write_text(content)
    done = run_cli(str(path), "--time-limit", "1")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert start in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_prints_the_allocation(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    problem = small()
    path.write_text(json.dumps(problem))
    done = run_cli(str(path), "--time-limit", "5", "--seed", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert cafe.check(problem, result["rounds"]) == []
    assert set(result["stats"]) == {"repeat_pairs", "same_org_pairs", "same_org_lower_bound",
                                    "max_table_imbalance", "seconds"}
    bad = run_cli(str(path), "--time-limit", "soon")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
