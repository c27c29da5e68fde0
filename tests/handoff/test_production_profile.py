"""``PROFILE=production`` as real processes: refusals, one-off migrations, several workers.

Every test runs ``python -m handoff_service`` as an operator would, against
real SQLite files and fresh PostgreSQL databases. The last group starts two
workers on a backlog queued beforehand, with a stand-in Rasa server and a real
SMTP server, and checks that every notice and every e-mail arrives exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from devtools.databases import DatabaseUnavailable, temporary_postgres_database
from devtools.mailbox import SmtpSink
from devtools.stack import free_port
from handoff_service.attachment_ids import new_attachment_id
from handoff_service.config import Settings
from handoff_service.db import head_revision, make_engine, make_session_factory, upgrade
from handoff_service.models import Attachment, Author, utc_now
from handoff_service.repository.attachments import expired_ids
from handoff_service.services import HandoffService
from tests.handoff.conftest import POSTGRES_ADMIN_URL
from tests.handoff.helpers import empty_postgres_schema, ticket_payload

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "production-profile-bot-token"
RASA_TOKEN = "production-profile-rasa-token"
# A Redis database of its own: these servers' counters never meet other tests'.
RATE_LIMITS = "redis://127.0.0.1:6379/9"
# Settings of the calling environment that would change what the command does.
_INHERITED_PREFIXES = ("HANDOFF_", "RASA_", "SMTP_", "MAIL_", "EMAIL_", "CHAT_", "ATTACHMENT_")
_INHERITED_NAMES = ("PROFILE", "RATE_LIMIT_STORAGE_URL")

pytestmark = pytest.mark.integration


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_INHERITED_PREFIXES) and key not in _INHERITED_NAMES
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        HANDOFF_STATE_DIR=str(workdir / "state"),
        # Nothing listens there unless a test says otherwise.
        RASA_URL="http://127.0.0.1:9",
    )
    env.update(extra)
    return env


def _production(database_url: str, **extra: str) -> dict[str, str]:
    """Everything production asks for, on ``database_url``."""
    return {
        "PROFILE": "production",
        "HANDOFF_DATABASE_URL": database_url,
        "HANDOFF_BOT_TOKEN": BOT_TOKEN,
        "RATE_LIMIT_STORAGE_URL": RATE_LIMITS,
        "HANDOFF_ATTACHMENT_STORE": "database",
        "RASA_AUTH_TOKEN": RASA_TOKEN,
        **extra,
    }


def _cli(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handoff_service", *args],
        cwd=workdir, env=_env(workdir, **env), capture_output=True, text=True, timeout=120,
        check=False,
    )


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


@dataclass
class Served:
    """A running ``serve`` process (its own session: its workers go with it)."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def children(self) -> list[int]:
        """The worker processes Sanic forked."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """Ctrl-C, as an operator would; killed if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def _start(workdir: Path, *args: str, **env: str) -> Served:
    """Start ``serve`` (it answers a moment later: see :func:`_healthy`)."""
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "handoff_service", "serve", "--host", "127.0.0.1",
             "--port", str(port), *args],
            cwd=workdir, env=_env(workdir, **env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Served(process, f"http://127.0.0.1:{port}", log)


def _serve(workdir: Path, *args: str, **env: str) -> Served:
    """Start ``serve`` and wait until ``/api/health`` answers 200."""
    return _healthy(_start(workdir, *args, **env))


def _healthy(served: Served) -> Served:
    """``served`` once ``/api/health`` answers 200; the test fails if it exits or never does."""
    process, log = served.process, served.log
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(served.base + "/api/health", timeout=1).status_code == 200:
                return served
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            served.stop()
            pytest.fail("serve did not answer:\n" + log.read_text())
        time.sleep(0.1)


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL database nobody has migrated, dropped afterwards."""
    try:
        with temporary_postgres_database("handoff_profile", POSTGRES_ADMIN_URL) as url:
            yield url
    except DatabaseUnavailable as error:
        pytest.fail(f"{error}; start it or deselect these tests with -m 'not postgres'")


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url, future=True)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ---------------------------------------------------------------- refusals


def test_production_on_sqlite_names_every_problem_and_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "state" / "handoff.db"
    result = _cli(tmp_path, "serve", PROFILE="production",
                  HANDOFF_DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 2, result.stderr
    assert [line.split()[1] for line in _errors(result.stderr)] == [
        "HANDOFF_DATABASE_URL", "HANDOFF_BOT_TOKEN", "RATE_LIMIT_STORAGE_URL",
        "HANDOFF_ATTACHMENT_STORE",
    ]
    # Nothing made: no database, no state folder, no generated token file.
    assert list(tmp_path.iterdir()) == []

    only_sqlite = _cli(tmp_path, "serve", **_production(f"sqlite:///{database}"))
    assert only_sqlite.returncode == 2
    (line,) = _errors(only_sqlite.stderr)
    assert "HANDOFF_DATABASE_URL points at SQLite" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_production_refuses_an_unmigrated_database_and_leaves_it_alone(
    tmp_path: Path, fresh_postgres: str
) -> None:
    result = _cli(tmp_path, "serve", **_production(fresh_postgres))
    assert result.returncode == 2, result.stderr
    (line,) = _errors(result.stderr)
    assert "run `handoff-service db upgrade` first" in line
    assert _tables(fresh_postgres) == []
    assert not (tmp_path / "state").exists()

    check = _cli(tmp_path, "db", "check", HANDOFF_DATABASE_URL=fresh_postgres)
    assert check.returncode == 1 and "db upgrade" in check.stderr


def test_production_with_an_unreachable_database_fails_without_a_traceback(
    tmp_path: Path,
) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/handoff"
    result = _cli(tmp_path, "serve", **_production(unreachable))
    assert result.returncode == 1
    (line,) = _errors(result.stderr)
    assert line.startswith("error: cannot read the database") and "Traceback" not in result.stderr
    check = _cli(tmp_path, "db", "check", HANDOFF_DATABASE_URL=unreachable)
    assert check.returncode == 1 and "cannot read the database" in check.stderr


def test_development_stays_as_it_was_for_any_other_profile(tmp_path: Path) -> None:
    database = tmp_path / "state" / "handoff.db"
    served = _serve(tmp_path, PROFILE="staging", HANDOFF_DATABASE_URL=f"sqlite:///{database}")
    try:
        # Migrated by serve, and a bot token generated, as on a laptop.
        assert database.exists() and (tmp_path / "state" / "handoff_bot_token").exists()
    finally:
        served.stop()
    check = _cli(tmp_path, "db", "check", HANDOFF_DATABASE_URL=f"sqlite:///{database}")
    assert check.returncode == 0 and head_revision() in check.stdout


def test_several_workers_on_sqlite_are_refused_in_development_too(tmp_path: Path) -> None:
    database = tmp_path / "state" / "handoff.db"
    result = _cli(tmp_path, "serve", "--workers", "2",
                  HANDOFF_DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 2
    (line,) = _errors(result.stderr)
    assert "HANDOFF_WORKERS" in line and "PostgreSQL" in line
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- migrations


@pytest.mark.postgres
def test_two_upgrades_at_once_both_succeed(tmp_path: Path, fresh_postgres: str) -> None:
    env = _env(tmp_path, HANDOFF_DATABASE_URL=fresh_postgres)
    command = [sys.executable, "-m", "handoff_service", "db", "upgrade"]
    both = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [process.communicate(timeout=120) for process in both]
    for process, (stdout, stderr) in zip(both, results, strict=True):
        assert process.returncode == 0, stderr
        assert f"at revision {head_revision()}" in stdout
    check = _cli(tmp_path, "db", "check", HANDOFF_DATABASE_URL=fresh_postgres)
    assert check.returncode == 0, check.stderr
    engine = sa.create_engine(fresh_postgres, future=True)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    finally:
        engine.dispose()
    assert [row[0] for row in versions] == [head_revision()]


# ---------------------------------------------------------------- several workers


class RecordingRasa:
    """Stands in for Rasa's ``trigger_intent``: records each call and the worker that made it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.serve_pid = 0
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sender = _process_of_client(self.client_address[1], rasa.port, rasa.serve_pid)
                # A little slower than a loopback call: deliveries overlap between workers.
                time.sleep(0.02)
                with rasa.lock:
                    rasa.calls.append({"path": self.path, "body": body, "worker": sender})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _process_of_client(client_port: int, server_port: int, parent: int) -> int | None:
    """Which child of ``parent`` holds the client end of this loopback connection (Linux)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == client_port and int(remote.split(":")[1], 16) == (
            server_port
        ):
            inode = fields[9]
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            stat = (fd_dir.parent / "stat").read_text().rsplit(")", 1)[1].split()
            descriptors = list(fd_dir.iterdir()) if int(stat[1]) == parent else []
        except OSError:
            continue  # the process ended meanwhile
        for fd in descriptors:
            try:
                if os.readlink(fd) == target:
                    return int(fd_dir.parent.name)
            except OSError:
                continue  # closed meanwhile (the worker's other connections come and go)
    return None


@dataclass
class Backlog:
    """Work queued before the workers started, and what became of it."""

    served: Served
    rasa: RecordingRasa
    mailbox: SmtpSink
    expected_notices: dict[str, list[tuple[str, Any]]]
    emails: int
    workers: list[int] = field(default_factory=list)


TICKETS = 25
REPLIES = 2


def _queue_backlog(database_url: str) -> tuple[dict[str, list[tuple[str, Any]]], int]:
    """Tickets with a contact e-mail, each claimed and answered: notices and e-mails to send."""
    engine = make_engine(Settings(database_url=database_url))
    expected: dict[str, list[tuple[str, Any]]] = {}
    try:
        with make_session_factory(engine)() as session:
            service = HandoffService(session)
            agent = service.add_agent("alice")[0]
            for i in range(TICKETS):
                cid = f"backlog-{i}"
                ticket, _ = service.create_ticket(ticket_payload(conversation_id=cid))
                service.claim(ticket.ref, agent)
                expected[cid] = [("agent_joined", None)]
                for n in range(REPLIES):
                    message = service.add_agent_message(ticket.ref, agent, f"reply {n}")
                    expected[cid].append(("agent_message", message.id))
    finally:
        engine.dispose()
    return expected, TICKETS


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backlog]:
    """Two production workers started on a migrated database with work already waiting."""
    workdir = tmp_path_factory.mktemp("workers")
    try:
        with temporary_postgres_database("handoff_workers", POSTGRES_ADMIN_URL) as url:
            upgraded = _cli(workdir, "db", "upgrade", HANDOFF_DATABASE_URL=url)
            assert upgraded.returncode == 0, upgraded.stderr
            expected, emails = _queue_backlog(url)
            rasa, mailbox = RecordingRasa(), SmtpSink().start()
            env = _production(
                url, RASA_URL=rasa.url, HANDOFF_NOTIFY_POLL_MS="50", SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(mailbox.port), SMTP_SECURITY="none",
                MAIL_FROM="support@wallet.example", HANDOFF_WORKERS="2",
            )
            served = _start(workdir, **env)
            # Known before the workers are forked, so every delivery names its worker.
            rasa.serve_pid = served.process.pid
            try:
                _healthy(served)
                yield Backlog(served, rasa, mailbox, expected, emails, served.children())
            finally:
                served.stop()
                rasa.stop()
                mailbox.stop()
    except DatabaseUnavailable as error:
        pytest.fail(f"{error}; start it or deselect these tests with -m 'not postgres'")


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.postgres
def test_two_workers_serve_after_db_upgrade(backlog: Backlog) -> None:
    assert len(backlog.workers) == 2
    health = requests.get(backlog.served.base + "/api/health", timeout=5)
    assert health.json() == {"status": "ok", "database": "ok"}
    # serve did not migrate and said nothing about a generated token.
    log = backlog.served.log.read_text()
    assert "handoff_bot_token" not in log and "error:" not in log


@pytest.mark.postgres
def test_every_notice_reaches_rasa_once_in_order(backlog: Backlog) -> None:
    total = sum(len(notices) for notices in backlog.expected_notices.values())
    _wait_for(lambda: len(backlog.rasa.calls) >= total, 60, f"{total} notices")
    time.sleep(1.0)  # anything delivered twice would arrive by now
    calls = list(backlog.rasa.calls)
    ids = [call["body"]["entities"]["notification_id"] for call in calls]
    assert len(ids) == len(set(ids)) == total
    got: dict[str, list[tuple[str, Any]]] = {}
    for call in calls:
        cid = call["path"].split("/")[2]
        got.setdefault(cid, []).append(
            (call["body"]["name"], call["body"]["entities"].get("message_id"))
        )
    assert got == backlog.expected_notices
    # The two workers shared the backlog (a delivery whose sender /proc could
    # not name, e.g. a connection closed under the lookup, counts for neither).
    senders = [call["worker"] for call in calls]
    assert set(senders) - {None} == set(backlog.workers), senders
    assert senders.count(None) < len(senders) / 2


@pytest.mark.postgres
def test_every_email_is_sent_once(backlog: Backlog) -> None:
    mailbox = backlog.mailbox
    _wait_for(lambda: len(mailbox.received) >= backlog.emails, 60, "the confirmations")
    time.sleep(1.0)
    ids = [mail.message["Message-ID"] for mail in mailbox.received]
    assert len(ids) == len(set(ids)) == backlog.emails
    assert mailbox.rcpt_attempts == backlog.emails


@pytest.mark.postgres
def test_two_retention_rounds_at_once_take_different_screenshots(
    handoff_postgres_url: str,
) -> None:
    engine = make_engine(Settings(database_url=empty_postgres_schema(handoff_postgres_url)))
    upgrade(engine)
    sessions = make_session_factory(engine)
    long_ago = utc_now() - timedelta(days=400)
    try:
        with sessions() as session:
            service = HandoffService(session)
            ticket, _ = service.create_ticket(ticket_payload(conversation_id="retained"))
            for _ in range(6):
                session.add(Attachment(
                    id=new_attachment_id(), conversation_id="retained", ticket_id=ticket.id,
                    author=Author.USER, mime="image/png", thumbnail_mime="image/jpeg", width=1,
                    height=1, size_bytes=1, sha256="0" * 64, text="", created_at=long_ago,
                ))
            session.commit()
        # Two workers' rounds in flight together: the second passes the first's
        # batch by instead of waiting for it (or deleting the same rows).
        with sessions() as first, sessions() as second:
            taken = expired_ids(first, utc_now(), 4)
            rest = expired_ids(second, utc_now(), 4)
            assert len(taken) == 4 and len(rest) == 2
            assert not set(taken) & set(rest)
    finally:
        engine.dispose()
