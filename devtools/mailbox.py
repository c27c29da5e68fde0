"""A real SMTP server on a local port (aiosmtpd) that keeps every e-mail it accepts.

Tests use it to read the e-mails the handoff service sends, exactly as they arrive.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from devtools.stack import free_port


@dataclass(frozen=True)
class ReceivedMail:
    """One e-mail an :class:`SmtpSink` accepted: the envelope and the raw message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed as a mail program would."""
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """The decoded plain-text body."""
        return str(self.message.get_content())


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a local port that keeps every e-mail it accepts.

    ``refuse_rcpt`` / ``refuse_data`` make it answer RCPT TO / DATA with that
    reply instead, e.g. ``"550 5.1.1 mailbox unavailable"``. It can be
    stopped and started again on the same port (a mail server outage).
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[ReceivedMail] = []
        self.rcpt_attempts = 0
        self.refuse_rcpt: str | None = None
        self.refuse_data: str | None = None
        self._controller: Controller | None = None
        self._lock = threading.Lock()

    def start(self) -> SmtpSink:
        """Listen on ``127.0.0.1:port``."""
        self._controller = Controller(_SinkHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, mail: ReceivedMail) -> None:
        """Record an accepted e-mail (called from the server's thread)."""
        with self._lock:
            self.received.append(mail)

    def count_rcpt(self) -> None:
        """Count a RCPT TO command (called from the server's thread)."""
        with self._lock:
            self.rcpt_attempts += 1


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    # aiosmtpd calls hooks by these names.
    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        self.sink.count_rcpt()
        if self.sink.refuse_rcpt:
            return self.sink.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, _server: Any, _session: Any, envelope: Any
    ) -> str:
        if self.sink.refuse_data:
            return self.sink.refuse_data
        self.sink.keep(
            ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 OK"
