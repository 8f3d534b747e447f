"""CSV exports of allocations (carousel workshops, World Cafe tables) in long and wide format.

Convenor's core knows no allocations; the carousel and World Cafe features feed rows through
``events.hooks.ALLOCATION_ROWS``. With no provider (or no published plan) both exports hold the header only.

Plugging in
-----------
Add a callable ``provider(conference) -> Iterable[AllocationRow]`` in your feature's ``install``::

    from events import hooks
    from events.exchange.allocations import AllocationRow

    def cafe_rows(conference):
        for seat in published_seats(conference):
            yield AllocationRow(block=seat.session.title, round=seat.round, kind="table",
                                unit=f"Table {seat.table.number}", location=seat.table.room.name,
                                delegate=seat.delegate.name, email=seat.delegate.email,
                                role="host" if seat.is_host else "delegate",
                                start=seat.starts_at, end=seat.ends_at,
                                organisation=seat.delegate.organisation)

    hooks.add(hooks.ALLOCATION_ROWS, cafe_rows)  # in install(app)

Contract: one row per delegate per round/slot (long format); ``kind`` is "carousel" or
"table"; ``role`` is "host" (table host, workshop leader who is also a delegate) or
"delegate"; ``round`` is 1-based within its ``block`` (the programme Session's title);
``start``/``end`` are aware datetimes (written in the conference's zone, ISO 8601 with offset).
Providers must be read-only and deterministic (export only published plans).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from events.csvsafe import safe_cell

#: Long format: one row per delegate per round or slot.
LONG_COLUMNS = ("conference", "block", "round", "kind", "unit", "location", "delegate", "email",
                "role", "start", "end")
#: Wide format: these, then one column per round/slot in time order.
WIDE_COLUMNS = ("delegate", "email", "organisation")
KINDS = ("carousel", "table")
ROLES = ("host", "delegate")


@dataclass(frozen=True)
class AllocationRow:
    """One delegate's place in one round or slot."""

    block: str
    round: int
    kind: str
    unit: str
    location: str
    delegate: str
    email: str
    role: str
    start: object
    end: object
    organisation: str = ""


def collect(conference, providers: Iterable[Callable]) -> list[AllocationRow]:
    """Return every provider's rows in time, block, round and name order."""
    rows: list[AllocationRow] = []
    for provide in providers:
        rows.extend(provide(conference) or [])
    return sorted(rows, key=lambda r: (r.start, r.block, r.round, r.delegate.lower(), r.email))


def long_csv(conference, rows: Iterable[AllocationRow]) -> str:
    """Return the long-format CSV text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LONG_COLUMNS)
    tz = conference.tz
    for r in rows:
        writer.writerow([safe_cell(v) for v in (
            conference.slug, r.block, r.round, r.kind, r.unit, r.location, r.delegate, r.email,
            r.role, r.start.astimezone(tz).isoformat(), r.end.astimezone(tz).isoformat())])
    return out.getvalue()


def round_label(row: AllocationRow, conference) -> str:
    """Return the wide-format column heading for a row's round or slot."""
    word = "slot" if row.kind == "carousel" else "round"
    return f"{row.block} — {word} {row.round} ({row.start.astimezone(conference.tz):%H:%M})"


def wide_csv(conference, rows: Iterable[AllocationRow]) -> str:
    """Return the wide-format CSV text: one row per delegate, a column per round or slot."""
    rows = list(rows)
    labels: list[str] = []
    for r in rows:
        label = round_label(r, conference)
        if label not in labels:
            labels.append(label)
    people: dict[str, dict] = {}
    for r in rows:
        person = people.setdefault(r.email, {"delegate": r.delegate, "email": r.email,
                                             "organisation": r.organisation})
        cell = f"{r.unit} — {r.location}" if r.location else r.unit
        person[round_label(r, conference)] = cell + (" (host)" if r.role == "host" else "")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*WIDE_COLUMNS, *labels])
    for person in sorted(people.values(), key=lambda p: (p["delegate"].lower(), p["email"])):
        writer.writerow([safe_cell(person.get(c, "")) for c in (*WIDE_COLUMNS, *labels)])
    return out.getvalue()


def export(conference, providers: Iterable[Callable], fmt: str = "long") -> str:
    """Return the allocations CSV in ``fmt`` ("long" or "wide") from the providers' rows."""
    rows = collect(conference, providers)
    return wide_csv(conference, rows) if fmt == "wide" else long_csv(conference, rows)
