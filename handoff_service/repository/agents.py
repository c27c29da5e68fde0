"""Agent queries: add one, find one by token hash or name, list them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff_service.models import Agent


def add_agent(session: Session, agent: Agent) -> Agent:
    """Insert ``agent`` (flush)."""
    session.add(agent)
    session.flush()
    return agent


def get_agent_by_token_hash(session: Session, token_hash: str) -> Agent | None:
    """The agent whose token hashes to ``token_hash``."""
    stmt = select(Agent).where(Agent.token_hash == token_hash)
    return session.execute(stmt).scalar_one_or_none()


def get_agent_by_name(session: Session, name: str) -> Agent | None:
    """The agent called ``name``."""
    return session.execute(select(Agent).where(Agent.name == name)).scalar_one_or_none()


def list_agents(session: Session) -> list[Agent]:
    """Every agent, by name."""
    return list(session.execute(select(Agent).order_by(Agent.name)).scalars())
