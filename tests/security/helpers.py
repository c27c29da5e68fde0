"""What the attack tests need from the real stack: a victim with a ticket, quick looks."""

from __future__ import annotations

import time
import uuid
from typing import Any

from devtools.agent_client import AgentClient
from devtools.chat_client import Received, SocketChatUser

FAKE_AGENT = "OKX Security Team"


def open_ticket_for(bot: AgentClient, conversation_id: str) -> dict[str, Any]:
    """A ticket for ``conversation_id``, created as the action server creates one."""
    response = bot.call(
        "POST", "/tickets",
        json={
            "conversation_id": conversation_id,
            "category": "assets",
            "title": "USDT withdrawal not received",
            "description": "500 USDT to an exchange, pending for three hours",
            "language": "en",
            "escalation_reason": "requested_human",
        },
        headers={"Idempotency-Key": f"{conversation_id}:{uuid.uuid4().hex}"},
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def ticket_texts(agent: AgentClient, ref: str) -> list[str]:
    """Every text of the ticket's transcript."""
    response = agent.call("GET", f"/tickets/{ref}")
    assert response.status_code == 200, response.text
    return [m["text"] for m in response.json()["messages"]]


def agent_styled(received: list[Received]) -> list[Received]:
    """Messages the widget would draw as a human agent's."""
    return [r for r in received if r.kind == "agent"]


def quiet_for(user: SocketChatUser, seconds: float) -> list[Received]:
    """Everything ``user`` receives during the next ``seconds``."""
    mark = user.mark()
    time.sleep(seconds)
    return user.since(mark)
