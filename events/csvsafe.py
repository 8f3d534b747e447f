"""CSV cells that spreadsheets will not run as formulas (pure: stdlib only).

Every CSV export (delegates, allocations, workshop attendees, check-ins) writes its cells
through ``safe_cell``; the delegate import reads its own export back through ``unsafe_cell``.
"""

from __future__ import annotations

#: A cell starting with one of these is a formula (or hides one) in Excel, LibreOffice, Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Return ``value`` as CSV cell text that spreadsheets will not run as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe (the OWASP advice against CSV injection); None is empty; anything else is
    ``str(value)``.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unsafe_cell(text: str) -> str:
    """Undo ``safe_cell``: drop the apostrophe it put before a formula character."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_row(values) -> list[str]:
    """Return a row of ``safe_cell`` texts."""
    return [safe_cell(v) for v in values]
