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

The nginx configuration of ``deploy/docker-compose.yml`` (``deploy/nginx/nginx.conf``,
checked in) is rendered by the same code, so both run the same locations and the same
retry rule; only the listen addresses, the upstream servers (service names there) and
the file paths differ (:class:`NginxSite`).

Command line use (from the project root, with the venv's Python)::

    python -m devtools.topology write --state-dir state/production --replicas 2 \\
        --tracker-store-url postgresql://... --handoff-database-url postgresql://... \\
        --outbox-url postgresql://...
    python -m devtools.topology nginx-compose > deploy/nginx/nginx.conf
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
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


# ---------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class NginxSite:
    """What differs between the nginx of a local run and the one of docker-compose.yml.

    Everything else (the upstreams, the locations, the retry rule per location) is
    written once, in :func:`render_nginx`, so both run the same rules.
    """

    # A comment for the top of the file (each line without its "# ").
    header: tuple[str, ...]
    public_listen: str
    rasa_internal_listen: str
    actions_internal_listen: str
    # host:port of every replica.
    rasa: tuple[str, ...]
    actions: tuple[str, ...]
    handoff: tuple[str, ...]
    # Directives of the main context before ``events`` (user, daemon, pid, error_log).
    main: tuple[str, ...]
    worker_connections: int
    access_log: str
    # Where nginx writes request bodies and responses too large for memory.
    temp_dir: str
    # The internal Rasa listener's error log (only critical lines: see there).
    internal_error_log: str
    # DNS for upstream servers given by name (compose: Docker's, 127.0.0.11). With it, each
    # server is marked "resolve": nginx follows a container recreated with a new address,
    # and a replica that is down when nginx starts does not stop it from starting.
    resolver: str = ""


def _servers(addresses: Sequence[str], resolve: bool) -> str:
    # A replica that refuses connections is left alone for a few seconds, not forever.
    marker = " resolve" if resolve else ""
    return "\n".join(
        f"    server {address}{marker} max_fails=1 fail_timeout=5s;" for address in addresses
    )


# The retry rule (docs/production.md, "Retries"). nginx passes a request to the next
# replica only when the one it chose could not take it: the connection failed or timed
# out, or it answered 502/503. proxy_next_upstream_timeout keeps "timeout" to connecting:
# a request that already waited longer than that for a replica (a slow answer, a replica
# that died while working on it) is never sent to a second one.
RETRY = "error timeout http_502 http_503"
# Where a non-idempotent request (POST, PATCH, LOCK) that already reached a replica which
# then died may be sent to the next one as well: only where a repeat is harmless.
RETRY_ANY_METHOD = f"{RETRY} non_idempotent"
RETRY_TRIES = 3
RETRY_WITHIN = "10s"
CONNECT_TIMEOUT = "2s"


def render_nginx(site: NginxSite) -> str:
    """The nginx configuration of ``site``: three listeners in front of every replica."""
    resolve = bool(site.resolver)
    header = "\n".join(f"# {line}".rstrip() for line in site.header)
    main = "\n".join(site.main)
    temp = site.temp_dir
    resolver = (
        f"  resolver {site.resolver} valid=10s ipv6=off;\n" if resolve else ""
    )
    return f"""{header}
{main}

events {{
  worker_connections {site.worker_connections};
}}

http {{
  # Paths without their query strings: Rasa's API takes its token as ?token=, and a token
  # must never reach a log. The replica that answered comes last (tests/production read it).
  log_format paths '$remote_addr [$time_local] "$request_method $uri" $status '
                   '$body_bytes_sent $request_time $upstream_addr';
  access_log {site.access_log} paths;
  client_body_temp_path {temp}client_body;
  proxy_temp_path {temp}proxy;
  fastcgi_temp_path {temp}fastcgi;
  uwsgi_temp_path {temp}uwsgi;
  scgi_temp_path {temp}scgi;
  # Screenshots: ATTACHMENT_MAX_BYTES is 5 MiB by default and the upload is the raw image;
  # the margin lets an operator raise that limit a little without touching this file.
  client_max_body_size {MAX_BODY};
  server_tokens off;
{resolver}
  map $http_upgrade $connection_upgrade {{
    default upgrade;
    ''      close;
  }}

  # socket.io: one browser stays on one Rasa replica. When a network refuses websockets
  # the widget falls back to long-polling: a series of separate requests that only the
  # replica holding the engine.io session in memory can answer (another one says "session
  # unknown"). The session id cannot be the key (the first request has none), so the
  # client address is. Replies reach the socket from any replica through Redis
  # (SOCKETIO_REDIS_URL). Behind another proxy, $remote_addr is that proxy: hash on the
  # real client instead.
  upstream rasa_sockets {{
    zone rasa_sockets 64k;
    hash $remote_addr consistent;
{_servers(site.rasa, resolve)}
  }}

  # A client that opens a websocket straight away (the widget tries that first) holds one
  # connection for the whole session: any replica will do, so those are spread round
  # robin; long-polling clients stay on the replica of their address.
  map $arg_transport $socketio_upstream {{
    websocket rasa_api;
    default   rasa_sockets;
  }}

  # Everything else is stateless per request (shared stores): round robin.
  upstream rasa_api {{
    zone rasa_api 64k;
{_servers(site.rasa, resolve)}
  }}

  upstream handoff {{
    zone handoff 64k;
{_servers(site.handoff, resolve)}
  }}

  upstream actions {{
    zone actions 64k;
{_servers(site.actions, resolve)}
  }}

  proxy_http_version 1.1;
  proxy_set_header Host $host;
  # The apps count rate limits per client address: SANIC_PROXIES_COUNT=1 makes them take
  # the address nginx appends here (the last one), which a client cannot forge.
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  # Retries: a replica that cannot be reached is a blip, the request goes to the next one.
  # A request that reached a replica which then died is sent again only if idempotent,
  # except where a location below says why a repeat of any method is harmless there.
  proxy_next_upstream {RETRY};
  proxy_next_upstream_tries {RETRY_TRIES};
  proxy_next_upstream_timeout {RETRY_WITHIN};
  proxy_connect_timeout {CONNECT_TIMEOUT};

  # The public listener: the pages, the service's API and the chat. The apps send their own
  # security headers (CSP, nosniff, Referrer-Policy); none are added here.
  server {{
    listen {site.public_listen};

    location /socket.io/ {{
      proxy_pass http://$socketio_upstream;
      # Idempotent methods only: a socket.io POST belongs to an engine.io session that lives
      # on one replica; any other replica refuses it, and the client reconnects anyway.
      proxy_next_upstream {RETRY};
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      # A long-poll is held until the next ping (25 s) and a websocket is idle between
      # pings; socket.io gives up after 25 + 20 s, so this must be longer.
      proxy_read_timeout {SOCKETIO_READ_TIMEOUT_S}s;
      proxy_send_timeout {SOCKETIO_READ_TIMEOUT_S}s;
    }}

    # The chat channel's screenshot uploads and history (session-authenticated, any
    # replica). Only the socket.io channel: Rasa's other webhooks stay unreachable even if
    # a channel is added to the credentials by mistake.
    location /webhooks/socketio/ {{
      proxy_pass http://rasa_api;
      # Any method: an upload carries the client's message id, and the service keeps one
      # image per id (a repeat returns the one it kept).
      proxy_next_upstream {RETRY_ANY_METHOD};
      # Rasa waits up to 60 s for the handoff service to screen an image.
      proxy_read_timeout 180s;
    }}

    location /api/ {{
      proxy_pass http://handoff;
      # Idempotent methods only: an agent's POST (a reply, a resolution) that reached a
      # replica could be applied twice. Sending it again is left to the client, which
      # sees the error (the action servers' client resends with its idempotency keys).
      proxy_next_upstream {RETRY};
      proxy_buffering off;
      # Screenshot screening (OCR) takes seconds per image on a small machine.
      proxy_read_timeout 180s;
    }}

    # The pages (GET): /widget and /console without the slash are redirected by the service.
    location ~ ^/(widget|console)(/|$) {{
      proxy_pass http://handoff;
      proxy_next_upstream {RETRY};
    }}

    location = / {{
      return 302 /widget/;
    }}

    # nginx itself is up (the container's health check).
    location = /healthz {{
      access_log off;
      default_type text/plain;
      return 200 "ok\\n";
    }}

    # Rasa's HTTP API (/conversations, /model, /status, ...) and anything else: not here.
    location / {{
      return 404;
    }}
  }}

  # Internal: the handoff services' notices to Rasa (trigger_intent with RASA_AUTH_TOKEN).
  # Any replica can take one: the tracker and the lock are shared.
  server {{
    listen {site.rasa_internal_listen};
    # Rasa takes its token in the query string, and nginx's error lines about an upstream
    # (a replica down) quote the whole request line: only critical errors are logged here.
    error_log {site.internal_error_log} crit;
    location / {{
      proxy_pass http://rasa_api;
      # Any method: each notice's trigger_intent carries its notification id, and the bot
      # acts once per id, so a notice delivered twice is shown once.
      proxy_next_upstream {RETRY_ANY_METHOD};
      proxy_read_timeout 60s;
    }}
  }}

  # Internal: Rasa's calls to the action servers, any replica.
  server {{
    listen {site.actions_internal_listen};
    location / {{
      proxy_pass http://actions;
      # Any method: what the actions send on is idempotent by key (a ticket by its
      # idempotency key, a relayed line by its message id), so a repeated call changes
      # nothing in the service.
      proxy_next_upstream {RETRY_ANY_METHOD};
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def render_nginx_config(topology: Topology) -> str:
    """The nginx configuration of ``topology``: in the foreground, its files in the state folder."""
    state = topology.state_dir.resolve()
    logs = topology.log_dir.resolve()
    ports = topology.ports
    # As root, workers would run as "nobody" and could not use the owner-only state folder.
    user = ("user root;",) if os.geteuid() == 0 else ()
    return render_nginx(NginxSite(
        header=(f"Written by devtools.topology: nginx before {topology.replicas} replicas of "
                "each.",),
        public_listen=f"{topology.public_host}:{ports.public}",
        rasa_internal_listen=f"127.0.0.1:{ports.rasa_internal}",
        actions_internal_listen=f"127.0.0.1:{ports.actions_internal}",
        rasa=tuple(f"127.0.0.1:{port}" for port in ports.rasa),
        actions=tuple(f"127.0.0.1:{port}" for port in ports.actions),
        handoff=tuple(f"127.0.0.1:{port}" for port in ports.handoff),
        main=(*user, "worker_processes 1;", "daemon off;", f"pid {state}/nginx.pid;",
              f"error_log {logs}/nginx-error.log warn;"),
        worker_connections=2048,
        access_log=f"{logs}/nginx-access.log",
        temp_dir=f"{state}/nginx/",
        internal_error_log=f"{logs}/nginx-error.log",
    ))


# docker-compose.yml: the services' names and ports, nginx's three listeners.
COMPOSE_REPLICAS = 2
COMPOSE_PORTS = {"rasa": 5005, "actions": 5055, "handoff": 8000}
COMPOSE_LISTEN = {"public": 8080, "rasa_internal": 5100, "actions_internal": 5150}
REGENERATE_COMPOSE = "python -m devtools.topology nginx-compose > deploy/nginx/nginx.conf"


def compose_site(replicas: int = COMPOSE_REPLICAS) -> NginxSite:
    """nginx as deploy/docker-compose.yml runs it: replicas by service name, Docker's DNS."""

    def named(role: str) -> tuple[str, ...]:
        return tuple(f"{role}-{index}:{COMPOSE_PORTS[role]}" for index in range(1, replicas + 1))

    return NginxSite(
        header=(
            "nginx in front of the replicas of deploy/docker-compose.yml (docs/deployment.md).",
            "",
            "GENERATED, do not edit: devtools/topology.py renders this file and the",
            "configuration of a local run (make run-production, tests/production) from the",
            "same rules. After changing the renderer, or the replicas in docker-compose.yml:",
            "",
            f"  {REGENERATE_COMPOSE}",
            "",
            "(tests/unit/test_deploy_recipe.py fails while this file differs from that output.)",
            "Port 8080 is the one compose publishes; 5100 and 5150 stay inside its network.",
        ),
        public_listen=f"0.0.0.0:{COMPOSE_LISTEN['public']}",
        rasa_internal_listen=f"0.0.0.0:{COMPOSE_LISTEN['rasa_internal']}",
        actions_internal_listen=f"0.0.0.0:{COMPOSE_LISTEN['actions_internal']}",
        rasa=named("rasa"),
        actions=named("actions"),
        handoff=named("handoff"),
        # Paths are the nginx image's: its prefix is /etc/nginx.
        main=("worker_processes auto;", "pid /tmp/nginx.pid;", "error_log stderr warn;"),
        worker_connections=4096,
        access_log="/dev/stdout",
        temp_dir="/tmp/nginx-",
        internal_error_log="stderr",
        resolver="127.0.0.11",
    )


def render_compose_nginx(replicas: int = COMPOSE_REPLICAS) -> str:
    """deploy/nginx/nginx.conf as it must be checked in."""
    return render_nginx(compose_site(replicas))


def main(argv: Sequence[str] | None = None) -> None:
    """Write the topology's files (``write``), or print compose's nginx (``nginx-compose``)."""
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
    compose = commands.add_parser(
        "nginx-compose", help="print deploy/nginx/nginx.conf (the docker-compose.yml variant)",
        description=f"Print nginx's configuration for docker-compose.yml: {REGENERATE_COMPOSE}",
    )
    compose.add_argument("--replicas", type=int, default=COMPOSE_REPLICAS,
                         help="replicas of each process, as many as docker-compose.yml runs")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.command == "nginx-compose":
        sys.stdout.write(render_compose_nginx(args.replicas))
        return
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
