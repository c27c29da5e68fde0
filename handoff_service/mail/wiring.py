"""Putting the e-mail dispatcher into the service: build it from the settings, wake it on commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import sessionmaker

from handoff_service.config import Settings, parse_mail_from
from handoff_service.mail.dispatcher import EmailDispatcher, EmailDispatchSettings
from handoff_service.mail.folder import FolderSender
from handoff_service.mail.sending import MailSender
from handoff_service.mail.smtp import SmtpSender


def build_email_dispatcher(
    settings: Settings,
    sessions: sessionmaker,
    clock: Callable[[], datetime],
    sender: MailSender | None = None,
) -> EmailDispatcher:
    """The dispatcher ``settings`` describe; ``sender`` replaces the configured one (tests).

    Raises:
        ConfigError: ``MAIL_FROM`` is not a usable address.
    """
    mail = settings.mail
    return EmailDispatcher(
        sessions,
        sender if sender is not None else make_sender(settings),
        clock,
        mail_from=parse_mail_from(mail.mail_from),
        chat_url=settings.chat_public_url,
        settings=EmailDispatchSettings(reply_delay_s=mail.reply_delay_s),
    )


def make_sender(settings: Settings) -> MailSender:
    """The SMTP sender when ``SMTP_HOST`` is set, else the folder sender (``MAIL_OUTBOX_DIR``)."""
    if settings.mail.smtp_host:
        return SmtpSender.from_settings(settings.mail)
    return FolderSender(settings.mail_outbox_dir)
