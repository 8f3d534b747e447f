"""Benchmark the carousel rotation engine against first-come-first-served sign-up.

Run ``.venv/bin/python benchmarks/rotation.py`` from the repository root; it prints a
markdown table (see docs/benchmarks_rotation.md).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from carousels.workshops import engine as rotation  # noqa: E402


def make_problem(n_delegates: int, n_workshops: int, n_slots: int, *, seed: int = 1,
                 slack: float = 1.15, partial: float = 0.25, empty: float = 0.08,
                 ) -> dict[str, Any]:
    """Return a seeded, realistic problem: Zipf-like popularity, lists of 3-6, some empty.

    ``partial`` of the workshops run in only some slots; every slot has about ``slack``
    times as many seats as delegates; ``empty`` of the delegates rank nothing.
    """
    rng = random.Random(seed)
    slots = [f"S{i + 1}" for i in range(n_slots)]
    runs: list[list[str]] = []
    for _ in range(n_workshops):
        if n_slots > 1 and rng.random() < partial:
            k = rng.randint(max(1, n_slots - 2), n_slots - 1)
            runs.append(sorted(rng.sample(slots, k)))
        else:
            runs.append(list(slots))
    per_slot = [sum(1 for r in runs if s in r) for s in slots]
    base = n_delegates * slack / (sum(per_slot) / n_slots)
    caps = [max(1, round(base * rng.uniform(0.6, 1.4))) for _ in range(n_workshops)]
    for s in slots:  # top up the smallest rooms until every slot seats everyone with slack
        running = [w for w in range(n_workshops) if s in runs[w]]
        while sum(caps[w] for w in running) < n_delegates * slack:
            caps[min(running, key=lambda w: caps[w])] += 1
    workshops = [{"id": f"W{w + 1}", "capacity": caps[w], "slots": runs[w]}
                 for w in range(n_workshops)]
    order = list(range(n_workshops))
    rng.shuffle(order)
    weight = {order[i]: 1.0 / (i + 1) ** 0.9 for i in range(n_workshops)}
    delegates = []
    for d in range(n_delegates):
        prefs: list[str] = []
        if rng.random() >= empty:
            length = min(n_workshops, rng.randint(3, 6))
            pool = dict(weight)
            while len(prefs) < length:
                pick = rng.choices(list(pool), weights=list(pool.values()))[0]
                del pool[pick]
                prefs.append(f"W{pick + 1}")
        delegates.append({"id": f"d{d + 1}", "preferences": prefs})
    return {"slots": slots, "workshops": workshops, "delegates": delegates, "fixed": []}


def perturb(problem: dict[str, Any], share: float, *, seed: int = 2) -> dict[str, Any]:
    """Return a copy in which ``share`` of the delegates re-rank their workshops."""
    rng = random.Random(seed)
    ids = [w["id"] for w in problem["workshops"]]
    delegates = [dict(d) for d in problem["delegates"]]
    for i in rng.sample(range(len(delegates)), max(1, round(share * len(delegates)))):
        delegates[i]["preferences"] = rng.sample(ids, min(len(ids), rng.randint(3, 6)))
    return {**problem, "delegates": delegates}


def first_come_first_served(problem: dict[str, Any]) -> dict[str, Any]:
    """Simulate sign-up in arrival order: each takes their best workshop with room, per slot.

    A delegate walks down their list and takes each workshop in the earliest free slot
    where it has room; remaining slots get the emptiest workshop not yet attended. Return
    cost, first-choice share and how many delegates could not be given a full schedule.
    """
    slots = problem["slots"]
    room = {(w["id"], s): w["capacity"] for w in problem["workshops"] for s in w["slots"]}
    longest = max((len(d["preferences"]) for d in problem["delegates"]), default=0)
    cost = unplaced = firsts = ranked = 0
    for delegate in problem["delegates"]:
        prefs = delegate["preferences"]
        plan: dict[str, str] = {}
        for wid in prefs:
            for s in slots:
                if s not in plan and room.get((wid, s), 0) > 0:
                    plan[s] = wid
                    room[wid, s] -= 1
                    break
        for s in slots:
            if s in plan:
                continue
            options = [(left, wid) for (wid, t), left in room.items()
                       if t == s and left > 0 and wid not in plan.values()]
            if options:
                left, wid = max(options)
                plan[s] = wid
                room[wid, s] -= 1
        if len(plan) < len(slots):
            unplaced += 1
        for wid in plan.values():
            cost += (prefs.index(wid) + 1) ** 2 if wid in prefs else (longest + 1) ** 2
        if prefs:
            ranked += 1
            firsts += prefs[0] in plan.values()
    return {"cost": cost, "first_choice_pct": round(100 * firsts / max(1, ranked), 1),
            "unplaced": unplaced}


SUITE = [(300, 12, 3), (1000, 15, 3), (2000, 20, 4), (5000, 24, 4)]


def run(seeds: int) -> None:
    """Print the benchmark table for the suite and the 2 % re-solve."""
    print("| delegates × workshops × slots | seed | Convenor cost | lower bound | optimal "
          "| % first choice | seconds | FCFS cost | FCFS % first choice | FCFS unplaced |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, w, k in SUITE:
        for seed in range(1, seeds + 1):
            problem = make_problem(n, w, k, seed=seed)
            row(f"{n} × {w} × {k}", seed, problem)
    for seed in range(1, seeds + 1):
        problem = make_problem(1000, 15, 3, seed=seed)
        previous = rotation.assign(problem)
        changed = perturb(problem, 0.02, seed=seed)
        row("1000 × 15 × 3, re-solve after 2 % changed", seed, changed,
            warm_start=previous["assignments"])


def row(label: str, seed: int, problem: dict[str, Any], **kwargs: Any) -> None:
    started = time.perf_counter()
    result = rotation.assign(problem, **kwargs)
    seconds = time.perf_counter() - started
    stats = result["stats"]
    problems = rotation.check(problem, result["assignments"])
    if problems:
        raise SystemExit(f"invalid assignment for {label}: {problems[:3]}")
    fcfs = first_come_first_served(problem)
    print(f"| {label} | {seed} | {stats['cost']} | {stats['lower_bound']} | "
          f"{'yes' if stats['optimal'] else 'no'} | {stats['first_choice_pct']} | "
          f"{seconds:.2f} | {fcfs['cost']} | {fcfs['first_choice_pct']} | {fcfs['unplaced']} |",
          flush=True)


def main() -> None:
    """Parse the options and run the suite."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="instances per size (default 3)")
    args = parser.parse_args()
    run(args.seeds)


if __name__ == "__main__":
    main()
