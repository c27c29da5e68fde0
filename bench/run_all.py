"""Run every benchmark in turn (`make bench`); each prints its own comparable figures."""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = (
    "bench.train_time",
    "bench.bot_latency",
    "bench.ticket_service",
    "bench.handoff_latency",
    "bench.backlog_recovery",
    "bench.scale_out",
    "bench.rate_limit_cost",
    "bench.secret_guard_precision",
    "bench.screenshot_screening",
    "bench.nlu_baseline",
)


def main() -> int:
    """Run the benchmarks one after the other so they never share the CPU."""
    failed = []
    for module in BENCHMARKS:
        print(f"\n===== {module} =====", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", module], check=False)
        print(f"===== {module}: exit {result.returncode}, {time.monotonic() - started:.0f} s")
        if result.returncode not in (0, 1):  # 1 = ran, but a goal was missed
            failed.append(module)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
