"""Where things live in a project folder (the repository, or a copy of it in tests)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

TRACKER_STORE_URL_ENV = "TRACKER_STORE_URL"
DEFAULT_TRACKER_STORE_URL = "sqlite:///state/tracker.db"
HANDOFF_DATABASE_URL_ENV = "HANDOFF_DATABASE_URL"
DEFAULT_HANDOFF_DATABASE_URL = "sqlite:///state/handoff.db"


def repository_root() -> Path:
    """The folder this package was installed from (editable install: the repository)."""
    # This file is support_bot/common/project.py: the repository is three levels up.
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Project:
    """The paths of one Rasa project; every command works inside one."""

    root: Path

    @classmethod
    def at(cls, root: str | Path | None) -> Project:
        """The project in ``root``, or the repository when ``root`` is ``None``."""
        return cls(Path(root).resolve() if root is not None else repository_root())

    @property
    def nlu_dir(self) -> Path:
        """Training examples, one file per topic."""
        return self.root / "data" / "nlu"

    @property
    def eval_dir(self) -> Path:
        """The held-out evaluation split (never trained on)."""
        return self.root / "tests" / "nlu_eval"

    @property
    def domain(self) -> Path:
        """The domain file (or folder)."""
        return self.root / "domain"

    @property
    def models_dir(self) -> Path:
        """Trained models."""
        return self.root / "models"

    @property
    def current_model(self) -> Path:
        """The promoted model the assistant runs."""
        return self.models_dir / "current.tar.gz"

    @property
    def previous_model(self) -> Path:
        """The model that was promoted before the current one."""
        return self.models_dir / "previous.tar.gz"

    @property
    def candidates_dir(self) -> Path:
        """Models trained by ``retrain`` and not (yet) promoted."""
        return self.models_dir / "candidates"

    @property
    def reports_dir(self) -> Path:
        """Evaluation and conversation reports."""
        return self.root / "reports"

    def path(self, value: str | Path) -> Path:
        """``value`` as an absolute path; relative paths are taken from the project root."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    def database_url(self, url: str) -> str:
        """``url`` with a relative SQLite file made absolute against the project root."""
        parsed = make_url(url)
        database = parsed.database or ""
        if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
            return url
        if database.startswith("file:") or os.path.isabs(database):
            return url
        return parsed.set(database=str(self.root / database)).render_as_string(hide_password=False)


def tracker_store_url(explicit: str | None) -> str:
    """The tracker store URL: the option, then ``TRACKER_STORE_URL``, then the local file."""
    return explicit or os.environ.get(TRACKER_STORE_URL_ENV) or DEFAULT_TRACKER_STORE_URL


def handoff_database_url(explicit: str | None) -> str:
    """The handoff database URL: the option, then ``HANDOFF_DATABASE_URL``, then the local file."""
    return explicit or os.environ.get(HANDOFF_DATABASE_URL_ENV) or DEFAULT_HANDOFF_DATABASE_URL


def safe_url(url: str) -> str:
    """``url`` for printing: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
