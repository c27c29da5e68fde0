"""The use cases of the handoff service, one unit of work per public method.

Each public method of :class:`HandoffService` commits on success and raises a
domain exception (:mod:`handoff_service.errors`, never an HTTP one)
otherwise; the API maps those exceptions to status codes. The methods are
grouped by caller, one module each:

- :mod:`.bot_tickets`: the bot opens tickets and relays its conversation;
- :mod:`.agent_work`: agents read the queue and claim, answer, resolve, close;
- :mod:`.agents`: agent administration (the CLI and admins), token checks (the API);
- :mod:`.workspace`: notes, tags, hand-overs, search, what was seen, the overview;
- :mod:`.canned`: canned replies (admins and the CLI);
- :mod:`.attachments`: screenshots uploaded by users and agents, and their expiry;
- :mod:`.base`: what they share (session, clock, audit, chat events);
- :mod:`.rules`: transitions, priorities, the SLA clock.

Input is checked by :mod:`handoff_service.validation` before any query; chat
notifications are events (:mod:`handoff_service.events`) written in the same
transaction, so every entry point notifies the same way.
"""

from __future__ import annotations

from handoff_service.errors import (
    Forbidden,
    HandoffError,
    NothingToUpdate,
    RateLimited,
    TicketConflict,
    TicketNotFound,
    Unauthorized,
    ValidationFailed,
)
from handoff_service.services.agent_work import TicketChange, TicketPage
from handoff_service.services.agents import AgentAdministration, hash_token
from handoff_service.services.attachments import Attachments
from handoff_service.services.bot_tickets import BotTickets, TicketQuota
from handoff_service.services.canned import CannedReplies, ImportResult
from handoff_service.services.rules import (
    TRANSITIONS,
    can_transition,
    ensure_transition,
    first_reply_due,
    priority_for,
    resolution_seconds,
    waiting_seconds,
)
from handoff_service.services.workspace import QueueEstimate, Workspace, WorkspaceStats

__all__ = [
    "TRANSITIONS",
    "Forbidden",
    "HandoffError",
    "HandoffService",
    "ImportResult",
    "NothingToUpdate",
    "QueueEstimate",
    "RateLimited",
    "TicketChange",
    "TicketConflict",
    "TicketNotFound",
    "TicketPage",
    "TicketQuota",
    "Unauthorized",
    "ValidationFailed",
    "WorkspaceStats",
    "can_transition",
    "ensure_transition",
    "first_reply_due",
    "hash_token",
    "priority_for",
    "resolution_seconds",
    "waiting_seconds",
]


class HandoffService(BotTickets, Workspace, AgentAdministration, Attachments, CannedReplies):
    """Every use case on one session: ``HandoffService(session, clock)``."""
