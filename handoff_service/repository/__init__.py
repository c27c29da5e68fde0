"""Queries: reads and writes of rows, no business rules.

Every function takes the caller's session; none commits. Conditional updates
(``transition_ticket``) report whether a row matched, and the service decides
what that means. One module per table (tickets, messages, agents, audit
events, attachments, canned replies; notes with tags), and the one-statement
insert of a new ticket with its history;
callers use them through this package (``from handoff_service import
repository as repo``).
"""

from __future__ import annotations

from handoff_service.repository.agents import (
    add_agent,
    count_agents_online,
    get_agent_by_id,
    get_agent_by_name,
    get_agent_by_token_hash,
    list_agents,
    touch_agent,
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
from handoff_service.repository.canned import (
    add_canned_reply,
    delete_canned_reply,
    get_canned_reply,
    get_canned_reply_by_shortcut,
    list_canned_replies,
)
from handoff_service.repository.messages import (
    add_message,
    add_messages,
    count_messages,
    get_conversation_message,
    get_conversation_message_by_external_id,
    get_ticket_message_by_external_id,
    list_messages,
    mark_seen_by_agent,
)
from handoff_service.repository.notes import (
    add_note,
    list_notes,
    replace_tags,
    tags_in_use,
    ticket_tags,
)
from handoff_service.repository.ticket_insert import NewAuditEvent, NewMessage, insert_ticket
from handoff_service.repository.tickets import (
    QueueKey,
    TicketFilters,
    Unanswered,
    changed_tickets,
    count_by,
    count_unanswered,
    find_replay_or_active,
    get_active_ticket,
    get_latest_ticket,
    get_ticket_by_id,
    get_ticket_by_idempotency_key,
    list_tickets,
    queue_key,
    recent_first_reply_seconds,
    related_tickets,
    search_tickets,
    transition_ticket,
    update_active_ticket,
)

__all__ = [
    "NewAuditEvent",
    "NewMessage",
    "QueueKey",
    "TicketFilters",
    "Unanswered",
    "add_agent",
    "add_attachment",
    "add_audit",
    "add_blob",
    "add_canned_reply",
    "add_message",
    "add_messages",
    "add_note",
    "changed_tickets",
    "count_agents_online",
    "count_by",
    "count_conversation_attachments",
    "count_messages",
    "count_unanswered",
    "delete_attachments",
    "delete_canned_reply",
    "expired_ids",
    "find_replay_or_active",
    "get_active_ticket",
    "get_agent_by_id",
    "get_agent_by_name",
    "get_agent_by_token_hash",
    "get_attachment",
    "get_blob",
    "get_by_external_id",
    "get_canned_reply",
    "get_canned_reply_by_shortcut",
    "get_conversation_message",
    "get_conversation_message_by_external_id",
    "get_latest_ticket",
    "get_ticket_by_id",
    "get_ticket_by_idempotency_key",
    "get_ticket_message_by_external_id",
    "insert_ticket",
    "link_unclaimed",
    "list_agents",
    "list_audit",
    "list_canned_replies",
    "list_messages",
    "list_notes",
    "list_ticket_attachments",
    "list_tickets",
    "mark_seen_by_agent",
    "queue_key",
    "recent_first_reply_seconds",
    "related_tickets",
    "replace_tags",
    "search_tickets",
    "tags_in_use",
    "ticket_attachment_ids",
    "ticket_tags",
    "touch_agent",
    "transition_ticket",
    "update_active_ticket",
]
