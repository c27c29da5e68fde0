"""Screenshots: users' and agents' uploads, who may see them, and how long they stay.

An upload is screened before anything is written (:mod:`handoff_service.image_screening`);
only an accepted image gets a row and stored bytes. A user's image belongs to
their conversation and, once the conversation has a ticket, to that ticket:
during a handoff it becomes a transcript line at once, with the chat message id
the channel gave it, so the bot's later relay of the same turn is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff_service import repository as repo
from handoff_service.attachment_ids import is_attachment_id, new_attachment_id
from handoff_service.attachment_store import AttachmentStore
from handoff_service.errors import (
    ImageRejected,
    TicketConflict,
    TicketNotFound,
    ValidationFailed,
)
from handoff_service.image_screening import AcceptedImage
from handoff_service.models import ACTIVE_STATUSES, Agent, Attachment, Author, Message, Ticket
from handoff_service.services.base import ServiceBase
from handoff_service.validation import EXTERNAL_ID_MAX, parse_conversation_id, parse_short_id

logger = logging.getLogger(__name__)

# The transcript line of an image; the image itself is the attachment.
USER_IMAGE_TEXT = "[screenshot]"
IMAGE_REPLY_TEXT = "[image]"
DAY = timedelta(days=1)

Screen = Callable[[bytes], AcceptedImage]


def agent_reply_attachment(
    session: Session, ticket: Ticket, agent: Agent, attachment_id: Any
) -> Attachment:
    """The agent's own unsent image of this ticket, for a reply (no commit).

    Raises:
        ValidationFailed: not an image this agent uploaded to this ticket, or already sent.
    """
    attachment = (
        repo.get_attachment(session, attachment_id) if is_attachment_id(attachment_id) else None
    )
    if (
        attachment is None
        or attachment.ticket_id != ticket.id
        or attachment.author != Author.AGENT
        or attachment.author_name != agent.name
        or attachment.message_id is not None
    ):
        raise ValidationFailed(
            "attachment_id", "attachment_id is not an unsent image of yours on this ticket"
        )
    return attachment


class Attachments(ServiceBase):
    """Uploading, reading and expiring screenshots."""

    def upload_user_image(
        self,
        conversation_id: Any,
        data: bytes,
        message_id: Any,
        *,
        screen: Screen,
        store: AttachmentStore,
        per_day: int,
    ) -> tuple[Attachment, bool]:
        """Screen and keep a user's image; returns ``(attachment, created)``.

        A retried upload (the same ``message_id``) returns the image kept the
        first time, without reading it again.

        Raises:
            ValidationFailed: malformed conversation or message id.
            TicketConflict: ``too_many_images`` today for this conversation.
            ImageRejected: too large, not an image, or it shows a secret.
        """
        cid = parse_conversation_id(conversation_id)
        ext = parse_short_id("message_id", message_id, EXTERNAL_ID_MAX)
        if ext is not None:
            earlier = repo.get_by_external_id(self.session, cid, ext)
            if earlier is not None:
                return earlier, False
        now = self.clock()
        if repo.count_conversation_attachments(self.session, cid, now - DAY) >= per_day:
            raise TicketConflict(
                "too_many_images", f"at most {per_day} images a day can be sent in one chat"
            )
        # OCR takes a while: no transaction (or pooled connection) is held meanwhile.
        self.session.rollback()
        try:
            image = screen(data)
        except ImageRejected as refused:
            if refused.code == "image_refused":
                ticket = repo.get_active_ticket(self.session, cid)
                self._audit(ticket, "user", "image_refused", kinds=list(refused.kinds))
                self.session.commit()
            raise
        ticket = repo.get_active_ticket(self.session, cid)
        attachment = self._keep(image, store, cid, ticket, Author.USER, None, ext)
        if ticket is not None:
            # During a handoff the line is written now; the relay of the same
            # turn finds it by its message id.
            self._line(attachment, ticket, Author.USER, None, USER_IMAGE_TEXT, ext)
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            store.delete([attachment.id])
            earlier = repo.get_by_external_id(self.session, cid, ext) if ext else None
            if earlier is None:
                raise
            return earlier, False
        logger.info("kept an image (%d bytes) in a chat", attachment.size_bytes)
        return attachment, True

    def upload_agent_image(
        self, ref: str, agent: Agent, data: bytes, *, screen: Screen, store: AttachmentStore
    ) -> Attachment:
        """Screen and keep an image an agent will send with a reply.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: the ticket is resolved or closed.
            ImageRejected: too large, not an image, or it shows a secret.
        """
        ticket = self._ticket(ref)
        self._ensure_active(ticket)
        cid = ticket.conversation_id
        self.session.rollback()
        try:
            image = screen(data)
        except ImageRejected as refused:
            if refused.code == "image_refused":
                self._audit(self._ticket(ref), agent.name, "image_refused",
                            kinds=list(refused.kinds))
                self.session.commit()
            raise
        ticket = self._ticket(ref)
        attachment = self._keep(image, store, cid, ticket, Author.AGENT, agent.name, None)
        self._audit(ticket, agent.name, "image_uploaded", attachment_id=attachment.id)
        self.session.commit()
        return attachment

    def _ensure_active(self, ticket: Ticket) -> None:
        if ticket.status not in ACTIVE_STATUSES:
            raise TicketConflict("ticket_not_open", f"ticket {ticket.ref} is no longer open")

    def _keep(
        self,
        image: AcceptedImage,
        store: AttachmentStore,
        cid: str,
        ticket: Ticket | None,
        author: Author,
        author_name: str | None,
        ext: str | None,
    ) -> Attachment:
        attachment = repo.add_attachment(
            self.session,
            Attachment(
                id=new_attachment_id(),
                conversation_id=cid,
                ticket_id=ticket.id if ticket is not None else None,
                author=author,
                author_name=author_name,
                mime=image.mime,
                thumbnail_mime=image.thumbnail_mime,
                width=image.width,
                height=image.height,
                size_bytes=len(image.data),
                sha256=image.sha256,
                text=image.text,
                external_id=ext,
                created_at=self.clock(),
            ),
        )
        # Bytes first, commit after: a row never names bytes that are missing.
        store.put(self.session, attachment.id, image.data, image.thumbnail)
        return attachment

    def _line(
        self,
        attachment: Attachment,
        ticket: Ticket,
        author: Author,
        author_name: str | None,
        text: str,
        ext: str | None,
    ) -> Message:
        now = self.clock()
        message = repo.add_message(
            self.session,
            Message(
                ticket_id=ticket.id,
                author=author,
                author_name=author_name,
                text=text,
                created_at=now,
                external_id=ext,
            ),
        )
        attachment.message_id = message.id
        ticket.updated_at = now
        return message

    def conversation_attachment(self, conversation_id: Any, attachment_id: Any) -> Attachment:
        """An image of the conversation (the user's or an agent's), for the chat to show.

        Raises:
            ValidationFailed: malformed conversation id.
            TicketNotFound: no such image in this conversation.
        """
        cid = parse_conversation_id(conversation_id)
        attachment = (
            repo.get_attachment(self.session, attachment_id)
            if is_attachment_id(attachment_id)
            else None
        )
        # An agent's image reaches the chat only once it was sent in a reply.
        if (
            attachment is None
            or attachment.conversation_id != cid
            or (attachment.author == Author.AGENT and attachment.message_id is None)
        ):
            raise TicketNotFound("no such image in this conversation")
        return attachment

    def agent_attachment(self, attachment_id: Any) -> Attachment:
        """Any image that belongs to a ticket, for an agent.

        Raises:
            TicketNotFound: no such image (or one no ticket holds yet).
        """
        attachment = (
            repo.get_attachment(self.session, attachment_id)
            if is_attachment_id(attachment_id)
            else None
        )
        if attachment is None or attachment.ticket_id is None:
            raise TicketNotFound("no such image")
        return attachment

    def ticket_attachments(self, ticket: Ticket) -> list[Attachment]:
        """A ticket's images, oldest first."""
        return repo.list_ticket_attachments(self.session, ticket.id)

    def expire_attachments(self, retention: timedelta, store: AttachmentStore, batch: int) -> int:
        """Delete up to ``batch`` images older than ``retention``; returns how many."""
        ids = repo.expired_ids(self.session, self.clock() - retention, batch)
        if not ids:
            return 0
        repo.delete_attachments(self.session, ids)
        self.session.commit()
        # After the commit: bytes never vanish under a row that still names them.
        store.delete(ids)
        logger.info("deleted %d images past their retention", len(ids))
        return len(ids)

    def delete_ticket(self, ref: str, store: AttachmentStore) -> int:
        """Erase a ticket with everything it holds; returns how many images went with it.

        Raises:
            TicketNotFound: no such ticket.
        """
        ticket = self._ticket(ref)
        ids = repo.ticket_attachment_ids(self.session, ticket.id)
        repo.delete_attachments(self.session, ids)
        # Its transcript, audit trail, notifications and e-mails cascade with it.
        self.session.delete(ticket)
        self.session.commit()
        store.delete(ids)
        logger.info("ticket %s deleted with %d images", ref, len(ids))
        return len(ids)
