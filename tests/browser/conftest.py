"""Browser tests: each test's outcome is kept on its item so fixtures can screenshot failures."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Store the setup/call/teardown reports as ``item.rep_<when>``."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
