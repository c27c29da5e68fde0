"""Start the production topology (:mod:`devtools.topology`) for tests and benchmarks.

Each process is started on its own (not under supervisord) so that a test can
kill one replica and start it again. The databases are fresh PostgreSQL ones,
dropped afterwards; Redis is the machine's, with this run's own socket.io
channel and lock-key prefix.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from addons.channels.sessions import SessionIssuer
from devtools.databases import temporary_postgres_database
from devtools.processes import DEFAULT_MODEL, ROOT, Program
from devtools.stack import (
    QUIET_ENV,
    Process,
    ProcessFailed,
    start_process,
    wait_until_ready,
)
from devtools.topology import Ports, Topology


@dataclass
class RunningTopology:
    """A started topology: its processes by name, URLs, tokens."""

    topology: Topology
    env: dict[str, str]
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def public_url(self) -> str:
        return self.topology.public_url

    @property
    def auth_token(self) -> str:
        return self.env["RASA_AUTH_TOKEN"]

    def rasa_url(self, replica: int) -> str:
        """Replica ``replica`` (1-based) of the Rasa server, directly, not through nginx."""
        return f"http://127.0.0.1:{self.topology.ports.rasa[replica - 1]}"

    def handoff_url(self, replica: int) -> str:
        """Replica ``replica`` of the handoff service, directly."""
        return f"http://127.0.0.1:{self.topology.ports.handoff[replica - 1]}"

    def session_token(self, sender: str) -> str:
        """A session token for ``sender``, signed with the topology's shared secret."""
        return SessionIssuer(self.env["CHAT_SESSION_SECRET"]).issue(sender).token

    def run_handoff_cli(self, *args: str) -> str:
        """``handoff-service ARGS`` against the shared database; its standard output."""
        result = subprocess.run(
            [sys.executable, "-m", "handoff_service", *args], cwd=ROOT,
            env={**os.environ, **QUIET_ENV, **self.env}, capture_output=True, text=True,
            check=True, timeout=120,
        )
        return result.stdout

    def add_agent(self, name: str) -> str:
        """A new support agent; their token."""
        return self.run_handoff_cli("agent", "add", name).strip().splitlines()[-1].split()[-1]

    def tracker(self, sender: str, replica: int = 1) -> dict:
        """The conversation as replica ``replica``'s HTTP API returns it."""
        response = requests.get(
            f"{self.rasa_url(replica)}/conversations/{sender}/tracker",
            params={"token": self.auth_token}, timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def program(self, name: str) -> Program:
        return next(p for p in self.topology.programs() if p.name == name)

    def start(self, name: str) -> Process:
        """Start process ``name`` ("rasa-2", "handoff-1", "nginx"...) and wait until it serves."""
        program = self.program(name)
        process = start_process(name, list(program.argv), self.topology.log_dir, self.env)
        self.processes[name] = process
        wait_until_ready(process, self.ready_url(name), timeout=240)
        return process

    def kill(self, name: str) -> None:
        """Kill process ``name`` at once (SIGKILL to its group): a replica lost."""
        self.processes.pop(name).stop(kill=True)

    def stop(self, name: str) -> None:
        """Stop process ``name`` gracefully (SIGTERM, as an orchestrator does)."""
        self.processes.pop(name).stop()

    def ready_url(self, name: str) -> str:
        kind, _, number = name.partition("-")
        ports = self.topology.ports
        if kind == "nginx":
            return f"{self.public_url}/api/health"
        index = int(number) - 1
        if kind == "rasa":
            return f"http://127.0.0.1:{ports.rasa[index]}/status?token={self.auth_token}"
        if kind == "actions":
            return f"http://127.0.0.1:{ports.actions[index]}/health"
        return f"http://127.0.0.1:{ports.handoff[index]}/api/health"

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes.pop(name).stop()


@contextmanager
def running_topology(
    workdir: Path, replicas: int = 2, model: Path = DEFAULT_MODEL,
    env: dict[str, str] | None = None,
) -> Iterator[RunningTopology]:
    """Fresh databases, the one-off migrations, then nginx and every replica; all stopped after."""
    if not model.exists():
        raise ProcessFailed(f"no trained model at {model}: run `make train`")
    with ExitStack() as cleanup:
        tracker_url = cleanup.enter_context(temporary_postgres_database("topo_tracker"))
        handoff_url = cleanup.enter_context(temporary_postgres_database("topo_handoff"))
        outbox_url = cleanup.enter_context(temporary_postgres_database("topo_outbox"))
        topology = Topology(
            state_dir=workdir, ports=Ports.free(replicas), tracker_store_url=tracker_url,
            handoff_database_url=handoff_url, outbox_url=outbox_url, model=model,
            socketio_channel="socketio" + uuid.uuid4().hex[:12],
        )
        topology.write()
        shared = {
            "RASA_AUTH_TOKEN": secrets.token_urlsafe(16),
            "HANDOFF_BOT_TOKEN": secrets.token_urlsafe(24),
            "CHAT_SESSION_SECRET": secrets.token_urlsafe(32),
        }
        running = RunningTopology(topology, {**topology.environment(shared), **(env or {})})
        cleanup.callback(running.stop_all)
        # The one-off step before any replica: both schemas, once.
        running.run_handoff_cli("db", "upgrade")
        subprocess.run(
            [sys.executable, "-m", "addons.tracker_store"], cwd=ROOT, check=True, timeout=180,
            env={**os.environ, **QUIET_ENV, **running.env}, capture_output=True,
        )
        names = [p.name for p in topology.programs()]
        started = [
            start_process(name, list(running.program(name).argv), topology.log_dir, running.env)
            for name in names
        ]
        running.processes.update(zip(names, started, strict=True))
        deadline = time.monotonic() + 300
        for name in names:
            wait_until_ready(
                running.processes[name], running.ready_url(name),
                timeout=max(10.0, deadline - time.monotonic()),
            )
        yield running
