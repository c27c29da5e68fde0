"""How the commands report progress: one line at a time, through a function the caller
chooses (``print`` on the command line, a collector in tests)."""

from __future__ import annotations

from collections.abc import Callable

Printer = Callable[[str], None]
