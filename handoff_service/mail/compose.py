"""Build the e-mail itself: redacted text, headers, UTF-8 plain-text body.

Every subject and body passes the secret guard here, at the one place all
e-mails go through, so an e-mail never carries a seed phrase or a private key,
even one an agent typed or one stored before a guard rule existed.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from handoff_service.mail.templates import ZH, MailText
from support_core.secret_guard import redact

_CONTENT_LANGUAGE = {ZH: "zh-CN"}
_MESSAGE_ID_DOMAIN_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$", re.ASCII)


class UnusableAddress(ValueError):
    """The recipient address cannot go into a header (the e-mail cannot be sent)."""


def recipient(addr_spec: str) -> Address:
    """The ``To`` address of an e-mail; an internationalised domain is written in IDNA.

    Raises:
        UnusableAddress: it does not parse as exactly one address, or its local
            part is not ASCII (that needs SMTPUTF8 on every hop, which is not supported).
    """
    local, _, domain = addr_spec.rpartition("@")
    if not local.isascii():
        raise UnusableAddress("the contact e-mail has non-ASCII characters before the @")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnusableAddress("the contact e-mail's domain is not a valid name") from None
    try:
        address = Address(addr_spec=f"{local}@{domain}")
    except (ValueError, HeaderParseError, IndexError):
        raise UnusableAddress("the contact e-mail is not a usable address") from None
    if not address.username or not address.domain:
        raise UnusableAddress("the contact e-mail is not a usable address")
    return address


def message_id(email_id: int, created_at: datetime, sender: Address) -> str:
    """A Message-ID that stays the same on every try, so a resent e-mail is recognisable."""
    domain = sender.domain if _MESSAGE_ID_DOMAIN_RE.match(sender.domain or "") else "localhost"
    return f"<handoff-email-{email_id}-{int(created_at.timestamp() * 1000)}@{domain}>"


def compose(
    text: MailText,
    *,
    sender: Address,
    to: Address,
    language: str,
    at: datetime,
    message_id: str,
) -> EmailMessage:
    """The e-mail ready to send: redacted subject and body, UTF-8 plain text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = redact(text.subject).text
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    # RFC 3834: out-of-office responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    # 7-bit transfer encodings pass any relay: base64 is the smaller one for
    # Chinese, quoted-printable keeps English readable in the raw message.
    cte = "base64" if language == ZH else "quoted-printable"
    message.set_content(redact(text.body).text, charset="utf-8", cte=cte)
    # After set_content, which replaces every Content-* header.
    message["Content-Language"] = _CONTENT_LANGUAGE.get(language, "en")
    return message
