"""When the user gets an e-mail: the ticket confirmation, and agent replies left unseen.

A ticket with a contact e-mail gets a confirmation in the transaction that
creates it. An agent reply that the widget has not reported as shown within
the configured delay is e-mailed, together with the ticket's later replies
not shown either: one e-mail per ticket and round, each reply in at most one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handoff_service.mail import outbox

logger = logging.getLogger(__name__)

# Older unseen replies are not e-mailed any more: after a long outage of the
# service a user would otherwise get answers to questions long settled. It
# also bounds the scan of tickets without a contact e-mail.
REPLY_MAX_AGE = timedelta(days=3)
# Replies handled per round; the rest wait for the next round.
REPLY_BATCH = 500


def queue_ticket_confirmation(
    session: Session, ticket_id: int, contact_email: str | None, now: datetime
) -> None:
    """Queue the confirmation of a new ticket in the caller's unit of work (no commit).

    Nothing when the user left no contact e-mail. One Core INSERT: this runs
    for every new ticket, whose own rows are written the same way.
    """
    if not contact_email:
        return
    outbox.insert_email(session, ticket_id, outbox.TICKET_CREATED, now)
    session.info[outbox.EMAILS_QUEUED] = True


def schedule_reply_emails(
    session: Session,
    now: datetime,
    delay: timedelta,
    *,
    max_age: timedelta = REPLY_MAX_AGE,
    limit: int = REPLY_BATCH,
) -> int:
    """Queue one e-mail per ticket with a reply unseen for ``delay``; commits.

    The replies are stamped ``emailed_at`` in the same transaction as the
    e-mail that carries them. Returns the number of e-mails queued (0 also
    when the replies changed while this ran: the next round looks again).
    """
    due = outbox.due_replies(session, now, now - delay, now - max_age, limit)
    if not due:
        session.rollback()
        return 0
    by_ticket: dict[int, list[int]] = {}
    for reply in due:
        by_ticket.setdefault(reply.ticket_id, []).append(reply.message_id)
    if len(due) == limit and len(by_ticket) > 1:
        # The limit may have cut the last ticket's replies in two: that ticket
        # waits for the next round, so its replies still share one e-mail.
        by_ticket.popitem()
    ids = [message_id for message_ids in by_ticket.values() for message_id in message_ids]
    if outbox.stamp_emailed(session, ids, now) != len(ids):
        # Seen, or taken by another process, since the query: start over.
        session.rollback()
        logger.info("replies changed while scheduling e-mails; trying again next round")
        return 0
    for ticket_id, message_ids in by_ticket.items():
        outbox.add_email(session, ticket_id, outbox.AGENT_REPLIES, now, message_ids)
    session.commit()
    return len(by_ticket)
