"""What every benchmark needs: percentiles and a description of the machine."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (linear interpolation between ranks)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, to judge how quiet the machine was."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    """Cores, CPU model, total memory and load of this machine, as one line."""
    cores = len(os.sched_getaffinity(0))
    cpu = platform.processor() or "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return (
        f"machine nproc={cores} cpu={cpu!r} mem_total={memory} "
        f"python={platform.python_version()} load_avg={load_average()}"
    )
