"""Fixtures of the maintainers' tool tests: stores in tmp files, a copy of the project data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.stack import ROOT
from support_bot.common.project import Project
from tests.maintainers.helpers import HandoffDB, TrackerDB


@pytest.fixture()
def tracker_db(tmp_path: Path) -> Iterator[TrackerDB]:
    """An empty tracker store (Rasa's events table) in a SQLite file."""
    db = TrackerDB(f"sqlite:///{tmp_path / 'tracker.db'}")
    yield db
    db.close()


@pytest.fixture()
def handoff_db(tmp_path: Path) -> Iterator[HandoffDB]:
    """The handoff service's database, migrated, in a SQLite file."""
    db = HandoffDB(f"sqlite:///{tmp_path / 'handoff.db'}")
    yield db
    db.close()


def copy_project(target: Path, *, models: bool = False) -> Project:
    """A copy of what the NLU needs: domain, data, evaluation split (and configs, models)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.yml", "credentials.yml", "endpoints.yml"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "domain", target / "domain")
    shutil.copytree(ROOT / "data", target / "data")
    shutil.copytree(ROOT / "tests" / "nlu_eval", target / "tests" / "nlu_eval")
    if models:
        (target / "models").mkdir()
        shutil.copy2(ROOT / "models" / "current.tar.gz", target / "models" / "current.tar.gz")
    return Project.at(target)


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    """A copy of the project's NLU data; tests change it freely."""
    return copy_project(tmp_path / "project")
