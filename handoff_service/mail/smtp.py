"""Sending e-mails through an SMTP server (aiosmtplib), one connection per e-mail.

Failures are sorted into those worth retrying (no connection, timeouts, 4xx
answers, a refused login or TLS set-up, which the operator can fix) and those
that are final for this one e-mail (5xx refusal of its recipient, sender or
content). Reasons carry the SMTP code, never the server's text, which often
repeats the recipient's address.
"""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage

import aiosmtplib

from handoff_service.config import MailSettings
from handoff_service.mail.sending import SendFailed

DEFAULT_TIMEOUT_S = 30.0

# Refusals that concern this e-mail alone; any other refusal would hit every
# e-mail the same way (login, greeting) and is retried until it is fixed.
_PER_MESSAGE_REFUSALS = (
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


class SmtpSender:
    """Delivers to one SMTP server with STARTTLS, implicit TLS or (for a local relay) neither."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Talk to ``host:port``; ``security`` is ``starttls``, ``tls`` or ``none``."""
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"unknown SMTP security {security!r}")
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout

    @classmethod
    def from_settings(cls, mail: MailSettings) -> SmtpSender:
        """The sender ``SMTP_*`` describes."""
        if not mail.smtp_host:
            raise ValueError("no SMTP_HOST configured")
        return cls(
            mail.smtp_host,
            mail.smtp_port,
            security=mail.smtp_security,
            username=mail.smtp_username,
            password=mail.smtp_password,
        )

    async def send(self, message: EmailMessage) -> None:
        """Send ``message``; raises :class:`SendFailed` on any failure."""
        sender = message["From"].addresses[0].addr_spec
        recipients = [address.addr_spec for address in message["To"].addresses]
        try:
            await aiosmtplib.send(
                message,
                sender=sender,
                recipients=recipients,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self._password,
                use_tls=self.security == "tls",
                # True demands STARTTLS (no quiet fallback to plain text), False never tries it.
                start_tls=self.security == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise SendFailed(
                f"SMTP {'/'.join(map(str, codes))}: recipient refused",
                permanent=all(500 <= code < 600 for code in codes),
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(
                f"SMTP {exc.code}: {_refusal_name(exc)}",
                permanent=isinstance(exc, _PER_MESSAGE_REFUSALS) and 500 <= exc.code < 600,
            ) from None
        except (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError):
            raise SendFailed(f"the SMTP server did not answer within {self.timeout:g} s") from None
        except aiosmtplib.SMTPConnectError as exc:
            # aiosmtplib's own words: host, port and the socket or TLS error.
            raise SendFailed(f"cannot connect to the SMTP server: {exc.message}") from None
        except aiosmtplib.SMTPServerDisconnected:
            raise SendFailed("the SMTP server closed the connection") from None
        except aiosmtplib.SMTPException as exc:
            # e.g. STARTTLS demanded but not offered; aiosmtplib's words, not the server's.
            raise SendFailed(f"SMTP: {exc.message}") from None
        except ssl.SSLError as exc:
            raise SendFailed(f"TLS with the SMTP server failed ({type(exc).__name__})") from None
        except OSError as exc:
            raise SendFailed(f"cannot reach the SMTP server ({type(exc).__name__})") from None


def _refusal_name(exc: aiosmtplib.SMTPResponseException) -> str:
    names = {
        aiosmtplib.SMTPRecipientRefused: "recipient refused",
        aiosmtplib.SMTPSenderRefused: "sender refused",
        aiosmtplib.SMTPDataError: "message refused",
        aiosmtplib.SMTPAuthenticationError: "login refused (check SMTP_USERNAME/SMTP_PASSWORD)",
        aiosmtplib.SMTPHeloError: "greeting refused",
    }
    return next((name for kind, name in names.items() if isinstance(exc, kind)), "refused")
