"""Agent queries: add one, find one by token hash, name or id, list them, who is online."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
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


def get_agent_by_id(session: Session, agent_id: int) -> Agent | None:
    """The agent with primary key ``agent_id``."""
    return session.get(Agent, agent_id)


def touch_agent(session: Session, agent_id: int, now: datetime, stale_before: datetime) -> bool:
    """Set the agent's ``last_seen_at`` to ``now`` unless it is after ``stale_before``.

    One conditional UPDATE: an agent's many calls write at most once per interval.
    Returns whether the row was written.
    """
    stmt = (
        update(Agent)
        .where(
            Agent.id == agent_id,
            or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < stale_before),
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)


def count_agents_online(session: Session, since: datetime) -> int:
    """How many active agents made a call since ``since``."""
    stmt = (
        select(func.count())
        .select_from(Agent)
        .where(Agent.active.is_(True), Agent.last_seen_at >= since)
    )
    return int(session.execute(stmt).scalar_one())
