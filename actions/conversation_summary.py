"""Read a conversation (tracker events) into what an agent needs: facts, intents, transcript."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from actions.ticket_fields import PROBLEM_INTENTS
from support_core.facts import find_facts

# Intents the handoff service triggers; they are not things the user said.
EXTERNAL_INTENTS = frozenset({"agent_message", "agent_joined", "ticket_resolved", "ticket_created"})
FACT_KINDS = ("asset", "amount", "network", "tx_hash", "address", "time", "error_message")
MAX_TRANSCRIPT = 200


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


def collect_facts(events: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """Every wallet fact the user mentioned, by kind, first mention first, no repeats."""
    facts: dict[str, list[str]] = {kind: [] for kind in FACT_KINDS}
    for event in user_turns(events):
        for fact in find_facts(event["text"]):
            values = facts.setdefault(fact.entity, [])
            if fact.value not in values:
                values.append(fact.value)
    return {kind: values for kind, values in facts.items() if values}


def intents_seen(events: Iterable[dict[str, Any]]) -> list[str]:
    """The user's intents in order, without repeats in a row."""
    seen: list[str] = []
    for event in events:
        if event.get("event") == "user":
            name = _intent(event)
            if name and name not in EXTERNAL_INTENTS and (not seen or seen[-1] != name):
                seen.append(name)
    return seen


def latest_problem(events: list[dict[str, Any]]) -> str | None:
    """The most recent problem the user described (a contract problem intent)."""
    for event in reversed(events):
        if event.get("event") == "user" and _intent(event) in PROBLEM_INTENTS:
            return _intent(event)
    return None


def problem_messages(events: list[dict[str, Any]]) -> list[str]:
    """What the user wrote when describing problems, oldest first."""
    return [e["text"] for e in user_turns(events) if _intent(e) in PROBLEM_INTENTS]


def self_help_given(events: Iterable[dict[str, Any]]) -> list[str]:
    """The self-help answers the bot already gave (so the agent does not repeat them)."""
    given: list[str] = []
    for event in events:
        name = event.get("name") or ""
        if event.get("event") == "action" and (
            name.startswith("utter_faq_") or name == "utter_compromised_first_steps"
        ):
            if name not in given:
                given.append(name)
    return given


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def transcript(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chat so far as the agent should read it (last 200 lines)."""
    lines: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        text = event.get("text") or ""
        if kind == "user" and text and not text.startswith("/") and (
            _intent(event) not in EXTERNAL_INTENTS
        ):
            lines.append({"author": "user", "text": text, "at": _iso(event.get("timestamp"))})
        elif kind == "bot" and text:
            lines.append({"author": "bot", "text": text, "at": _iso(event.get("timestamp"))})
    return lines[-MAX_TRANSCRIPT:]


def build_summary(
    events: list[dict[str, Any]], *, reason: str, language: str
) -> dict[str, Any]:
    """The structured problem summary stored on the ticket."""
    return {
        "facts": collect_facts(events),
        "intents_seen": intents_seen(events),
        "problem": latest_problem(events),
        "self_help_given": self_help_given(events),
        "escalation_reason": reason,
        "language": language,
        "user_messages": len(user_turns(events)),
    }
