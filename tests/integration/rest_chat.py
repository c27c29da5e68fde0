"""What the REST-channel conversation tests share: reading replies and the tickets they made."""

from __future__ import annotations

import requests

from devtools.stack import Stack


def texts(messages: list[dict]) -> str:
    """Every text of a REST reply, the bot's and the handoff notices' (custom payloads)."""
    parts = []
    for m in messages:
        parts.append(m.get("text") or "")
        data = (m.get("custom") or {}).get("data") or {}
        parts.append(data.get("text") or "")
    return "\n".join(parts)


def agent_get(stack: Stack, token: str, path: str, **params: object) -> dict:
    """GET a handoff-service path as an agent; the JSON body."""
    response = requests.get(
        f"{stack.handoff_url}{path}", params=params,
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )
    response.raise_for_status()
    return response.json()


def tickets_of(stack: Stack, token: str, conversation_id: str) -> list[dict]:
    """The queue's tickets of one conversation."""
    tickets = agent_get(stack, token, "/api/tickets", limit=100)["tickets"]
    return [t for t in tickets if t["conversation_id"] == conversation_id]


def ticket(stack: Stack, token: str, ref: str) -> dict:
    """One ticket with its summary and transcript."""
    return agent_get(stack, token, f"/api/tickets/{ref}")
