"""Allocate delegates to World Cafe tables over several rounds.

Pure core: plain data in, plain data out; randomness comes from a seed or a
``random.Random`` and the clock is only used to stop searching early.

The engine minimises, in this order:

1. ``repeat_pairs`` -- over all pairs of delegates, the number of rounds they
   share a table beyond the first;
2. ``same_org_pairs`` -- pairs from the same organisation sharing a table,
   summed over rounds;
3. table imbalance -- table sizes within a round should differ by at most one
   wherever capacities (and step-free needs) allow.

Hard rules (never broken): capacities, hosts at their own table in every round
they are present, step-free needs, fixed seats kept, absent delegates unseated.

It works in two phases. A greedy pass seats each round in turn, each delegate
at the table where they have met fewest people, then fewest colleagues, then
fewest people. A tabu search then repeatedly takes a delegate in conflict (a
repeated meeting, a colleague at the table, or an over-full table) and makes
the best swap or move in that round, with incremental evaluation of the
lexicographic objective. For uniform instances whose table count is a prime
power, an affine-plane construction over GF(q) (plus "column" rounds) is tried
as a second starting point; it settles the classic social golfer instances.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CafeInputError", "allocate", "check", "main", "score", "validate"]

DEFAULT_TIME_LIMIT_S = 10.0

#: ``names(kind, id)`` returns the text that messages show for an id; ``kind`` is "delegate" or
#: "table". Without it, messages show the ids themselves (as the command line does).
Names = Callable[[str, Any], str]


class CafeInputError(ValueError):
    """Reject a problem that cannot be allocated; ``code`` names the reason."""

    def __init__(self, message: str, code: str = "invalid_input") -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- parsing


@dataclass
class _Instance:
    rounds: int
    table_ids: list[Any]
    capacity: list[int]
    step_free: list[bool]
    host: list[int]  # delegate index, or -1
    delegate_ids: list[Any]
    org: list[int]  # organisation index, or -1 for none
    needs_sf: list[bool]
    present: list[list[bool]]  # [round][delegate]
    pinned: list[dict[int, int]]  # [round] delegate -> table (hosts and fixed seats)
    seed: int
    time_limit_s: float

    @property
    def n(self) -> int:
        return len(self.delegate_ids)

    @property
    def t(self) -> int:
        return len(self.table_ids)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and bool(value)) or _is_int(value)


def _namers(names: Names | None) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """Return the (delegate, table) id formatters for messages."""
    if names is None:
        return _show, _show
    return (lambda v: names("delegate", v)), (lambda v: names("table", v))


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


def _parse(problem: Any, names: Names | None = None) -> _Instance:
    """Check ``problem`` and turn it into indexed arrays, or raise CafeInputError."""
    bad = CafeInputError
    dn, tn = _namers(names)
    if not isinstance(problem, dict):
        raise bad("The input must be a JSON object with 'rounds', 'tables' and 'delegates'.",
                  "malformed")
    rounds: Any = problem.get("rounds")
    if not _is_int(rounds) or rounds < 1:
        raise bad("'rounds' must be a whole number of at least 1.", "malformed")

    delegates = problem.get("delegates")
    if not isinstance(delegates, list):
        raise bad("'delegates' must be a list of delegates.", "malformed")
    delegate_ids: list[Any] = []
    index: dict[Any, int] = {}
    org_index: dict[str, int] = {}
    org: list[int] = []
    needs_sf: list[bool] = []
    for i, d in enumerate(delegates, 1):
        if not isinstance(d, dict) or not (isinstance(d.get("id"), str) or _is_int(d.get("id"))):
            raise bad(f"Delegate number {i} must be an object with a string 'id'.", "malformed")
        did = d["id"]
        if did in index:
            raise bad(f"Delegate id {dn(did)} appears more than once.", "duplicate_id")
        index[did] = len(delegate_ids)
        delegate_ids.append(did)
        name = d.get("organisation")
        if name is not None and not isinstance(name, str):
            raise bad(f"Delegate {dn(did)} has an 'organisation' that is not text.", "malformed")
        org.append(org_index.setdefault(name, len(org_index)) if name else -1)
        sf = d.get("needs_step_free", False)
        if not isinstance(sf, bool):
            raise bad(f"Delegate {dn(did)} has a 'needs_step_free' that is not true or false.",
                      "malformed")
        needs_sf.append(sf)

    tables = problem.get("tables")
    if not isinstance(tables, list) or not tables:
        raise bad("'tables' must be a non-empty list of tables.", "malformed")
    table_ids: list[Any] = []
    tindex: dict[Any, int] = {}
    capacity: list[int] = []
    step_free: list[bool] = []
    host: list[int] = []
    hosted: dict[int, Any] = {}
    for i, tab in enumerate(tables, 1):
        if not isinstance(tab, dict) or not _is_id(tab.get("id")):
            raise bad(f"Table number {i} must be an object with a string 'id'.", "malformed")
        tid = tab["id"]
        if tid in tindex:
            raise bad(f"Table id {tn(tid)} appears more than once.", "duplicate_id")
        cap: Any = tab.get("capacity")
        if not _is_int(cap) or cap < 1:
            raise bad(f"Table {tn(tid)} needs a 'capacity' that is a whole number of at least 1.",
                      "malformed")
        sf = tab.get("step_free", False)
        if not isinstance(sf, bool):
            raise bad(f"Table {tn(tid)} has a 'step_free' that is not true or false.", "malformed")
        h = tab.get("host")
        hi = -1
        if h is not None:
            if not isinstance(h, str | int) or isinstance(h, bool) or h not in index:
                raise bad(f"Table {tn(tid)} has host {dn(h)}, who is not a known delegate.",
                          "unknown_host")
            hi = index[h]
            if hi in hosted:
                raise bad(f"Delegate {dn(h)} cannot host two tables ({tn(hosted[hi])} and {tn(tid)}).",
                          "host_twice")
            hosted[hi] = tid
            if needs_sf[hi] and not sf:
                raise bad(f"Host {dn(h)} needs step-free access but table {tn(tid)} is not "
                          "step-free.", "step_free_conflict")
        tindex[tid] = len(table_ids)
        table_ids.append(tid)
        capacity.append(cap)
        step_free.append(sf)
        host.append(hi)

    n, nt = len(delegate_ids), len(table_ids)
    present = [[True] * n for _ in range(rounds)]
    absent = problem.get("absent") or {}
    if not isinstance(absent, dict):
        raise bad("'absent' must map round numbers to lists of delegate ids.", "malformed")
    for key, ids in absent.items():
        try:
            r = int(key)
        except (TypeError, ValueError):
            raise bad(f"'absent' has key {_show(key)}, which is not a round number.",
                      "malformed") from None
        if not 1 <= r <= rounds:
            raise bad(f"'absent' names round {r}, but rounds run from 1 to {rounds}.",
                      "unknown_round")
        if not isinstance(ids, list):
            raise bad(f"'absent' for round {r} must be a list of delegate ids.", "malformed")
        for did in ids:
            if not isinstance(did, str | int) or isinstance(did, bool) or did not in index:
                raise bad(f"'absent' for round {r} names {dn(did)}, who is not a known "
                          "delegate.", "unknown_delegate")
            present[r - 1][index[did]] = False

    pinned: list[dict[int, int]] = [{} for _ in range(rounds)]
    for r in range(rounds):
        for t, hi in enumerate(host):
            if hi >= 0 and present[r][hi]:
                pinned[r][hi] = t
    fixed = problem.get("fixed") or []
    if not isinstance(fixed, list):
        raise bad("'fixed' must be a list of {round, table, delegate} seats.", "malformed")
    for i, seat in enumerate(fixed, 1):
        if not isinstance(seat, dict) or not {"round", "table", "delegate"} <= seat.keys():
            raise bad(f"Fixed seat number {i} must have 'round', 'table' and 'delegate'.",
                      "malformed")
        r, tid, did = seat["round"], seat["table"], seat["delegate"]
        if not _is_int(r) or not 1 <= r <= rounds:
            raise bad(f"Fixed seat number {i} has round {_show(r)}, but rounds run from 1 to "
                      f"{rounds}.", "unknown_round")
        if not _is_id(tid) or tid not in tindex:
            raise bad(f"Fixed seat number {i} names table {tn(tid)}, which is not a known "
                      "table.", "unknown_table")
        if not isinstance(did, str | int) or isinstance(did, bool) or did not in index:
            raise bad(f"Fixed seat number {i} names {dn(did)}, who is not a known delegate.",
                      "unknown_delegate")
        p, t = index[did], tindex[tid]
        if not present[r - 1][p]:
            raise bad(f"Delegate {dn(did)} has a fixed seat in round {r} but is listed as "
                      "absent then.", "fixed_conflict")
        if host[t] != p and p in hosted:
            raise bad(f"Host {dn(did)} of table {tn(hosted[p])} cannot have a fixed seat at "
                      f"table {tn(tid)} in round {r}.", "fixed_conflict")
        old = pinned[r - 1].get(p)
        if old is not None and old != t:
            raise bad(f"Delegate {dn(did)} is fixed to two tables in round {r} "
                      f"({tn(table_ids[old])} and {tn(tid)}).", "fixed_conflict")
        if needs_sf[p] and not step_free[t]:
            raise bad(f"Delegate {dn(did)} needs step-free access but is fixed to table {tn(tid)} "
                      f"in round {r}, which is not step-free.", "step_free_conflict")
        pinned[r - 1][p] = t

    for r in range(rounds):
        count = [0] * nt
        for t in pinned[r].values():
            count[t] += 1
        for t in range(nt):
            if count[t] > capacity[t]:
                raise bad(f"Table {tn(table_ids[t])} has {count[t]} fixed seats in round {r + 1} "
                          f"(counting its host) but capacity {capacity[t]}.",
                          "fixed_over_capacity")
        n_present = sum(present[r])
        seats = sum(capacity)
        if n_present > seats:
            raise bad(f"Round {r + 1} has {n_present} present delegates but only "
                      f"{_count(seats, 'seat')}: {n_present - seats} short.", "not_enough_seats")
        sf_need = sum(1 for p in range(n) if present[r][p] and needs_sf[p] and p not in pinned[r])
        sf_room = sum(capacity[t] - count[t] for t in range(nt) if step_free[t])
        if sf_need > sf_room:
            raise bad(f"Round {r + 1} has {sf_need} delegates still to seat who need step-free "
                      f"access but only {_count(sf_room, 'free step-free seat')}: "
                      f"{sf_need - sf_room} short.", "not_enough_step_free")

    seed = problem.get("seed", 0)
    if seed is None:
        seed = 0
    if not _is_int(seed):
        raise bad("'seed' must be a whole number.", "malformed")
    limit = problem.get("time_limit_s", DEFAULT_TIME_LIMIT_S)
    if limit is None:
        limit = DEFAULT_TIME_LIMIT_S
    if (not isinstance(limit, int | float) or isinstance(limit, bool) or not limit > 0
            or not math.isfinite(limit)):
        raise bad("'time_limit_s' must be a positive number of seconds.", "malformed")
    return _Instance(rounds, table_ids, capacity, step_free, host, delegate_ids, org, needs_sf,
                     present, pinned, seed, float(limit))


def validate(problem: Any, *, names: Names | None = None) -> None:
    """Raise CafeInputError with one plain sentence if ``problem`` cannot be allocated."""
    _parse(problem, names)


# --------------------------------------------------------------------------- scoring


def _pairs(k: int) -> int:
    return k * (k - 1) // 2


def _org_lower_bound(inst: _Instance) -> int:
    """Return the fewest same-organisation pairs any valid plan can have.

    Per round, each organisation's present members are spread as evenly as the
    tables allow, independently of the other organisations: members already
    pinned (hosts, fixed seats) stay put and each free member goes to the table
    with fewest colleagues that still has an unpinned seat. With nothing pinned
    and roomy tables this is the classic ``r*C(q+1,2) + (T-r)*C(q,2)`` with
    ``q, r = divmod(n, T)`` for ``n`` members over ``T`` tables. Since every
    organisation gets its best spread separately and step-free needs are
    ignored, no plan can do better; the bound is tight on ordinary instances.
    """
    total = 0
    for r in range(inst.rounds):
        room = list(inst.capacity)
        pinned_by_org: dict[int, list[int]] = {}
        for p, t in inst.pinned[r].items():
            room[t] -= 1
            if inst.org[p] >= 0:
                pinned_by_org.setdefault(inst.org[p], []).append(t)
        free_by_org: dict[int, int] = {}
        for p in range(inst.n):
            if inst.present[r][p] and p not in inst.pinned[r] and inst.org[p] >= 0:
                free_by_org[inst.org[p]] = free_by_org.get(inst.org[p], 0) + 1
        for o in set(free_by_org) | set(pinned_by_org):
            count = [0] * inst.t
            for t in pinned_by_org.get(o, []):
                count[t] += 1
            m = free_by_org.get(o, 0)
            if m:
                heap = [(count[t], t) for t in range(inst.t) if room[t] > 0]
                heapq.heapify(heap)
                left = room[:]
                for _ in range(m):
                    c, t = heapq.heappop(heap)
                    count[t] = c + 1
                    left[t] -= 1
                    if left[t] > 0:
                        heapq.heappush(heap, (c + 1, t))
            total += sum(_pairs(c) for c in count)
    return total


def _repeat_lower_bound(inst: _Instance) -> int:
    """Return the repeats forced by pinned seats alone (pinned pairs meeting twice)."""
    meet: dict[tuple[int, int], int] = {}
    for r in range(inst.rounds):
        at: dict[int, list[int]] = {}
        for p, t in inst.pinned[r].items():
            at.setdefault(t, []).append(p)
        for group in at.values():
            group.sort()
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    meet[a, b] = meet.get((a, b), 0) + 1
    return sum(c - 1 for c in meet.values() if c > 1)


def _imbalance(inst: _Instance, r: int, groups: Sequence[Sequence[int]]) -> int:
    """Return how far a round's table sizes spread beyond what capacities force."""
    sizes = [len(g) for g in groups]
    open_sizes = [s for t, s in enumerate(sizes) if s < inst.capacity[t]]
    if not open_sizes:
        return 0
    return max(0, max(sizes) - min(open_sizes))


def _stats(inst: _Instance, seats: list[list[int]]) -> dict[str, int]:
    """Count repeats, same-organisation pairs and imbalance of ``seats[r][p]`` (table or -1)."""
    meet: dict[tuple[int, int], int] = {}
    same_org = 0
    imbalance = 0
    for r in range(inst.rounds):
        groups: list[list[int]] = [[] for _ in range(inst.t)]
        for p, t in enumerate(seats[r]):
            if t >= 0:
                groups[t].append(p)
        for g in groups:
            for i, a in enumerate(g):
                for b in g[i + 1:]:
                    meet[a, b] = meet.get((a, b), 0) + 1
                    if inst.org[a] >= 0 and inst.org[a] == inst.org[b]:
                        same_org += 1
        imbalance = max(imbalance, _imbalance(inst, r, groups))
    return {
        "repeat_pairs": sum(c - 1 for c in meet.values() if c > 1),
        "same_org_pairs": same_org,
        "same_org_lower_bound": _org_lower_bound(inst),
        "max_table_imbalance": imbalance,
    }


def _plan_to_seats(inst: _Instance, rounds: Any,
                   names: Names | None = None) -> tuple[list[list[int]], list[str]]:
    """Map an output-shaped plan onto ``seats[r][p]``, collecting what cannot be mapped."""
    dn, tn = _namers(names)
    problems: list[str] = []
    seats = [[-1] * inst.n for _ in range(inst.rounds)]
    if not isinstance(rounds, list):
        return seats, ["The plan must be a list of rounds."]
    if len(rounds) != inst.rounds:
        problems.append(f"The plan has {len(rounds)} rounds but the problem has {inst.rounds}.")
    tindex = {tid: t for t, tid in enumerate(inst.table_ids)}
    index = {did: p for p, did in enumerate(inst.delegate_ids)}
    for r, plan in enumerate(rounds[: inst.rounds]):
        if not isinstance(plan, dict):
            problems.append(f"Round {r + 1} is not a mapping of tables to delegates.")
            continue
        for tid, people in plan.items():
            if tid not in tindex:
                problems.append(f"Round {r + 1} uses unknown table {tn(tid)}.")
                continue
            if not isinstance(people, list):
                problems.append(f"Round {r + 1} table {tn(tid)} is not a list of delegates.")
                continue
            for did in people:
                p = index.get(did) if isinstance(did, str | int) else None
                if p is None:
                    problems.append(f"Round {r + 1} seats unknown delegate {dn(did)}.")
                elif seats[r][p] >= 0:
                    problems.append(f"Round {r + 1} seats {dn(did)} twice.")
                else:
                    seats[r][p] = tindex[tid]
    return seats, problems


def score(problem: dict[str, Any], rounds: Any, *, names: Names | None = None) -> dict[str, int]:
    """Return the stats of any plan for ``problem`` (``rounds`` as in allocate's output)."""
    inst = _parse(problem, names)
    seats, problems = _plan_to_seats(inst, rounds, names)
    if problems:
        raise CafeInputError(problems[0], "invalid_plan")
    return _stats(inst, seats)


def check(problem: dict[str, Any], rounds: Any, *, names: Names | None = None) -> list[str]:
    """Return every hard rule ``rounds`` breaks for ``problem``; empty means valid."""
    inst = _parse(problem, names)
    seats, problems = _plan_to_seats(inst, rounds, names)
    name = inst.delegate_ids
    dn, tn = _namers(names)
    for r in range(inst.rounds):
        size = [0] * inst.t
        for p in range(inst.n):
            t = seats[r][p]
            if t >= 0:
                size[t] += 1
            if inst.present[r][p] and t < 0:
                problems.append(f"Round {r + 1}: {dn(name[p])} is present but not seated.")
            if not inst.present[r][p] and t >= 0:
                problems.append(f"Round {r + 1}: {dn(name[p])} is absent but seated.")
            if t >= 0 and inst.needs_sf[p] and not inst.step_free[t]:
                problems.append(f"Round {r + 1}: {dn(name[p])} needs step-free access but "
                                f"sits at {tn(inst.table_ids[t])}.")
            want = inst.pinned[r].get(p)
            if want is not None and t != want:
                role = "hosts" if inst.host[want] == p else "is fixed to"
                problems.append(f"Round {r + 1}: {dn(name[p])} {role} {tn(inst.table_ids[want])} "
                                "but is not seated there.")
        for t in range(inst.t):
            if size[t] > inst.capacity[t]:
                problems.append(f"Round {r + 1}: table {tn(inst.table_ids[t])} seats {size[t]}, "
                                f"over its capacity {inst.capacity[t]}.")
    return problems


# --------------------------------------------------------------------------- construction


def _greedy(inst: _Instance, rng: random.Random,
            prefix: list[list[int]] | None = None) -> list[list[int]]:
    """Seat round by round: fewest already met, then fewest colleagues, then smallest table.

    Rounds given in ``prefix`` (``seats[r][p]``) are taken as they are.
    """
    n, nt = inst.n, inst.t
    met: list[set[int]] = [set() for _ in range(n)]
    org, cap, sf = inst.org, inst.capacity, inst.step_free
    org_size: dict[int, int] = {}
    for o in org:
        org_size[o] = org_size.get(o, 0) + 1
    seats = [[-1] * n for _ in range(inst.rounds)]
    for r in range(inst.rounds):
        seat = seats[r]
        groups: list[list[int]] = [[] for _ in range(nt)]
        orgc: list[dict[int, int]] = [{} for _ in range(nt)]

        def sit(p: int, t: int, seat: list[int] = seat, groups: list[list[int]] = groups,
                orgc: list[dict[int, int]] = orgc) -> None:
            for x in groups[t]:
                met[p].add(x)
                met[x].add(p)
            groups[t].append(p)
            seat[p] = t
            if org[p] >= 0:
                orgc[t][org[p]] = orgc[t].get(org[p], 0) + 1

        if prefix is not None and r < len(prefix):
            for p, t in enumerate(prefix[r]):
                if t >= 0:
                    sit(p, t)
            continue
        for p, t in inst.pinned[r].items():
            sit(p, t)
        free = [p for p in range(n) if inst.present[r][p] and p not in inst.pinned[r]]
        rng.shuffle(free)
        # Step-free needs first so they get the step-free seats; big organisations next
        # so their members still find tables without a colleague.
        free.sort(key=lambda p: (not inst.needs_sf[p], -org_size[org[p]] if org[p] >= 0 else 0))
        order = list(range(nt))
        rng.shuffle(order)
        buckets: list[dict[int, None]] = [{} for _ in range(max(cap) + 1)]
        for t in order:
            if len(groups[t]) < cap[t]:
                buckets[len(groups[t])][t] = None
        for p in free:
            at: dict[int, int] = {}
            for x in met[p]:
                tx = seat[x]
                if tx >= 0:
                    at[tx] = at.get(tx, 0) + 1
            o = org[p]
            need = inst.needs_sf[p]
            choice = -1
            for bucket in buckets:
                for t in bucket:
                    if (not need or sf[t]) and t not in at and (o < 0 or o not in orgc[t]):
                        choice = t
                        break
                if choice >= 0:
                    break
            if choice < 0:
                best: tuple[int, int, int] | None = None
                for bucket in buckets:
                    for t in bucket:
                        if need and not sf[t]:
                            continue
                        key = (at.get(t, 0), orgc[t].get(o, 0) if o >= 0 else 0, len(groups[t]))
                        if best is None or key < best:
                            best, choice = key, t
            s = len(groups[choice])
            del buckets[s][choice]
            sit(p, choice)
            if s + 1 < cap[choice]:
                buckets[s + 1][choice] = None
    return seats


def _prime_power(q: int) -> tuple[int, int] | None:
    for p in range(2, q + 1):
        if q % p == 0:
            e, m = 0, q
            while m % p == 0:
                m //= p
                e += 1
            return (p, e) if m == 1 else None
    return None


# Irreducible polynomials (bit masks, including the leading term) for GF(2^e).
_GF2_POLY = {1: 0b11, 2: 0b111, 3: 0b1011, 4: 0b10011, 5: 0b100101, 6: 0b1000011,
             7: 0b10000011, 8: 0b100011011}


def _field(q: int) -> tuple[list[list[int]], list[list[int]]] | None:
    """Return addition and multiplication tables of GF(q) for primes and small powers of 2."""
    pe = _prime_power(q)
    if pe is None:
        return None
    p, e = pe
    if e == 1:
        return ([[(a + b) % q for b in range(q)] for a in range(q)],
                [[(a * b) % q for b in range(q)] for a in range(q)])
    if p != 2 or e not in _GF2_POLY:
        return None
    poly = _GF2_POLY[e]

    def mul(a: int, b: int) -> int:
        out = 0
        while b:
            if b & 1:
                out ^= a
            b >>= 1
            a <<= 1
            if a & q:
                a ^= poly
        return out

    return ([[a ^ b for b in range(q)] for a in range(q)],
            [[mul(a, b) for b in range(q)] for a in range(q)])


def _affine(inst: _Instance) -> list[list[int]] | None:
    """Build affine-plane rounds for uniform instances with a prime-power table count.

    Seat (x, j) -- x in GF(q) for the q tables, j < k for the k seats -- sits at
    table ``x + m * j`` in round m; two seats in different columns meet in at
    most one of the q rounds. Further rounds split each column (which never met)
    into tables of k. Hosts take column 0, which stays put in the field rounds.
    Returns only the rounds it can build (the rest are left to the greedy pass).
    """
    q, k = inst.t, inst.capacity[0]
    if any(c != k for c in inst.capacity) or not 2 <= k <= q or inst.n == 0:
        return None
    hosts = {h: t for t, h in enumerate(inst.host) if h >= 0}
    if any(inst.pinned[r] != hosts for r in range(inst.rounds)):
        return None
    if any(not all(row) for row in inst.present) or any(inst.needs_sf) or inst.n > q * k:
        return None
    field = _field(q)
    if field is None:
        return None
    add, mul = field
    rounds: list[list[list[tuple[int, int]]]] = []
    for m in range(min(q, inst.rounds)):
        groups: list[list[tuple[int, int]]] = [[] for _ in range(q)]
        for x in range(q):
            for j in range(k):
                groups[add[x][mul[m][j]]].append((x, j))
        rounds.append(groups)
    if len(rounds) < inst.rounds and q % k == 0:
        groups = [[(x, j) for x in range(q)][i: i + k] for j in range(k) for i in range(0, q, k)]
        rounds.append(groups)
    # Hosts stay put only through the field rounds.
    if len(rounds) > q and any(h >= 0 for h in inst.host):
        rounds = rounds[:q]
    # Put hosts in column 0 and each organisation's members in as few columns as possible,
    # since seats in one column never share a table in the field rounds.
    label: dict[tuple[int, int], int] = {}
    for t, h in enumerate(inst.host):
        if h >= 0:
            label[(t, 0)] = h
    rest = [p for p in range(inst.n) if p not in hosts]
    rest.sort(key=lambda p: inst.org[p])
    slots = [(x, j) for j in range(k) for x in range(q) if (x, j) not in label]
    for p, slot in zip(rest, slots, strict=False):
        label[slot] = p
    seats = [[-1] * inst.n for _ in range(len(rounds))]
    for r in range(len(rounds)):
        for t, group in enumerate(rounds[r]):
            for slot in group:
                if slot in label:
                    seats[r][label[slot]] = t
    return seats


# --------------------------------------------------------------------------- search


class _Search:
    """Tabu search over swaps and moves of unpinned delegates within a round."""

    def __init__(self, inst: _Instance, seats: list[list[int]], rng: random.Random) -> None:
        self.inst = inst
        self.rng = rng
        n, nt, R = inst.n, inst.t, inst.rounds
        self.n = n
        self.seats = [row[:] for row in seats]
        self.meet = bytearray(n * n) if R < 256 else array("I", bytes(4 * n * n))
        self.groups: list[list[list[int]]] = [[[] for _ in range(nt)] for _ in range(R)]
        norg = max(inst.org, default=-1) + 1
        self.norg = norg
        self.orgc = [[0] * (nt * max(norg, 1)) for _ in range(R)]
        self.free = [bytearray(n) for _ in range(R)]
        maxcap = max(inst.capacity)
        # Weights make the objective lexicographic for any single swap or move.
        self.w_bal = 1
        self.w_org = 4 * maxcap + 8
        self.w_rep = self.w_org * (4 * maxcap + 8)
        self.repeats = 0
        self.same_org = 0
        self.sumsq = 0
        for r in range(R):
            for p in range(n):
                if inst.present[r][p] and p not in inst.pinned[r]:
                    self.free[r][p] = 1
            for p, t in enumerate(self.seats[r]):
                if t >= 0:
                    self.groups[r][t].append(p)
            for t, g in enumerate(self.groups[r]):
                self.sumsq += len(g) ** 2
                for i, a in enumerate(g):
                    if inst.org[a] >= 0:
                        self.same_org += self.orgc[r][t * norg + inst.org[a]]
                        self.orgc[r][t * norg + inst.org[a]] += 1
                    for b in g[i + 1:]:
                        c = self.meet[a * n + b]
                        if c:
                            self.repeats += 1
                        self.meet[a * n + b] = c + 1
                        self.meet[b * n + a] = c + 1
        self.rounds_open = [r for r in range(R) if any(self.free[r])]

    def cost(self) -> int:
        return self.w_rep * self.repeats + self.w_org * self.same_org + self.w_bal * self.sumsq

    def _leave(self, r: int, p: int, t: int) -> None:
        n, meet, g = self.n, self.meet, self.groups[r][t]
        g.remove(p)
        row = p * n
        for x in g:
            c = meet[row + x] - 1
            if c:
                self.repeats -= 1
            meet[row + x] = c
            meet[x * n + p] = c
        o = self.inst.org[p]
        if o >= 0:
            oc = self.orgc[r]
            oc[t * self.norg + o] -= 1
            self.same_org -= oc[t * self.norg + o]
        self.sumsq -= 2 * len(g) + 1
        self.seats[r][p] = -1

    def _join(self, r: int, p: int, t: int) -> None:
        n, meet, g = self.n, self.meet, self.groups[r][t]
        row = p * n
        for x in g:
            c = meet[row + x]
            if c:
                self.repeats += 1
            meet[row + x] = c + 1
            meet[x * n + p] = c + 1
        o = self.inst.org[p]
        if o >= 0:
            oc = self.orgc[r]
            self.same_org += oc[t * self.norg + o]
            oc[t * self.norg + o] += 1
        self.sumsq += 2 * len(g) + 1
        g.append(p)
        self.seats[r][p] = t

    def conflicts(self) -> list[tuple[int, int]]:
        """List (round, delegate) entries that sit with a repeat, a colleague or too many."""
        inst, n, meet = self.inst, self.n, self.meet
        out: list[tuple[int, int]] = []
        for r in self.rounds_open:
            groups = self.groups[r]
            open_any = min((len(g) for t, g in enumerate(groups)
                            if len(g) < inst.capacity[t]), default=10**9)
            open_sf = min((len(g) for t, g in enumerate(groups)
                           if len(g) < inst.capacity[t] and inst.step_free[t]), default=10**9)
            free = self.free[r]
            oc, norg = self.orgc[r], self.norg
            for t, g in enumerate(groups):
                for p in g:
                    if not free[p]:
                        continue
                    o = inst.org[p]
                    low = open_sf if inst.needs_sf[p] else open_any
                    if (len(g) >= low + 2 or (o >= 0 and oc[t * norg + o] > 1)
                            or any(meet[p * n + x] > 1 for x in g if x != p)):
                        out.append((r, p))
        return out

    def conflicted(self, r: int, p: int) -> bool:
        """Tell whether ``p`` sits with a repeat or a colleague in round ``r``."""
        t = self.seats[r][p]
        g = self.groups[r][t]
        o = self.inst.org[p]
        if o >= 0 and self.orgc[r][t * self.norg + o] > 1:
            return True
        meet, row = self.meet, p * self.n
        return any(meet[row + x] > 1 for x in g if x != p)

    def balanced(self) -> bool:
        """Tell whether no unpinned delegate could move to a table two or more smaller."""
        inst = self.inst
        for r in self.rounds_open:
            groups = self.groups[r]
            open_any = min((len(g) for t, g in enumerate(groups)
                            if len(g) < inst.capacity[t]), default=10**9)
            open_sf = min((len(g) for t, g in enumerate(groups)
                           if len(g) < inst.capacity[t] and inst.step_free[t]), default=10**9)
            free = self.free[r]
            for g in groups:
                if len(g) >= open_any + 2 and any(free[p] for p in g):
                    if len(g) >= open_sf + 2 or any(
                            free[p] and not inst.needs_sf[p] for p in g):
                        return False
        return True

    def moves(self, r: int, p: int, it: int, tabu: dict[tuple[int, int, int], int],
              best_cost: int) -> tuple[int | None, list[tuple[int, int, int, int, int]]]:
        """Return the best non-tabu change for ``p`` in round ``r`` and every move tying it.

        A move is ``(round, p, from_table, to_table, q)``: ``p`` swaps with ``q``,
        or just moves when ``q`` is -1. Tabu moves count if they beat ``best_cost``.
        """
        inst, n, meet, rng = self.inst, self.n, self.meet, self.rng
        groups, free, oc, norg = self.groups[r], self.free[r], self.orgc[r], self.norg
        cap, sf, needs_sf, org = inst.capacity, inst.step_free, inst.needs_sf, inst.org
        w_rep, w_org, w_bal = self.w_rep, self.w_org, self.w_bal
        a = self.seats[r][p]
        ga = groups[a]
        rowp = p * n
        op = org[p]
        loss_rep = sum(1 for x in ga if x != p and meet[rowp + x] > 1)
        loss_org = oc[a * norg + op] - 1 if op >= 0 else 0
        size_a = len(ga)
        need_p = needs_sf[p]
        sf_a = sf[a]
        cost_now = self.cost()
        nt = inst.t
        if nt > 48:
            tables = rng.sample(range(nt), 48)
        else:
            tables = list(range(nt))
        best_delta: int | None = None
        best: list[tuple[int, int, int, int, int]] = []
        for b in tables:
            if b == a or (need_p and not sf[b]):
                continue
            gb = groups[b]
            gain_rep = 0
            for y in gb:
                if meet[rowp + y]:
                    gain_rep += 1
            gain_org = oc[b * norg + op] if op >= 0 else 0
            size_b = len(gb)
            tabu_pb = tabu.get((r, p, b), -1) >= it
            if size_b < cap[b]:
                delta = (w_rep * (gain_rep - loss_rep) + w_org * (gain_org - loss_org)
                         + w_bal * 2 * (size_b - size_a + 1))
                if not tabu_pb or cost_now + delta < best_cost:
                    if best_delta is None or delta < best_delta:
                        best_delta, best = delta, [(r, p, a, b, -1)]
                    elif delta == best_delta:
                        best.append((r, p, a, b, -1))
            for q in gb:
                if not free[q] or (needs_sf[q] and not sf_a):
                    continue
                rowq = q * n
                rep = gain_rep - loss_rep - (1 if meet[rowp + q] else 0)
                for y in gb:
                    if y != q and meet[rowq + y] > 1:
                        rep -= 1
                for x in ga:
                    if x != p and meet[rowq + x]:
                        rep += 1
                oq = org[q]
                if op == oq:
                    dorg = 0
                else:
                    dorg = gain_org - loss_org
                    if oq >= 0:
                        dorg += oc[a * norg + oq] - (oc[b * norg + oq] - 1)
                delta = w_rep * rep + w_org * dorg
                if best_delta is not None and delta > best_delta:
                    continue
                if ((tabu_pb or tabu.get((r, q, a), -1) >= it)
                        and cost_now + delta >= best_cost):
                    continue
                if best_delta is None or delta < best_delta:
                    best_delta, best = delta, [(r, p, a, b, q)]
                elif delta == best_delta:
                    best.append((r, p, a, b, q))
        return best_delta, best

    def apply(self, move: tuple[int, int, int, int, int], it: int,
              tabu: dict[tuple[int, int, int], int]) -> None:
        """Make ``move`` and forbid undoing it for a random tenure."""
        r, p, a, b, q = move
        rng = self.rng
        tenure = rng.randint(4, 12 + min(100, len(self.rounds_open) * 4))
        self._leave(r, p, a)
        tabu[(r, p, a)] = it + tenure
        if q >= 0:
            self._leave(r, q, b)
            self._join(r, q, a)
            tabu[(r, q, b)] = it + tenure
        self._join(r, p, b)

    def perturb(self, moves: int) -> None:
        """Swap random unpinned delegates to escape a plateau."""
        inst, rng = self.inst, self.rng
        for _ in range(moves):
            r = rng.choice(self.rounds_open)
            cand = [p for p in range(self.n) if self.free[r][p]]
            p, q = rng.choice(cand), rng.choice(cand)
            a, b = self.seats[r][p], self.seats[r][q]
            if a == b or (inst.needs_sf[p] and not inst.step_free[b]) or (
                    inst.needs_sf[q] and not inst.step_free[a]):
                continue
            self._leave(r, p, a)
            self._leave(r, q, b)
            self._join(r, p, b)
            self._join(r, q, a)


def _solve(inst: _Instance, rng: random.Random, deadline: float) -> list[list[int]]:
    """Return the best plan found before ``deadline`` or proof of optimality."""
    rep_lb = _repeat_lower_bound(inst)
    org_lb = _org_lower_bound(inst)
    starts = [_greedy(inst, rng)]
    affine = _affine(inst)
    if affine is not None:
        starts.append(_greedy(inst, rng, prefix=affine))
    searches = [_Search(inst, s, rng) for s in starts]
    search = min(searches, key=_Search.cost)
    best_cost = search.cost()
    best = [row[:] for row in search.seats]
    if not search.rounds_open:
        return best
    tabu: dict[tuple[int, int, int], int] = {}
    stall_limit = 200 + 40 * sum(sum(f) for f in search.free) // max(1, len(search.rounds_open))
    it = last_gain = restarts = 0
    max_restarts = 8
    pending: list[tuple[int, int]] = []
    per_round = sum(sum(f) for f in search.free) // len(search.rounds_open)
    batch = max(1, 4000 // max(1, per_round))
    whole = per_round <= 64

    def optimal() -> bool:
        return search.repeats <= rep_lb and search.same_org <= org_lb and search.balanced()

    if optimal():
        return best
    while True:
        it += 1
        if it % 16 == 0 and time.monotonic() > deadline:
            break
        if not pending or whole:
            pending = search.conflicts()
            if not pending:
                pending = [(r, p) for r in search.rounds_open
                           for p in range(search.n) if search.free[r][p]]
            search.rng.shuffle(pending)
        # Take the best change over a handful of conflicted delegates: the whole
        # conflict set on small instances (as tabu search for social golfers does),
        # a sample on large ones where each evaluation costs more.
        best_delta: int | None = None
        best_moves: list[tuple[int, int, int, int, int]] = []
        looked = 0
        while pending and looked < batch:
            r, p = pending.pop()
            if not search.conflicted(r, p) and (looked or pending):
                continue
            looked += 1
            delta, moves = search.moves(r, p, it, tabu, best_cost)
            if delta is None:
                continue
            if best_delta is None or delta < best_delta:
                best_delta, best_moves = delta, moves
            elif delta == best_delta:
                best_moves.extend(moves)
        if best_moves:
            search.apply(best_moves[rng.randrange(len(best_moves))], it, tabu)
        cost = search.cost()
        if cost < best_cost:
            best_cost, last_gain, restarts = cost, it, 0
            best = [row[:] for row in search.seats]
            if optimal():
                break
        elif it - last_gain > stall_limit:
            restarts += 1
            if restarts > max_restarts:
                # Long without progress: most likely optimal already, or close to it.
                break
            search = _Search(inst, best, rng)
            search.perturb(max(2, len(search.rounds_open) * 2))
            tabu.clear()
            pending = []
            last_gain = it
    return best


# --------------------------------------------------------------------------- public API


def allocate(problem: dict[str, Any], *, rng: random.Random | None = None,
             time_limit_s: float | None = None, names: Names | None = None) -> dict[str, Any]:
    """Allocate every present delegate to one table per round; return rounds and stats.

    ``rng`` defaults to ``random.Random(problem["seed"])`` (seed 0 if absent) and
    ``time_limit_s`` to the problem's ``time_limit_s`` (10 s if absent); the
    search stops sooner once the plan is provably optimal. Ids may be strings or integers and
    come back as given; ``names`` words the messages of CafeInputError.
    """
    started = time.monotonic()
    inst = _parse(problem, names)
    if rng is None:
        rng = random.Random(inst.seed)
    limit = inst.time_limit_s if time_limit_s is None else time_limit_s
    seats = _solve(inst, rng, started + limit)
    rounds: list[dict[Any, list[Any]]] = []
    for r in range(inst.rounds):
        groups: list[list[int]] = [[] for _ in range(inst.t)]
        for p, t in enumerate(seats[r]):
            if t >= 0:
                groups[t].append(p)
        plan: dict[Any, list[Any]] = {}
        for t, g in enumerate(groups):
            h = inst.host[t]
            g.sort(key=lambda p, h=h: (p != h, p))  # type: ignore[misc]
            plan[inst.table_ids[t]] = [inst.delegate_ids[p] for p in g]
        rounds.append(plan)
    stats: dict[str, Any] = dict(_stats(inst, seats))
    stats["seconds"] = round(time.monotonic() - started, 3)
    return {"rounds": rounds, "stats": stats}


class _Parser(argparse.ArgumentParser):
    """Report usage mistakes as one ``error:`` line, like bad input."""

    def error(self, message: str) -> Any:
        print(f"error: {message}.", file=sys.stderr)
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line: read INPUT.json, print the allocation; exit 2 on bad input."""
    parser = _Parser(prog="python -m carousels.cafe", description="Allocate World Cafe tables.")
    parser.add_argument("input", help="problem as JSON ('-' for standard input)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        if args.input == "-":
            text = sys.stdin.read()
        else:
            with open(args.input, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"error: cannot read {args.input}: {reason}.", file=sys.stderr)
        return 2
    try:
        problem = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"error: {args.input} is not valid JSON: {exc.msg} at line {exc.lineno} "
              f"column {exc.colno}.", file=sys.stderr)
        return 2
    if args.time_limit is not None and not (args.time_limit > 0 and math.isfinite(args.time_limit)):
        print("error: --time-limit must be a positive number of seconds.", file=sys.stderr)
        return 2
    try:
        rng = random.Random(args.seed) if args.seed is not None else None
        result = allocate(problem, rng=rng, time_limit_s=args.time_limit)
    except CafeInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
