"""Run this virtual environment's ``rasa`` command line in a project folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from support_bot.common.errors import RasaCommandFailed

QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONUNBUFFERED": "1",
}
TAIL_LINES = 40
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def rasa_executable() -> Path:
    """The ``rasa`` script installed beside the running Python."""
    return Path(sys.executable).parent / "rasa"


def log_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-blank lines of the log at ``path``, without colour codes."""
    if not path.exists():
        return ""
    text = _ANSI_RE.sub("", path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def run_rasa(
    args: Sequence[str], cwd: Path, log_path: Path, timeout: float | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``rasa *args`` in ``cwd`` with its output in ``log_path``.

    Raises:
        RasaCommandFailed: rasa exited with a non-zero code or did not finish in time.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [str(rasa_executable()), *args]
    shown = "rasa " + " ".join(args)
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                env={**os.environ, **QUIET_ENV},
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RasaCommandFailed(shown, -1, log_tail(log_path)) from None
    if result.returncode != 0:
        raise RasaCommandFailed(shown, result.returncode, log_tail(log_path))
    return result
