"""Unit tests for devtools.topology: the nginx, endpoints and supervisord files it writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.topology import Ports, Topology


def _topology(tmp_path: Path, replicas: int = 2) -> Topology:
    return Topology(
        state_dir=tmp_path / "state", ports=Ports.fixed(replicas),
        tracker_store_url="postgresql://postgres@127.0.0.1/t",
        handoff_database_url="postgresql://postgres@127.0.0.1/h",
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
