"""Benchmark the World Cafe engine against a greedy baseline; print a markdown table.

Run: ``.venv/bin/python benchmarks/cafe.py [--time-limit SECONDS] [--only NAME]``.
Every instance is generated from a fixed seed, so runs are comparable.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from carousels.cafe import engine as cafe  # noqa: E402


def golfer(tables: int, size: int, rounds: int) -> dict[str, Any]:
    """Return the social golfer instance: tables x size people, no organisations."""
    return {
        "rounds": rounds,
        "tables": [{"id": f"T{t + 1}", "capacity": size} for t in range(tables)],
        "delegates": [{"id": f"g{i + 1}"} for i in range(tables * size)],
    }


def conference(n: int, tables: int, capacity: int, rounds: int, *, trusts: int, hosts: bool,
               step_free_share: float, seed: int, uneven_tables: bool = False) -> dict[str, Any]:
    """Return a realistic conference: uneven trusts, optional hosts, some step-free needs."""
    rng = random.Random(seed)
    # Trust sizes follow a long tail: a few big trusts, many small ones.
    weights = [1 / (i + 1) ** 0.8 for i in range(trusts)]
    names = [f"Trust {i + 1}" for i in range(trusts)]
    delegates = []
    for i in range(n):
        delegates.append({
            "id": f"d{i + 1}",
            "organisation": rng.choices(names, weights)[0],
            "needs_step_free": rng.random() < step_free_share,
        })
    table_list = []
    sf_every = 3
    for t in range(tables):
        cap = capacity
        if uneven_tables:
            cap = capacity + (t % 3) - 1
        table: dict[str, Any] = {"id": f"T{t + 1}", "capacity": cap, "step_free": t % sf_every == 0}
        table_list.append(table)
    if hosts:
        candidates = [d for d in delegates if not d["needs_step_free"]]
        rng.shuffle(candidates)
        for table, d in zip(table_list, candidates, strict=False):
            table["host"] = d["id"]
    return {"rounds": rounds, "tables": table_list, "delegates": delegates, "seed": seed}


def replan(problem: dict[str, Any], plan: list[dict[str, list[Any]]], done: int,
           share: float, seed: int) -> dict[str, Any]:
    """Return ``problem`` with rounds 1..done fixed from ``plan`` and ``share`` no-shows after."""
    rng = random.Random(seed)
    hosts = {t.get("host") for t in problem["tables"]}
    fixed = [{"round": r + 1, "table": tid, "delegate": d}
             for r in range(done) for tid, people in plan[r].items() for d in people
             if d not in hosts]
    gone = [d["id"] for d in problem["delegates"] if d["id"] not in hosts]
    gone = rng.sample(gone, round(share * len(problem["delegates"])))
    absent = {str(r + 1): gone for r in range(done, problem["rounds"])}
    return {**problem, "fixed": fixed, "absent": absent}


def baseline(problem: dict[str, Any], seed: int = 0) -> list[dict[str, list[Any]]]:
    """Seat each person at the table where they have met fewest people so far.

    Keeps the hard rules (hosts, fixed seats, capacity, step-free) but ignores
    organisations and balance, as organisers' greedy tools do.
    """
    rng = random.Random(seed)
    rounds = problem["rounds"]
    tables = problem["tables"]
    needs = {d["id"]: d.get("needs_step_free", False) for d in problem["delegates"]}
    absent = {int(k): set(v) for k, v in (problem.get("absent") or {}).items()}
    fixed: dict[int, dict[Any, str]] = {}
    for f in problem.get("fixed") or []:
        fixed.setdefault(f["round"], {})[f["delegate"]] = f["table"]
    met: dict[Any, set[Any]] = {d["id"]: set() for d in problem["delegates"]}
    plan = []
    for r in range(1, rounds + 1):
        seats: dict[str, list[Any]] = {t["id"]: [] for t in tables}
        gone = absent.get(r, set())
        for t in tables:
            if t.get("host") is not None and t["host"] not in gone:
                seats[t["id"]].append(t["host"])
        for d, tid in fixed.get(r, {}).items():
            if d not in seats[tid]:
                seats[tid].append(d)
        for people in seats.values():
            for i, a in enumerate(people):
                met[a].update(people[:i])
                for x in people[:i]:
                    met[x].add(a)
        placed = {d for people in seats.values() for d in people}
        todo = [d["id"] for d in problem["delegates"] if d["id"] not in placed | gone]
        rng.shuffle(todo)
        todo.sort(key=lambda d: not needs[d])
        for d in todo:
            best = None
            for t in tables:
                people = seats[t["id"]]
                if len(people) >= t["capacity"] or (needs[d] and not t.get("step_free")):
                    continue
                key = sum(1 for x in people if x in met[d])
                if best is None or key < best[0]:
                    best = (key, t["id"])
            assert best is not None, "instance has too few seats"
            for x in seats[best[1]]:
                met[d].add(x)
                met[x].add(d)
            seats[best[1]].append(d)
        plan.append(seats)
    return plan


def instances() -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """Return the named suite; each entry builds its problem on demand."""
    big300 = dict(n=300, tables=40, capacity=8, rounds=4, trusts=45, hosts=True,
                  step_free_share=0.05, seed=300)

    def replan300() -> dict[str, Any]:
        problem = conference(**big300)
        plan = cafe.allocate(problem, time_limit_s=1)["rounds"]
        return replan(problem, plan, done=2, share=0.05, seed=5)

    return [
        ("golfer 32: 8x4, 9 rounds", lambda: golfer(8, 4, 9)),
        ("golfer 32: 8x4, 10 rounds", lambda: golfer(8, 4, 10)),
        ("Kirkman 15: 5x3, 7 rounds", lambda: golfer(5, 3, 7)),
        ("300 delegates: 40x8, hosts, 45 trusts, step-free, 4 rounds",
         lambda: conference(**big300)),
        ("re-plan rounds 3-4 of the 300 after 5% no-shows", replan300),
        ("120 delegates: 18 tables of 6-8, 30 trusts, step-free, 5 rounds",
         lambda: conference(120, 18, 7, 5, trusts=30, hosts=False, step_free_share=0.1,
                            seed=120, uneven_tables=True)),
        ("60 delegates: 10 tables of 6 with hosts, 8 trusts, step-free, 6 rounds",
         lambda: conference(60, 10, 6, 6, trusts=8, hosts=True, step_free_share=0.05,
                            seed=60)),
        ("2,000 delegates: 250x8, 200 trusts, step-free, 5 rounds",
         lambda: conference(2000, 250, 8, 5, trusts=200, hosts=False, step_free_share=0.03,
                            seed=2000)),
        ("1,900 delegates: 250 tables of 7-9 with hosts, 200 trusts, step-free, 5 rounds",
         lambda: conference(1900, 250, 8, 5, trusts=200, hosts=True, step_free_share=0.03,
                            seed=2001, uneven_tables=True)),
    ]


def main() -> None:
    """Run the suite and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds per instance (default: 1 s up to 300 delegates, else 10 s)")
    parser.add_argument("--only", default=None, help="run instances whose name contains this")
    args = parser.parse_args()
    print("| instance | Convenor repeats | Convenor same-org (bound) | Convenor imbalance "
          "| Convenor s | greedy repeats | greedy same-org | greedy imbalance | greedy s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, build in instances():
        if args.only and args.only not in name:
            continue
        problem = build()
        limit = args.time_limit
        if limit is None:
            limit = 1.0 if len(problem["delegates"]) <= 300 else 10.0
            if name.startswith(("golfer", "Kirkman")):
                limit = 10.0
        started = time.monotonic()
        result = cafe.allocate(problem, time_limit_s=limit)
        ours_s = time.monotonic() - started
        assert cafe.check(problem, result["rounds"]) == [], name
        ours = result["stats"]
        started = time.monotonic()
        plan = baseline(problem)
        base_s = time.monotonic() - started
        assert cafe.check(problem, plan) == [], name
        base = cafe.score(problem, plan)
        print(f"| {name} | {ours['repeat_pairs']} | {ours['same_org_pairs']} "
              f"({ours['same_org_lower_bound']}) | {ours['max_table_imbalance']} | {ours_s:.2f} "
              f"| {base['repeat_pairs']} | {base['same_org_pairs']} "
              f"| {base['max_table_imbalance']} | {base_s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
