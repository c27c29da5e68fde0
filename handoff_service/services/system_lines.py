"""System lines of a ticket's transcript: what happened to the ticket, among the chat's lines.

An agent reading the transcript sees when the ticket was submitted and why,
who claimed it, when the first reply came, which details the bot added
later, who handed it back to the queue or on to another agent, who resolved
it and how the user rated it. The lines are in English,
like the rest of the console, whatever language the chat is in.

Why rows of the transcript, written in the unit of work of the change they
report, rather than lines derived from the audit trail when it is read:

- the console reads the transcript incrementally (``/messages?after_id=``);
  a row takes its id from the same sequence as the chat's lines, so it is
  polled, ordered and de-duplicated exactly like them, with no second
  cursor and no merge of two sources by time;
- it commits or rolls back with the change it reports, so the transcript
  never tells of a claim that did not happen;
- the audit trail stays a record for auditors (actors, ids, field names),
  free to change shape without changing what agents read.

A system line goes nowhere else: the chat hears of changes only through
events (:mod:`handoff_service.events`), the bot fetches agent lines only,
and e-mails carry agent lines only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handoff_service import repository as repo
from handoff_service.labels import ESCALATION_REASON_LABELS, FIELD_LABELS, label
from handoff_service.models import Author


def submitted(reason: str, priority: str) -> str:
    """The ticket was opened by the assistant."""
    return f"Ticket submitted ({priority} priority): {label(ESCALATION_REASON_LABELS, reason)}"


def claimed(agent: str) -> str:
    """An agent took the ticket."""
    return f"Claimed by {agent}"


def unassigned(actor: str, previous: str | None) -> str:
    """The ticket went back to the queue (the user is not told)."""
    if previous is None or previous == actor:
        return f"Returned to the queue by {actor}"
    return f"Returned to the queue by {actor} (was with {previous})"


def transferred(previous: str | None, target: str, actor: str) -> str:
    """The ticket moved to another agent (the user is not told)."""
    line = f"Transferred from {previous} to {target}" if previous else f"Assigned to {target}"
    return line if actor in (previous, target) else f"{line} by {actor}"


def first_reply(agent: str, waited: timedelta) -> str:
    """The first agent reply, which stops the SLA clock."""
    return f"First reply by {agent}, {_duration(waited)} after the ticket was submitted"


def details(added: Sequence[str], changed: Sequence[str]) -> str:
    """The bot added details (fields that were empty) or changed them."""
    parts = []
    if added:
        parts.append("Details added: " + _fields(added))
    if changed:
        parts.append(("changed: " if added else "Details changed: ") + _fields(changed))
    return "; ".join(parts)


def resolved(agent: str) -> str:
    """The assignee resolved the ticket."""
    return f"Resolved by {agent}"


def closed(agent: str) -> str:
    """The assignee closed the ticket."""
    return f"Closed by {agent}"


def rated(score: int) -> str:
    """The user rated the help after the resolution."""
    return f"Rated {score}/5 by the user"


def add_line(session: Session, ticket_id: int, text: str, now: datetime) -> None:
    """Append a system line to the ticket's transcript in the caller's unit of work."""
    repo.add_messages(
        session,
        [{"ticket_id": ticket_id, "author": Author.SYSTEM, "text": text, "created_at": now}],
    )


def _fields(names: Sequence[str]) -> str:
    labels: list[str] = []
    for name in names:
        text = label(FIELD_LABELS, name)
        if text not in labels:
            labels.append(text)
    return ", ".join(labels)


def _duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds())) // 60
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
