"""Sending the e-mail outbox: schedule reply e-mails, lease due e-mails, send, settle.

Runs in every service process, like the chat-notification dispatcher. Each
round first turns agent replies left unseen too long into e-mails
(:mod:`handoff_service.mail.scheduling`), then leases the due rows of
``outgoing_emails`` (so several processes can share the work), renders and
sends each, and records the outcome. A failure worth retrying waits out a
doubling, capped pause; a permanent refusal, or one still failing after days,
is given up. Both outcomes are audited with the kind and the attempt count
only: never the address or the text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from enum import Enum

from sqlalchemy.orm import Session, sessionmaker

from handoff_service import repository as repo
from handoff_service.background import PollingWorker
from handoff_service.background import backoff_seconds as background_backoff
from handoff_service.mail import outbox, scheduling, templates
from handoff_service.mail.compose import UnusableAddress, compose, message_id, recipient
from handoff_service.mail.sending import MailSender, SendFailed
from handoff_service.models import Ticket, ticket_ref

logger = logging.getLogger(__name__)

AUDIT_ACTOR = "system"
EMAIL_SENT = "email_sent"
EMAIL_FAILED = "email_failed"


@dataclass(frozen=True)
class EmailDispatchSettings:
    """When replies are e-mailed, how often to look, how leases and retries behave."""

    # How long an agent reply may stay unseen in the widget before it is e-mailed.
    reply_delay_s: float = 600.0
    poll_interval_s: float = 10.0
    # Longer than one SMTP conversation may take (sending is cut off at half of it).
    lease_s: float = 120.0
    batch: int = 10
    first_backoff_s: float = 30.0
    max_backoff_s: float = 900.0
    # Mail servers retry for days before they bounce; so does this dispatcher.
    give_up_after_s: float = 3 * 86400.0


def backoff_seconds(attempts: int, settings: EmailDispatchSettings) -> float:
    """The pause after the ``attempts``-th failed try of an e-mail."""
    return background_backoff(attempts, settings.first_backoff_s, settings.max_backoff_s)


def _value(member: object) -> str:
    return str(member.value) if isinstance(member, Enum) else str(member)


class EmailDispatcher(PollingWorker):
    """Sends pending e-mails on the event loop; database work runs in threads."""

    label = "e-mail dispatch"

    def __init__(
        self,
        sessions: sessionmaker,
        sender: MailSender,
        clock: Callable[[], datetime],
        *,
        mail_from: Address,
        chat_url: str,
        settings: EmailDispatchSettings | None = None,
    ) -> None:
        """Send through ``sender`` as ``mail_from``; e-mails link back to ``chat_url``."""
        self.sessions = sessions
        self.sender = sender
        self.clock = clock
        self.mail_from = mail_from
        self.chat_url = chat_url
        self.settings = settings or EmailDispatchSettings()
        super().__init__(self.settings.poll_interval_s)

    # -- one round

    async def run_once(self) -> int:
        """Schedule reply e-mails, then send what is due; returns how many e-mails went out."""
        await asyncio.to_thread(self._schedule)
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        outcomes = await asyncio.gather(*(self._deliver(item) for item in claimed))
        return sum(1 for sent in outcomes if sent)

    def _schedule(self) -> int:
        delay = timedelta(seconds=self.settings.reply_delay_s)
        with self.sessions() as session:
            return scheduling.schedule_reply_emails(session, self.clock(), delay)

    def _claim(self) -> list[outbox.ClaimedEmail]:
        lease = timedelta(seconds=self.settings.lease_s)
        with self.sessions() as session:
            claimed = outbox.claim_due(session, self.clock(), lease, self.settings.batch)
            session.commit()
        return claimed

    async def _deliver(self, item: outbox.ClaimedEmail) -> bool:
        try:
            message = await asyncio.to_thread(self._prepare, item)
            # Within the lease, so no other dispatcher takes the e-mail over mid-send.
            limit = self.settings.lease_s / 2
            try:
                await asyncio.wait_for(self.sender.send(message), limit)
            except asyncio.TimeoutError:
                raise SendFailed(f"sending took longer than {limit:g} s") from None
        except SendFailed as failed:
            await asyncio.to_thread(self._settle_failure, item, failed)
            return False
        except Exception:
            # A bug in a sender or a template must not stop the other e-mails.
            logger.exception("e-mail %d could not be sent", item.id)
            await asyncio.to_thread(self._settle_failure, item, SendFailed("internal error"))
            return False
        await asyncio.to_thread(self._settle_sent, item)
        return True

    def _prepare(self, item: outbox.ClaimedEmail) -> EmailMessage:
        """Render the e-mail from the ticket as it is now.

        Raises:
            SendFailed: permanent, when there is no one or nothing to send it to.
        """
        with self.sessions() as session:
            ticket = session.get(Ticket, item.ticket_id)
            if ticket is None or not ticket.contact_email:
                raise SendFailed("the ticket has no contact e-mail", permanent=True)
            try:
                to = recipient(ticket.contact_email)
            except UnusableAddress as exc:
                raise SendFailed(str(exc), permanent=True) from None
            language = _value(ticket.language)
            text = self._text(session, ticket, item, language)
        return compose(
            text,
            sender=self.mail_from,
            to=to,
            language=language,
            at=self.clock(),
            message_id=message_id(item.id, item.created_at, self.mail_from),
        )

    def _text(
        self, session: Session, ticket: Ticket, item: outbox.ClaimedEmail, language: str
    ) -> templates.MailText:
        if item.kind == outbox.TICKET_CREATED:
            return templates.ticket_created(language, ticket.ref, ticket.title, self.chat_url)
        if item.kind == outbox.AGENT_REPLIES:
            replies = [
                templates.Reply(m.author_name, m.created_at, m.text)
                for m in outbox.replies_of(session, ticket.id, item.message_ids)
            ]
            if not replies:
                raise SendFailed("the replies of this e-mail no longer exist", permanent=True)
            return templates.agent_replies(
                language, ticket.ref, ticket.title, replies, self.chat_url
            )
        raise SendFailed(f"unknown e-mail kind {item.kind[:32]!r}", permanent=True)

    # -- outcomes

    def _settle_sent(self, item: outbox.ClaimedEmail) -> None:
        with self.sessions() as session:
            outbox.mark_sent(session, item.id, self.clock())
            self._audit(session, item, EMAIL_SENT)
            session.commit()
        logger.info(
            "ticket %s: %s e-mail %d sent (attempt %d)",
            ticket_ref(item.ticket_id), item.kind, item.id, item.attempts,
        )

    def _settle_failure(self, item: outbox.ClaimedEmail, failed: SendFailed) -> None:
        now = self.clock()
        expired = now - item.created_at >= timedelta(seconds=self.settings.give_up_after_s)
        with self.sessions() as session:
            if failed.permanent or expired:
                reason = failed.reason if failed.permanent else f"still failing: {failed.reason}"
                outbox.give_up(session, item.id, now, reason)
                self._audit(session, item, EMAIL_FAILED)
                logger.error(
                    "ticket %s: %s e-mail %d given up after %d attempts: %s",
                    ticket_ref(item.ticket_id), item.kind, item.id, item.attempts, reason,
                )
            else:
                pause = backoff_seconds(item.attempts, self.settings)
                outbox.retry_later(session, item.id, now + timedelta(seconds=pause), failed.reason)
                logger.warning(
                    "ticket %s: %s e-mail %d not sent (attempt %d): %s; retry in %.0f s",
                    ticket_ref(item.ticket_id), item.kind, item.id, item.attempts,
                    failed.reason, pause,
                )
            session.commit()

    def _audit(self, session: Session, item: outbox.ClaimedEmail, action: str) -> None:
        repo.add_audit(
            session,
            ticket_id=item.ticket_id,
            actor=AUDIT_ACTOR,
            action=action,
            detail={"kind": item.kind, "attempts": item.attempts},
            at=self.clock(),
        )
