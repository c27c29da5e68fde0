"""Fixtures of the handoff service tests: databases (SQLite and PostgreSQL), services, apps."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sanic import Sanic
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from devtools.databases import DatabaseUnavailable, temporary_postgres_database
from devtools.mailbox import SmtpSink
from handoff_service.config import Settings
from handoff_service.db import make_engine, make_session_factory, upgrade
from handoff_service.models import Agent, Base
from handoff_service.services import HandoffService
from tests.handoff.helpers import (
    Api,
    FakeActivity,
    FakeClock,
    FakeNotifier,
    Workspace,
    empty_postgres_schema,
    start_api,
    start_workspace,
)

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session", autouse=True)
def sanic_test_mode() -> Iterator[None]:
    """Let several Sanic apps start in one process.

    Sanic rewrites some of its own methods when an app starts; in test mode
    it keeps the originals so the next app can be started too.
    """
    previous = Sanic.test_mode
    Sanic.test_mode = True
    yield
    Sanic.test_mode = previous


@pytest.fixture(scope="session")
def handoff_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    try:
        with temporary_postgres_database("handoff_test", POSTGRES_ADMIN_URL) as url:
            yield url
    except DatabaseUnavailable as error:
        pytest.fail(f"{error}; start it or deselect these tests with -m 'not postgres'")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database: a SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'handoff.db'}"
    return empty_postgres_schema(request.getfixturevalue("handoff_postgres_url"))


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """An engine on ``database_url`` after ``db upgrade``."""
    engine = make_engine(Settings(database_url=database_url))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_file_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file URL in a fresh folder (the folder is created by the engine)."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'state' / 'handoff.db'}"


@pytest.fixture
def api(sqlite_file_url: str) -> Iterator[Api]:
    """The service on a SQLite file, agents alice and bob, a recording notifier."""
    notifier = FakeNotifier()
    server, agents = start_api(sqlite_file_url, notifier)
    with requests.Session() as http:
        yield Api(server, agents, http, notifier)
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    """A controllable clock."""
    return FakeClock()


@pytest.fixture
def memory_session() -> Iterator[Session]:
    """A session on an in-memory SQLite database with the schema created."""
    engine = make_engine(Settings(database_url="sqlite://"))
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def service(memory_session: Session, clock: FakeClock) -> HandoffService:
    """The service on an in-memory database and a fake clock."""
    return HandoffService(memory_session, clock)


@pytest.fixture
def alice(service: HandoffService) -> Agent:
    """An agent called alice."""
    return service.add_agent("alice")[0]


@pytest.fixture
def bob(service: HandoffService) -> Agent:
    """An agent called bob."""
    return service.add_agent("bob")[0]


# ---------------------------------------------------------------- e-mail


@pytest.fixture(autouse=True)
def mail_outbox_in_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Apps built on default settings write their e-mail files to a temporary folder.

    ``Settings()`` keeps its state in ``state/`` of the working directory; without
    this, every test ticket with a contact e-mail would leave a file in the
    repository's ``state/mail``. Settings with their own state folder are unchanged.
    """
    folder = tmp_path_factory.mktemp("mail")
    original = Settings.mail_outbox_dir

    def redirected(settings: Settings) -> Path:
        if settings.mail.outbox_dir is None and settings.state_dir == Path("state"):
            return folder
        return original.fget(settings)  # type: ignore[no-any-return]

    monkeypatch.setattr(Settings, "mail_outbox_dir", property(redirected))
    return folder


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A running SMTP server that accepts everything."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()



# ---------------------------------------------------------------- the agents' workspace


@pytest.fixture
def workspace(database_url: str) -> Iterator[Workspace]:
    """The service on SQLite and on PostgreSQL: alice, bob, admin root, recorded activity."""
    notifier, activity = FakeNotifier(), FakeActivity()
    server, agents = start_workspace(database_url, notifier, activity)
    with requests.Session() as http:
        yield Workspace(server, agents, http, notifier, activity)
    server.stop()
