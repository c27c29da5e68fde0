"""The urgent ticket opened before the form, completed as the user answers.

For stolen funds every minute counts: the ticket reaches the agents' queue
right after the safety steps, and each answer of the form is then added to it
(``PATCH`` on the conversation's ticket). When the service cannot be reached,
the ticket and each later detail wait in the outbox, in order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from actions import ticket_fields as fields
from actions.handoff_client import HandoffClient, HandoffRejected, HandoffUnavailable, NoSuchTicket
from actions.outbox import TICKET, TICKET_UPDATE, Outbox, OutboxFlusher
from actions.runtime import shared_client, shared_flusher, shared_outbox

logger = logging.getLogger(__name__)

EARLY_SLOT = "ticket_open_early"
# Form slot -> the ticket field the service stores it in.
SLOT_FIELDS = {
    "ticket_title": "title",
    "ticket_description": "description",
    "ticket_occurred_at": "occurred_at_text",
    "ticket_amount": "amount",
    "ticket_tx_hash": "tx_hash",
    "ticket_wallet_address": "wallet_address",
    "ticket_chain": "chain",
    "ticket_email": "contact_email",
}


def details_in(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticket fields the slot events set to a real value (not cleared, not skipped)."""
    details: dict[str, Any] = {}
    for event in events:
        if event.get("event") != "slot" or event.get("name") not in SLOT_FIELDS:
            continue
        value = event.get("value")
        if value in (None, "", fields.SKIPPED):
            continue
        details[SLOT_FIELDS[event["name"]]] = str(value)
    return details


async def add_details(
    conversation_id: str,
    details: dict[str, Any],
    key: str,
    *,
    client: HandoffClient | None = None,
    outbox: Outbox | None = None,
    flusher: OutboxFlusher | None = None,
) -> bool:
    """Add ``details`` to the conversation's urgent ticket; queue them if it is unreachable.

    Returns whether they are on the ticket or queued for it. A ticket that is
    gone (resolved already) or a refused value is logged and left: the agent
    has the chat itself.
    """
    if not details:
        return True
    box = outbox or shared_outbox()

    async def queue() -> bool:
        await asyncio.to_thread(box.put, TICKET_UPDATE, key, conversation_id, details)
        (flusher or shared_flusher()).ensure_running()
        return True

    # The ticket itself (or an earlier detail) still waits in the outbox: this one
    # goes behind it, or the service would answer "no such ticket" and it would be lost.
    waiting = await asyncio.to_thread(box.pending, conversation_id)
    if any(entry.kind in (TICKET, TICKET_UPDATE) for entry in waiting):
        return await queue()
    try:
        await asyncio.to_thread((client or shared_client()).update_ticket, conversation_id,
                                details)
        return True
    except NoSuchTicket:
        logger.info("No open ticket in %s for the new details", conversation_id)
        return False
    except HandoffUnavailable:
        return await queue()
    except HandoffRejected as rejected:
        logger.warning("Details for the ticket of %s refused: %s", conversation_id, rejected)
        return False
