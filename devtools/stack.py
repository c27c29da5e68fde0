"""Start the assistant's real processes (Rasa, action server, handoff service) on free ports.

Used by the integration tests and the benchmarks, so both exercise exactly
what `make run` starts: the command lines come from :mod:`devtools.processes`.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from addons.channels.sessions import SessionIssuer
from devtools.processes import (
    BIN,
    DEFAULT_MODEL,
    ROOT,
    actions_command,
    handoff_command,
    rasa_command,
    rasa_run_arguments,
)

__all__ = [
    "BIN", "DEFAULT_MODEL", "QUIET_ENV", "ROOT", "Process", "ProcessFailed", "Stack",
    "free_port", "rasa_run_arguments", "running_stack", "start_process", "wait_until_ready",
    "write_endpoints",
]

# The canned replies the service ships; every stack imports them, as `make run` does.
CANNED_REPLIES = ROOT / "handoff_service" / "canned_replies.yml"

QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONUNBUFFERED": "1",
}


class ProcessFailed(RuntimeError):
    """A process exited or did not become ready in time."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A started child process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, kill: bool = False) -> None:
        """Stop the process group (Rasa starts helpers of its own); ``kill``: no grace."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL if kill else signal.SIGTERM)
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        except ProcessLookupError:
            pass


def start_process(
    name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> Process:
    """Start ``args`` in its own process group, output to ``log_dir/name.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    merged = {**os.environ, **QUIET_ENV, **(env or {})}
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            args, cwd=cwd, env=merged, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(name, popen, log_path)


def wait_until_ready(process: Process, url: str, timeout: float = 180.0) -> None:
    """Poll ``url`` until it answers 200; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise ProcessFailed(f"{process.name} exited early:\n{process.log()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise ProcessFailed(f"{process.name} not ready after {timeout}s:\n{process.log()[-3000:]}")


@dataclass
class Stack:
    """URLs and handles of a running assistant."""

    rasa_url: str
    actions_url: str
    auth_token: str
    workdir: Path
    tracker_store_url: str
    processes: list[Process] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    handoff_url: str | None = None
    handoff_bot_token: str | None = None
    handoff_database_url: str | None = None
    handoff_port: int | None = None
    session_secret: str = ""
    # What :meth:`restart` needs to start Rasa and the action server again.
    model: Path | None = None
    endpoints: Path | None = None

    def process(self, name: str) -> Process:
        """The running process called ``name`` ("rasa", "actions", "handoff")."""
        return next(p for p in self.processes if p.name == name)

    def run_handoff_cli(self, *args: str) -> str:
        """Run ``handoff-service ARGS`` against this stack's database; its standard output."""
        result = subprocess.run(
            [sys.executable, "-m", "handoff_service", *args],
            cwd=ROOT, env={**os.environ, **QUIET_ENV, **self.extra_env},
            capture_output=True, text=True, check=True, timeout=60,
        )
        return result.stdout

    def add_agent(self, name: str, role: str = "agent") -> str:
        """Create a support agent (``role="admin"`` for an admin) in the handoff service's
        database; return its token."""
        output = self.run_handoff_cli("agent", "add", name, "--role", role)
        return output.strip().splitlines()[-1].split()[-1]

    def start_handoff(self) -> Process:
        """(Re)start the handoff service on its port, e.g. after a test stopped it."""
        if self.handoff_port is None:
            raise ProcessFailed("this stack has no handoff service")
        process = start_process("handoff", handoff_command(), self.workdir, self.extra_env)
        self.processes = [p for p in self.processes if p.name != "handoff"] + [process]
        wait_until_ready(process, f"{self.handoff_url}/api/health", timeout=60)
        # The default canned replies, as `make run` has them (adds only the missing ones).
        self.run_handoff_cli("canned", "import", str(CANNED_REPLIES))
        return process

    def restart(self, name: str) -> Process:
        """Start process ``name`` again on its port (after a test stopped or killed it)."""
        if name == "handoff":
            return self.start_handoff()
        old = self.process(name)
        old.stop()
        if name == "actions":
            port = int(self.actions_url.rsplit(":", 1)[1])
            process = start_process("actions", actions_command(port), self.workdir, self.extra_env)
            ready = f"{self.actions_url}/health"
        elif name == "rasa" and self.model is not None and self.endpoints is not None:
            port = int(self.rasa_url.rsplit(":", 1)[1])
            process = start_process(
                "rasa", rasa_command(self.model, port, self.endpoints), self.workdir,
                self.extra_env,
            )
            ready = f"{self.rasa_url}/status?token={self.auth_token}"
        else:
            raise ProcessFailed(f"cannot restart {name!r}")
        self.processes = [p for p in self.processes if p.name != name] + [process]
        wait_until_ready(process, ready)
        return process

    @property
    def rest_webhook(self) -> str:
        """The REST channel's webhook."""
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def session_token(self, sender: str, app_user_id: str | None = None) -> str:
        """A session token for conversation ``sender``, signed as the channel signs them.

        The tests hold the server's secret, as the deployment does; a browser
        only ever gets a token the server issued for a conversation it chose.
        """
        return SessionIssuer(self.session_secret).issue(sender, app_user_id).token

    def post(self, sender: str, message: object, timeout: float = 30) -> requests.Response:
        """POST one message body to the REST webhook as conversation ``sender``."""
        return requests.post(
            self.rest_webhook, json={"sender": sender, "message": message}, timeout=timeout,
            headers={"Authorization": f"Bearer {self.session_token(sender)}"},
        )

    def send(self, sender: str, text: str, timeout: float = 30) -> list[dict]:
        """Send a message over the REST channel as conversation ``sender``; the bot's answers."""
        response = self.post(sender, text, timeout)
        response.raise_for_status()
        return list(response.json())

    def tracker(self, sender: str) -> dict:
        """The conversation as Rasa's HTTP API returns it."""
        response = requests.get(
            f"{self.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.auth_token}, timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        """Stop every process, newest first."""
        for process in reversed(self.processes):
            process.stop()


def write_endpoints(path: Path, actions_port: int, profile: str = "default") -> Path:
    """An endpoints file pointing at the given action server port.

    ``profile="production"`` uses the Redis lock store at 127.0.0.1:6379, as
    endpoints.production.yml does.
    """
    lock_store = (
        "lock_store:\n  type: addons.lock_store.RenewingRedisLockStore\n  url: 127.0.0.1\n"
        "  port: 6379\n  db: 1\n"
        if profile == "production"
        else "lock_store:\n  type: in_memory\n"
    )
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
        "tracker_store:\n  type: addons.tracker_store.UrlSQLTrackerStore\n" + lock_store
    )
    return path


@contextmanager
def running_stack(
    workdir: Path,
    model: Path = DEFAULT_MODEL,
    tracker_store_url: str | None = None,
    env: dict[str, str] | None = None,
    handoff: bool = False,
    handoff_database_url: str | None = None,
    profile: str = "default",
) -> Iterator[Stack]:
    """Start the action server and Rasa (REST + socket.io), and with ``handoff`` the
    handoff service; stop them all afterwards."""
    if not model.exists():
        raise ProcessFailed(f"no trained model at {model}: run `make train`")
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = free_port(), free_port()
    token = secrets.token_urlsafe(16)
    session_secret = secrets.token_urlsafe(32)
    tracker_url = tracker_store_url or f"sqlite:///{workdir / 'tracker.db'}"
    handoff_port = free_port()
    handoff_db = handoff_database_url or f"sqlite:///{workdir / 'handoff.db'}"
    run_env = {
        "TRACKER_STORE_URL": tracker_url,
        "RASA_AUTH_TOKEN": token,
        "OUTBOX_PATH": str(workdir / "outbox.db"),
        # Also where the service would be when it is not started (it is then down).
        "HANDOFF_URL": f"http://127.0.0.1:{handoff_port}",
        "HANDOFF_BOT_TOKEN": secrets.token_urlsafe(16),
        "HANDOFF_DATABASE_URL": handoff_db,
        "HANDOFF_HOST": "127.0.0.1",
        "HANDOFF_PORT": str(handoff_port),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "CHAT_SESSION_SECRET": session_secret,
        "CHAT_ALLOWED_ORIGINS": f"http://127.0.0.1:{handoff_port} http://localhost:{handoff_port}",
        # Every test and benchmark client comes from 127.0.0.1 and many send faster
        # than a person: the quotas are raised here and tested where they are the point.
        "CHAT_MESSAGES_PER_CONVERSATION": "60/minute",
        "CHAT_MESSAGES_PER_ADDRESS": "100000/minute",
        "CHAT_SESSIONS_PER_ADDRESS": "100000/hour",
        "HANDOFF_TICKETS_PER_HOUR": "1000",
        "HANDOFF_ANON_CALLS_PER_MINUTE": "100000",
        "HANDOFF_AGENT_CALLS_PER_MINUTE": "100000",
        # The browser tests embed the widget in a page of this made-up host.
        "WIDGET_FRAME_ANCESTORS": "'self' http://wallet.localhost",
        # A restarted Rasa gets its backlog within a second or two rather than five.
        "HANDOFF_NOTIFY_MAX_BACKOFF_S": "2",
        # Both servers listen on the loopback only, as `make run` has them.
        "RASA_HOST": "127.0.0.1",
        "SANIC_HOST": "127.0.0.1",
        **(env or {}),
    }
    endpoints = write_endpoints(workdir / "endpoints.yml", actions_port, profile)
    stack = Stack(
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        actions_url=f"http://127.0.0.1:{actions_port}",
        auth_token=token,
        workdir=workdir,
        tracker_store_url=tracker_url,
        extra_env=run_env,
        handoff_url=run_env["HANDOFF_URL"],
        handoff_bot_token=run_env["HANDOFF_BOT_TOKEN"],
        handoff_database_url=handoff_db,
        handoff_port=handoff_port,
        session_secret=run_env["CHAT_SESSION_SECRET"],
        model=model,
        endpoints=endpoints,
    )
    try:
        if handoff:
            stack.start_handoff()
        actions = start_process("actions", actions_command(actions_port), workdir, run_env)
        stack.processes.append(actions)
        rasa = start_process("rasa", rasa_command(model, rasa_port, endpoints), workdir, run_env)
        stack.processes.append(rasa)
        wait_until_ready(actions, f"{stack.actions_url}/health")
        wait_until_ready(rasa, f"{stack.rasa_url}/status?token={token}")
        yield stack
    finally:
        stack.stop()
