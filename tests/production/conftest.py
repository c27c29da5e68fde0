"""The production topology (nginx, two replicas of every process, PostgreSQL, Redis),
started once for this folder's tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.agent_client import AgentClient
from devtools.production_stack import RunningTopology, running_topology

# Every test client comes from 127.0.0.1 and sends faster than a person.
TEST_QUOTAS = {
    "CHAT_MESSAGES_PER_CONVERSATION": "120/minute",
    "CHAT_MESSAGES_PER_ADDRESS": "100000/minute",
    "CHAT_SESSIONS_PER_ADDRESS": "100000/hour",
    "HANDOFF_TICKETS_PER_HOUR": "1000",
    "HANDOFF_ANON_CALLS_PER_MINUTE": "100000",
    "HANDOFF_AGENT_CALLS_PER_MINUTE": "100000",
    "HANDOFF_NOTIFY_MAX_BACKOFF_S": "2",
}


@pytest.fixture(scope="session")
def topology(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTopology]:
    """nginx in front of two Rasa servers, two action servers and two handoff services."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed: scripts/bootstrap.sh installs it")
    with running_topology(
        tmp_path_factory.mktemp("topology"), replicas=2, model=trained_model, env=TEST_QUOTAS
    ) as running:
        yield running


@pytest.fixture(scope="session")
def agent(topology: RunningTopology) -> Iterator[AgentClient]:
    """An agent working through the public port (any handoff replica)."""
    client = AgentClient(topology.public_url, topology.add_agent("Mei"))
    yield client
    client.close()


@pytest.fixture(scope="session")
def bot(topology: RunningTopology) -> Iterator[AgentClient]:
    """The service's API with the bot's token, through the public port."""
    client = AgentClient(topology.public_url, topology.env["HANDOFF_BOT_TOKEN"])
    yield client
    client.close()
