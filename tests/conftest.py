"""Shared fixtures: the model trained once per run (by `make test`) and the running assistant."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from devtools.agent_client import AgentClient
from devtools.databases import DatabaseUnavailable, temporary_postgres_database
from devtools.mailbox import SmtpSink
from devtools.stack import DEFAULT_MODEL, QUIET_ENV, ROOT, Stack, running_stack


def rasa_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the rasa command line of this venv in the project root."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), *args],
        cwd=ROOT, env={**os.environ, **QUIET_ENV}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model `make test` trained (once per run, shared by every test)."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no model at {DEFAULT_MODEL}: run the tests with `make test`")
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa + action server on free ports, tracker store in a fresh SQLite file."""
    with running_stack(tmp_path_factory.mktemp("stack"), trained_model) as running:
        yield running


@pytest.fixture(scope="session")
def stack_mailbox() -> Iterator[SmtpSink]:
    """The SMTP server the shared handoff stack sends its e-mails to."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def handoff_stack(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, stack_mailbox: SmtpSink
) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service, shared by the live-handoff and
    security tests (started once per run)."""
    env = {
        # The wallet app's key for its users' tokens (tests sign them as the app would).
        "CHAT_APP_JWT_SECRET": secrets.token_urlsafe(32),
        # E-mails go to a real local SMTP server; unseen replies after the shortest delay.
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(stack_mailbox.port),
        "SMTP_SECURITY": "none",
        "MAIL_FROM": "support@wallet.example",
        "EMAIL_REPLY_DELAY_S": "10",
    }
    with running_stack(
        tmp_path_factory.mktemp("handoff-stack"), trained_model, handoff=True, env=env
    ) as running:
        yield running


@pytest.fixture(scope="session")
def bot(handoff_stack: Stack) -> Iterator[AgentClient]:
    """The handoff service's API with the action server's bot token (conversation lookups)."""
    assert handoff_stack.handoff_url is not None and handoff_stack.handoff_bot_token
    client = AgentClient(handoff_stack.handoff_url, handoff_stack.handoff_bot_token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    try:
        with temporary_postgres_database("wallet_support_test") as url:
            yield url
    except DatabaseUnavailable as error:
        pytest.fail(f"{error}; start it or deselect these tests with -m 'not postgres'")


def new_sender() -> str:
    """A conversation id nobody used before."""
    return f"test-{uuid.uuid4().hex[:12]}"


def stored_events(tracker_store_url: str, sender: str) -> list[str]:
    """The raw JSON of every event Rasa stored for ``sender``."""
    engine = sa.create_engine(tracker_store_url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()
