"""A real SMTP server in the test process (aiosmtpd) that records every message it accepts.

``smtp`` points the app's ``MAIL_SERVER``/``MAIL_PORT`` at it. ``smtp.refuse`` holds addresses
answered ``550`` at RCPT, ``smtp.defer`` addresses answered ``451``; ``smtp.stop()`` and
``smtp.start()`` take the server down and bring it back on the same port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy

import pytest


class Recorder:
    """The aiosmtpd handler: keeps each accepted message, refuses or defers chosen recipients."""

    def __init__(self):
        self.envelopes: list = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        #: Seconds to take over each message (a slow server, to watch progress).
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address in self.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int):
        self.port = port
        self.handler = Recorder()
        self.controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def refuse(self) -> set[str]:
        return self.handler.refuse

    @property
    def defer(self) -> set[str]:
        return self.handler.defer

    @property
    def envelopes(self) -> list:
        return self.handler.envelopes

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        """Every accepted message, parsed with the standard ``email`` package."""
        return [email.message_from_bytes(e.original_content or e.content,
                                         policy=email.policy.default)
                for e in self.handler.envelopes]


@pytest.fixture
def smtp(app):
    """Start an SMTP server on a free loopback port and send the app's email to it."""
    from tests.conftest import free_port

    sink = SmtpSink(free_port())
    sink.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_USE_TLS=False,
                      MAIL_TIMEOUT=5, MAIL_DEFAULT_SENDER="Convenor <events@convenor.test>")
    try:
        yield sink
    finally:
        sink.stop()
