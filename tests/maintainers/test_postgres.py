"""The production profile: tracker store and tickets in PostgreSQL give the same export
and the same report as SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from devtools.databases import DatabaseUnavailable, temporary_postgres_database
from support_bot.common.project import Project
from tests.maintainers import test_export, test_report
from tests.maintainers.helpers import HandoffDB, TrackerDB

pytestmark = pytest.mark.postgres


@pytest.fixture()
def new_database() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL databases; drops them after the test."""
    with ExitStack() as databases:

        def make() -> str:
            try:
                return databases.enter_context(temporary_postgres_database("support_bot_test"))
            except DatabaseUnavailable as error:
                pytest.fail(f"{error}; deselect these tests with -m 'not postgres'")

        yield make


def _stores(urls: tuple[str, str]) -> tuple[TrackerDB, HandoffDB]:
    return TrackerDB(urls[0]), HandoffDB(urls[1])


def test_export_reads_postgresql_like_sqlite(
    project: Project, tmp_path: Path, new_database: Callable[[], str]
) -> None:
    results = []
    for name, urls in (
        ("sqlite", (f"sqlite:///{tmp_path / 't.db'}", f"sqlite:///{tmp_path / 'h.db'}")),
        ("postgresql", (new_database(), new_database())),
    ):
        tracker, handoff = _stores(urls)
        try:
            test_export._build_conversations(tracker, handoff)
            out = tmp_path / f"{name}.yml"
            test_export._export(project, tracker, handoff.url, out)
            results.append(test_export._examples(out))
        finally:
            tracker.close()
            handoff.close()
    assert results[0] == results[1]
    assert len(results[1]) == 5


def test_report_on_postgresql_gives_the_same_numbers(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    reports = []
    for name, urls in (
        ("sqlite", (f"sqlite:///{tmp_path / 't.db'}", f"sqlite:///{tmp_path / 'h.db'}")),
        ("postgresql", (new_database(), new_database())),
    ):
        tracker, handoff = _stores(urls)
        try:
            test_report._build(tracker, handoff)
            data, _ = test_report._report(tracker, handoff.url, tmp_path / name)
            reports.append(data)
        finally:
            tracker.close()
            handoff.close()
    assert reports[0] == reports[1]
    assert reports[1].all.conversations == 6
