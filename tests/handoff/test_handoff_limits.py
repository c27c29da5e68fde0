"""Rate limits and CORS of the handoff service, over HTTP on a served app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from handoff_service.app import create_app
from handoff_service.config import ConfigError, Settings
from handoff_service.db import upgrade
from handoff_service.services import HandoffService
from tests.handoff.helpers import FakeNotifier, ServedApp, live_server, ticket_payload

BOT = "bot-token-for-limits"
REDIS_URL = "redis://127.0.0.1:6379/0"


class Served(ServedApp):
    """A served app with ticket shortcuts."""

    def create(self, conversation_id: str, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        payload = ticket_payload(conversation_id=conversation_id)
        return self.call("POST", "/api/tickets", BOT, json=payload, headers=headers)

    def close_ticket(self, ref: str) -> None:
        token = self.agents["alice"]
        for step in ("claim", "resolve"):
            assert self.call("POST", f"/api/tickets/{ref}/{step}", token).status_code == 200


@contextmanager
def serve(tmp_path: Path, **overrides: Any) -> Iterator[Served]:
    """An app on a fresh SQLite file with agents alice and bob."""
    database = tmp_path / f"{uuid.uuid4().hex}.db"
    settings = replace(
        Settings(database_url=f"sqlite:///{database}", bot_token=BOT, agent_calls_per_minute=1000),
        **overrides,
    )
    app = create_app(settings, FakeNotifier())
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        agents = {name: service.add_agent(name)[1] for name in ("alice", "bob")}
    with live_server(app) as server, requests.Session() as http:
        yield Served(server, agents, http)


def _assert_rate_limited(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "rate_limited" and body["detail"]
    assert isinstance(body["retry_after"], int) and body["retry_after"] >= 1
    assert response.headers["Retry-After"] == str(body["retry_after"])


# ---------------------------------------------------------------- tickets per conversation


def test_tickets_per_conversation_per_hour(tmp_path: Path) -> None:
    with serve(tmp_path, tickets_per_hour=2) as api:
        first = api.create("chatty", "k1")
        assert first.status_code == 201
        # Replays create nothing and use up nothing.
        for _ in range(3):
            assert api.create("chatty", "k1").status_code == 200
            assert api.create("chatty", "other-key").status_code == 200
        api.close_ticket(first.json()["ref"])
        second = api.create("chatty", "k2")
        assert second.status_code == 201
        api.close_ticket(second.json()["ref"])
        refused = api.create("chatty", "k3")
        _assert_rate_limited(refused)
        assert refused.json()["retry_after"] <= 3600
        # Nothing was stored for the refused ticket; other conversations go on.
        latest = api.call("GET", "/api/conversations/chatty/ticket", BOT).json()
        assert latest["ref"] == second.json()["ref"]
        assert api.create("quiet", "k4").status_code == 201


# ---------------------------------------------------------------- agents


def test_agent_calls_per_agent_per_minute(tmp_path: Path) -> None:
    with serve(tmp_path, agent_calls_per_minute=3) as api:
        alice = api.agents["alice"]
        for _ in range(3):
            assert api.call("GET", "/api/me", alice).status_code == 200
        _assert_rate_limited(api.call("GET", "/api/me", alice))
        _assert_rate_limited(api.call("GET", "/api/tickets", alice))
        assert api.call("GET", "/api/me", api.agents["bob"]).status_code == 200
        # The bot has its own, per-conversation, limits.
        assert api.create("c1").status_code == 201


# ---------------------------------------------------------------- no valid credentials


def test_calls_without_valid_credentials_per_address(tmp_path: Path) -> None:
    with serve(tmp_path, anon_calls_per_minute=3) as api:
        # Health checks and pages are not counted.
        for _ in range(5):
            assert api.call("GET", "/api/health").status_code == 200
            assert api.call("GET", "/console/").status_code == 200
            assert api.call("GET", "/widget/config.js").status_code == 200
        assert api.call("GET", "/api/me").status_code == 401
        assert api.call("GET", "/api/me", "guess-1").status_code == 401
        assert api.call("POST", "/api/tickets", "guess-2", json={}).status_code == 401
        _assert_rate_limited(api.call("GET", "/api/me", "guess-3"))
        _assert_rate_limited(api.call("GET", "/api/tickets"))
        # Valid credentials are not anonymous: they still work from this address.
        assert api.call("GET", "/api/me", api.agents["alice"]).status_code == 200
        assert api.create("c1").status_code == 201


# ---------------------------------------------------------------- shared counts


def test_two_instances_share_the_count_in_redis(tmp_path: Path) -> None:
    conversation = f"redis-{uuid.uuid4().hex}"
    with (
        serve(tmp_path, tickets_per_hour=1, rate_limit_storage_url=REDIS_URL) as first,
        serve(tmp_path, tickets_per_hour=1, rate_limit_storage_url=REDIS_URL) as second,
    ):
        assert first.create(conversation).status_code == 201
        # Another instance with its own database: the ticket would be new there,
        # but the conversation's allowance is used up in the shared store.
        _assert_rate_limited(second.create(conversation))
        assert second.create(f"{conversation}-b").status_code == 201


def test_in_memory_each_instance_counts_alone(tmp_path: Path) -> None:
    conversation = f"memory-{uuid.uuid4().hex}"
    with (
        serve(tmp_path, tickets_per_hour=1) as first,
        serve(tmp_path, tickets_per_hour=1) as second,
    ):
        assert first.create(conversation).status_code == 201
        assert second.create(conversation).status_code == 201


def test_an_unreachable_store_lets_requests_through(tmp_path: Path) -> None:
    with serve(
        tmp_path,
        tickets_per_hour=1,
        anon_calls_per_minute=1,
        rate_limit_storage_url="redis://127.0.0.1:1/0",
    ) as api:
        assert api.create("c1").status_code == 201
        assert api.call("GET", "/api/me", "wrong").status_code == 401
        assert api.call("GET", "/api/me", "wrong").status_code == 401


# ---------------------------------------------------------------- settings


def test_limit_settings_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (
        defaults.tickets_per_hour,
        defaults.agent_calls_per_minute,
        defaults.anon_calls_per_minute,
        defaults.rate_limit_storage_url,
        defaults.cors_origins,
    ) == (5, 600, 60, None, ())
    custom = Settings.from_env(
        {
            "HANDOFF_TICKETS_PER_HOUR": "9",
            "HANDOFF_AGENT_CALLS_PER_MINUTE": "100",
            "HANDOFF_ANON_CALLS_PER_MINUTE": "7",
            "RATE_LIMIT_STORAGE_URL": REDIS_URL,
            "HANDOFF_CORS_ORIGINS": "https://app.example.com, http://localhost:3000",
        }
    )
    assert (custom.tickets_per_hour, custom.agent_calls_per_minute) == (9, 100)
    assert custom.anon_calls_per_minute == 7 and custom.rate_limit_storage_url == REDIS_URL
    assert custom.cors_origins == ("https://app.example.com", "http://localhost:3000")


@pytest.mark.parametrize(
    "env",
    [
        {"HANDOFF_TICKETS_PER_HOUR": "0"},
        {"HANDOFF_AGENT_CALLS_PER_MINUTE": "lots"},
        {"HANDOFF_ANON_CALLS_PER_MINUTE": "-1"},
        {"RATE_LIMIT_STORAGE_URL": "memcached://127.0.0.1:11211"},
        {"RATE_LIMIT_STORAGE_URL": "127.0.0.1:6379"},
        {"HANDOFF_CORS_ORIGINS": "*"},
        {"HANDOFF_CORS_ORIGINS": "https://app.example.com/path"},
        {"HANDOFF_CORS_ORIGINS": "app.example.com"},
        {"HANDOFF_CORS_ORIGINS": "null"},
    ],
)
def test_bad_limit_and_cors_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


# ---------------------------------------------------------------- CORS

APP_ORIGIN = "https://app.example.com"


def _preflight(api: Served, origin: str) -> requests.Response:
    return api.call(
        "OPTIONS",
        "/api/tickets",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_cors_allows_exactly_the_configured_origins(tmp_path: Path) -> None:
    with serve(tmp_path, cors_origins=(APP_ORIGIN,)) as api:
        allowed = _preflight(api, APP_ORIGIN)
        assert allowed.status_code == 204
        assert allowed.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
        assert "GET" in allowed.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in allowed.headers
        refused = _preflight(api, "https://evil.example.com")
        assert refused.status_code == 403 and refused.json()["error"] == "origin_not_allowed"
        assert "Access-Control-Allow-Origin" not in refused.headers

        alice = api.agents["alice"]
        read = api.call("GET", "/api/me", alice, headers={"Origin": APP_ORIGIN})
        assert read.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
        assert read.headers["Vary"] == "Origin"
        other = api.call("GET", "/api/me", alice, headers={"Origin": "https://evil.example.com"})
        assert "Access-Control-Allow-Origin" not in other.headers


def test_by_default_no_origin_is_allowed(tmp_path: Path) -> None:
    with serve(tmp_path) as api:
        for origin in (APP_ORIGIN, "null", "*"):
            assert _preflight(api, origin).status_code == 403
            response = api.call("GET", "/api/health", headers={"Origin": origin})
            assert "Access-Control-Allow-Origin" not in response.headers
        # Without an Origin, OPTIONS is simply not a method of the API.
        assert api.call("OPTIONS", "/api/tickets").status_code == 405
