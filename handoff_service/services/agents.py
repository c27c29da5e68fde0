"""Agent administration: add and deactivate agents, and recognise them by their token.

A token is shown once, when the agent is added; the service keeps only its
SHA-256, so a copy of the database lets no one sign in.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.exc import IntegrityError

from handoff_service import repository as repo
from handoff_service.errors import Unauthorized, ValidationFailed
from handoff_service.models import Agent
from handoff_service.services.base import SYSTEM_ACTOR, ServiceBase
from handoff_service.validation import parse_agent_name


def hash_token(token: str) -> str:
    """SHA-256 of an agent token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AgentAdministration(ServiceBase):
    """Who the agents are, as the CLI manages them and the API checks them."""

    def authenticate_agent(self, token: str) -> Agent:
        """The active agent holding ``token``.

        Raises:
            Unauthorized: unknown or deactivated token.
        """
        agent = repo.get_agent_by_token_hash(self.session, hash_token(token))
        if agent is None or not agent.active:
            raise Unauthorized("unknown or revoked token")
        return agent

    def add_agent(self, name: str) -> tuple[Agent, str]:
        """Create an agent; returns it with its token, which is shown only this once.

        Raises:
            ValidationFailed: the name is malformed or taken.
        """
        name = parse_agent_name(name)
        if repo.get_agent_by_name(self.session, name) is not None:
            raise ValidationFailed("name", f"an agent named {name!r} already exists")
        token = secrets.token_urlsafe(32)
        agent = Agent(name=name, token_hash=hash_token(token), created_at=self.clock(), active=True)
        try:
            repo.add_agent(self.session, agent)
            self._audit(None, SYSTEM_ACTOR, "agent_added", agent=name)
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise ValidationFailed("name", f"an agent named {name!r} already exists") from None
        return agent, token

    def deactivate_agent(self, name: str) -> Agent:
        """Revoke an agent's token.

        Raises:
            ValidationFailed: no agent of that name.
        """
        agent = repo.get_agent_by_name(self.session, name)
        if agent is None:
            raise ValidationFailed("name", f"no agent named {name!r}")
        agent.active = False
        self._audit(None, SYSTEM_ACTOR, "agent_deactivated", agent=name)
        self.session.commit()
        return agent

    def agents(self) -> list[Agent]:
        """Every agent, by name."""
        return repo.list_agents(self.session)
