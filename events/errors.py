"""Coded errors raised by services and mapped to each transport by the adapters."""

from __future__ import annotations

#: HTTP status for each error code; codes not listed map to 422.
STATUS = {
    "bad_request": 400,
    "unauthorised": 401,
    "forbidden": 403,
    "not_found": 404,
    "room_clash": 409,
    "duplicate": 409,
    "conflict": 409,
    "revoked": 409,
    "canceled": 409,
}


class ConvenorError(Exception):
    """A failure a user can act on: ``code`` for machines, ``message`` and ``details`` for people."""

    def __init__(self, code: str, message: str, details: list | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = list(details or [])
        self.status = status or STATUS.get(code, 422)

    def as_json(self) -> dict:
        """Return the API error body."""
        return {"error": self.message, "code": self.code, "details": self.details}
