"""The production topology on one machine: nginx in front of N replicas of every process.

``make run-production`` (scripts/run_production.sh, through a supervisord
configuration written here) and the scale-out tests (``tests/production/``)
start exactly this:

- N Rasa servers, N action servers and N handoff services, each on its own
  port on the loopback;
- one nginx with three listeners: the public one (the widget and console pages
  and ``/api/`` go to the handoff services, ``/socket.io/`` and ``/webhooks/``
  to Rasa; Rasa's own HTTP API is not routed), and two internal ones, for the
  service's notices to Rasa and for Rasa's calls to the action servers;
- shared state in PostgreSQL (trackers, tickets, attachments) and Redis (lock
  store, rate limits, socket.io rooms), so any replica can serve any request.

Command line use (from the project root, with the venv's Python)::

    python -m devtools.topology write --state-dir state/production --replicas 2 \\
        --tracker-store-url postgresql://... --handoff-database-url postgresql://...
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devtools.processes import (
    BIN,
    DEFAULT_MODEL,
    ROOT,
    Program,
    StateFolder,
    actions_command,
    handoff_command,
    rasa_command,
    supervisor_config,
)

PRODUCTION_CREDENTIALS = ROOT / "credentials.production.yml"
REDIS_URL = os.environ.get("TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379")
# Redis databases: Rasa's lock store, rate-limit counters, socket.io's pub/sub.
LOCK_DB, RATE_LIMIT_DB, SOCKETIO_DB = 1, 2, 3
# Long-polling requests wait up to socket.io's ping interval plus its timeout (45 s).
SOCKETIO_READ_TIMEOUT_S = 75
# A replica killed mid-turn leaves its conversation lock in Redis until it expires:
# Rasa's default is 60 s; a turn takes well under a second, its action calls at most
# their 10 s timeout, so 15 s keeps turns apart and makes a lost replica a short wait.
LOCK_LIFETIME_S = 15
# Screenshots (ATTACHMENT_MAX_BYTES, 5 MB by default) plus the request's own framing.
MAX_BODY = "12m"


@dataclass(frozen=True)
class Ports:
    """Every port of the topology: the public one, two internal ones, one per replica."""

    public: int
    rasa_internal: int
    actions_internal: int
    rasa: tuple[int, ...]
    actions: tuple[int, ...]
    handoff: tuple[int, ...]

    @classmethod
    def fixed(cls, replicas: int, public: int = 8080) -> Ports:
        """The ports ``make run-production`` uses (the development ones, counted up)."""
        return cls(
            public=public, rasa_internal=5100, actions_internal=5150,
            rasa=tuple(5005 + i for i in range(replicas)),
            actions=tuple(5055 + i for i in range(replicas)),
            handoff=tuple(8000 + i for i in range(replicas)),
        )

    @classmethod
    def free(cls, replicas: int) -> Ports:
        """Ports nobody listens on right now (the tests')."""
        from devtools.stack import free_port

        return cls(
            public=free_port(), rasa_internal=free_port(), actions_internal=free_port(),
            rasa=tuple(free_port() for _ in range(replicas)),
            actions=tuple(free_port() for _ in range(replicas)),
            handoff=tuple(free_port() for _ in range(replicas)),
        )


@dataclass(frozen=True)
class Topology(StateFolder):
    """N replicas of each process behind one nginx, and what they share."""

    state_dir: Path
    ports: Ports
    tracker_store_url: str
    handoff_database_url: str
    # The action servers' shared ticket outbox (any alive server drains it).
    outbox_url: str = ""
    model: Path = DEFAULT_MODEL
    bin_dir: Path = BIN
    public_host: str = "127.0.0.1"
    # Keeps concurrent topologies on one Redis (two test runs) out of each other's rooms.
    socketio_channel: str = "socketio"
    nginx: str = field(default_factory=lambda: shutil.which("nginx") or "/usr/sbin/nginx")
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def replicas(self) -> int:
        return len(self.ports.rasa)

    @property
    def public_url(self) -> str:
        return f"http://{self.public_host}:{self.ports.public}"

    @property
    def rasa_internal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa_internal}"

    @property
    def endpoints_path(self) -> Path:
        return self.state_dir / "endpoints.yml"

    @property
    def nginx_conf_path(self) -> Path:
        return self.state_dir / "nginx.conf"

    # ------------------------------------------------------------------ configuration

    def environment(self, secrets: dict[str, str]) -> dict[str, str]:
        """What every process of the topology gets (``secrets``: the three shared tokens)."""
        public = self.public_url
        return {
            "PROFILE": "production",
            "TRACKER_STORE_URL": self.tracker_store_url,
            "HANDOFF_DATABASE_URL": self.handoff_database_url,
            "HANDOFF_ATTACHMENT_STORE": "database",
            **({"OUTBOX_URL": self.outbox_url} if self.outbox_url else {}),
            "RATE_LIMIT_STORAGE_URL": f"{REDIS_URL}/{RATE_LIMIT_DB}",
            "SOCKETIO_REDIS_URL": f"{REDIS_URL}/{SOCKETIO_DB}",
            "SOCKETIO_REDIS_CHANNEL": self.socketio_channel,
            # The service notifies Rasa through nginx, so a dead replica is skipped.
            "RASA_URL": self.rasa_internal_url,
            # The action servers and the chat channel reach the service through nginx too.
            "HANDOFF_URL": public,
            "PUBLIC_RASA_URL": public,
            "CHAT_PUBLIC_URL": f"{public}/widget/",
            "CHAT_ALLOWED_ORIGINS": public,
            "HANDOFF_HOST": "127.0.0.1",
            "HANDOFF_STATE_DIR": str(self.state_dir),
            "RASA_HOST": "127.0.0.1",
            "SANIC_HOST": "127.0.0.1",
            "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_S),
            # nginx is the one proxy in front: Sanic takes the client's address from it.
            "SANIC_PROXIES_COUNT": "1",
            **secrets,
            **self.extra_env,
        }

    def endpoints_yaml(self) -> str:
        """Rasa's endpoints: the action servers behind nginx, SQL trackers, Redis locks."""
        redis = REDIS_URL.removeprefix("redis://")
        host, _, port = redis.partition(":")
        return (
            "# Written by devtools.topology: every Rasa replica of the production topology.\n"
            "action_endpoint:\n"
            f"  url: http://127.0.0.1:{self.ports.actions_internal}/webhook\n"
            "tracker_store:\n"
            "  type: addons.tracker_store.UrlSQLTrackerStore\n"
            "lock_store:\n"
            "  type: addons.lock_store.RenewingRedisLockStore\n"
            f"  url: {host}\n"
            f"  port: {port or 6379}\n"
            f"  db: {LOCK_DB}\n"
            f"  key_prefix: {self.socketio_channel}\n"
        )

    def nginx_config(self) -> str:
        """nginx in the foreground, its files in the state folder (no root-owned paths)."""
        return render_nginx_config(self)

    def programs(self) -> list[Program]:
        """nginx, then the handoff services, the action servers and the Rasa servers."""
        programs = [
            Program("nginx", (self.nginx, "-c", str(self.nginx_conf_path.resolve()),
                              "-p", str(self.state_dir.resolve())), startsecs=1, priority=5),
        ]
        python = self.bin_dir / "python"
        for index, port in enumerate(self.ports.handoff, 1):
            programs.append(Program(
                f"handoff-{index}", (*handoff_command(python), "--port", str(port)),
                startsecs=3, priority=10,
            ))
        for index, port in enumerate(self.ports.actions, 1):
            # Through addons.server, which checks the production settings before it starts.
            programs.append(Program(
                f"actions-{index}",
                (str(python), "-m", "addons.server", *actions_command(port, self.bin_dir)[1:]),
                startsecs=5, priority=20,
            ))
        for index, port in enumerate(self.ports.rasa, 1):
            programs.append(Program(
                f"rasa-{index}",
                tuple(rasa_command(self.model, port, self.endpoints_path.resolve(),
                                   PRODUCTION_CREDENTIALS, self.bin_dir)),
                startsecs=20, priority=30,
            ))
        return programs

    def write(self) -> None:
        """Write the endpoints, nginx and supervisord files into the state folder."""
        for folder in (self.state_dir, self.log_dir, self.state_dir / "nginx"):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.endpoints_path.write_text(self.endpoints_yaml())
        self.nginx_conf_path.write_text(self.nginx_config())
        (self.state_dir / "supervisord.conf").write_text(supervisor_config(self))


def _servers(ports: Sequence[int], extra: str = "") -> str:
    # A replica that refuses connections is left alone for a few seconds, not forever.
    return "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s{extra};" for port in ports
    )


def render_nginx_config(topology: Topology) -> str:
    """The nginx configuration of ``topology``."""
    state = topology.state_dir.resolve()
    logs = topology.log_dir.resolve()
    ports = topology.ports
    temp = state / "nginx"
    # As root, workers would run as "nobody" and could not use the owner-only state folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""# Written by devtools.topology: nginx before {topology.replicas} replicas of each.
{user}worker_processes 1;
daemon off;
pid {state}/nginx.pid;
error_log {logs}/nginx-error.log warn;

events {{
  worker_connections 2048;
}}

http {{
  # Paths without their query strings: Rasa's API takes its token as ?token=.
  log_format paths '$remote_addr [$time_local] "$request_method $uri" $status '
                   '$body_bytes_sent $request_time $upstream_addr';
  access_log {logs}/nginx-access.log paths;
  client_body_temp_path {temp}/client_body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  client_max_body_size {MAX_BODY};
  server_tokens off;

  map $http_upgrade $connection_upgrade {{
    default upgrade;
    ''      close;
  }}

  # socket.io: one client stays on one replica. Its long-polling transport is a
  # series of requests that only the replica holding the engine.io session can
  # answer; a websocket is one connection anyway. Replies reach it from any
  # replica through Redis (SOCKETIO_REDIS_URL).
  upstream rasa_sockets {{
    hash $remote_addr consistent;
{_servers(ports.rasa)}
  }}

  # A client that opens a websocket straight away (the widget tries that first) holds
  # one connection for the whole session: any replica will do, so those are spread
  # round robin; long-polling clients stay on the replica of their address.
  map $arg_transport $socketio_upstream {{
    websocket rasa_api;
    default   rasa_sockets;
  }}

  # Stateless requests: round robin, the next replica when one is down.
  upstream rasa_api {{
{_servers(ports.rasa)}
  }}

  upstream handoff {{
{_servers(ports.handoff)}
  }}

  upstream actions {{
{_servers(ports.actions)}
  }}

  proxy_http_version 1.1;
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  # A refused connection is tried on the next replica (requests that reached one
  # are not: ticket creation and notices are idempotent and retried by their clients).
  proxy_next_upstream error http_502 http_503;
  proxy_next_upstream_tries 3;
  proxy_connect_timeout 2s;

  # The public listener: pages, the service's API, the chat.
  server {{
    listen {topology.public_host}:{ports.public};

    location /socket.io/ {{
      proxy_pass http://$socketio_upstream;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout {SOCKETIO_READ_TIMEOUT_S}s;
    }}

    # The chat channel's uploads and history (session-authenticated, any replica).
    location /webhooks/socketio/ {{
      proxy_pass http://rasa_api;
      proxy_next_upstream error non_idempotent;
      proxy_read_timeout 180s;
    }}

    location /api/ {{
      proxy_pass http://handoff;
      proxy_next_upstream error non_idempotent;
      proxy_buffering off;
      proxy_read_timeout 180s;
    }}

    location ~ ^/(widget|console)(/|$) {{
      proxy_pass http://handoff;
    }}

    location = / {{
      return 302 /widget/;
    }}

    # Rasa's HTTP API (/conversations, /model, /status) is never public.
    location / {{
      return 404;
    }}
  }}

  # Internal: the handoff services' notices to Rasa (trigger_intent), any replica.
  server {{
    listen 127.0.0.1:{ports.rasa_internal};
    location / {{
      proxy_pass http://rasa_api;
      proxy_next_upstream error non_idempotent;
      proxy_read_timeout 60s;
    }}
  }}

  # Internal: Rasa's calls to the action servers, any replica.
  server {{
    listen 127.0.0.1:{ports.actions_internal};
    location / {{
      proxy_pass http://actions;
      proxy_next_upstream error non_idempotent;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def main(argv: Sequence[str] | None = None) -> None:
    """Write the topology's files (``write``) for scripts/run_production.sh."""
    parser = argparse.ArgumentParser(prog="python -m devtools.topology", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write endpoints, nginx and supervisord files")
    write.add_argument("--state-dir", type=Path, required=True)
    write.add_argument("--replicas", type=int, default=2)
    write.add_argument("--public-port", type=int, default=8080)
    write.add_argument("--public-host", default="127.0.0.1")
    write.add_argument("--tracker-store-url", required=True)
    write.add_argument("--handoff-database-url", required=True)
    write.add_argument("--outbox-url", default="")
    write.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    write.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    topology = Topology(
        state_dir=args.state_dir, ports=Ports.fixed(args.replicas, args.public_port),
        tracker_store_url=args.tracker_store_url,
        handoff_database_url=args.handoff_database_url, outbox_url=args.outbox_url,
        model=args.model.resolve(),
        public_host=args.public_host, nginx=args.nginx,
    )
    topology.write()


if __name__ == "__main__":
    main()
