"""Coded errors raised by services and mapped to each transport by the adapters.

A service never picks an HTTP status or a transport's sentence: it raises ``ConvenorError`` with
a ``code`` (``already_checked_in``, ``room_clash``, ``not_found``…), a message for people and
``details`` (usually ``[{"field": …, "message": …}]``). ``events.adapters.STATUS`` maps codes to
HTTP statuses; the Slack bot and the CLI map them to their own words.
"""

from __future__ import annotations


class ConvenorError(Exception):
    """A failure a user can act on: ``code`` for machines, ``message`` and ``details`` for people."""

    def __init__(self, code: str, message: str, details: list | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details or [])

    def as_json(self) -> dict:
        """Return the API error body."""
        return {"error": self.message, "code": self.code, "details": self.details}
