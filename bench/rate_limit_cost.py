"""What the chat channel's flood guard costs per user message, in memory and in Redis.

Each message costs two counter hits (its conversation, its client address), as
in ``addons.channels.flood``. Messages are paced at a busy server's rate and
the process's CPU time is measured, so work the limiter does in background
threads (expiring old counts) is counted too. Prints
``rate_limit_cost storage=... cpu_us_per_message=... wall_us_per_message=...``.
The figure to compare with is the bot's own time per message
(``bench.bot_latency``: about 15-20 ms at p50 on the development machine).
"""

from __future__ import annotations

import sys
import time
import uuid

from addons.channels.flood import ChatFloodGuard, ChatQuotas
from bench.measure import machine
from support_core.rate_limits import RateLimiter, parse_rule

MESSAGES = 3000
CONVERSATIONS = 300
RATE_PER_S = 300.0
REDIS_URL = "redis://127.0.0.1:6379/7"


def cost_per_message(storage_url: str) -> tuple[float, float]:
    """CPU seconds and wall seconds spent in the guard per message, at ``RATE_PER_S``."""
    quotas = ChatQuotas(
        parse_rule("1000000/minute"), parse_rule("1000000/minute"), parse_rule("1000/hour")
    )
    guard = ChatFloodGuard(quotas, RateLimiter(storage_url))
    prefix = uuid.uuid4().hex[:8]
    conversations = [f"{prefix}-{i}" for i in range(CONVERSATIONS)]
    guard.message(conversations[0], "10.0.0.1")  # storage connected before timing
    cpu_started, wall_in_guard = time.process_time(), 0.0
    next_at = time.perf_counter()
    for i in range(MESSAGES):
        started = time.perf_counter()
        assert guard.message(conversations[i % CONVERSATIONS], "10.0.0.1").allowed
        wall_in_guard += time.perf_counter() - started
        next_at += 1.0 / RATE_PER_S
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return (time.process_time() - cpu_started) / MESSAGES, wall_in_guard / MESSAGES


def main() -> int:
    """Measure both storages; exit 0 (the figure is reported, there is no goal to miss)."""
    print(machine())
    for name, url in (("memory", "memory://"), ("redis", REDIS_URL)):
        try:
            cpu, wall = cost_per_message(url)
        except Exception as error:  # a missing Redis is reported, not fatal
            print(f"rate_limit_cost storage={name} unavailable={type(error).__name__}")
            continue
        print(
            f"rate_limit_cost storage={name} cpu_us_per_message={cpu * 1e6:.0f} "
            f"wall_us_per_message={wall * 1e6:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
