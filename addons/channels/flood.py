"""Message and session quotas of the chat channels, and what a limited user is told.

Counted per conversation and per client address, in memory or in the Redis of
``RATE_LIMIT_STORAGE_URL`` (shared by every replica). A limited message is not
handled and not dropped either: the widget keeps it and sends it again after
``retry_after`` seconds; a REST client gets a 429 with the same figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from limits import RateLimitItem

from support_core.language import detect_language
from support_core.rate_limits import ALLOWED, LimitDecision, RateLimiter, parse_rule

_TEXT = {
    "zh": "您的消息发得有点快，请稍等 {seconds} 秒。您写的内容都还在，稍后会自动发出。",
    "en": (
        "You are sending messages a little fast. Please wait {seconds} seconds: "
        "nothing you wrote is lost, it will be sent then."
    ),
}


@dataclass(frozen=True)
class ChatQuotas:
    """The rules, read from ``CHAT_*`` variables."""

    per_conversation: RateLimitItem
    per_address: RateLimitItem
    sessions_per_address: RateLimitItem

    @classmethod
    def from_env(cls) -> ChatQuotas:
        """Defaults fit a person typing; a script is stopped within a minute."""
        env = os.environ
        return cls(
            per_conversation=parse_rule(env.get("CHAT_MESSAGES_PER_CONVERSATION", "20/minute")),
            per_address=parse_rule(env.get("CHAT_MESSAGES_PER_ADDRESS", "120/minute")),
            sessions_per_address=parse_rule(env.get("CHAT_SESSIONS_PER_ADDRESS", "60/hour")),
        )


class ChatFloodGuard:
    """Counts messages and new sessions; built on first use, never at import."""

    def __init__(self, quotas: ChatQuotas | None = None, limiter: RateLimiter | None = None):
        """Quotas and limiter are injectable for tests."""
        self._quotas = quotas
        self._limiter = limiter

    @property
    def quotas(self) -> ChatQuotas:
        """The configured rules."""
        if self._quotas is None:
            self._quotas = ChatQuotas.from_env()
        return self._quotas

    @property
    def limiter(self) -> RateLimiter:
        """The shared limiter (memory or Redis)."""
        if self._limiter is None:
            self._limiter = RateLimiter()
        return self._limiter

    def message(self, conversation_id: str, address: str | None) -> LimitDecision:
        """Count one user message of ``conversation_id`` sent from ``address``."""
        by_conversation = self.limiter.hit(
            self.quotas.per_conversation, "chat-message", conversation_id
        )
        if not by_conversation.allowed:
            return by_conversation
        if address:
            return self.limiter.hit(self.quotas.per_address, "chat-address", address)
        return ALLOWED

    def new_session(self, address: str | None) -> LimitDecision:
        """Count one new conversation opened from ``address``."""
        if not address:
            return ALLOWED
        return self.limiter.hit(self.quotas.sessions_per_address, "chat-session", address)


def limited_text(message: object, seconds: int) -> str:
    """The calm notice, in the language of the message that was held back."""
    language = detect_language(message) if isinstance(message, str) else None
    if language is None:
        return _TEXT["zh"].format(seconds=seconds) + "\n" + _TEXT["en"].format(seconds=seconds)
    return _TEXT[language].format(seconds=seconds)
