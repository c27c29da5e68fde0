"""Rate limits shared by the chat channel and the handoff service, on the ``limits`` library.

One :class:`RateLimiter` per process. Its storage is in memory by default; with
``RATE_LIMIT_STORAGE_URL=redis://host:port/db`` every replica counts in the same
Redis, so N replicas do not multiply a client's allowance by N. The storage is
created on first use, never at import.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

logger = logging.getLogger(__name__)

DEFAULT_STORAGE_URL = "memory://"
STORAGE_ENV = "RATE_LIMIT_STORAGE_URL"
# While the storage is down, one warning a minute says so, not one per message.
_WARN_EVERY_SECONDS = 60.0


class RateLimitConfigError(ValueError):
    """A limit or the storage URL cannot be used."""


@dataclass(frozen=True)
class LimitDecision:
    """The verdict on one hit: allowed, or refused for ``retry_after`` seconds."""

    allowed: bool
    retry_after: int = 0


ALLOWED = LimitDecision(True)


def client_address(request: Any) -> str | None:
    """The address a request's limits count against, as Sanic reports it.

    Sanic gives the proxy's forwarded address only when told to trust it
    (``SANIC_PROXIES_COUNT`` / ``SANIC_REAL_IP_HEADER``), else the peer's.
    """
    return str(request.remote_addr or request.ip or "") or None


def parse_rule(text: str) -> RateLimitItem:
    """A rule such as ``"20/minute"`` or ``"5 per hour"``.

    Raises:
        RateLimitConfigError: the text is not a rule ``limits`` understands.
    """
    try:
        return parse(text)
    except ValueError as error:
        raise RateLimitConfigError(f"not a rate limit: {text!r}") from error


class RateLimiter:
    """Fixed-window limits keyed by a namespace and an identity (conversation, address).

    Fixed windows, not moving ones: ``limits``' in-memory moving window keeps a
    lock object per event and sweeps every list every 10 ms, which under a
    busy address took about a sixth of the bot's throughput. A fixed window is
    one counter per key; it may let up to twice the rate through across a
    window boundary, which is harmless for flood protection.
    """

    def __init__(self, storage_url: str | None = None) -> None:
        """``storage_url`` defaults to ``RATE_LIMIT_STORAGE_URL`` or memory."""
        self.storage_url = storage_url or os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE_URL
        self._limiter: FixedWindowRateLimiter | None = None
        # The strategy holds its storage through a weak reference only.
        self._storage: Storage | None = None
        # The handoff service counts from worker threads.
        self._build_lock = threading.Lock()
        self._warned_at = -_WARN_EVERY_SECONDS

    @property
    def limiter(self) -> FixedWindowRateLimiter:
        """The ``limits`` strategy over the configured storage, built on first use."""
        with self._build_lock:
            if self._limiter is None:
                try:
                    self._storage = storage_from_string(self.storage_url)
                except ConfigurationError as error:
                    raise RateLimitConfigError(
                        f"{STORAGE_ENV} is not a usable storage: {error}"
                    ) from error
                self._limiter = FixedWindowRateLimiter(self._storage)
            return self._limiter

    def hit(self, rule: RateLimitItem, namespace: str, identity: str) -> LimitDecision:
        """Count one event for ``identity``; refuse it when the rule's window is full.

        A storage that cannot be reached (Redis down) lets the event through and
        logs it: a support chat that refuses every worried user because a counter
        is unavailable would do more harm than the flood it guards against.
        """
        try:
            if self.limiter.hit(rule, namespace, identity):
                return ALLOWED
            reset_at, _remaining = self.limiter.get_window_stats(rule, namespace, identity)
        except RateLimitConfigError:
            raise
        except Exception as error:  # any storage failure: fail open, and say so
            now = time.monotonic()
            if now - self._warned_at >= _WARN_EVERY_SECONDS:
                self._warned_at = now
                logger.warning(
                    "rate limit storage unavailable (%s); allowing", type(error).__name__
                )
            return ALLOWED
        # limits reports the reset truncated to a whole second, up to a second
        # early: a client that waited exactly that long would be refused again.
        # The window's length bounds the true wait from above.
        wait = min(rule.get_expiry(), math.ceil(reset_at + 1 - time.time()))
        return LimitDecision(False, max(1, wait))
