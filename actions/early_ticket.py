"""The urgent ticket opened before the form, completed as the user answers.

For stolen funds every minute counts: the ticket reaches the agents' queue
right after the safety steps, and each answer of the form is then added to it
(``PATCH`` on the conversation's ticket). When the service cannot be reached,
the ticket and each later detail wait in the outbox, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from actions import ticket_fields as fields
from actions.handoff_client import HandoffClient, HandoffRejected, HandoffUnavailable, NoSuchTicket
from actions.outbox import MESSAGE, TICKET, TICKET_UPDATE, Outbox, OutboxFlusher
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
    handoff = client or shared_client()
    return await _deliver(
        TICKET_UPDATE, key, conversation_id, details,
        lambda: handoff.update_ticket(conversation_id, details),
        outbox or shared_outbox(), flusher,
    )


async def add_answer(
    conversation_id: str,
    event: dict[str, Any],
    *,
    answers_hash_question: bool,
    client: HandoffClient | None = None,
    outbox: Outbox | None = None,
    flusher: OutboxFlusher | None = None,
) -> bool:
    """Put the user's answer into the urgent ticket's transcript, as they typed it.

    The agent who already has the ticket open reads the answers as they come,
    not only the fields they fill. A button press (``/...``) is no line.
    """
    text = event.get("text") or ""
    message_id = event.get("message_id")
    if not text or text.startswith("/"):
        return True
    handoff = client or shared_client()
    payload: dict[str, Any] = {"text": text, "external_id": message_id}
    if answers_hash_question:
        payload["expecting_tx_hash"] = True
    return await _deliver(
        MESSAGE, f"{conversation_id}:{message_id}", conversation_id, payload,
        lambda: handoff.relay_user_message(
            conversation_id, text, message_id, answers_hash_question
        ),
        outbox or shared_outbox(), flusher,
    )


async def _deliver(
    kind: str,
    key: str,
    conversation_id: str,
    payload: dict[str, Any],
    call: Callable[[], Any],
    box: Outbox,
    flusher: OutboxFlusher | None,
) -> bool:
    async def queue() -> bool:
        await asyncio.to_thread(box.put, kind, key, conversation_id, payload)
        (flusher or shared_flusher()).ensure_running()
        return True

    # The ticket itself (or an earlier line or detail) still waits in the outbox: this
    # goes behind it, or the service would answer "no such ticket" and it would be lost.
    waiting = await asyncio.to_thread(box.pending, conversation_id)
    if any(entry.kind in (TICKET, TICKET_UPDATE, MESSAGE) for entry in waiting):
        return await queue()
    try:
        await asyncio.to_thread(call)
        return True
    except NoSuchTicket:
        logger.info("No open ticket in %s for the new %s", conversation_id, kind)
        return False
    except HandoffUnavailable:
        return await queue()
    except HandoffRejected as rejected:
        logger.warning("%s for the ticket of %s refused: %s", kind, conversation_id, rejected)
        return False
