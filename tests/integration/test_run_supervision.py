"""`make run`'s script under supervision: a crashed component comes back, and stopping the
script leaves no process behind.

Runs the real scripts/run.sh (one whole stack) on free ports with a state folder of its own.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from devtools.stack import QUIET_ENV, ROOT, free_port

pytestmark = pytest.mark.integration

T = TypeVar("T")

# What the developer's shell may hold that would point the script elsewhere.
OUTSIDE_SETTINGS = (
    "RASA_AUTH_TOKEN", "HANDOFF_BOT_TOKEN", "CHAT_SESSION_SECRET", "HANDOFF_URL", "RASA_URL",
    "PUBLIC_RASA_URL", "PUBLIC_HOST", "CHAT_ALLOWED_ORIGINS", "TRACKER_STORE_URL",
    "HANDOFF_DATABASE_URL", "OUTBOX_PATH", "HANDOFF_STATE_DIR", "HANDOFF_HOST", "RASA_HOST",
    "ACTIONS_HOST",
)
SECRET_FILES = ("rasa_auth_token", "handoff_bot_token", "chat_session_secret")


@dataclass
class Run:
    popen: subprocess.Popen[bytes]
    log_path: Path
    state: Path
    rasa_port: int
    actions_port: int
    handoff_port: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tree(self) -> list[int]:
        """The script and every process below it."""
        return process_tree(self.popen.pid)

    def actions_pid(self) -> int | None:
        """The action server's pid (the process supervisord started), if it runs."""
        wanted = f"run actions --actions actions --port {self.actions_port}"
        found = [pid for pid in self.tree() if wanted in command_line(pid)]
        return min(found) if found else None


def process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and every living process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and stat[0] != "Z":
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _stat(pid: int) -> list[str] | None:
    """State, parent pid, ... of ``pid`` from /proc; ``None`` when it is gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent runs nothing)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(what: str, check: Callable[[], T], run: Run, timeout: float) -> T:
    """Poll ``check`` until it returns something true; fail with the run log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if run.popen.poll() is not None:
            pytest.fail(f"run.sh exited ({run.popen.returncode}) before {what}:\n{run.log()}")
        time.sleep(0.5)
    pytest.fail(f"no {what} after {timeout:.0f}s:\n{run.log()}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def run(trained_model: Path, tmp_path: Path) -> Iterator[Run]:
    """scripts/run.sh until the URL block is printed; whatever is left is killed afterwards."""
    assert trained_model.exists()
    state = tmp_path / "state"
    ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "HANDOFF_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE_SETTINGS}
    env.update(QUIET_ENV, STATE_DIR=str(state), **{k: str(v) for k, v in ports.items()})
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    running = Run(popen, log_path, state, ports["RASA_PORT"], ports["ACTIONS_PORT"],
                  ports["HANDOFF_PORT"])
    seen: set[int] = set()
    try:
        wait_for("URL block", lambda: "Ctrl-C stops everything." in running.log(), running, 300)
        yield running
    finally:
        seen.update(running.tree())
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)
        for pid in seen:
            if pid != popen.pid and alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_killed_component_is_restarted_and_stopping_leaves_nothing(run: Run) -> None:
    assert "The assistant is running." in run.log()
    actions_url = f"http://127.0.0.1:{run.actions_port}/health"
    old = run.actions_pid()
    assert old is not None, f"no action server below run.sh:\n{run.log()}"
    assert answers(actions_url)

    os.kill(old, signal.SIGKILL)
    new = wait_for("restarted action server",
                   lambda: (pid := run.actions_pid()) is not None and pid != old and pid,
                   run, 60)
    wait_for("action server health after the restart", lambda: answers(actions_url), run, 60)
    notice = re.compile(
        rf"^==> actions \(pid {old}\) exited unexpectedly; supervisord restarted it "
        rf"\(pid {new}\)$", re.MULTILINE,
    )
    wait_for("restart notice in the run log", lambda: notice.search(run.log()), run, 60)
    # The other components were left alone.
    assert answers(f"http://127.0.0.1:{run.handoff_port}/api/health")

    everything = run.tree()
    assert len(everything) >= 5, everything  # run.sh, supervisord and the three servers
    secrets_ = [(run.state / name).read_text().strip() for name in SECRET_FILES]
    config = (run.state / "supervisord.conf").read_text()
    for secret in secrets_:
        assert secret not in config, "a secret in supervisord's configuration"
        for pid in everything:
            assert secret not in command_line(pid), f"a secret is visible in ps: pid {pid}"

    run.popen.send_signal(signal.SIGTERM)
    run.popen.wait(timeout=90)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in everything) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {pid: command_line(pid) for pid in everything if alive(pid)}
    assert not left, f"still running after run.sh stopped: {left}"
    for port in (run.rasa_port, run.actions_port, run.handoff_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens"
