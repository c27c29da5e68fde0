"""How tickets, messages and changes look in the API's JSON.

Text is returned exactly as stored (plain text, never HTML escaped):
escaping is the console's job, at the point where it renders.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from handoff_service.config import SlaTargets
from handoff_service.models import Agent, Attachment, CannedReply, Message, Ticket, TicketNote
from handoff_service.services import (
    QueueEstimate,
    TicketChange,
    WorkspaceStats,
    first_reply_due,
    resolution_seconds,
    waiting_seconds,
)
from handoff_service.times import format_time


def _value(member: Any) -> Any:
    # Enum columns hand back members; a value set in this session may still be a str.
    return member.value if isinstance(member, Enum) else member


def ticket_brief(ticket: Ticket, now: datetime, sla: SlaTargets) -> dict[str, Any]:
    """The queue view of a ticket: what an agent needs to pick the next one.

    ``sla_due_at`` is when the first agent reply is due (``sla``, the
    configured targets); it stays on the ticket after the reply came.
    """
    return {
        "ref": ticket.ref,
        "conversation_id": ticket.conversation_id,
        "category": _value(ticket.category),
        "priority": _value(ticket.priority),
        "status": _value(ticket.status),
        "title": ticket.title,
        "language": _value(ticket.language),
        "assignee": ticket.assignee.name if ticket.assignee is not None else None,
        "created_at": format_time(ticket.created_at),
        "updated_at": format_time(ticket.updated_at),
        "first_agent_reply_at": format_time(ticket.first_agent_reply_at),
        "waiting_seconds": waiting_seconds(ticket, now),
        "sla_due_at": format_time(first_reply_due(ticket, sla)),
    }


def ticket_full(ticket: Ticket, now: datetime, sla: SlaTargets) -> dict[str, Any]:
    """Every field of a ticket."""
    return {
        **ticket_brief(ticket, now, sla),
        "description": ticket.description,
        "contact_email": ticket.contact_email,
        "tx_hash": ticket.tx_hash,
        "wallet_address": ticket.wallet_address,
        "chain": ticket.chain,
        "occurred_at_text": ticket.occurred_at_text,
        "occurred_at": format_time(ticket.occurred_at),
        "amount": ticket.amount,
        "escalation_reason": _value(ticket.escalation_reason),
        "summary": ticket.summary,
        "resolved_at": format_time(ticket.resolved_at),
        "resolution_seconds": resolution_seconds(ticket),
        "closed_at": format_time(ticket.closed_at),
        "csat": ticket.csat,
        "app_user_id": ticket.app_user_id,
    }


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    """An image as agents see it; its URLs need an agent's token."""
    url = f"/api/attachments/{attachment.id}"
    return {
        "id": attachment.id,
        "mime": attachment.mime,
        "width": attachment.width,
        "height": attachment.height,
        "bytes": attachment.size_bytes,
        "author": _value(attachment.author),
        "created_at": format_time(attachment.created_at),
        "text": attachment.text,
        "url": url,
        "thumbnail_url": url + "?size=thumb",
    }


def message_json(message: Message) -> dict[str, Any]:
    """One transcript line (with the image it shows, if any)."""
    return {
        "id": message.id,
        "author": _value(message.author),
        "author_name": message.author_name,
        "text": message.text,
        "created_at": format_time(message.created_at),
        "external_id": message.external_id,
        "attachment": attachment_json(message.attachment) if message.attachment else None,
    }


def agent_message_json(message: Message, ticket: Ticket) -> dict[str, Any]:
    """An agent's message as the bot fetches it to deliver it to the user."""
    body = message_json(message)
    del body["external_id"]
    body["ticket_ref"] = ticket.ref
    if message.attachment is not None:
        # The chat fetches it through its own channel, by id; the agents' URLs mean nothing there.
        body["attachment"] = {
            "id": message.attachment.id,
            "mime": message.attachment.mime,
            "width": message.attachment.width,
            "height": message.attachment.height,
        }
    return body


def change_json(change: TicketChange) -> dict[str, Any]:
    """One entry of the events feed: a ticket that changed."""
    return {
        "ref": change.ref,
        "status": change.status,
        "priority": change.priority,
        "category": change.category,
        "language": change.language,
        "updated_at": format_time(change.updated_at),
    }


def agent_json(agent: Agent) -> dict[str, Any]:
    """An agent as the agents' list shows it (never a token or its hash)."""
    return {
        "id": agent.id,
        "name": agent.name,
        "role": _value(agent.role),
        "active": bool(agent.active),
        "created_at": format_time(agent.created_at),
        "last_seen_at": format_time(agent.last_seen_at),
    }


def me_json(agent: Agent) -> dict[str, Any]:
    """The calling agent: who they are, what they may do, their console's language."""
    return {
        "id": agent.id,
        "name": agent.name,
        "role": _value(agent.role),
        "console_language": _value(agent.console_language),
    }


def note_json(note: TicketNote) -> dict[str, Any]:
    """An agent's note on a ticket."""
    return {
        "id": note.id,
        "author": note.author_name,
        "text": note.text,
        "created_at": format_time(note.created_at),
    }


def canned_reply_json(reply: CannedReply) -> dict[str, Any]:
    """A canned reply."""
    return {
        "id": reply.id,
        "shortcut": reply.shortcut,
        "language": _value(reply.language),
        "title": reply.title,
        "text": reply.text,
        "updated_at": format_time(reply.updated_at),
        "updated_by": reply.updated_by,
    }


def stats_json(stats: WorkspaceStats) -> dict[str, Any]:
    """The admins' overview of the queue."""
    return {
        "by_status": stats.by_status,
        "by_priority": stats.by_priority,
        "by_language": stats.by_language,
        "breached": stats.breached,
        "at_risk": stats.at_risk,
        "waiting": stats.waiting,
        "agents_online": stats.agents_online,
    }


def queue_json(estimate: QueueEstimate) -> dict[str, Any]:
    """What the chat widget may tell anyone: the expected wait and how many agents are on."""
    return {
        "expected_wait_minutes": estimate.expected_wait_minutes,
        "agents_online": estimate.agents_online,
    }
