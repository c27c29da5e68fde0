"""The security tests play attacks against the real processes of the shared handoff stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.agent_client import AgentClient
from devtools.chat_client import SocketChatUser
from devtools.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent(handoff_stack: Stack) -> Iterator[AgentClient]:
    """A support agent over the service's API."""
    assert handoff_stack.handoff_url is not None
    client = AgentClient(handoff_stack.handoff_url, handoff_stack.add_agent(_agent_name()))
    yield client
    client.close()


@pytest.fixture
def victim(handoff_stack: Stack) -> Iterator[SocketChatUser]:
    """A user in the widget, with a conversation of their own."""
    with SocketChatUser(handoff_stack.rasa_url) as chat:
        yield chat


@pytest.fixture
def attacker(handoff_stack: Stack) -> Iterator[SocketChatUser]:
    """Another widget user, who knows the victim's conversation id."""
    with SocketChatUser(handoff_stack.rasa_url) as chat:
        yield chat


_names = iter(f"Dana{i}" for i in range(1000))


def _agent_name() -> str:
    return next(_names)
