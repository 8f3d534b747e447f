"""Delegate CSV import (all-or-nothing, with per-line errors) and export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from events import signals
from events.conference.models import Conference, Delegate
from events.conference.services import delegate_values
from events.csvsafe import safe_row, unsafe_cell
from events.errors import ConvenorError
from events.extensions import db

REQUIRED = ("name", "email", "organisation", "role")
OPTIONAL = ("region", "pronouns", "access_needs", "dietary", "slack_user_id", "needs_step_free",
            "needs_hearing_loop", "access_other")

#: Header spellings seen in ticketing exports, mapped to Convenor's column names.
ALIASES = {
    "full_name": "name",
    "delegate_name": "name",
    "attendee_name": "name",
    "email_address": "email",
    "e_mail": "email",
    "organization": "organisation",
    "trust": "organisation",
    "school_or_trust": "organisation",
    "company": "organisation",
    "job_title": "role",
    "position": "role",
    "access_requirements": "access_needs",
    "accessibility": "access_needs",
    "dietary_requirements": "dietary",
    "diet": "dietary",
    "slack": "slack_user_id",
    "slack_id": "slack_user_id",
}
EXPORT_COLUMNS = ("name", "email", "organisation", "role", "region", "pronouns", "access_needs",
                  "dietary", "slack_user_id", "link")
MAX_BYTES = 5_000_000


@dataclass
class ImportPreview:
    """What an import would do: the parsed rows and every error with its line number."""

    rows: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the import can go ahead."""
        return not self.errors and bool(self.rows)


def _header_key(raw: str) -> str:
    key = "_".join(raw.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


def decode_csv_text(raw: bytes) -> str:
    """Decode UTF-8 (with or without a BOM) or raise naming the line with the bad bytes."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConvenorError(
            "invalid_csv",
            "the file is not UTF-8 text; save it from your spreadsheet as “CSV UTF-8”",
            [{"line": line, "message": f"byte 0x{raw[exc.start]:02x} is not valid UTF-8"}],
        ) from None


def preview_delegates(conference: Conference, raw: bytes | str) -> ImportPreview:
    """Parse a delegate CSV and check every row without saving anything."""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BYTES:
        raise ConvenorError("invalid_csv", "the file is larger than 5 MB", [])
    text = decode_csv_text(raw)
    if not text.strip():
        raise ConvenorError("invalid_csv", "the file is empty", [{"line": 1, "message": "no rows"}])
    if "\x00" in text:
        raise ConvenorError("invalid_csv", "the file is not a CSV text file", [])
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    preview = ImportPreview()
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ConvenorError("invalid_csv", "the file has no header row", []) from None
    keys = [_header_key(h) for h in header]
    preview.columns = keys
    missing = [c for c in REQUIRED if c not in keys]
    if missing:
        raise ConvenorError(
            "invalid_csv",
            f"the header row lacks the column(s): {', '.join(missing)}",
            [{"line": 1, "message": f"missing column {c!r}"} for c in missing],
        )
    existing = set(
        db.session.scalars(select(Delegate.email).where(Delegate.conference_id == conference.id))
    )
    seen: dict[str, int] = {}
    linked = set(db.session.scalars(select(Delegate.slack_user_id).where(
        Delegate.conference_id == conference.id, Delegate.slack_user_id.is_not(None))))
    seen_slack: dict[str, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(keys):
                preview.errors.append(
                    {"line": line, "message": f"{len(record)} cells but the header has {len(keys)}"}
                )
                continue
            data = {k: unsafe_cell(v) for k, v in zip(keys, record, strict=False)
                    if k in REQUIRED + OPTIONAL}
            values, errors = delegate_values(data)
            for error in errors:
                preview.errors.append(
                    {"line": line, "field": error["field"], "message": f"{error['field']} {error['message']}"}
                )
            email = values.get("email", "")
            if email and not errors:
                if email in seen:
                    preview.errors.append(
                        {"line": line, "field": "email",
                         "message": f"{email} also appears on line {seen[email]}"}
                    )
                elif email in existing:
                    preview.errors.append(
                        {"line": line, "field": "email", "message": f"{email} is already registered"}
                    )
                seen.setdefault(email, line)
            slack = values.get("slack_user_id")
            if slack and not errors:
                if slack in seen_slack:
                    preview.errors.append(
                        {"line": line, "field": "slack_user_id",
                         "message": f"Slack id {slack} also appears on line {seen_slack[slack]}"})
                elif slack in linked:
                    preview.errors.append(
                        {"line": line, "field": "slack_user_id",
                         "message": f"Slack id {slack} is linked to another delegate"})
                seen_slack.setdefault(slack, line)
            if not errors:
                preview.rows.append(values)
    except csv.Error as exc:
        preview.errors.append({"line": reader.line_num, "message": f"unreadable CSV: {exc}"})
    if not preview.rows and not preview.errors:
        preview.errors.append({"line": 2, "message": "the file has a header but no delegates"})
    return preview


def import_delegates(conference: Conference, raw: bytes | str) -> int:
    """Import every delegate in a CSV, or none: raise ``invalid_csv`` listing each bad line."""
    preview = preview_delegates(conference, raw)
    if preview.errors:
        count = len({e["line"] for e in preview.errors})
        raise ConvenorError(
            "invalid_csv",
            f"nothing was imported: {count} line(s) have problems",
            preview.errors,
        )
    db.session.add_all(Delegate(conference=conference, **row) for row in preview.rows)
    db.session.commit()
    signals.delegates_changed.send(conference, count=len(preview.rows))
    return len(preview.rows)


def export_delegates(conference: Conference, link_for) -> str:
    """Return the conference's delegates as CSV text that ``import_delegates`` reads back."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    query = (
        select(Delegate)
        .where(Delegate.conference_id == conference.id)
        .order_by(Delegate.name, Delegate.id)
    )
    for d in db.session.scalars(query):
        writer.writerow(safe_row(
            [d.name, d.email, d.organisation, d.role, d.region, d.pronouns, "; ".join(d.access_needs),
             d.dietary, d.slack_user_id or "", link_for(d)]
        ))
    return out.getvalue()
