"""Agent administration: add, enable, deactivate agents, give them roles and new tokens.

A token is shown once, when the agent is added or the token is replaced; the
service keeps only its SHA-256, so a copy of the database lets no one sign in.
The CLI (the operator, acting as ``system``) may do everything; over the API an
admin manages agents, and any agent may replace their own token and choose
their console's language.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from handoff_service import repository as repo
from handoff_service.errors import (
    Conflict,
    RecordNotFound,
    Unauthorized,
    ValidationFailed,
)
from handoff_service.models import Agent, AgentRole
from handoff_service.services.base import SYSTEM_ACTOR, ServiceBase, ensure_admin
from handoff_service.validation import (
    parse_agent_name,
    parse_console_language,
    parse_role,
    parse_row_id,
)

# ``last_seen_at`` is written at most this often per agent: "online" needs
# minutes, not every call.
SEEN_RESOLUTION = timedelta(seconds=60)


def hash_token(token: str) -> str:
    """SHA-256 of an agent token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class AgentAdministration(ServiceBase):
    """Who the agents are, as the CLI and admins manage them and the API checks them."""

    def authenticate_agent(self, token: str) -> Agent:
        """The active agent holding ``token``.

        Raises:
            Unauthorized: unknown or deactivated token.
        """
        agent = repo.get_agent_by_token_hash(self.session, hash_token(token))
        if agent is None or not agent.active:
            raise Unauthorized("unknown or revoked token")
        return agent

    def note_agent_seen(self, agent: Agent) -> None:
        """Remember that ``agent`` is at work now (written at most once a minute)."""
        now = self.clock()
        stale = now - SEEN_RESOLUTION
        # Most calls find a recent stamp on the row already loaded: no statement at all,
        # so polling consoles never take SQLite's write lock.
        if agent.last_seen_at is not None and agent.last_seen_at >= stale:
            return
        touched = repo.touch_agent(self.session, agent.id, now, stale)
        # Also when another request stamped it first: the write transaction ends here.
        self.session.commit()
        if touched:
            agent.last_seen_at = now

    def add_agent(
        self, name: str, role: Any = AgentRole.AGENT, actor: str = SYSTEM_ACTOR
    ) -> tuple[Agent, str]:
        """Create an agent; returns it with its token, which is shown only this once.

        Raises:
            ValidationFailed: the name is malformed or taken, or the role unknown.
        """
        name = parse_agent_name(name)
        role = parse_role(role.value if isinstance(role, AgentRole) else role)
        if repo.get_agent_by_name(self.session, name) is not None:
            raise ValidationFailed("name", f"an agent named {name!r} already exists")
        token = _new_token()
        agent = Agent(
            name=name,
            token_hash=hash_token(token),
            created_at=self.clock(),
            active=True,
            role=role,
        )
        try:
            repo.add_agent(self.session, agent)
            self._audit(None, actor, "agent_added", agent=name, role=role.value)
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            raise ValidationFailed("name", f"an agent named {name!r} already exists") from None
        return agent, token

    def _named(self, name: Any) -> Agent:
        agent = repo.get_agent_by_name(self.session, parse_agent_name(name))
        if agent is None:
            raise ValidationFailed("name", f"no agent named {str(name)[:64]!r}")
        return agent

    def _by_id(self, raw_id: Any) -> Agent:
        agent = repo.get_agent_by_id(self.session, parse_row_id("id", raw_id))
        if agent is None:
            raise RecordNotFound(f"no agent {str(raw_id)[:20]!r}")
        return agent

    def _set_active(self, agent: Agent, active: bool, actor: str) -> Agent:
        if agent.active != active:
            agent.active = active
            action = "agent_enabled" if active else "agent_deactivated"
            self._audit(None, actor, action, agent=agent.name)
            self.session.commit()
        return agent

    def deactivate_agent(self, name: str) -> Agent:
        """Revoke an agent's token (the CLI).

        Raises:
            ValidationFailed: no agent of that name.
        """
        return self._set_active(self._named(name), False, SYSTEM_ACTOR)

    def enable_agent(self, name: str) -> Agent:
        """Let a deactivated agent's token work again (the CLI).

        Raises:
            ValidationFailed: no agent of that name.
        """
        return self._set_active(self._named(name), True, SYSTEM_ACTOR)

    def set_role(self, name: str, role: Any) -> Agent:
        """Make an agent an ``admin`` or a plain ``agent`` (the CLI).

        Raises:
            ValidationFailed: no agent of that name, or an unknown role.
        """
        agent = self._named(name)
        new_role = parse_role(role)
        if AgentRole(agent.role) is not new_role:
            agent.role = new_role
            self._audit(
                None, SYSTEM_ACTOR, "agent_role_changed", agent=agent.name, role=new_role.value
            )
            self.session.commit()
        return agent

    def rotate_token(self, name: str) -> tuple[Agent, str]:
        """Give an agent a new token (the CLI); the old one stops working at once.

        Raises:
            ValidationFailed: no agent of that name.
        """
        return self._rotate(self._named(name), SYSTEM_ACTOR)

    def _rotate(self, agent: Agent, actor: str) -> tuple[Agent, str]:
        token = _new_token()
        agent.token_hash = hash_token(token)
        self._audit(None, actor, "agent_token_rotated", agent=agent.name)
        self.session.commit()
        return agent, token

    def agents(self) -> list[Agent]:
        """Every agent, by name."""
        return repo.list_agents(self.session)

    # -- the same over the API, on behalf of an agent

    def add_agent_as(self, actor: Agent, payload: dict[str, Any]) -> tuple[Agent, str]:
        """An admin adds an agent (``name``, optional ``role``); the token is shown once.

        Raises:
            Forbidden: ``actor`` is not an admin.
            ValidationFailed: the name is malformed or taken, or the role unknown.
        """
        ensure_admin(actor, "manage agents")
        return self.add_agent(
            payload.get("name"), payload.get("role") or AgentRole.AGENT, actor=actor.name
        )

    def set_agent_active_as(self, actor: Agent, agent_id: Any, active: bool) -> Agent:
        """An admin enables or deactivates an agent, never their own account.

        Raises:
            Forbidden: ``actor`` is not an admin.
            ValidationFailed: a malformed id.
            RecordNotFound: no such agent.
            Conflict: ``self_disable``, the admin's own account.
        """
        ensure_admin(actor, "manage agents")
        agent = self._by_id(agent_id)
        if not active and agent.id == actor.id:
            raise Conflict("self_disable", "you cannot deactivate your own account")
        return self._set_active(agent, active, actor.name)

    def rotate_token_as(self, actor: Agent, agent_id: Any) -> tuple[Agent, str]:
        """Replace an agent's token: an admin any agent's, an agent their own.

        Raises:
            Forbidden: another agent's token, and ``actor`` is not an admin.
            ValidationFailed: a malformed id.
            RecordNotFound: no such agent.
        """
        agent = self._by_id(agent_id)
        if agent.id != actor.id:
            ensure_admin(actor, "manage agents")
        return self._rotate(agent, actor.name)

    def set_console_language(self, agent: Agent, payload: dict[str, Any]) -> Agent:
        """Remember the language ``agent``'s console shows (``zh``, ``en`` or null).

        Raises:
            ValidationFailed: another value, or no ``console_language`` in ``payload``.
        """
        if "console_language" not in payload:
            raise ValidationFailed("console_language", "console_language is required")
        language = parse_console_language(payload["console_language"])
        agent.console_language = language
        self.session.commit()
        return agent
