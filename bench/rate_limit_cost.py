"""What the chat channel's flood guard costs per user message, in memory and in Redis.

Each message costs two counter hits (its conversation, its client address), as
in ``addons.channels.flood``. Prints ``rate_limit_cost storage=... per_message_us=...``
(median of five rounds of 2,000 messages over 200 conversations). The figure to
compare with is the bot's own time per message (``bench.bot_latency``, about
12 ms at p50).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

from addons.channels.flood import ChatFloodGuard, ChatQuotas
from bench.measure import machine
from support_core.rate_limits import RateLimiter, parse_rule

MESSAGES = 2000
CONVERSATIONS = 200
ROUNDS = 5
REDIS_URL = "redis://127.0.0.1:6379/7"


def per_message_seconds(storage_url: str) -> float:
    """Median seconds per message over ``ROUNDS`` rounds (fresh keys each round)."""
    quotas = ChatQuotas(
        parse_rule("1000000/minute"), parse_rule("1000000/minute"), parse_rule("1000/hour")
    )
    guard = ChatFloodGuard(quotas, RateLimiter(storage_url))
    rounds = []
    for _ in range(ROUNDS):
        prefix = uuid.uuid4().hex[:8]
        conversations = [f"{prefix}-{i}" for i in range(CONVERSATIONS)]
        started = time.perf_counter()
        for i in range(MESSAGES):
            decision = guard.message(conversations[i % CONVERSATIONS], f"10.0.{i % 7}.1")
            assert decision.allowed
        rounds.append((time.perf_counter() - started) / MESSAGES)
    return statistics.median(rounds)


def main() -> int:
    """Measure both storages; exit 0 (there is no goal to miss: the figure is reported)."""
    print(machine())
    for name, url in (("memory", "memory://"), ("redis", REDIS_URL)):
        try:
            seconds = per_message_seconds(url)
        except Exception as error:  # a missing Redis is reported, not fatal
            print(f"rate_limit_cost storage={name} unavailable={type(error).__name__}")
            continue
        print(f"rate_limit_cost storage={name} per_message_us={seconds * 1e6:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
