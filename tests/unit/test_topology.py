"""Unit tests for devtools.topology: the nginx, endpoints and supervisord files it writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.topology import Ports, Topology, main, render_compose_nginx
from tests.unit.nginx_conf import (
    Directive,
    assert_retry_rule,
    http_block,
    parse_nginx,
    public_server,
)


def _topology(tmp_path: Path, replicas: int = 2) -> Topology:
    return Topology(
        state_dir=tmp_path / "state", ports=Ports.fixed(replicas),
        tracker_store_url="postgresql://postgres@127.0.0.1/t",
        handoff_database_url="postgresql://postgres@127.0.0.1/h",
        outbox_url="postgresql://postgres@127.0.0.1/o",
        socketio_channel="socketiotest",
    )


def test_every_replica_has_its_own_port_and_every_port_is_distinct() -> None:
    ports = Ports.fixed(3)
    every = [ports.public, ports.rasa_internal, ports.actions_internal,
             *ports.rasa, *ports.actions, *ports.handoff]
    assert len(every) == len(set(every)) == 12


def test_the_processes_share_state_only_through_postgres_and_redis(tmp_path: Path) -> None:
    env = _topology(tmp_path).environment({"RASA_AUTH_TOKEN": "t"})
    assert env["PROFILE"] == "production"
    assert env["HANDOFF_ATTACHMENT_STORE"] == "database"
    for name in ("RATE_LIMIT_STORAGE_URL", "SOCKETIO_REDIS_URL"):
        assert env[name].startswith("redis://")
    assert env["TRACKER_STORE_URL"].startswith("postgresql://")
    # The service and the action servers reach the others through nginx, not a replica.
    assert env["RASA_URL"].endswith(f":{Ports.fixed(2).rasa_internal}")
    assert env["HANDOFF_URL"] == env["PUBLIC_RASA_URL"] == "http://127.0.0.1:8080"


def test_every_action_server_gets_the_shared_outbox_production_requires(
    tmp_path: Path,
) -> None:
    from actions.production_checks import action_server_problems

    env = _topology(tmp_path).environment({"HANDOFF_BOT_TOKEN": "t" * 32})
    assert env["OUTBOX_URL"].startswith("postgresql://")
    assert action_server_problems(env) == []
    # Without one, the action servers refuse to start (a local SQLite file each).
    bare = Topology(state_dir=tmp_path / "s", ports=Ports.fixed(2), tracker_store_url="",
                    handoff_database_url="").environment({"HANDOFF_BOT_TOKEN": "t" * 32})
    assert [p.variable for p in action_server_problems(bare)] == ["OUTBOX_URL"]


def test_rasa_calls_the_action_servers_through_nginx_and_locks_in_redis(tmp_path: Path) -> None:
    endpoints = yaml.safe_load(_topology(tmp_path).endpoints_yaml())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:5150/webhook"
    assert endpoints["lock_store"]["type"] == "addons.lock_store.RenewingRedisLockStore"
    assert endpoints["lock_store"]["key_prefix"] == "socketiotest"
    assert endpoints["tracker_store"]["type"] == "addons.tracker_store.UrlSQLTrackerStore"


def test_nginx_routes_the_chat_and_the_pages_and_never_rasas_api(tmp_path: Path) -> None:
    config = _topology(tmp_path).nginx_config()
    for port in (5005, 5006, 5055, 5056, 8000, 8001):
        assert f"127.0.0.1:{port} " in config
    assert "location /socket.io/" in config and "Upgrade $http_upgrade" in config
    assert "hash $remote_addr consistent" in config
    assert "location /api/" in config
    # Anything else on the public port, Rasa's /conversations and /model included, is 404.
    public = config.split("server {", 2)[1]
    assert "location /conversations" not in public and "return 404" in public
    # Query strings (Rasa's ?token=) never reach the access log.
    assert "$request_uri" not in config and "$request " not in config


def test_nginx_resends_a_post_only_where_a_repeat_is_harmless(tmp_path: Path) -> None:
    # /api/: never (an agent's reply could be applied twice); /webhooks/socketio/ and the
    # two internal listeners: yes (client message ids, notification ids, idempotency keys).
    assert_retry_rule(parse_nginx(_topology(tmp_path).nginx_config()))
    assert_retry_rule(parse_nginx(render_compose_nginx()))


def _rules(config: Directive) -> list[tuple[tuple[str, ...], list[tuple[str, tuple[str, ...]]]]]:
    """Every server's locations with their directives, listen and log files left out."""
    rules = []
    for server in http_block(config).all("server"):
        for location in server.all("location"):
            rules.append((tuple(location.args), [(d.name, tuple(d.args))
                                                 for d in location.children]))
        rules.append((("server",), [(d.name, tuple(d.args)) for d in server.children
                                    if d.name not in ("listen", "location", "error_log")]))
    return rules


def test_the_local_and_the_compose_nginx_run_the_same_rules(tmp_path: Path) -> None:
    local = parse_nginx(_topology(tmp_path).nginx_config())
    compose = parse_nginx(render_compose_nginx())
    assert _rules(local) == _rules(compose)
    skip = ("access_log", "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
            "uwsgi_temp_path", "scgi_temp_path", "resolver", "upstream", "server")

    def http_rules(config: Directive) -> list[tuple[str, tuple[str, ...]]]:
        return [(d.name, tuple(d.args)) for d in http_block(config).children
                if d.name not in skip]

    assert http_rules(local) == http_rules(compose)
    # The replicas differ only in how they are named.
    assert "127.0.0.1:5005 " in _topology(tmp_path).nginx_config()
    assert "rasa-2:5005 resolve " in render_compose_nginx()
    assert public_server(compose) is not None


def test_the_compose_configuration_is_printed_for_deploy_nginx(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["nginx-compose"])
    printed = capsys.readouterr().out
    assert printed == render_compose_nginx()
    assert "python -m devtools.topology nginx-compose > deploy/nginx/nginx.conf" in printed
    main(["nginx-compose", "--replicas", "3"])
    assert "handoff-3:8000 resolve " in capsys.readouterr().out


def test_supervisord_runs_nginx_and_each_replica(tmp_path: Path) -> None:
    topology = _topology(tmp_path, replicas=2)
    topology.write()
    conf = (topology.state_dir / "supervisord.conf").read_text()
    for name in ("nginx", "handoff-1", "handoff-2", "actions-1", "actions-2", "rasa-1",
                 "rasa-2"):
        assert f"[program:{name}]" in conf
    assert "credentials.production.yml" in conf
    assert oct(topology.state_dir.stat().st_mode & 0o777) == "0o700"


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (scripts/bootstrap.sh installs it)")
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    topology.write()
    result = subprocess.run(
        [topology.nginx, "-t", "-c", str(topology.nginx_conf_path.resolve()),
         "-p", str(topology.state_dir.resolve())],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
