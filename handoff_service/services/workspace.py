"""The agents' workspace around a ticket: notes, tags, hand-overs, search, what was seen, stats.

Notes are for agents only: they live in a table of their own, which nothing
that speaks to the user (the bot's routes, chat events, e-mails) ever reads.
Handing a ticket back to the queue or on to another agent is audited and
leaves a system line for agents; the user's chat is not told.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from handoff_service import events
from handoff_service import repository as repo
from handoff_service.config import SlaTargets
from handoff_service.errors import Conflict, TicketConflict, ValidationFailed
from handoff_service.models import (
    Agent,
    Language,
    Priority,
    Ticket,
    TicketNote,
    TicketStatus,
    ticket_id_from_ref,
)
from handoff_service.services import system_lines
from handoff_service.services.agent_work import AgentWork
from handoff_service.services.rules import ensure_transition
from handoff_service.validation import (
    parse_agent_name,
    parse_note_text,
    parse_search_query,
    parse_tag,
    parse_tags,
)

RELATED_LIMIT = 10
SEARCH_LIMIT = 20
TAGS_LISTED = 200
# "Online": an authenticated call within this long.
ONLINE_WINDOW = timedelta(minutes=10)
# A ticket is at risk once this share of its first-reply target is left.
AT_RISK_SHARE = 0.2
# The queue estimate: first replies of the last day, or this when there were none.
ESTIMATE_WINDOW = timedelta(hours=24)
ESTIMATE_SAMPLE = 200
DEFAULT_FIRST_REPLY_MINUTES = 5
MAX_ESTIMATE_MINUTES = 480


@dataclass(frozen=True)
class WorkspaceStats:
    """The admins' overview of the queue (see ``GET /api/stats``)."""

    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_language: dict[str, int]
    breached: int
    at_risk: int
    waiting: int
    agents_online: int


@dataclass(frozen=True)
class QueueEstimate:
    """What the chat widget tells a user before a ticket: the wait, and who is there."""

    expected_wait_minutes: int | None
    agents_online: int


def _counts(found: dict[Any, int], members: Any) -> dict[str, int]:
    # Every value, zero included, so a dashboard needs no defaults.
    return {m.value: found.get(m, found.get(m.value, 0)) for m in members}


class Workspace(AgentWork):
    """What agents do around tickets besides answering them."""

    # -- notes

    def notes(self, ref: str) -> list[TicketNote]:
        """The ticket's notes, oldest first.

        Raises:
            TicketNotFound: no such ticket.
        """
        return repo.list_notes(self.session, self._ticket(ref).id)

    def notes_of(self, ticket: Ticket) -> list[TicketNote]:
        """The notes of a ticket already loaded, oldest first."""
        return repo.list_notes(self.session, ticket.id)

    def add_note(self, ref: str, agent: Agent, text: Any) -> TicketNote:
        """Add an agent's note to the ticket (any agent, any status); it reaches agents only.

        Raises:
            ValidationFailed: empty or too long text.
            TicketNotFound: no such ticket.
        """
        clean = parse_note_text(text)
        ticket = self._ticket(ref)
        now = self.clock()
        note = repo.add_note(
            self.session,
            TicketNote(ticket_id=ticket.id, author_name=agent.name, text=clean, created_at=now),
        )
        # Other consoles showing the ticket fetch it again.
        ticket.updated_at = now
        self._audit(ticket, agent.name, "note_added", note_id=note.id)
        self.session.commit()
        return note

    # -- tags

    def tags_of(self, ticket: Ticket) -> list[str]:
        """The ticket's tags, alphabetically."""
        return repo.ticket_tags(self.session, ticket.id)

    def set_tags(self, ref: str, agent: Agent, raw: Any) -> list[str]:
        """Replace the ticket's tags with ``raw`` (any agent); returns them, alphabetically.

        Raises:
            ValidationFailed: not a list, an invalid tag, or more than 10.
            TicketNotFound: no such ticket.
            TicketConflict: another agent changed the tags at the same moment.
        """
        wanted = parse_tags(raw)
        ticket = self._ticket(ref)
        current = repo.ticket_tags(self.session, ticket.id)
        removed = [tag for tag in current if tag not in wanted]
        added = [tag for tag in wanted if tag not in current]
        if not removed and not added:
            return current
        try:
            repo.replace_tags(self.session, ticket.id, removed, added)
            ticket.updated_at = self.clock()
            self._audit(ticket, agent.name, "tags_changed", added=added, removed=removed)
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise TicketConflict(
                "tags_changed", f"the tags of {ref} changed meanwhile; fetch them and retry"
            ) from None
        return repo.ticket_tags(self.session, ticket.id)

    def tags_in_use(self) -> list[tuple[str, int]]:
        """``(tag, tickets)`` of the tags in use, most used first (up to 200)."""
        return repo.tags_in_use(self.session, TAGS_LISTED)

    # -- hand-overs

    def unassign(self, ref: str, actor: Agent) -> Ticket:
        """Put an assigned ticket back in the queue (its assignee or an admin).

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not assigned, not the caller's (and the caller is
                not an admin), or changed meanwhile.
        """
        ticket = self._ticket(ref)
        if ticket.status != TicketStatus.ASSIGNED:
            raise TicketConflict(
                "ticket_not_assigned", f"ticket {ref} is {TicketStatus(ticket.status).value}"
            )
        self._ensure_assignee_or_admin(ticket, actor)
        previous_id = ticket.assignee_id
        previous = ticket.assignee.name if ticket.assignee is not None else None
        now = self.clock()
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=TicketStatus.ASSIGNED,
            values={"status": TicketStatus.OPEN, "assignee_id": None, "updated_at": now},
            assignee_id=previous_id,
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("transition_not_allowed", f"ticket {ref} changed meanwhile")
        self._audit(ticket, actor.name, "ticket_unassigned", previous=previous)
        self._system_line(ticket, system_lines.unassigned(actor.name, previous))
        self.session.commit()
        return ticket

    def transfer(self, ref: str, actor: Agent, target_name: Any) -> Ticket:
        """Give the ticket to another active agent (its assignee, or an admin, may).

        An admin may also give an open ticket to an agent: that is a claim on
        their behalf, and the chat hears that an agent joined, as on a claim.
        A transfer between agents is not told to the user.

        Raises:
            ValidationFailed: ``agent`` names no agent.
            TicketNotFound: no such ticket.
            TicketConflict: resolved or closed, not the caller's (and the caller
                is not an admin), already with that agent, or changed meanwhile.
            Conflict: ``agent_disabled``, the agent is deactivated.
        """
        ticket = self._ticket(ref)
        ensure_transition(ticket, TicketStatus.ASSIGNED)
        self._ensure_assignee_or_admin(ticket, actor)
        try:
            name = parse_agent_name(target_name)
        except ValidationFailed as exc:
            raise ValidationFailed("agent", exc.detail) from None
        target = repo.get_agent_by_name(self.session, name)
        if target is None:
            raise ValidationFailed("agent", f"no agent named {name!r}")
        if not target.active:
            raise Conflict("agent_disabled", f"agent {target.name!r} is deactivated")
        if ticket.assignee_id == target.id:
            raise TicketConflict("already_assigned", f"ticket {ref} is already with {target.name}")
        status = TicketStatus(ticket.status)
        previous_id = ticket.assignee_id
        previous = ticket.assignee.name if ticket.assignee is not None else None
        now = self.clock()
        done = repo.transition_ticket(
            self.session,
            ticket.id,
            from_status=status,
            values={"status": TicketStatus.ASSIGNED, "assignee_id": target.id, "updated_at": now},
            assignee_id=previous_id,
        )
        if not done:
            self.session.rollback()
            raise TicketConflict("transition_not_allowed", f"ticket {ref} changed meanwhile")
        self._audit(ticket, actor.name, "ticket_transferred", previous=previous, to=target.name)
        self._system_line(ticket, system_lines.transferred(previous, target.name, actor.name))
        if status is TicketStatus.OPEN:
            self._emit(ticket, events.agent_joined())
        self.session.commit()
        return ticket

    def _ensure_assignee_or_admin(self, ticket: Ticket, actor: Agent) -> None:
        if ticket.assignee_id != actor.id and not actor.is_admin:
            raise TicketConflict(
                "not_assignee", f"ticket {ticket.ref} is not yours; only an admin may move it"
            )

    # -- finding tickets

    def search(self, raw: Any) -> list[Ticket]:
        """Up to 20 tickets ``raw`` names (reference, hash, address, e-mail, conversation, tag).

        Raises:
            ValidationFailed: ``q`` shorter than 3 or longer than 200 characters.
        """
        query = parse_search_query(raw)
        ticket_id = ticket_id_from_ref(query.upper())
        try:
            tag: str | None = parse_tag(query)
        except ValidationFailed:
            tag = None
        return repo.search_tickets(self.session, query, ticket_id, tag, SEARCH_LIMIT)

    def related(self, ticket: Ticket) -> list[Ticket]:
        """Up to 10 other tickets of the same user, newest first."""
        return repo.related_tickets(self.session, ticket, RELATED_LIMIT)

    # -- what the assignee is doing, for the user's chat

    def typing_ticket(self, ref: str, agent: Agent) -> Ticket:
        """The ticket its assignee is typing an answer to.

        Raises:
            TicketNotFound: no such ticket.
            TicketConflict: not assigned, or assigned to another agent.
        """
        return self._assigned_to(ref, agent)

    def mark_seen(self, ticket: Ticket, agent: Agent, up_to_id: int) -> datetime | None:
        """Stamp the user lines up to ``up_to_id`` as seen, when ``agent`` is the assignee.

        Returns the time of the newest user line stamped now (what the chat is
        told), or ``None`` when nothing new was seen or ``agent`` is not the assignee.
        """
        if ticket.status != TicketStatus.ASSIGNED or ticket.assignee_id != agent.id:
            return None
        seen_until = repo.mark_seen_by_agent(self.session, ticket.id, up_to_id, self.clock())
        if seen_until is not None:
            self.session.commit()
        return seen_until

    # -- overview

    def _unanswered(self, sla: SlaTargets, now: datetime) -> repo.Unanswered:
        deadlines = {}
        for priority in Priority:
            target = timedelta(minutes=sla.minutes(priority.value))
            deadlines[priority.rank] = (now - target, now - target * (1 - AT_RISK_SHARE))
        return repo.count_unanswered(self.session, deadlines)

    def stats(self, sla: SlaTargets) -> WorkspaceStats:
        """Counts for admins: tickets by status; open and assigned ones by priority and
        language; unanswered ones overdue, at risk, and waiting unclaimed; agents online.
        """
        now = self.clock()
        unanswered = self._unanswered(sla, now)
        by_rank = repo.count_by(self.session, Ticket.priority_rank, active_only=True)
        return WorkspaceStats(
            by_status=_counts(repo.count_by(self.session, Ticket.status, False), TicketStatus),
            by_priority={p.value: by_rank.get(p.rank, 0) for p in Priority},
            by_language=_counts(repo.count_by(self.session, Ticket.language, True), Language),
            breached=unanswered.breached,
            at_risk=unanswered.at_risk,
            waiting=unanswered.waiting_open,
            agents_online=repo.count_agents_online(self.session, now - ONLINE_WINDOW),
        )

    def queue_estimate(self, sla: SlaTargets) -> QueueEstimate:
        """How long a new ticket would wait for its first reply, and how many agents are on.

        The typical first-reply time of the last day (the median; 5 minutes
        when there is none) for each round of unclaimed tickets ahead per agent
        online, plus one for the new ticket; ``None`` when nobody is online.
        """
        now = self.clock()
        online = repo.count_agents_online(self.session, now - ONLINE_WINDOW)
        if online == 0:
            return QueueEstimate(None, 0)
        waiting = self._unanswered(sla, now).waiting_open
        recent = repo.recent_first_reply_seconds(
            self.session, now - ESTIMATE_WINDOW, ESTIMATE_SAMPLE
        )
        typical = statistics.median(recent) / 60 if recent else DEFAULT_FIRST_REPLY_MINUTES
        minutes = math.ceil(max(1.0, typical) * (1 + waiting / online))
        return QueueEstimate(min(minutes, MAX_ESTIMATE_MINUTES), online)
