"""How long a full training of the assistant takes (goal: 120 s on 2 cores)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.stack import QUIET_ENV, ROOT

GOAL_SECONDS = 120.0


def main() -> int:
    """Train from scratch into a temporary folder (no cache) and print the wall time."""
    rasa = Path(sys.executable).parent / "rasa"
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, **QUIET_ENV}
        started = time.monotonic()
        subprocess.run(
            [str(rasa), "train", "--domain", "domain", "--out", out, "--fixed-model-name",
             "bench", "--force", "--quiet"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        seconds = time.monotonic() - started
    print(f"machine nproc={os.cpu_count()}")
    print(f"train full_training_s={seconds:.1f} goal_s={GOAL_SECONDS:.0f} "
          f"met={'yes' if seconds <= GOAL_SECONDS else 'no'}")
    return 0 if seconds <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
