"""Local secrets stay local: no token on a command line, servers on the loopback,
no user text in any log, and a state folder only its owner can read."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from devtools.chat_client import SocketChatUser
from devtools.stack import ROOT, Stack, free_port

pytestmark = pytest.mark.integration


def _process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_no_secret_is_on_any_command_line(handoff_stack: Stack) -> None:
    secrets_ = [
        handoff_stack.auth_token,
        handoff_stack.handoff_bot_token,
        handoff_stack.session_secret,
    ]
    seen = 0
    for process in handoff_stack.processes:
        for pid in _process_tree(process.popen.pid):
            line = _command_line(pid)
            seen += bool(line)
            for secret in secrets_:
                assert secret and secret not in line, f"a secret is visible in ps: pid {pid}"
    assert seen >= 3


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


def test_rasa_and_the_action_server_listen_on_the_loopback_only(handoff_stack: Stack) -> None:
    for url in (handoff_stack.rasa_url, handoff_stack.actions_url):
        port = int(url.rsplit(":", 1)[1])
        addresses = _listening_addresses(port)
        # 0100007F is 127.0.0.1 as /proc/net/tcp writes it.
        assert addresses == {"0100007F"}, f"{url} listens on {addresses}"


def test_no_user_text_reaches_any_log(handoff_stack: Stack) -> None:
    marker = f"zq{time.time_ns()}"
    unparsable = f"/{marker}_intent{{not json"
    with SocketChatUser(handoff_stack.rasa_url) as user:
        user.say(f"my withdrawal {marker} failed")
        user.say(unparsable)
        user.say(f"提币失败 {marker}")
        user.settle()
    response = requests.post(
        handoff_stack.rest_webhook, json={"message": f"{marker} hello"},
        headers={"Authorization": f"Bearer {handoff_stack.session_token('logcheck')}"},
        timeout=30,
    )
    assert response.status_code == 200
    for process in handoff_stack.processes:
        assert marker not in process.log(), f"user text in the {process.name} log"


def test_the_state_folder_and_its_secrets_are_private(tmp_path: Path) -> None:
    """`make run`'s script makes state/ 0700 and its token files 0600 before it starts."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", free_port()))
    busy.listen()
    state = ROOT / "state"
    env = {**os.environ, "RASA_PORT": str(busy.getsockname()[1])}
    try:
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "run.sh")], env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )
    finally:
        busy.close()
    assert result.returncode == 1 and "already in use" in result.stderr
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("rasa_auth_token", "handoff_bot_token", "chat_session_secret"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
