"""Assign delegates to carousel workshops across rotation slots, provably optimally.

A carousel runs small workshops in parallel for several rotation slots. Every delegate
attends exactly one workshop per slot and never the same workshop twice; a workshop runs
only in its slots, with ``capacity`` seats in each run; fixed choices are kept; a delegate
is never placed in a workshop of their ``exclude`` list (e.g. rooms without step-free access
or a hearing loop). A seat in the workshop a delegate ranked r-th costs r**2, a seat in an
unranked workshop (P+1)**2 where P is the longest preference list; the total cost is
minimised over the assignments that keep every rule.

``exclude`` (optional, per delegate) lists workshop ids; repeats are harmless. A workshop
that is both preferred and excluded is simply excluded: it is never assigned, and the
delegate's other preferences keep the ranks they were given (the list still counts for P).
A fixed choice of an excluded workshop is refused (``bad_fixed``); exclusions that leave a
delegate or a slot without enough workshops or seats are refused as ``infeasible``.

Method, chosen by measurement (see docs/benchmarks_rotation.md):

1. **Sets by min-cost flow.** Decide *which* workshops each delegate attends with one
   min-cost flow: each (delegate, free slot) sends one unit through the delegate's
   "slot profile" nodes (so every chosen set can be matched to the delegate's slots) to
   a workshop (once per delegate, never an excluded one), and on to the slots the
   workshop runs in (capacity per run, exactly the free seats each slot needs). It drops
   only the coupling between a delegate's slot and the run that counts the seat, so its
   optimum is a lower bound. Ties are broken lexicographically by a convex fill cost,
   which spreads delegates without preferences evenly over workshops and slots.
2. **Slots by flows, slot after slot.** Fit each delegate's chosen set into slots: for
   one slot at a time a small flow over groups of interchangeable delegates picks one
   workshop each, keeping every delegate's rest matchable, every workshop's remaining
   demand within its remaining runs and following the per-run counts of step 1. When
   every workshop runs in every slot and nothing is fixed this cannot fail (König).
3. **Exact fit.** If step 2 gets stuck, CP-SAT decides the fit exactly on groups of
   delegates with the same set. Any fit costs exactly the lower bound: proven optimal.
4. **Full model.** Only if the chosen sets cannot be fitted at all, CBC solves the
   three-index model aggregated over delegates with identical preferences, fixed
   choices and exclusions (exact: an integer slot x workshop matrix with equal margins
   splits into whole schedules), in rounds that admit only choices whose reduced cost in
   the flow fits a widening window above the bound, within the time limit; ``optimal``
   says whether it proved the optimum.

``assign`` is pure and deterministic: the same input gives the same output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

__all__ = [
    "RotationError",
    "RotationInputError",
    "assign",
    "check",
    "cost_of",
    "main",
    "validate",
]

#: Seconds allowed for the exact fallbacks when neither the call nor the input sets one.
DEFAULT_TIME_LIMIT_S = 60.0

#: Number of convex cost steps used to even out the fill of workshop runs.
_FILL_STEPS = 8

UNRANKED = "unranked"

#: ``names(kind, id)`` returns the text that messages show for an id; ``kind`` is "delegate",
#: "slot" or "workshop". Without it, messages show the ids in quotes (as the command line does).
Names = Callable[[str, Any], str]


class RotationError(Exception):
    """Signal that no assignment could be produced; ``code`` names the reason."""

    code = "rotation_failed"


class RotationInputError(RotationError, ValueError):
    """Reject an input that is malformed, inconsistent or has no assignment at all."""

    def __init__(self, message: str, code: str = "bad_input") -> None:
        super().__init__(message)
        self.code = code


class RotationTimeout(RotationError, RuntimeError):
    """Signal that the time limit ran out before any assignment was found."""

    code = "time_limit"


# --------------------------------------------------------------------------- input


@dataclass
class _Problem:
    """Hold a validated problem with everything turned into indices."""

    slots: list[Any]
    workshops: list[Any]
    capacity: list[int]
    runs: list[frozenset[int]]
    delegates: list[Any]
    prefs: list[tuple[int, ...]]
    fixed: list[dict[int, int]]
    exclude: list[frozenset[int]]
    longest: int
    time_limit_s: float | None
    slot_index: dict[Any, int] = field(default_factory=dict)
    workshop_index: dict[Any, int] = field(default_factory=dict)
    delegate_index: dict[Any, int] = field(default_factory=dict)
    names: Names | None = None

    def show(self, kind: str, value: Any) -> str:
        """Return ``value`` as messages show it: its name, or the id in quotes."""
        return self.names(kind, value) if self.names is not None else repr(value)

    @property
    def unranked_cost(self) -> int:
        return (self.longest + 1) ** 2

    def cost(self, d: int, w: int) -> int:
        """Return the cost of a seat for delegate ``d`` in workshop ``w``."""
        prefs = self.prefs[d]
        if w in prefs:
            return (prefs.index(w) + 1) ** 2
        return self.unranked_cost

    def free_capacity(self) -> list[list[int]]:
        """Return seats per [workshop][slot] left after the fixed choices (0 where not run)."""
        cap = [[self.capacity[w] if s in self.runs[w] else 0 for s in range(len(self.slots))]
               for w in range(len(self.workshops))]
        for fixed in self.fixed:
            for s, w in fixed.items():
                cap[w][s] -= 1
        return cap


def _fail(message: str, code: str = "bad_input") -> RotationInputError:
    return RotationInputError(message, code)


def _ids(items: Any, what: str) -> list[Any]:
    if not isinstance(items, list):
        raise _fail(f"'{what}' must be a list")
    return items


def _is_id(value: Any) -> bool:
    """Return whether ``value`` can be an id: a non-empty string or an integer."""
    return (isinstance(value, str) and bool(value)) or (
        isinstance(value, int) and not isinstance(value, bool))


def _check_id(value: Any, what: str) -> Any:
    if not _is_id(value):
        raise _fail(f"{what} must be a non-empty string, got {json.dumps(value)}")
    return value


def _parse(problem: Any, *, seats: bool = True, names: Names | None = None) -> _Problem:
    if not isinstance(problem, Mapping):
        raise _fail("the problem must be a JSON object with 'slots', 'workshops' and 'delegates'")
    for key in ("slots", "workshops", "delegates"):
        if key not in problem:
            raise _fail(f"the problem has no '{key}'")

    slots = [_check_id(s, "a slot id") for s in _ids(problem["slots"], "slots")]
    if not slots:
        raise _fail("'slots' must name at least one slot")
    slot_index: dict[Any, int] = {}
    for s in slots:
        if s in slot_index:
            raise _fail(f"slot '{s}' is listed twice")
        slot_index[s] = len(slot_index)

    workshops: list[Any] = []
    capacity: list[int] = []
    runs: list[frozenset[int]] = []
    workshop_index: dict[Any, int] = {}
    for item in _ids(problem["workshops"], "workshops"):
        if not isinstance(item, Mapping):
            raise _fail("each workshop must be an object with 'id', 'capacity' and 'slots'")
        wid = _check_id(item.get("id"), "a workshop id")
        if wid in workshop_index:
            raise _fail(f"workshop '{wid}' is listed twice")
        cap = item.get("capacity")
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            raise _fail(f"workshop '{wid}' needs a whole, non-negative 'capacity'")
        wslots = item.get("slots")
        if not isinstance(wslots, list):
            raise _fail(f"workshop '{wid}' needs a list of 'slots'")
        run: set[int] = set()
        for s in wslots:
            if not _is_id(s) or s not in slot_index:
                raise _fail(f"workshop '{wid}' runs in unknown slot {json.dumps(s)}",
                            "unknown_id")
            if slot_index[s] in run:
                raise _fail(f"workshop '{wid}' lists slot '{s}' twice")
            run.add(slot_index[s])
        workshop_index[wid] = len(workshops)
        workshops.append(wid)
        capacity.append(cap)
        runs.append(frozenset(run))

    delegates: list[Any] = []
    prefs: list[tuple[int, ...]] = []
    exclude: list[frozenset[int]] = []
    delegate_index: dict[Any, int] = {}
    for item in _ids(problem["delegates"], "delegates"):
        if not isinstance(item, Mapping):
            raise _fail("each delegate must be an object with 'id' and 'preferences'")
        did = _check_id(item.get("id"), "a delegate id")
        if did in delegate_index:
            raise _fail(f"delegate '{did}' is listed twice")
        raw = item.get("preferences", [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise _fail(f"delegate '{did}' needs a list of 'preferences'")
        ranked: list[int] = []
        for wid in raw:
            if not _is_id(wid) or wid not in workshop_index:
                raise _fail(f"delegate '{did}' prefers unknown workshop {json.dumps(wid)}",
                            "unknown_id")
            if workshop_index[wid] in ranked:
                raise _fail(f"delegate '{did}' names workshop '{wid}' twice in the preferences",
                            "duplicate_preference")
            ranked.append(workshop_index[wid])
        raw = item.get("exclude", [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise _fail(f"delegate '{did}' needs a list of workshop ids in 'exclude'")
        barred: set[int] = set()
        for wid in raw:  # a set: naming a workshop twice changes nothing
            if not _is_id(wid) or wid not in workshop_index:
                raise _fail(f"delegate '{did}' excludes unknown workshop {json.dumps(wid)}",
                            "unknown_id")
            barred.add(workshop_index[wid])
        delegate_index[did] = len(delegates)
        delegates.append(did)
        prefs.append(tuple(ranked))
        exclude.append(frozenset(barred))

    fixed: list[dict[int, int]] = [{} for _ in delegates]
    raw_fixed = problem.get("fixed", [])
    for item in _ids([] if raw_fixed is None else raw_fixed, "fixed"):
        if not isinstance(item, Mapping):
            raise _fail("each fixed choice must be an object with 'delegate', 'slot', 'workshop'")
        did, sid, wid = item.get("delegate"), item.get("slot"), item.get("workshop")
        if not _is_id(did) or did not in delegate_index:
            raise _fail(f"a fixed choice names unknown delegate {json.dumps(did)}", "unknown_id")
        if not _is_id(sid) or sid not in slot_index:
            raise _fail(f"a fixed choice for '{did}' names unknown slot {json.dumps(sid)}",
                        "unknown_id")
        if not _is_id(wid) or wid not in workshop_index:
            raise _fail(f"a fixed choice for '{did}' names unknown workshop {json.dumps(wid)}",
                        "unknown_id")
        d, s, w = delegate_index[did], slot_index[sid], workshop_index[wid]
        if s not in runs[w]:
            raise _fail(f"fixed choice: workshop '{wid}' does not run in slot '{sid}'",
                        "bad_fixed")
        if s in fixed[d]:
            raise _fail(f"delegate '{did}' has more than one fixed choice in slot '{sid}'",
                        "bad_fixed")
        if w in fixed[d].values():
            raise _fail(f"delegate '{did}' has workshop '{wid}' fixed in more than one slot",
                        "bad_fixed")
        if w in exclude[d]:
            raise _fail(f"fixed choice: delegate '{did}' is fixed to workshop '{wid}' in slot "
                        f"'{sid}', but '{wid}' is in the delegate's 'exclude' list", "bad_fixed")
        fixed[d][s] = w

    limit = problem.get("time_limit_s")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                              or not limit > 0 or not math.isfinite(limit)):
        raise _fail("'time_limit_s' must be a positive number of seconds")

    parsed = _Problem(
        slots=slots, workshops=workshops, capacity=capacity, runs=runs, delegates=delegates,
        prefs=prefs, fixed=fixed, exclude=exclude,
        longest=max((len(p) for p in prefs), default=0),
        time_limit_s=None if limit is None else float(limit), slot_index=slot_index,
        workshop_index=workshop_index, delegate_index=delegate_index, names=names,
    )
    if seats:
        _check_seats(parsed)
    return parsed


def _match_slots(free: Iterable[int], options: Mapping[int, Sequence[int]]) -> dict[int, int]:
    """Return a maximum matching slot -> workshop (augmenting paths; slots are few)."""
    owner: dict[int, int] = {}

    def augment(s: int, seen: set[int]) -> bool:
        for w in options[s]:
            if w in seen:
                continue
            seen.add(w)
            if w not in owner or augment(owner[w], seen):
                owner[w] = s
                return True
        return False

    for s in free:
        augment(s, set())
    return {s: w for w, s in owner.items()}


def _check_seats(p: _Problem) -> None:
    """Reject problems that plainly have no assignment, naming the slot or delegate."""
    cap = p.free_capacity()
    n_slots = len(p.slots)
    for w, row in enumerate(cap):
        for s, left in enumerate(row):
            if left < 0:
                raise _fail(
                    f"no assignment exists: the fixed choices put {p.capacity[w] - left} "
                    f"delegates into workshop {p.show('workshop', p.workshops[w])} in slot "
                    f"{p.show('slot', p.slots[s])}, "
                    f"which has {p.capacity[w]} seats", "infeasible")
    for s in range(n_slots):
        seats = sum(p.capacity[w] for w in range(len(p.workshops)) if s in p.runs[w])
        if seats < len(p.delegates):
            raise _fail(
                f"no assignment exists: slot {p.show('slot', p.slots[s])} has {seats} seats for "
                f"{len(p.delegates)} delegates ({len(p.delegates) - seats} short)", "infeasible")
    n_work = len(p.workshops)
    checked: set[tuple[tuple[tuple[int, int], ...], frozenset[int]]] = set()
    for d, fixed in enumerate(p.fixed):
        barred = p.exclude[d]
        key = (tuple(sorted(fixed.items())), barred)
        if key in checked:
            continue
        checked.add(key)
        free = [s for s in range(n_slots) if s not in fixed]
        if barred:
            if n_work - len(barred) < n_slots:
                raise _fail(
                    f"no assignment exists: delegate {p.show('delegate', p.delegates[d])} excludes "
                    f"{len(barred)} of the {n_work} workshops, which leaves "
                    f"{n_work - len(barred)} for {n_slots} slots", "infeasible")
            for s in free:
                if not any(s in p.runs[w] for w in range(n_work) if w not in barred):
                    raise _fail(
                        f"no assignment exists: delegate {p.show('delegate', p.delegates[d])} "
                        "excludes every "
                        f"workshop that runs in slot {p.show('slot', p.slots[s])}", "infeasible")
        taken = set(fixed.values()) | barred
        options = {s: [w for w in range(n_work)
                       if w not in taken and cap[w][s] > 0] for s in free}
        matched = _match_slots(free, options)
        if len(matched) < len(free):
            missing = [p.show('slot', p.slots[s]) for s in free if s not in matched]
            raise _fail(
                f"no assignment exists: delegate {p.show('delegate', p.delegates[d])} "
                "cannot be placed: there are "
                f"not enough different workshops with free seats"
                f"{' that the delegate does not exclude' if barred else ''} for slot(s) "
                f"{', '.join(missing)}", "infeasible")
    if any(p.exclude):
        _check_excluded_seats(p, cap)


def _check_excluded_seats(p: _Problem, cap: list[list[int]]) -> None:
    """Reject a slot whose delegates with exclusions outnumber the seats open to them.

    For each slot and each delegate's exclude set B, every delegate free in that slot who
    excludes at least B competes for the seats of the workshops outside B (Hall's rule).
    Only a nicer message: the set-choice flow refuses such problems too, so with very many
    different exclude sets (quadratic work) the check is left to it.
    """
    for s, sid in enumerate(p.slots):
        sets: dict[frozenset[int], list[int]] = defaultdict(list)
        for d, barred in enumerate(p.exclude):
            if barred and s not in p.fixed[d]:
                sets[barred].append(d)
        if len(sets) > 200:
            return
        for barred, members in sets.items():
            seats = sum(row[s] for w, row in enumerate(cap) if w not in barred)
            bound = sum(len(others) for other, others in sets.items() if other >= barred)
            if bound > seats:
                raise _fail(
                    f"no assignment exists: in slot {p.show('slot', sid)} the workshops that "
                    f"delegate {p.show('delegate', p.delegates[members[0]])} does not exclude "
                    f"have {seats} free seats, "
                    f"but {bound} delegates may only sit in those", "infeasible")


def validate(problem: Any, *, names: Names | None = None) -> None:
    """Raise RotationInputError with one clear sentence if ``problem`` is not solvable input."""
    _parse(problem, names=names)


# ----------------------------------------------------------------------- checking


def check(problem: Any, assignments: Any, *, names: Names | None = None) -> list[str]:
    """Return every hard-rule violation of ``assignments`` for ``problem`` (empty if valid)."""
    p = _parse_lenient(problem, names)

    def d_(v: Any) -> str:
        return p.show("delegate", v)

    def s_(v: Any) -> str:
        return p.show("slot", v)

    def w_(v: Any) -> str:
        return p.show("workshop", v)
    problems: list[str] = []
    if not isinstance(assignments, Mapping):
        return ["assignments must map delegate ids to {slot: workshop}"]
    for did in assignments:
        if did not in p.delegate_index:
            problems.append(f"unknown delegate {d_(did)} in the assignments")
    fill: dict[tuple[int, int], int] = defaultdict(int)
    for d, did in enumerate(p.delegates):
        plan = assignments.get(did)
        if not isinstance(plan, Mapping):
            problems.append(f"delegate {d_(did)} has no schedule")
            continue
        for sid in plan:
            if sid not in p.slot_index:
                problems.append(f"delegate {d_(did)} is placed in unknown slot {s_(sid)}")
        seen: dict[int, Any] = {}
        for s, sid in enumerate(p.slots):
            wid = plan.get(sid)
            if wid is None:
                problems.append(f"delegate {d_(did)} has no workshop in slot {s_(sid)}")
                continue
            w = p.workshop_index.get(wid) if _is_id(wid) else None
            if w is None:
                problems.append(f"delegate {d_(did)} is placed in unknown workshop {w_(wid)}")
                continue
            if s not in p.runs[w]:
                problems.append(f"workshop {w_(wid)} does not run in slot {s_(sid)} ({d_(did)})")
            if w in seen:
                problems.append(f"delegate {d_(did)} attends {w_(wid)} twice ({s_(seen[w])}, {s_(sid)})")
            seen[w] = sid
            fill[w, s] += 1
            if p.fixed[d].get(s, w) != w:
                problems.append(
                    f"delegate {d_(did)} must attend {w_(p.workshops[p.fixed[d][s]])} in {s_(sid)}")
            if w in p.exclude[d]:
                problems.append(f"delegate {d_(did)} is placed in {w_(wid)} in {s_(sid)}, which the "
                                f"delegate excludes")
    for (w, s), n in sorted(fill.items()):
        if n > p.capacity[w]:
            problems.append(f"workshop {w_(p.workshops[w])} has {n} delegates in slot "
                            f"{s_(p.slots[s])} but {p.capacity[w]} seats")
    return problems


def _parse_lenient(problem: Any, names: Names | None = None) -> _Problem:
    """Parse for checking: an infeasible problem still has rules to check against."""
    return _parse(problem, seats=False, names=names)


def cost_of(problem: Any, assignments: Mapping[Any, Mapping[Any, Any]]) -> int:
    """Return the total cost of ``assignments``: r**2 per seat ranked r, (P+1)**2 unranked."""
    p = _parse_lenient(problem)
    total = 0
    for did, plan in assignments.items():
        d = p.delegate_index[did]
        for wid in plan.values():
            total += p.cost(d, p.workshop_index[wid])
    return total


# ------------------------------------------------------------------------ solving


def _deadline(p: _Problem, time_limit_s: float | None) -> float:
    limit = time_limit_s if time_limit_s is not None else p.time_limit_s
    return time.monotonic() + (DEFAULT_TIME_LIMIT_S if limit is None else limit)


def _profiles(cap: list[list[int]]) -> list[frozenset[int]]:
    """Return, per workshop, the slots in which it still has free seats."""
    return [frozenset(s for s, left in enumerate(row) if left > 0) for row in cap]


@dataclass
class _Sets:
    """Hold the outcome of stage 1: the sets, per-run counts and the lower bound."""

    chosen: list[list[int]]
    runs: dict[tuple[int, int], int]
    lower_bound: int
    #: Scale of real costs in the flow (its costs are real cost x scale + fill cost).
    scale: int = 1
    #: The solved flow network (tails, heads, capacities, costs, flows, choice arcs),
    #: kept to price choices by reduced cost if the full model is needed.
    network: tuple[Any, ...] = ()

    def reduced_costs(self) -> dict[tuple[int, int], int]:
        """Return the flow's reduced cost of every (delegate, workshop) choice arc.

        Shortest-path distances in the residual network are optimal node potentials.
        Any schedule that uses an unchosen arc with reduced cost rc costs at least
        lower_bound + (rc - scale + 1) / scale, which lets the full model drop such arcs.
        """
        import numpy as np

        tails, heads, caps, costs, flows, choice_arcs = self.network
        forward, backward = flows < caps, flows > 0
        from_ = np.concatenate([tails[forward], heads[backward]])
        to = np.concatenate([heads[forward], tails[backward]])
        price = np.concatenate([costs[forward], -costs[backward]])
        dist = np.zeros(int(max(tails.max(initial=0), heads.max(initial=0))) + 1,
                        dtype=np.int64)
        for _ in range(len(dist)):  # Bellman-Ford; no negative cycle at an optimum
            relaxed = dist.copy()
            np.minimum.at(relaxed, to, dist[from_] + price)
            if np.array_equal(relaxed, dist):
                break
            dist = relaxed
        return {(d, w): int(costs[arc] + dist[tails[arc]] - dist[heads[arc]])
                for arc, d, w in choice_arcs}


def _choose_sets(p: _Problem, cap: list[list[int]], prof: list[frozenset[int]]) -> _Sets:
    """Solve the set-choice min-cost flow (stage 1), a relaxation of the whole problem."""
    from ortools.graph.python import min_cost_flow

    n_slots, n_work, n_del = len(p.slots), len(p.workshops), len(p.delegates)
    open_seats = sum(n_slots - len(f) for f in p.fixed)
    # Lexicographic tie-break: any difference in real cost outweighs all fill costs.
    scale = (_FILL_STEPS - 1) * open_seats + 1
    by_profile: dict[frozenset[int], list[int]] = defaultdict(list)
    for w in range(n_work):
        if prof[w]:
            by_profile[prof[w]].append(w)
    profiles = list(by_profile.items())

    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    supply = [0] * (n_slots + n_work)
    choice_arcs: list[tuple[int, int, int]] = []
    for s in range(n_slots):
        supply[s] = -sum(1 for f in p.fixed if s not in f)
    node = n_slots + n_work
    unranked = p.unranked_cost * scale
    for d in range(n_del):
        fixed = p.fixed[d]
        free = [s for s in range(n_slots) if s not in fixed]
        if not free:
            continue
        taken = set(fixed.values()) | p.exclude[d]
        rank_cost = {w: (r + 1) ** 2 * scale for r, w in enumerate(p.prefs[d])}
        slot_node = {s: node + i for i, s in enumerate(free)}
        node += len(free)
        supply.extend([1] * len(free))
        for members, works in profiles:
            usable = [s for s in free if s in members]
            works = [w for w in works if w not in taken]
            if not usable or not works:
                continue
            hub = node
            node += 1
            supply.append(0)
            for s in usable:
                tails.append(slot_node[s])
                heads.append(hub)
                caps.append(1)
                costs.append(0)
            for w in works:
                choice_arcs.append((len(tails), d, w))
                tails.append(hub)
                heads.append(n_slots + w)
                caps.append(1)
                costs.append(rank_cost.get(w, unranked))
    run_arcs: list[tuple[int, int, int]] = []
    for w in range(n_work):
        for s in sorted(prof[w]):
            left = cap[w][s]
            for step in range(_FILL_STEPS):
                size = left * (step + 1) // _FILL_STEPS - left * step // _FILL_STEPS
                if size:
                    run_arcs.append((len(tails), w, s))
                    tails.append(n_slots + w)
                    heads.append(s)
                    caps.append(size)
                    costs.append(step)

    import numpy as np

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32), np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64), np.array(costs, dtype=np.int64))
    flow.set_nodes_supplies(np.arange(len(supply), dtype=np.int32),
                            np.array(supply, dtype=np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        placed = 0
        if flow.solve_max_flow_with_min_cost() == flow.OPTIMAL:
            placed = flow.maximum_flow()
        raise _fail(
            "no assignment exists: the workshops' seats cannot be shared out so that every "
            "delegate attends a different workshop in each slot"
            + (f" (at most {placed} of {sum(x for x in supply if x > 0)} places can be filled)"
               if placed else ""), "infeasible")
    flows = flow.flows(np.arange(len(tails), dtype=np.int32))
    chosen: list[list[int]] = [[] for _ in range(n_del)]
    for arc, d, w in choice_arcs:
        if flows[arc]:
            chosen[d].append(w)
    runs: dict[tuple[int, int], int] = defaultdict(int)
    for arc, w, s in run_arcs:
        runs[w, s] += int(flows[arc])
    bound = sum(p.cost(d, w) for d in range(n_del) for w in [*chosen[d], *p.fixed[d].values()])
    network = (np.array(tails, dtype=np.int64), np.array(heads, dtype=np.int64),
               np.array(caps, dtype=np.int64), np.array(costs, dtype=np.int64),
               np.asarray(flows, dtype=np.int64), choice_arcs)
    return _Sets(chosen, runs, bound, scale, network)


class _Matcher:
    """Answer, with memory, whether a set of workshops can fill a set of slots one-to-one."""

    def __init__(self, prof: list[frozenset[int]]) -> None:
        self.prof = prof
        self.memo: dict[tuple[frozenset[int], frozenset[int]], bool] = {}

    def fits(self, works: frozenset[int], slots: frozenset[int]) -> bool:
        key = (works, slots)
        known = self.memo.get(key)
        if known is None:
            options = {s: [w for w in sorted(works) if s in self.prof[w]] for s in slots}
            known = len(works) == len(slots) and len(_match_slots(sorted(slots), options)) == len(
                slots)
            self.memo[key] = known
        return known


def _fit_slot_by_slot(
    p: _Problem, cap: list[list[int]], prof: list[frozenset[int]], sets: _Sets,
) -> list[dict[int, int]] | None:
    """Fit the chosen sets into slots one slot at a time (stage 2); None if it gets stuck."""
    from ortools.graph.python import min_cost_flow

    n_slots, n_work = len(p.slots), len(p.workshops)
    plan = [dict(f) for f in p.fixed]
    rest = [frozenset(c) for c in sets.chosen]
    free = [frozenset(s for s in range(n_slots) if s not in f) for f in p.fixed]
    matcher = _Matcher(prof)
    # The slot with the least room to spare is hardest to fill later: fill it first.
    spare = [sum(cap[w][s] for w in range(n_work)) - sum(1 for f in free if s in f)
             for s in range(n_slots)]
    order = sorted(range(n_slots), key=lambda s: (spare[s], s))
    pending = set(range(n_slots))
    for s in order:
        pending.discard(s)
        groups: dict[tuple[frozenset[int], frozenset[int]], list[int]] = defaultdict(list)
        demand = [0] * n_work
        for d in range(len(p.delegates)):
            for w in rest[d]:
                demand[w] += 1
            if s in free[d]:
                groups[rest[d], free[d]].append(d)
        lower = [0] * n_work
        for w in range(n_work):
            later = sum(cap[w][t] for t in pending)
            lower[w] = max(0, demand[w] - later)
            if lower[w] > cap[w][s]:
                return None
        active = sum(len(m) for m in groups.values())
        if sum(lower) > active:
            return None
        keys = list(groups)
        flow = min_cost_flow.SimpleMinCostFlow()
        sink = len(keys) + n_work
        arcs: list[tuple[int, int, int]] = []
        for g, (works, slots) in enumerate(keys):
            after = slots - {s}
            flow.set_node_supply(g, len(groups[works, slots]))
            for w in sorted(works):
                if s in prof[w] and matcher.fits(works - {w}, after):
                    arcs.append((flow.add_arc_with_capacity_and_unit_cost(
                        g, len(keys) + w, len(groups[works, slots]), 0), g, w))
        for w in range(n_work):
            flow.set_node_supply(len(keys) + w, -lower[w])
            room = cap[w][s] - lower[w]
            on_target = min(room, max(0, sets.runs.get((w, s), 0) - lower[w]))
            if on_target:
                flow.add_arc_with_capacity_and_unit_cost(len(keys) + w, sink, on_target, 0)
            if room > on_target:
                flow.add_arc_with_capacity_and_unit_cost(len(keys) + w, sink, room - on_target, 1)
        flow.set_node_supply(sink, sum(lower) - active)
        if flow.solve() != flow.OPTIMAL:
            return None
        for arc, g, w in arcs:
            members = groups[keys[g]]
            for _ in range(flow.flow(arc)):
                d = members.pop()
                plan[d][s] = w
                rest[d] = rest[d] - {w}
                free[d] = free[d] - {s}
    return plan


def _split(slots: list[int], works: list[int], counts: Mapping[tuple[int, int], int],
           size: int) -> list[dict[int, int]]:
    """Split a group's slot x workshop count matrix into ``size`` single schedules.

    Rows (slots) sum to ``size`` and columns (workshops) to at most ``size``; padding with
    dummy rows makes every margin ``size``, and such a matrix is a sum of ``size``
    permutation matrices (König), so a perfect matching on its support always exists.
    """
    n = len(works)
    matrix = [[counts.get((w, s), 0) for w in works] for s in slots]
    deficit = [size - sum(row[c] for row in matrix) for c in range(n)]
    col = 0
    for _ in range(n - len(slots)):
        row = [0] * n
        need = size
        while need:
            while not deficit[col]:
                col += 1
            take = min(need, deficit[col])
            row[col] += take
            deficit[col] -= take
            need -= take
        matrix.append(row)
    schedules: list[dict[int, int]] = []
    for _ in range(size):
        options = {r: [c for c in range(n) if matrix[r][c]] for r in range(n)}
        match = _match_slots(range(n), options)
        if len(match) != n:  # pragma: no cover - excluded by König's theorem
            raise AssertionError("count matrix does not split into schedules")
        for r, c in match.items():
            matrix[r][c] -= 1
        schedules.append({slots[r]: works[match[r]] for r in range(len(slots))})
    return schedules


@dataclass
class _Group:
    """Delegates that are interchangeable in a grouped model."""

    members: list[int]
    free: list[int]
    works: list[int]
    exact: bool


def _solve_grouped(
    p: _Problem, cap: list[list[int]], prof: list[frozenset[int]], groups: list[_Group],
    deadline: float,
) -> list[dict[int, int]] | None:
    """Fit groups into slots with CP-SAT; return the plan, or None if none is found."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    by_run: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for g, group in enumerate(groups):
        size = len(group.members)
        by_slot: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        for w in group.works:
            row = []
            for s in group.free:
                if s in prof[w]:
                    var = model.new_int_var(0, min(size, cap[w][s]), "")
                    x[g, w, s] = var
                    row.append(var)
                    by_slot[s].append(var)
                    by_run[w, s].append(var)
            if group.exact:
                model.add(sum(row) == size)
            elif len(row) > 1:
                model.add(sum(row) <= size)
        for s in group.free:
            model.add(sum(by_slot[s]) == size)
    for (w, s), row in by_run.items():
        model.add(sum(row) <= cap[w][s])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.monotonic())
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return _unfold(p, groups, {key: solver.value(var) for key, var in x.items()})


def _unfold(p: _Problem, groups: list[_Group],
            values: Mapping[tuple[int, int, int], int]) -> list[dict[int, int]]:
    """Turn grouped counts x[group, workshop, slot] into one schedule per delegate."""
    plan = [dict(f) for f in p.fixed]
    for g, group in enumerate(groups):
        counts = {(w, s): values[g, w, s] for w in group.works for s in group.free
                  if (g, w, s) in values}
        for d, schedule in zip(group.members, _split(group.free, group.works, counts,
                                                      len(group.members)), strict=True):
            plan[d].update(schedule)
    return plan


def _solve_mip(
    p: _Problem, cap: list[list[int]], prof: list[frozenset[int]], groups: list[_Group],
    deadline: float, lower_bound: int, hint: Mapping[tuple[int, int, int], int] | None,
) -> tuple[str, list[dict[int, int]] | None, float]:
    """Solve the grouped three-index model as a MIP; return (status, plan, bound).

    CBC through OR-Tools: its LP bound is tight on this model where CP-SAT's search
    stalls, and unlike OR-Tools' bundled HiGHS it prints nothing on stdout.
    """
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("CBC")
    x: dict[tuple[int, int, int], Any] = {}
    by_run: dict[tuple[int, int], list[Any]] = defaultdict(list)
    objective = solver.Objective()
    for g, group in enumerate(groups):
        size = len(group.members)
        by_slot: dict[int, list[Any]] = defaultdict(list)
        for w in group.works:
            price = p.cost(group.members[0], w)
            row = []
            for s in group.free:
                if s in prof[w]:
                    var = solver.IntVar(0, min(size, cap[w][s]), "")
                    objective.SetCoefficient(var, price)
                    x[g, w, s] = var
                    row.append(var)
                    by_slot[s].append(var)
                    by_run[w, s].append(var)
            if len(row) > 1:
                solver.Add(solver.Sum(row) <= size)
        for s in group.free:
            solver.Add(solver.Sum(by_slot[s]) == size)
    for (w, s), row in by_run.items():
        solver.Add(solver.Sum(row) <= cap[w][s])
    objective.SetMinimization()
    fixed_cost = sum(p.cost(d, w) for d in range(len(p.delegates)) for w in p.fixed[d].values())
    # The flow bound is valid here too; stating it lets the search stop as soon as it is met.
    solver.Add(solver.Sum([objective.GetCoefficient(v) * v for v in x.values()])
               >= lower_bound - fixed_cost)
    if hint:
        keys = list(x)
        solver.SetHint([x[k] for k in keys], [float(hint.get(k, 0)) for k in keys])
    solver.SetTimeLimit(max(50, int(1000 * (deadline - time.monotonic()))))
    status = solver.Solve()
    if status == solver.INFEASIBLE:
        return "infeasible", None, math.inf
    if status not in (solver.OPTIMAL, solver.FEASIBLE):
        return "unknown", None, float(lower_bound)
    values = {key: round(var.solution_value()) for key, var in x.items()}
    bound = fixed_cost + objective.BestBound()
    plan = _unfold(p, groups, values)
    return ("optimal" if status == solver.OPTIMAL else "feasible"), plan, bound


def _fit_exact(p: _Problem, cap: list[list[int]], prof: list[frozenset[int]], sets: _Sets,
               deadline: float) -> list[dict[int, int]] | None:
    """Fit the chosen sets into slots exactly with CP-SAT (stage 3); None if they cannot."""
    groups: dict[tuple[frozenset[int], frozenset[int]], list[int]] = defaultdict(list)
    n_slots = len(p.slots)
    for d, chosen in enumerate(sets.chosen):
        free = frozenset(s for s in range(n_slots) if s not in p.fixed[d])
        if free:
            groups[frozenset(chosen), free].append(d)
    model = [_Group(members, sorted(free), sorted(works), exact=True)
             for (works, free), members in groups.items()]
    return _solve_grouped(p, cap, prof, model, deadline)


def _solve_full(p: _Problem, cap: list[list[int]], prof: list[frozenset[int]], sets: _Sets,
                deadline: float, warm_start: Mapping[str, Mapping[str, str]] | None,
                ) -> tuple[list[dict[int, int]], int, bool]:
    """Solve the whole problem grouped by identical preferences (stage 4).

    Rounds widen a window Δ: only choices whose reduced cost in the flow allows a total
    of at most bound + Δ are modelled. A round whose optimum is within the window is the
    global optimum; one without a solution in the window raises the lower bound.
    """
    n_slots = len(p.slots)
    base = sets.lower_bound
    reduced = sets.reduced_costs()
    steepest = max(reduced.values(), default=0)
    lower = base
    best: tuple[int, list[dict[int, int]]] | None = None
    hint_plan: list[dict[int, int]] | None = None
    if warm_start:
        hint_plan = [dict(p.fixed[d]) for d in range(len(p.delegates))]
        for d, did in enumerate(p.delegates):
            previous = warm_start.get(did)
            if isinstance(previous, Mapping):
                for s, sid in enumerate(p.slots):
                    wid = previous.get(sid)
                    w = p.workshop_index.get(wid) if isinstance(wid, str) else None
                    if w is not None and w not in p.exclude[d]:
                        hint_plan[d].setdefault(s, w)
    window = 0
    while True:
        limit = sets.scale * (window + 1)
        everything = steepest < limit
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for d in range(len(p.delegates)):
            if len(p.fixed[d]) < n_slots:
                allowed = frozenset(w for w in range(len(p.workshops))
                                    if w not in p.exclude[d]
                                    and reduced.get((d, w), limit) < limit)
                groups[p.prefs[d], tuple(sorted(p.fixed[d].items())), p.exclude[d],
                       allowed].append(d)
        model: list[_Group] = []
        for (_, fixed, _, allowed), members in groups.items():
            free = [s for s in range(n_slots) if s not in dict(fixed)]
            model.append(_Group(members, free, sorted(allowed), exact=False))
        hint: dict[tuple[int, int, int], int] | None = None
        if hint_plan is not None:
            hint = defaultdict(int)
            for g, group in enumerate(model):
                for d in group.members:
                    for s in group.free:
                        if s in hint_plan[d]:
                            hint[g, hint_plan[d][s], s] += 1
        status, plan, bound = _solve_mip(p, cap, prof, model, deadline, lower, hint)
        if plan is not None:
            cost = sum(p.cost(d, w) for d, schedule in enumerate(plan) for w in schedule.values())
            if best is None or cost < best[0]:
                best, hint_plan = (cost, plan), plan
        if status == "optimal" and best is not None and best[0] <= base + window:
            lower = max(lower, best[0])
        elif status in ("optimal", "infeasible"):
            # The window held every schedule costing at most base + window: none does.
            lower = max(lower, base + window + 1, math.ceil(bound - 1e-6) if everything else 0)
        else:
            break
        if best is not None and best[0] <= lower:
            break
        if everything:
            break
        window = max(4, 4 * window)
        if best is not None:
            window = min(window, best[0] - 1 - base)
    if best is None:
        if everything and status == "infeasible":
            raise _fail("no assignment exists: the workshops' runs cannot be arranged so that "
                        "every delegate attends a different workshop in every slot", "infeasible")
        raise RotationTimeout("no assignment was found within the time limit")
    return best[1], min(lower, best[0]), best[0] <= lower


def _stats(p: _Problem, plan: list[dict[int, int]], lower_bound: int, optimal: bool,
           seconds: float) -> dict[str, Any]:
    histogram = {str(r): 0 for r in range(1, p.longest + 1)}
    histogram[UNRANKED] = 0
    cost = 0
    firsts = ranked = 0
    for d, schedule in enumerate(plan):
        prefs = p.prefs[d]
        for w in schedule.values():
            if w in prefs:
                histogram[str(prefs.index(w) + 1)] += 1
            else:
                histogram[UNRANKED] += 1
            cost += p.cost(d, w)
        if prefs:
            ranked += 1
            firsts += prefs[0] in schedule.values()
    return {
        "cost": cost,
        "lower_bound": min(lower_bound, cost),
        "optimal": optimal or cost <= lower_bound,
        "first_choice_pct": round(100.0 * firsts / ranked, 1) if ranked else 0.0,
        "rank_histogram": histogram,
        "seconds": round(seconds, 3),
    }


def assign(problem: Any, *, time_limit_s: float | None = None,
           warm_start: Mapping[Any, Mapping[Any, Any]] | None = None,
           names: Names | None = None) -> dict[str, Any]:
    """Return the cheapest assignment of delegates to workshops in every slot, with stats.

    ``problem`` has the JSON input shape (slots, workshops, delegates with preferences
    and an optional exclude list, fixed, time_limit_s); ``time_limit_s`` overrides the
    input's limit for the exact fallbacks.
    ``warm_start`` (a previous ``assignments``) only seeds the last-resort full model.
    ``stats.first_choice_pct`` is the share of delegates with preferences who got their
    first choice. Raise RotationInputError (with ``code``) on bad or infeasible input and
    RotationTimeout if no assignment was found in time. Ids may be strings or integers and
    come back as given; ``names`` words the messages.
    """
    started = time.perf_counter()
    p = _parse(problem, names=names)
    deadline = _deadline(p, time_limit_s)
    cap = p.free_capacity()
    prof = _profiles(cap)
    sets = _choose_sets(p, cap, prof)
    lower_bound = sets.lower_bound
    plan = _fit_slot_by_slot(p, cap, prof, sets)
    if plan is None:
        plan = _fit_exact(p, cap, prof, sets, deadline)
    optimal = plan is not None
    if plan is None:
        plan, lower_bound, optimal = _solve_full(p, cap, prof, sets, deadline, warm_start)
    assignments = {
        did: {p.slots[s]: p.workshops[plan[d][s]] for s in range(len(p.slots))}
        for d, did in enumerate(p.delegates)
    }
    stats = _stats(p, plan, lower_bound, optimal, time.perf_counter() - started)
    return {"assignments": assignments, "stats": stats}


# ---------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line: read INPUT.json, print the assignment as JSON; 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m carousels.rotation",
        description="Assign delegates to carousel workshops across rotation slots.")
    parser.add_argument("input", help="problem as JSON (slots, workshops, delegates, fixed)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="time limit for the exact fallbacks (default: the input's or 60)")
    def refuse(message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

    parser.error = refuse  # type: ignore[method-assign]  # one line, not usage + error
    args = parser.parse_args(argv)
    try:
        if args.time_limit is not None and not (args.time_limit > 0
                                                and math.isfinite(args.time_limit)):
            raise _fail("--time-limit must be a positive number of seconds")
        try:
            with open(args.input, encoding="utf-8") as handle:
                problem = json.load(handle)
        except OSError as error:
            raise _fail(f"cannot read {args.input}: {error.strerror or error}") from error
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _fail(f"{args.input} is not valid JSON: {error}", "malformed_json") from error
        result = assign(problem, time_limit_s=args.time_limit)
    except RotationError as error:
        print("error: " + " ".join(str(error).split()), file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
