"""The command lines of the assistant's three processes, written down once.

``make run`` (scripts/run.sh, through a supervisord configuration this module
writes) and the test stack (:mod:`devtools.stack`) both start exactly these.
No secret is ever part of a command line: the servers read their tokens from
the environment, so ``ps`` never shows one.

Command line use (from the project root, with the venv's Python)::

    python -m devtools.processes supervisor-config --state-dir state \\
        --rasa-port 5005 --actions-port 5055 --output state/supervisord.conf
    python -m devtools.processes notices    # supervisord's event listener
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_MODEL = ROOT / "models" / "current.tar.gz"
DEFAULT_ENDPOINTS = ROOT / "endpoints.yml"
DEFAULT_CREDENTIALS = ROOT / "credentials.yml"

# The name of supervisord's event listener that reports restarts in the run log.
NOTICES = "notices"


def handoff_command(python: str | Path = sys.executable) -> list[str]:
    """The handoff service (port, host, database and tokens come from the environment)."""
    return [str(python), "-m", "handoff_service", "serve"]


def actions_command(port: int, bin_dir: Path = BIN) -> list[str]:
    """The action server (rasa_sdk) on ``port``; ``SANIC_HOST`` picks the interface."""
    return [str(bin_dir / "rasa"), "run", "actions", "--actions", "actions", "--port", str(port)]


def rasa_run_arguments(
    model: Path, port: int, endpoints: Path, credentials: Path = DEFAULT_CREDENTIALS
) -> list[str]:
    """The ``rasa run`` arguments of the Rasa server.

    The auth token, the interface and the allowed origins come from the
    environment (``addons.server`` adds them), never from the command line.
    """
    return [
        "run", "--model", str(model), "--enable-api", "--port", str(port),
        "--endpoints", str(endpoints), "--credentials", str(credentials),
    ]


def rasa_command(
    model: Path, port: int, endpoints: Path, credentials: Path = DEFAULT_CREDENTIALS,
    bin_dir: Path = BIN,
) -> list[str]:
    """The Rasa server as the project runs it: ``python -m addons.server run ...``."""
    return [
        str(bin_dir / "python"), "-m", "addons.server",
        *rasa_run_arguments(model, port, endpoints, credentials),
    ]


@dataclass(frozen=True)
class Program:
    """One long-running process of the assistant, as supervisord runs it."""

    name: str
    argv: tuple[str, ...]
    # Seconds it must stay up to count as started; quicker exits are retried with backoff.
    startsecs: int
    # Lower starts first and stops last.
    priority: int


class StateFolder:
    """Where a supervised run keeps its logs, supervisord's socket and pid file."""

    state_dir: Path

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def socket(self) -> Path:
        """supervisord's control socket (no TCP server: only this user can reach it)."""
        return self.state_dir / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "supervisord.pid"


@dataclass(frozen=True)
class Layout(StateFolder):
    """Where ``make run`` puts things and which ports it uses."""

    state_dir: Path
    rasa_port: int
    actions_port: int
    model: Path = DEFAULT_MODEL
    endpoints: Path = DEFAULT_ENDPOINTS
    credentials: Path = DEFAULT_CREDENTIALS
    bin_dir: Path = BIN


    def programs(self) -> list[Program]:
        """The handoff service, the action server and the Rasa server."""
        return [
            Program("handoff", tuple(handoff_command(self.bin_dir / "python")), startsecs=3,
                    priority=10),
            Program("actions", tuple(actions_command(self.actions_port, self.bin_dir)),
                    startsecs=5, priority=20),
            # Rasa imports TensorFlow and loads the model: an exit in its first
            # 20 seconds counts as a failed start (retried a few times, then given up).
            Program(
                "rasa",
                tuple(rasa_command(self.model, self.rasa_port, self.endpoints,
                                   self.credentials, self.bin_dir)),
                startsecs=20, priority=30,
            ),
        ]


def _value(text: str | Path) -> str:
    """``text`` as a supervisord configuration value."""
    text = str(text)
    # supervisord expands ``%(name)s`` in values, some of them twice.
    if "%" in text:
        raise ValueError(f"supervisord cannot be given a value with '%' in it: {text!r}")
    return text


def _command(argv: Sequence[str]) -> str:
    return _value(shlex.join(argv))


class Supervised(Protocol):
    """What a supervisord configuration is written from (``make run``'s layout or a topology)."""

    @property
    def log_dir(self) -> Path: ...

    @property
    def socket(self) -> Path: ...

    @property
    def pidfile(self) -> Path: ...

    @property
    def bin_dir(self) -> Path: ...

    def programs(self) -> list[Program]: ...


def supervisor_config(layout: Supervised) -> str:
    """A supervisord configuration running the assistant in the foreground.

    Every program is restarted when it exits; its output goes to
    ``<state>/logs/<name>.log``. The environment (tokens included) is
    supervisord's own, which the programs inherit: nothing secret is written here.
    """
    logs = layout.log_dir.resolve()
    socket = layout.socket.resolve()
    python = layout.bin_dir / "python"
    lines = [
        "; Written by scripts/run.sh (python -m devtools.processes supervisor-config).",
        "[supervisord]",
        "nodaemon=true",
        # Its own log stays in the file; the run log gets the notices below.
        "silent=true",
        f"logfile={_value(logs / 'supervisord.log')}",
        "logfile_maxbytes=5MB",
        "logfile_backups=1",
        f"pidfile={_value(layout.pidfile.resolve())}",
        f"childlogdir={_value(logs)}",
        "umask=077",
        "",
        "[unix_http_server]",
        f"file={_value(socket)}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(socket)}",
        "",
    ]
    for program in layout.programs():
        lines += [
            f"[program:{program.name}]",
            f"command={_command(program.argv)}",
            f"directory={_value(ROOT)}",
            f"priority={program.priority}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={program.startsecs}",
            "startretries=3",
            "stopsignal=TERM",
            "stopwaitsecs=20",
            # Stop and kill the whole process group, helpers included.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_value(logs / (program.name + '.log'))}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
            'environment=PYTHONUNBUFFERED="1"',
            "",
        ]
    lines += [
        f"[eventlistener:{NOTICES}]",
        "command="
        + _command([str(python), "-m", "devtools.processes", NOTICES, "--log-dir",
                    str(layout.log_dir)]),
        f"directory={_value(ROOT)}",
        "events=PROCESS_STATE",
        "priority=1",
        "autorestart=true",
        "startsecs=1",
        # Its standard output is supervisord's event protocol, not worth a log.
        "stdout_logfile=NONE",
        # Its notices go to supervisord's standard output: the run log.
        "stderr_logfile=/dev/stdout",
        "stderr_logfile_maxbytes=0",
        "",
    ]
    return "\n".join(lines)


@dataclass
class Notices:
    """Turns supervisord's process state events into one plain line per restart."""

    log_dir: str
    out: TextIO
    # The pid of each program that exited unexpectedly and is not running again yet.
    exited: dict[str, str] = field(default_factory=dict)

    def handle(self, event: str, fields: dict[str, str]) -> None:
        """Report ``event`` (e.g. ``PROCESS_STATE_EXITED``) of the process in ``fields``."""
        exited = self.exited
        name = fields.get("processname", "?")
        if name == NOTICES:
            return
        if event == "PROCESS_STATE_EXITED" and fields.get("expected") == "0":
            exited[name] = fields.get("pid", "?")
        elif event == "PROCESS_STATE_RUNNING" and name in exited:
            old = exited.pop(name)
            self.say(
                f"==> {name} (pid {old}) exited unexpectedly; supervisord restarted it "
                f"(pid {fields.get('pid', '?')})"
            )
        elif event == "PROCESS_STATE_FATAL":
            exited.pop(name, None)
            self.say(
                f"==> {name} keeps failing to start; supervisord gave up on it, "
                f"see {self.log_dir}/{name}.log"
            )

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def listen(log_dir: str) -> None:
    """supervisord's event listener protocol on stdin/stdout; notices on stderr."""
    from supervisor import childutils

    notices = Notices(log_dir, sys.stderr)
    while True:
        childutils.listener.ready(sys.stdout)
        line = sys.stdin.readline()
        if not line:  # supervisord is gone
            return
        headers = childutils.get_headers(line)
        payload = sys.stdin.read(int(headers["len"]))
        try:
            # The first line of the payload holds the process's fields.
            notices.handle(headers.get("eventname", ""),
                           childutils.get_headers(payload.split("\n", 1)[0]))
        finally:
            childutils.listener.ok(sys.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.processes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    config = commands.add_parser("supervisor-config", help="write make run's supervisord config")
    config.add_argument("--state-dir", type=Path, required=True)
    config.add_argument("--rasa-port", type=int, required=True)
    config.add_argument("--actions-port", type=int, required=True)
    config.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    config.add_argument("--endpoints", type=Path, default=DEFAULT_ENDPOINTS)
    config.add_argument("--credentials", type=Path, default=DEFAULT_CREDENTIALS)
    config.add_argument("--output", type=Path, required=True)
    notices = commands.add_parser(NOTICES, help="supervisord event listener: report restarts")
    notices.add_argument("--log-dir", default="state/logs", help="named in its notices")
    args = parser.parse_args(argv)
    if args.command == NOTICES:
        listen(args.log_dir)
        return
    layout = Layout(
        state_dir=args.state_dir, rasa_port=args.rasa_port, actions_port=args.actions_port,
        model=args.model.resolve(), endpoints=args.endpoints.resolve(),
        credentials=args.credentials.resolve(),
    )
    args.output.write_text(supervisor_config(layout))


if __name__ == "__main__":
    main()
