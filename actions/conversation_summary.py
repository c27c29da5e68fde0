"""Read a conversation (tracker events) into what an agent needs: facts, intents, transcript."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from actions.ticket_fields import PROBLEM_INTENTS
from support_core.directions import consistent_problem
from support_core.facts import find_facts

# Intents the handoff service triggers; they are not things the user said.
EXTERNAL_INTENTS = frozenset({"agent_message", "agent_joined", "ticket_resolved", "ticket_created"})
FACT_KINDS = ("asset", "amount", "network", "tx_hash", "address", "time", "error_message")
MAX_TRANSCRIPT = 200
FIRST_STEPS = "utter_compromised_first_steps"
# A user line typed while the form asked for the hash: the guard read a bare 64-hex
# as a hash there, and the service must read it with the same context.
HASH_REQUEST = "ticket_tx_hash"
# A screenshot's transcript line; the service shows the image itself.
SCREENSHOT_LINE = "[screenshot]"


def _intent(event: dict[str, Any]) -> str | None:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def user_turns(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user's own messages (not button payloads, not service-triggered intents)."""
    turns = []
    for event in events:
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        if not text or text.startswith("/") or _intent(event) in EXTERNAL_INTENTS:
            continue
        turns.append(event)
    return turns


def _fact_texts(events: Iterable[dict[str, Any]]) -> list[str]:
    """What the user wrote, and what was read from the screenshots they sent."""
    texts = []
    for event in events:
        if event.get("event") != "user":
            continue
        if screenshot_id(event) is not None:
            texts.append(screenshot_text(event))
        elif event in user_turns([event]):
            texts.append(event.get("text") or "")
    return [text for text in texts if text]


def collect_facts(events: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Every wallet fact the user mentioned, by kind, first mention first, no repeats."""
    facts: dict[str, list[str]] = {kind: [] for kind in FACT_KINDS}
    for text in _fact_texts(events):
        for fact in find_facts(text):
            values = facts.setdefault(fact.entity, [])
            if fact.value not in values:
                values.append(fact.value)
    return {kind: values for kind, values in facts.items() if values}


# Form fields whose answers are values (a time, an amount, a hash, an address, an
# e-mail), not descriptions: whatever intent the classifier gave such an answer
# ("yesterday around 9 pm" read as a staking question), it names no problem.
VALUE_FIELDS = frozenset({
    "ticket_category", "ticket_occurred_at", "ticket_amount", "ticket_tx_hash",
    "ticket_wallet_address", "ticket_email", "ticket_confirmed", "ticket_screenshot",
})


def said_by_user(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The user events that can name a problem: every one but the answers to value fields."""
    said: list[dict[str, Any]] = []
    requested: str | None = None
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "active_loop" and not event.get("name"):
            requested = None
        elif kind == "user" and requested not in VALUE_FIELDS:
            said.append(event)
    return said


def intents_seen(events: Iterable[dict[str, Any]]) -> list[str]:
    """The user's intents in order, without repeats in a row.

    A withdrawal misread as a deposit (or back) is listed as what the words say.
    """
    seen: list[str] = []
    for event in said_by_user(events):
        if event.get("event") == "user":
            name = consistent_problem(_intent(event), [event.get("text") or ""])
            if name and name not in EXTERNAL_INTENTS and (not seen or seen[-1] != name):
                seen.append(name)
    return seen


def latest_problem(events: list[dict[str, Any]]) -> str | None:
    """The most recent problem the user described (a contract problem intent).

    A withdrawal is never read as a deposit, or back, against the user's own
    words (:mod:`support_core.directions`).
    """
    for event in reversed(said_by_user(events)):
        if _intent(event) in PROBLEM_INTENTS:
            return consistent_problem(_intent(event), [event.get("text") or ""])
    return None


def problem_messages(events: list[dict[str, Any]]) -> list[str]:
    """What the user wrote when describing problems, oldest first."""
    return [
        e["text"] for e in user_turns(said_by_user(events)) if _intent(e) in PROBLEM_INTENTS
    ]


def self_help_given(events: Iterable[dict[str, Any]]) -> list[str]:
    """The self-help answers the bot already gave (so the agent does not repeat them)."""
    given: list[str] = []
    for event in events:
        name = event.get("name") or ""
        if event.get("event") == "action" and (
            name.startswith("utter_faq_") or name == FIRST_STEPS
        ):
            if name not in given:
                given.append(name)
    return given


def self_help_for(problem: str | None) -> frozenset[str]:
    """The answers that are self-help for ``problem`` (a theft's first steps included)."""
    names = {f"utter_faq_{problem}"} if problem else set()
    if problem == "account_compromised":
        names.add(FIRST_STEPS)
    return frozenset(names)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def screenshot_id(event: dict[str, Any]) -> str | None:
    """The id of the screenshot a user turn sent, from the channel's server-only metadata."""
    metadata = event.get("metadata")
    image = metadata.get("attachment") if isinstance(metadata, dict) else None
    image_id = image.get("id") if isinstance(image, dict) else None
    return image_id if isinstance(image_id, str) else None


def screenshot_text(event: dict[str, Any]) -> str:
    """What the service read from a user turn's screenshot (secrets already redacted)."""
    metadata = event.get("metadata")
    image = metadata.get("attachment") if isinstance(metadata, dict) else None
    text = image.get("text") if isinstance(image, dict) else None
    return text if isinstance(text, str) else ""


def transcript(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chat so far as the agent should read it (last 200 lines).

    A user line written while the form asked for the transaction hash says so
    (``expecting_tx_hash``): the channel kept a bare 64-hex there as a hash,
    and the service must not re-read it as a key.
    """
    lines: list[dict[str, Any]] = []
    requested: str | None = None
    for event in events:
        kind = event.get("event")
        text = event.get("text") or ""
        if kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "active_loop" and not event.get("name"):
            requested = None
        elif kind == "user" and (image_id := screenshot_id(event)) is not None:
            # The image is at the service already; the line points at it.
            lines.append({
                "author": "user", "text": SCREENSHOT_LINE, "at": _iso(event.get("timestamp")),
                "attachment_id": image_id,
            })
        elif kind == "user" and text and not text.startswith("/") and (
            _intent(event) not in EXTERNAL_INTENTS
        ):
            line: dict[str, Any] = {
                "author": "user", "text": text, "at": _iso(event.get("timestamp"))
            }
            if requested == HASH_REQUEST:
                line["expecting_tx_hash"] = True
            lines.append(line)
        elif kind == "bot" and text:
            lines.append({"author": "bot", "text": text, "at": _iso(event.get("timestamp"))})
    return lines[-MAX_TRANSCRIPT:]


def build_summary(
    events: list[dict[str, Any]], *, reason: str, language: str, problem: str | None = None
) -> dict[str, Any]:
    """The structured problem summary stored on the ticket.

    One problem per ticket: the one the category and the form came from
    (``problem``, else the latest one described). The self-help listed is the
    self-help for that problem; anything else the user raised, and any other
    answer the bot gave, is named as such rather than mixed in.
    """
    problem = problem or latest_problem(events)
    given = self_help_given(events)
    own = self_help_for(problem)
    others = [
        name for name in intents_seen(events) if name in PROBLEM_INTENTS and name != problem
    ]
    summary: dict[str, Any] = {
        "facts": collect_facts(events),
        "intents_seen": intents_seen(events),
        "problem": problem,
        "self_help_given": [name for name in given if name in own],
        "escalation_reason": reason,
        "language": language,
        "user_messages": len(user_turns(events)),
    }
    if others:
        summary["other_problems"] = list(dict.fromkeys(others))
    other_help = [name for name in given if name not in own]
    if other_help:
        summary["other_self_help"] = other_help
    return summary
