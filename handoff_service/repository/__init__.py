"""Queries: reads and writes of rows, no business rules.

Every function takes the caller's session; none commits. Conditional updates
(``transition_ticket``) report whether a row matched, and the service decides
what that means. One module per table (tickets, messages, agents, audit
events), and the one-statement insert of a new ticket with its history;
callers use them through this package (``from handoff_service import
repository as repo``).
"""

from __future__ import annotations

from handoff_service.repository.agents import (
    add_agent,
    get_agent_by_name,
    get_agent_by_token_hash,
    list_agents,
)
from handoff_service.repository.attachments import (
    add_attachment,
    add_blob,
    count_conversation_attachments,
    delete_attachments,
    expired_ids,
    get_attachment,
    get_blob,
    get_by_external_id,
    link_unclaimed,
    list_ticket_attachments,
    ticket_attachment_ids,
)
from handoff_service.repository.audit import add_audit, list_audit
from handoff_service.repository.messages import (
    add_message,
    add_messages,
    count_messages,
    get_conversation_message,
    get_conversation_message_by_external_id,
    list_messages,
)
from handoff_service.repository.ticket_insert import NewAuditEvent, NewMessage, insert_ticket
from handoff_service.repository.tickets import (
    QueueKey,
    TicketFilters,
    changed_tickets,
    find_replay_or_active,
    get_active_ticket,
    get_latest_ticket,
    get_ticket_by_id,
    get_ticket_by_idempotency_key,
    list_tickets,
    queue_key,
    transition_ticket,
    update_active_ticket,
)

__all__ = [
    "NewAuditEvent",
    "NewMessage",
    "QueueKey",
    "TicketFilters",
    "add_agent",
    "add_attachment",
    "add_audit",
    "add_blob",
    "add_message",
    "add_messages",
    "changed_tickets",
    "count_conversation_attachments",
    "count_messages",
    "delete_attachments",
    "expired_ids",
    "find_replay_or_active",
    "get_active_ticket",
    "get_agent_by_name",
    "get_agent_by_token_hash",
    "get_attachment",
    "get_blob",
    "get_by_external_id",
    "get_conversation_message",
    "get_conversation_message_by_external_id",
    "get_latest_ticket",
    "get_ticket_by_id",
    "get_ticket_by_idempotency_key",
    "insert_ticket",
    "link_unclaimed",
    "list_agents",
    "list_audit",
    "list_messages",
    "list_ticket_attachments",
    "list_tickets",
    "queue_key",
    "ticket_attachment_ids",
    "transition_ticket",
    "update_active_ticket",
]
