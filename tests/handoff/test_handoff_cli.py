"""The ``handoff-service`` command line, run as real processes (``python -m handoff_service``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from devtools.stack import free_port
from handoff_service.cli import ensure_bot_token, ensure_state_dir
from handoff_service.config import Settings
from handoff_service.db import head_revision, make_engine
from tests.handoff.helpers import ticket_payload

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("HANDOFF_", "RASA_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        HANDOFF_DATABASE_URL=f"sqlite:///{workdir / 'state' / 'handoff.db'}",
        HANDOFF_STATE_DIR=str(workdir / "state"),
        # Nothing listens there: notifications fail fast and are audited.
        RASA_URL="http://127.0.0.1:9",
    )
    env.update(extra)
    return env


def _cli(workdir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handoff_service", *args],
        cwd=workdir,
        env=_env(workdir, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working folder for the command (its state/ goes there)."""
    return tmp_path


def test_agent_add_prints_a_token_once_and_names_are_unique(workdir: Path) -> None:
    before = _cli(workdir, "agent", "add", "alice")
    assert before.returncode == 1 and "db upgrade" in before.stderr

    upgraded = _cli(workdir, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"at revision {head_revision()}" in upgraded.stdout

    added = _cli(workdir, "agent", "add", "alice")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token

    again = _cli(workdir, "agent", "add", "alice")
    assert again.returncode == 1 and "already exists" in again.stderr
    listed = _cli(workdir, "agent", "list")
    assert listed.returncode == 0 and listed.stdout.startswith("alice\tactive")
    assert token not in listed.stdout
    assert token not in (workdir / "state" / "handoff.db").read_bytes().decode("latin-1")


def test_bad_settings_exit_with_a_usage_error(workdir: Path) -> None:
    result = _cli(workdir, "db", "upgrade", HANDOFF_PORT="eighty")
    assert result.returncode == 2 and "HANDOFF_PORT" in result.stderr


@pytest.fixture
def served(workdir: Path) -> Iterator[tuple[str, str]]:
    """A real ``serve`` process with agent alice; yields (base URL, alice's token)."""
    assert _cli(workdir, "db", "upgrade").returncode == 0
    token = _cli(workdir, "agent", "add", "alice").stdout.strip().splitlines()[-1]
    port = free_port()
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "handoff_service", "serve", "--host", "127.0.0.1"],
        cwd=workdir,
        env=_env(workdir, HANDOFF_PORT=str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail("serve exited:\n" + (workdir / "serve.log").read_text())
            try:
                if requests.get(base + "/api/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("serve did not answer:\n" + (workdir / "serve.log").read_text())
            time.sleep(0.1)
        yield base, token
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def test_served_app_end_to_end(served: tuple[str, str], workdir: Path) -> None:
    base, token = served
    agent = {"Authorization": f"Bearer {token}"}
    assert requests.get(base + "/api/me", headers=agent, timeout=5).json()["name"] == "alice"
    wrong = requests.get(base + "/api/me", headers={"Authorization": "Bearer x"}, timeout=5)
    assert wrong.status_code == 401

    # No HANDOFF_BOT_TOKEN in the environment: serve generated one and said where.
    token_file = workdir / "state" / "handoff_bot_token"
    assert str(token_file) in (workdir / "serve.log").read_text()
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert (workdir / "state").stat().st_mode & 0o777 == 0o700
    bot = {"Authorization": f"Bearer {token_file.read_text().strip()}"}

    created = requests.post(
        base + "/api/tickets",
        json=ticket_payload(category="security", escalation_reason="security"),
        headers={**bot, "Idempotency-Key": "c1:m1"},
        timeout=5,
    )
    assert created.status_code == 201
    ref = created.json()["ref"]
    assert created.json()["priority"] == "urgent"
    claim = requests.post(f"{base}/api/tickets/{ref}/claim", headers=agent, timeout=5)
    assert claim.status_code == 200
    reply = requests.post(
        f"{base}/api/tickets/{ref}/messages",
        json={"text": "Freeze the wallet."},
        headers=agent,
        timeout=5,
    )
    assert reply.status_code == 201
    queue = requests.get(base + "/api/tickets", headers=agent, timeout=5).json()
    assert [t["ref"] for t in queue["tickets"]] == [ref]
    log = (workdir / "serve.log").read_text()
    assert "Freeze the wallet" not in log


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away: only the modes the code asks for protect files."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_serve_makes_its_state_folder_and_token_file_owner_only(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "deep" / "state")
    with_token, token_file = ensure_bot_token(settings)
    assert token_file == settings.bot_token_file
    assert with_token.bot_token and token_file.read_text().strip() == with_token.bot_token
    assert settings.state_dir.stat().st_mode & 0o777 == 0o700
    assert token_file.stat().st_mode & 0o777 == 0o600
    # The next start reads the same token back.
    assert ensure_bot_token(settings)[0].bot_token == with_token.bot_token
    # An empty token file left behind is replaced by a fresh owner-only one.
    token_file.unlink()
    token_file.touch(mode=0o666)
    renewed, _ = ensure_bot_token(settings)
    assert renewed.bot_token and renewed.bot_token != with_token.bot_token
    assert token_file.stat().st_mode & 0o777 == 0o600
    # A configured token writes nothing.
    assert ensure_bot_token(replace(settings, bot_token="given")) == (
        replace(settings, bot_token="given"),
        None,
    )


@pytest.mark.usefixtures("open_umask")
def test_the_state_folder_and_the_database_folder_are_owner_only(tmp_path: Path) -> None:
    state = ensure_state_dir(Settings(state_dir=tmp_path / "state"))
    assert state.stat().st_mode & 0o777 == 0o700
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'db' / 'handoff.db'}"))
    engine.dispose()
    assert (tmp_path / "db").stat().st_mode & 0o777 == 0o700
