"""Check the carousel rotation engine: rules, optimality against brute force, bad input."""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carousels.workshops import engine as rotation
from carousels.workshops.engine import RotationInputError, assign, check, cost_of, validate

ROOT = Path(__file__).resolve().parents[2]
#: Solver calls vary in speed on a shared machine; examples are not stored in the repo.
QUIET: dict[str, Any] = {"database": None, "deadline": None,
                         "suppress_health_check": [HealthCheck.too_slow]}


# ------------------------------------------------------------------ generators


@st.composite
def problems(draw: st.DrawFn, max_delegates: int = 4, max_workshops: int = 4,
             max_slots: int = 3, max_capacity: int = 3,
             exclusions: bool = False) -> dict[str, Any]:
    """Draw a small, well-formed problem (it may have no assignment).

    With ``exclusions`` some delegates get an ``exclude`` list, which may repeat ids and
    may overlap their preferences.
    """
    slots = [f"S{i}" for i in range(draw(st.integers(1, max_slots)))]
    workshops = []
    # With exclusions, one spare workshop and no empty rooms keep most draws solvable.
    spare = min(len(slots) + 1, max_workshops) if exclusions else 1
    for w in range(draw(st.integers(spare, max_workshops))):
        runs = draw(st.lists(st.sampled_from(slots), unique=True, min_size=1,
                             max_size=len(slots)))
        workshops.append({"id": f"W{w}",
                          "capacity": draw(st.integers(int(exclusions), max_capacity)),
                          "slots": sorted(runs)})
    ids = [w["id"] for w in workshops]
    delegates = []
    for d in range(draw(st.integers(0, max_delegates))):
        prefs = draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]
        delegate: dict[str, Any] = {"id": f"d{d}", "preferences": prefs}
        if exclusions and draw(st.booleans()):
            delegate["exclude"] = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2))
        delegates.append(delegate)
    barred = {(d["id"], w) for d in delegates for w in d.get("exclude", [])}
    fixed = []
    taken: set[tuple[str, str]] = set()
    used: set[tuple[str, str]] = set()
    for _ in range(draw(st.integers(0, 2))):
        if not delegates:
            break
        d = draw(st.sampled_from(delegates))["id"]
        s = draw(st.sampled_from(slots))
        options = [w["id"] for w in workshops if s in w["slots"]
                   and (d, w["id"]) not in used and (d, w["id"]) not in barred]
        if (d, s) in taken or not options:
            continue
        w = draw(st.sampled_from(options))
        taken.add((d, s))
        used.add((d, w))
        fixed.append({"delegate": d, "slot": s, "workshop": w})
    return {"slots": slots, "workshops": workshops, "delegates": delegates, "fixed": fixed}


def seat_cost(problem: dict[str, Any], delegate: dict[str, Any], workshop: str) -> int:
    """Price one seat independently of the engine."""
    longest = max((len(d["preferences"]) for d in problem["delegates"]), default=0)
    prefs = delegate["preferences"]
    return (prefs.index(workshop) + 1) ** 2 if workshop in prefs else (longest + 1) ** 2


def brute_force(problem: dict[str, Any]) -> int | None:
    """Return the optimal cost by trying every assignment, or None if there is none."""
    slots = problem["slots"]
    runs = {w["id"]: set(w["slots"]) for w in problem["workshops"]}
    capacity = {w["id"]: w["capacity"] for w in problem["workshops"]}
    fixed = {(f["delegate"], f["slot"]): f["workshop"] for f in problem.get("fixed", [])}
    options = []
    for delegate in problem["delegates"]:
        mine = []
        barred = set(delegate.get("exclude", []))
        for combo in itertools.permutations(runs, len(slots)):
            if barred.isdisjoint(combo) and all(
                    s in runs[w] for s, w in zip(slots, combo, strict=True)) and all(
                    fixed.get((delegate["id"], s), w) == w
                    for s, w in zip(slots, combo, strict=True)):
                mine.append((sum(seat_cost(problem, delegate, w) for w in combo), combo))
        options.append(mine)
    best: int | None = None
    for choice in itertools.product(*options):
        fill = Counter((s, w) for _, combo in choice for s, w in zip(slots, combo, strict=True))
        if all(n <= capacity[w] for (_, w), n in fill.items()):
            total = sum(cost for cost, _ in choice)
            best = total if best is None else min(best, total)
    return best


def assert_keeps_rules(problem: dict[str, Any], result: dict[str, Any]) -> None:
    """Assert every hard rule without trusting check()."""
    assignments = result["assignments"]
    assert check(problem, assignments) == []
    slots = problem["slots"]
    runs = {w["id"]: set(w["slots"]) for w in problem["workshops"]}
    assert set(assignments) == {d["id"] for d in problem["delegates"]}
    fill: Counter[tuple[str, str]] = Counter()
    for plan in assignments.values():
        assert list(plan) == slots
        assert len(set(plan.values())) == len(slots)
        for s, w in plan.items():
            assert s in runs[w]
            fill[s, w] += 1
    for w in problem["workshops"]:
        for s in slots:
            assert fill[s, w["id"]] <= w["capacity"]
    for f in problem.get("fixed", []):
        assert assignments[f["delegate"]][f["slot"]] == f["workshop"]
    for delegate in problem["delegates"]:
        assert not set(delegate.get("exclude", [])) & set(assignments[delegate["id"]].values())
    stats = result["stats"]
    independent = sum(seat_cost(problem, d, w) for d in problem["delegates"]
                      for w in assignments[d["id"]].values())
    assert stats["cost"] == independent == cost_of(problem, assignments)
    assert stats["lower_bound"] <= stats["cost"]
    assert stats["optimal"] == (stats["lower_bound"] == stats["cost"])
    assert sum(stats["rank_histogram"].values()) == len(problem["delegates"]) * len(slots)
    assert 0.0 <= stats["first_choice_pct"] <= 100.0


# --------------------------------------------------------------- properties


def skipping(stages: tuple[str, ...]) -> contextlib.ExitStack:
    """Make the named fast stages give up, so the exact fallbacks get tested too."""
    stack = contextlib.ExitStack()
    for name in stages:
        stack.enter_context(mock.patch.object(rotation, name, return_value=None))
    return stack


PATHS = [(), ("_fit_slot_by_slot",), ("_fit_slot_by_slot", "_fit_exact")]


def check_against_brute_force(problem: dict[str, Any], skipped: tuple[str, ...]) -> None:
    """Solve with some methods switched off; the answer is brute force's optimum, or infeasible."""
    best = brute_force(problem)
    with skipping(skipped):
        if best is None:
            with pytest.raises(RotationInputError) as caught:
                assign(problem)
            assert caught.value.code == "infeasible"
            assert str(caught.value).startswith("no assignment exists")
            return
        result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["stats"]["cost"] == best
    assert result["stats"]["optimal"] is True


@settings(max_examples=200, **QUIET)
@given(problems(), st.sampled_from(PATHS))
def test_small_instances_match_brute_force(problem: dict[str, Any],
                                           skipped: tuple[str, ...]) -> None:
    check_against_brute_force(problem, skipped)


@settings(max_examples=500, **QUIET)
@given(problems(exclusions=True), st.sampled_from(PATHS))
def test_small_instances_with_exclusions_match_brute_force(problem: dict[str, Any],
                                                           skipped: tuple[str, ...]) -> None:
    check_against_brute_force(problem, skipped)


@settings(max_examples=60, **QUIET)
@given(problems(max_delegates=40, max_workshops=8, max_slots=4, max_capacity=12,
                exclusions=True) | problems(max_delegates=40, max_workshops=8, max_slots=4,
                                            max_capacity=12), st.sampled_from(PATHS))
def test_every_output_keeps_every_rule(problem: dict[str, Any],
                                       skipped: tuple[str, ...]) -> None:
    with skipping(skipped):
        try:
            result = assign(problem, time_limit_s=10)
        except RotationInputError as error:
            assert error.code == "infeasible"
            return
    assert_keeps_rules(problem, result)


@settings(max_examples=25, **QUIET)
@given(st.integers(0, 10_000), st.sampled_from(PATHS))
def test_partial_runs_keep_rules_and_prove_optimality(seed: int,
                                                      skipped: tuple[str, ...]) -> None:
    problem = make(60, 7, 3, seed=seed, partial=0.5)
    with skipping(skipped):
        try:
            result = assign(problem, time_limit_s=20)
        except RotationInputError as error:  # half the rooms part-time: some seeds cannot work
            assert error.code == "infeasible"
            return
    assert_keeps_rules(problem, result)
    assert result["stats"]["optimal"] is True


def with_exclusions(problem: dict[str, Any], share: float, *, seed: int) -> dict[str, Any]:
    """Let ``share`` of the delegates exclude one or two workshops (as access needs do)."""
    rng = random.Random(seed)
    ids = [w["id"] for w in problem["workshops"]]
    for delegate in problem["delegates"]:
        if rng.random() < share:
            delegate["exclude"] = rng.sample(ids, rng.randint(1, 2))
    return problem


@settings(max_examples=20, **QUIET)
@given(st.integers(0, 10_000), st.sampled_from(PATHS))
def test_exclusions_on_partial_runs_keep_rules_and_prove_optimality(
        seed: int, skipped: tuple[str, ...]) -> None:
    problem = with_exclusions(make(60, 7, 3, seed=seed, partial=0.4), 0.3, seed=seed)
    with skipping(skipped):
        try:
            result = assign(problem, time_limit_s=20)
        except RotationInputError as error:
            assert error.code == "infeasible"
            return
    assert_keeps_rules(problem, result)
    assert result["stats"]["optimal"] is True


def test_every_stage_gives_the_same_optimum_with_exclusions() -> None:
    problem = with_exclusions(make(300, 12, 3, seed=1), 0.1, seed=4)
    costs = set()
    for skipped in PATHS:
        with skipping(skipped):
            result = assign(problem)
        assert_keeps_rules(problem, result)
        assert result["stats"]["optimal"] is True
        costs.add(result["stats"]["cost"])
    assert len(costs) == 1


def test_excluded_workshop_is_never_assigned_even_if_preferred() -> None:
    problem = {"slots": ["S1", "S2"],
               "workshops": [{"id": w, "capacity": 5, "slots": ["S1", "S2"]}
                             for w in ("W1", "W2", "W3")],
               "delegates": [{"id": "d1", "preferences": ["W1", "W2"], "exclude": ["W1", "W1"]},
                             {"id": "d2", "preferences": ["W1", "W2"]}]}
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert "W1" not in result["assignments"]["d1"].values()
    assert set(result["assignments"]["d2"].values()) == {"W1", "W2"}
    # d1 keeps the ranks given: W2 is still their second choice, W3 unranked (3**2).
    assert result["stats"] == result["stats"] | {
        "cost": 4 + 9 + 1 + 4, "optimal": True, "first_choice_pct": 50.0,
        "rank_histogram": {"1": 1, "2": 2, "unranked": 1}}


def test_exclusions_compete_for_the_seats_left() -> None:
    # Two delegates need W1 (the only room they may use in S1 besides W3, which is full).
    problem = {"slots": ["S1", "S2"],
               "workshops": [{"id": "W1", "capacity": 2, "slots": ["S1", "S2"]},
                             {"id": "W2", "capacity": 4, "slots": ["S1", "S2"]},
                             {"id": "W3", "capacity": 4, "slots": ["S1", "S2"]}],
               "delegates": [{"id": f"d{i}", "preferences": ["W2", "W3"],
                              "exclude": ["W2"] if i < 2 else []} for i in range(4)]}
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["stats"]["optimal"] is True
    for i in range(2):
        assert sorted(result["assignments"][f"d{i}"].values()) == ["W1", "W3"]


def test_warm_start_with_a_now_excluded_seat_keeps_rules() -> None:
    problem = make(200, 10, 3, seed=5, partial=0.4)
    previous = assign(problem)["assignments"]
    problem["delegates"][0]["exclude"] = [previous["d1"]["S1"]]
    with skipping(("_fit_slot_by_slot", "_fit_exact")):  # the warm start only seeds stage 4
        result = assign(problem, warm_start=previous)
    assert_keeps_rules(problem, result)
    assert result["stats"]["optimal"] is True
    assert previous["d1"]["S1"] not in result["assignments"]["d1"].values()


def test_sets_that_cannot_be_fitted_fall_back_to_the_full_model() -> None:
    # The set-choice bound is 10635 here but no choice of that cost fits into the
    # slots; the proven optimum (checked with an LP/MIP solver) is 10666.
    problem = make(300, 12, 3, seed=1)
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["stats"]["cost"] == 10666
    assert result["stats"]["optimal"] is True


def test_output_is_deterministic() -> None:
    problem = make(200, 10, 3, seed=7)
    first, second = assign(problem), assign(copy.deepcopy(problem))
    assert first["assignments"] == second["assignments"]
    assert first["stats"]["cost"] == second["stats"]["cost"]


def test_delegates_without_preferences_are_spread_evenly() -> None:
    problem = {"slots": ["S1", "S2", "S3"],
               "workshops": [{"id": f"W{i}", "capacity": 40, "slots": ["S1", "S2", "S3"]}
                             for i in range(4)],
               "delegates": [{"id": f"d{i}", "preferences": []} for i in range(80)]}
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["stats"]["optimal"] is True
    fill = Counter((s, w) for plan in result["assignments"].values() for s, w in plan.items())
    assert max(fill.values()) - min(fill.values()) <= 40 // 8 + 1
    assert result["stats"]["rank_histogram"] == {"unranked": 240}


def test_known_instance_reports_ranks() -> None:
    problem = {"slots": ["S1", "S2"],
               "workshops": [{"id": "A", "capacity": 1, "slots": ["S1", "S2"]},
                             {"id": "B", "capacity": 1, "slots": ["S1", "S2"]},
                             {"id": "C", "capacity": 2, "slots": ["S1"]}],
               "delegates": [{"id": "x", "preferences": ["A", "B"]},
                             {"id": "y", "preferences": ["A", "C"]}]}
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["assignments"]["y"]["S1"] == "C"
    assert result["stats"] == result["stats"] | {
        "cost": 1 + 4 + 1 + 4, "lower_bound": 10, "optimal": True, "first_choice_pct": 100.0,
        "rank_histogram": {"1": 2, "2": 2, "unranked": 0}}


def test_fixed_choice_is_kept_even_when_costly() -> None:
    problem = make(30, 5, 3, seed=3, partial=0.0)
    problem["fixed"] = [{"delegate": "d1", "slot": "S1", "workshop": "W1"}]
    result = assign(problem)
    assert_keeps_rules(problem, result)
    assert result["assignments"]["d1"]["S1"] == "W1"


def test_warm_start_resolve_keeps_rules() -> None:
    problem = make(300, 10, 3, seed=5, partial=0.4)
    previous = assign(problem)["assignments"]
    problem["delegates"][0]["preferences"] = ["W3", "W2"]
    result = assign(problem, warm_start=previous)
    assert_keeps_rules(problem, result)


# --------------------------------------------------------------- bad input


def base() -> dict[str, Any]:
    return {"slots": ["S1", "S2"],
            "workshops": [{"id": "W1", "capacity": 2, "slots": ["S1", "S2"]},
                          {"id": "W2", "capacity": 2, "slots": ["S1", "S2"]}],
            "delegates": [{"id": "d1", "preferences": ["W1"]}, {"id": "d2", "preferences": []}],
            "fixed": []}


def changed(path: str, value: Any) -> dict[str, Any]:
    problem = base()
    target: Any = problem
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key) if key.isdigit() else key]
    target[int(last) if last.isdigit() else last] = value
    return problem


BAD = [
    (changed("slots", []), "bad_input", "at least one slot"),
    (changed("slots", ["S1", "S1"]), "bad_input", "slot 'S1' is listed twice"),
    (changed("workshops.0.slots", ["S9"]), "unknown_id", "unknown slot \"S9\""),
    (changed("workshops.0.capacity", -1), "bad_input", "non-negative 'capacity'"),
    (changed("workshops.0.capacity", True), "bad_input", "'capacity'"),
    (changed("workshops.1.id", "W1"), "bad_input", "workshop 'W1' is listed twice"),
    (changed("delegates.1.id", "d1"), "bad_input", "delegate 'd1' is listed twice"),
    (changed("delegates.0.preferences", ["W7"]), "unknown_id", "unknown workshop \"W7\""),
    (changed("delegates.0.preferences", ["W1", "W2", "W1"]), "duplicate_preference",
     "names workshop 'W1' twice"),
    (changed("delegates.0.preferences", "W1"), "bad_input", "list of 'preferences'"),
    (changed("fixed", [{"delegate": "d9", "slot": "S1", "workshop": "W1"}]), "unknown_id",
     "unknown delegate \"d9\""),
    (changed("fixed", [{"delegate": "d1", "slot": "S1", "workshop": "W8"}]), "unknown_id",
     "unknown workshop \"W8\""),
    (changed("fixed", [{"delegate": "d1", "slot": "S1", "workshop": "W1"},
                       {"delegate": "d1", "slot": "S1", "workshop": "W2"}]), "bad_fixed",
     "more than one fixed choice in slot 'S1'"),
    (changed("fixed", [{"delegate": "d1", "slot": "S1", "workshop": "W1"},
                       {"delegate": "d1", "slot": "S2", "workshop": "W1"}]), "bad_fixed",
     "fixed in more than one slot"),
    (changed("workshops.1.slots", ["S2"]) | {
        "fixed": [{"delegate": "d1", "slot": "S1", "workshop": "W2"}]}, "bad_fixed",
     "does not run in slot 'S1'"),
    (changed("delegates.0.exclude", ["W7"]), "unknown_id", "excludes unknown workshop \"W7\""),
    (changed("delegates.0.exclude", [3]), "unknown_id", "excludes unknown workshop 3"),
    (changed("delegates.0.exclude", "W1"), "bad_input", "list of workshop ids in 'exclude'"),
    (changed("delegates.0.exclude", ["W2"]) | {
        "fixed": [{"delegate": "d1", "slot": "S2", "workshop": "W2"}]}, "bad_fixed",
     "delegate 'd1' is fixed to workshop 'W2' in slot 'S2', but 'W2' is in the delegate's "
     "'exclude' list"),
    (changed("delegates.1.exclude", ["W2"]), "infeasible",
     "delegate 'd2' excludes 1 of the 2 workshops, which leaves 1 for 2 slots"),
    (changed("workshops", [{"id": "W1", "capacity": 2, "slots": ["S1", "S2"]},
                           {"id": "W2", "capacity": 2, "slots": ["S1", "S2"]},
                           {"id": "W3", "capacity": 2, "slots": ["S1"]},
                           {"id": "W4", "capacity": 2, "slots": ["S1"]}])
     | {"delegates": [{"id": "d1", "preferences": [], "exclude": ["W1", "W2"]}]},
     "infeasible", "delegate 'd1' excludes every workshop that runs in slot 'S2'"),
    (changed("workshops", [{"id": "W1", "capacity": 2, "slots": ["S1", "S2"]},
                           {"id": "W2", "capacity": 2, "slots": ["S1", "S2"]},
                           {"id": "W3", "capacity": 2, "slots": ["S1"]}])
     | {"delegates": [{"id": "d1", "preferences": [], "exclude": ["W2"]}],
        "fixed": [{"delegate": "d1", "slot": "S1", "workshop": "W1"}]},
     "infeasible", "delegate 'd1' cannot be placed: there are not enough different workshops "
     "with free seats that the delegate does not exclude for slot(s) 'S2'"),
    (changed("workshops", [{"id": w, "capacity": c, "slots": ["S1", "S2"]}
                           for w, c in (("W1", 1), ("W2", 1), ("W3", 5))])
     | {"delegates": [{"id": f"d{i}", "preferences": [], "exclude": ["W3"]}
                      for i in range(3)]}, "infeasible",
     "in slot 'S1' the workshops that delegate 'd0' does not exclude have 2 free seats, "
     "but 3 delegates may only sit in those"),
    (changed("time_limit_s", 0), "bad_input", "time_limit_s"),
    ([1, 2], "bad_input", "JSON object"),
    ({"slots": ["S1"]}, "bad_input", "no 'workshops'"),
    (changed("workshops.0.capacity", 0) | {"delegates": [
        {"id": f"d{i}", "preferences": []} for i in range(3)]}, "infeasible",
     "slot 'S1' has 2 seats for 3 delegates (1 short)"),
    (changed("workshops", [{"id": "W1", "capacity": 5, "slots": ["S1", "S2"]}]), "infeasible",
     "delegate 'd1' cannot be placed"),
    (changed("workshops.0.capacity", 1) | {"delegates": [
        {"id": f"d{i}", "preferences": []} for i in range(2)],
        "fixed": [{"delegate": "d0", "slot": "S1", "workshop": "W1"},
                  {"delegate": "d1", "slot": "S1", "workshop": "W1"}]}, "infeasible",
     "fixed choices put 2 delegates into workshop 'W1' in slot 'S1'"),
    ({"slots": ["S1", "S2"],
      "workshops": [{"id": "W1", "capacity": 10, "slots": ["S1", "S2"]},
                    {"id": "W2", "capacity": 1, "slots": ["S1", "S2"]}],
      "delegates": [{"id": f"d{i}", "preferences": []} for i in range(5)]}, "infeasible",
     "no assignment exists"),
]


@pytest.mark.parametrize(("problem", "code", "message"), BAD)
def test_bad_input_is_refused_with_one_clear_sentence(problem: Any, code: str,
                                                      message: str) -> None:
    with pytest.raises(RotationInputError) as caught:
        validate(problem) if code != "infeasible" or "no assignment" not in message else assign(
            problem)
    assert caught.value.code == code
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(RotationInputError):
        assign(problem)


def test_check_reports_broken_rules() -> None:
    problem = base()
    bad = {"d1": {"S1": "W1", "S2": "W1"}, "d2": {"S1": "W3"}, "d9": {}}
    problems = check(problem, bad)
    assert any("attends 'W1' twice" in p for p in problems)
    assert any("unknown workshop 'W3'" in p for p in problems)
    assert any("no workshop in slot 'S2'" in p for p in problems)
    assert any("unknown delegate 'd9'" in p for p in problems)
    full = changed("workshops.0.capacity", 1)
    over = {"d1": {"S1": "W1", "S2": "W2"}, "d2": {"S1": "W1", "S2": "W2"}}
    assert any("has 2 delegates in slot 'S1' but 1 seats" in p for p in check(full, over))
    barred = changed("delegates.1.exclude", ["W2"])
    placed = {"d1": {"S1": "W1", "S2": "W2"}, "d2": {"S1": "W2", "S2": "W1"}}
    assert check(barred, placed) == ["delegate 'd2' is placed in 'W2' in 'S1', which the "
                                     "delegate excludes"]
    assert check(base(), placed) == []


# ---------------------------------------------------------------------- CLI


def run_cli(tmp_path: Path, content: str | None, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "carousels.rotation", str(path), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def test_cli_prints_json(tmp_path: Path) -> None:
    done = run_cli(tmp_path, json.dumps(base()), "--time-limit", "5")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert_keeps_rules(base(), result)


@pytest.mark.parametrize(("content", "extra", "message"), [
    ("{not json", (), "is not valid JSON"),
    (None, (), "cannot read"),
    (json.dumps(changed("delegates.0.preferences", ["W1", "W1"])), (), "twice"),
    (json.dumps(changed("workshops", [{"id": "W1", "capacity": 1, "slots": ["S1"]}])), (),
     "no assignment exists"),
    (json.dumps(changed("delegates.0.exclude", ["W9"])), (), "excludes unknown workshop"),
    (json.dumps(changed("delegates.0.exclude", ["W1"])
                | {"fixed": [{"delegate": "d1", "slot": "S1", "workshop": "W1"}]}), (),
     "in the delegate's 'exclude' list"),
    (json.dumps(changed("delegates.0.exclude", ["W1"])), (),
     "no assignment exists: delegate 'd1' excludes 1 of the 2 workshops"),
    (json.dumps(base()), ("--time-limit", "-3"), "--time-limit"),
    (json.dumps(base()), ("--time-limit", "soon"), "invalid float value"),
])
def test_cli_refuses_bad_input_in_one_line(tmp_path: Path, content: str | None,
                                           extra: tuple[str, ...], message: str) -> None:
    done = run_cli(tmp_path, content, *extra)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ helpers


def make(n: int, workshops: int, slots: int, *, seed: int, partial: float = 0.25,
         ) -> dict[str, Any]:
    """Build a seeded instance with the benchmark's generator."""
    from benchmarks.rotation import make_problem

    return make_problem(n, workshops, slots, seed=seed, partial=partial)


def test_module_exports() -> None:
    assert {"assign", "check", "cost_of", "validate", "main",
            "RotationInputError"} <= set(rotation.__all__)
