"""What a mail sender is, how it fails, and which one the settings ask for."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class SendFailed(Exception):
    """The e-mail was not sent; ``reason`` is short and never holds an address or text.

    ``permanent`` means sending the same e-mail again cannot succeed (the
    server refused the recipient or the content for good).
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailSender(Protocol):
    """Anything that can send an e-mail; tests pass their own."""

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` to its ``To`` address or raise :class:`SendFailed`."""
