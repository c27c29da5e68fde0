"""The handoff service's rate limits, counted by :class:`support_core.rate_limits.RateLimiter`.

Three allowances: new tickets per conversation per hour (a flood of
escalations from one chat), API calls per agent per minute (a runaway console
or script), and calls without valid credentials per client address per minute
(token guessing, and the public queue estimate). A fourth rule is no refusal
but a pace: at most one "typing" relay per ticket every three seconds. In
memory by default; in Redis when ``RATE_LIMIT_STORAGE_URL`` says so, so that
every replica counts together.
"""

from __future__ import annotations

import threading

from sanic import Sanic

from handoff_service.config import Settings
from handoff_service.errors import RateLimited
from support_core.rate_limits import DEFAULT_STORAGE_URL, RateLimiter, parse_rule

TICKETS = "handoff-tickets"
AGENT_CALLS = "handoff-agent-calls"
ANONYMOUS_CALLS = "handoff-anonymous-calls"
TYPING_RELAYS = "handoff-typing-relays"
TYPING_RELAY_RULE = "1/3second"


class HandoffRateLimits:
    """The three rules on one limiter; each check raises :class:`RateLimited` when over."""

    def __init__(self, settings: Settings) -> None:
        """Rules from ``settings``; the storage is made by the limiter on first use."""
        # Explicit memory:// when unset: the settings object, not the process
        # environment, decides where this app counts.
        self.limiter = RateLimiter(settings.rate_limit_storage_url or DEFAULT_STORAGE_URL)
        self.tickets = parse_rule(f"{settings.tickets_per_hour}/hour")
        self.agent_calls = parse_rule(f"{settings.agent_calls_per_minute}/minute")
        self.anonymous_calls = parse_rule(f"{settings.anon_calls_per_minute}/minute")
        self.typing_relays = parse_rule(TYPING_RELAY_RULE)

    def ticket(self, conversation_id: str) -> None:
        """Count a new ticket of ``conversation_id``."""
        decision = self.limiter.hit(self.tickets, TICKETS, conversation_id)
        if not decision.allowed:
            raise RateLimited(
                "this conversation opened too many tickets in the last hour",
                decision.retry_after,
            )

    def agent_call(self, agent_id: int) -> None:
        """Count one API call of agent ``agent_id``."""
        decision = self.limiter.hit(self.agent_calls, AGENT_CALLS, str(agent_id))
        if not decision.allowed:
            raise RateLimited("too many requests from this agent", decision.retry_after)

    def anonymous_call(self, address: str) -> None:
        """Count one call without valid credentials from ``address``."""
        decision = self.limiter.hit(self.anonymous_calls, ANONYMOUS_CALLS, address or "unknown")
        if not decision.allowed:
            raise RateLimited(
                "too many requests without valid credentials from this address",
                decision.retry_after,
            )


    def typing_relay_due(self, ticket_id: int) -> bool:
        """Whether a "typing" relay for ticket ``ticket_id`` may go now (counts it if so)."""
        return self.limiter.hit(self.typing_relays, TYPING_RELAYS, str(ticket_id)).allowed


_BUILD_LOCK = threading.Lock()


def rate_limits(app: Sanic) -> HandoffRateLimits:
    """The app's one :class:`HandoffRateLimits`, built on first use.

    Request handlers run in worker threads; the lock makes sure two first
    requests do not each build a limiter (two memory counters would each
    allow the full rate).
    """
    limits: HandoffRateLimits | None = getattr(app.ctx, "rate_limits", None)
    if limits is None:
        with _BUILD_LOCK:
            limits = getattr(app.ctx, "rate_limits", None)
            if limits is None:
                limits = HandoffRateLimits(app.ctx.settings)
                # The storage too, under the lock (the limiter builds it lazily).
                _ = limits.limiter.limiter
                app.ctx.rate_limits = limits
    return limits
