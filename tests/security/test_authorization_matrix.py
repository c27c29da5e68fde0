"""Every route of the handoff service and of Rasa's HTTP API × every kind of credential.

A route's row says which credential it takes; the test calls it with each kind
and requires: the right one gets past authentication (no 401/403), another
valid kind gets 403, anything else 401. An admin is an agent too: an admin's
token passes on agents' routes, an agent's gets 403 on admins' routes. A
route added to the service without a row here fails the coverage test, so the
matrix cannot fall behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devtools.stack import Stack
from handoff_service.app import create_app
from handoff_service.config import Settings

pytestmark = pytest.mark.integration

PUBLIC, BOT, AGENT, ADMIN = "public", "bot", "agent", "admin"


@dataclass(frozen=True)
class Route:
    """One route as the router names it, a concrete URL for it, and who may call it."""

    method: str
    pattern: str
    path: str
    who: str


CID = "matrix-conversation"
SERVICE_ROUTES = (
    Route("GET", "api/health", "/api/health", PUBLIC),
    Route("POST", "api/tickets", "/api/tickets", BOT),
    Route("GET", "api/conversations/<conversation_id:str>/ticket",
          f"/api/conversations/{CID}/ticket", BOT),
    Route("PATCH", "api/conversations/<conversation_id:str>/ticket",
          f"/api/conversations/{CID}/ticket", BOT),
    Route("POST", "api/conversations/<conversation_id:str>/user-messages",
          f"/api/conversations/{CID}/user-messages", BOT),
    Route("POST", "api/conversations/<conversation_id:str>/bot-messages",
          f"/api/conversations/{CID}/bot-messages", BOT),
    Route("POST", "api/conversations/<conversation_id:str>/rating",
          f"/api/conversations/{CID}/rating", BOT),
    Route("GET", "api/conversations/<conversation_id:str>/messages/<message_id:str>",
          f"/api/conversations/{CID}/messages/1", BOT),
    Route("POST", "api/conversations/<conversation_id:str>/seen",
          f"/api/conversations/{CID}/seen", BOT),
    Route("POST", "api/conversations/<conversation_id:str>/attachments",
          f"/api/conversations/{CID}/attachments", BOT),
    Route("GET", "api/conversations/<conversation_id:str>/attachments/<attachment_id:str>",
          f"/api/conversations/{CID}/attachments/att_missing", BOT),
    Route("GET", "api/tickets", "/api/tickets", AGENT),
    Route("GET", "api/attachments/limits", "/api/attachments/limits", AGENT),
    Route("GET", "api/attachments/<attachment_id:str>", "/api/attachments/att_missing", AGENT),
    Route("POST", "api/tickets/<ref:str>/attachments", "/api/tickets/T-999999/attachments",
          AGENT),
    Route("GET", "api/tickets/<ref:str>", "/api/tickets/T-000001", AGENT),
    Route("GET", "api/tickets/<ref:str>/messages", "/api/tickets/T-000001/messages", AGENT),
    Route("POST", "api/tickets/<ref:str>/messages", "/api/tickets/T-999999/messages", AGENT),
    Route("POST", "api/tickets/<ref:str>/claim", "/api/tickets/T-999999/claim", AGENT),
    Route("POST", "api/tickets/<ref:str>/resolve", "/api/tickets/T-999999/resolve", AGENT),
    Route("POST", "api/tickets/<ref:str>/close", "/api/tickets/T-999999/close", AGENT),
    Route("GET", "api/me", "/api/me", AGENT),
    Route("PATCH", "api/me", "/api/me", AGENT),
    Route("GET", "api/events", "/api/events", AGENT),
    Route("GET", "api/agents", "/api/agents", AGENT),
    Route("POST", "api/agents", "/api/agents", ADMIN),
    Route("POST", "api/agents/<agent_id:str>/disable", "/api/agents/999999/disable", ADMIN),
    Route("POST", "api/agents/<agent_id:str>/enable", "/api/agents/999999/enable", ADMIN),
    # Any agent may replace their own token; the service refuses another's to non-admins.
    Route("POST", "api/agents/<agent_id:str>/rotate", "/api/agents/999999/rotate", AGENT),
    Route("GET", "api/tickets/<ref:str>/notes", "/api/tickets/T-999999/notes", AGENT),
    Route("POST", "api/tickets/<ref:str>/notes", "/api/tickets/T-999999/notes", AGENT),
    Route("PUT", "api/tickets/<ref:str>/tags", "/api/tickets/T-999999/tags", AGENT),
    Route("GET", "api/tags", "/api/tags", AGENT),
    Route("POST", "api/tickets/<ref:str>/unassign", "/api/tickets/T-999999/unassign", AGENT),
    Route("POST", "api/tickets/<ref:str>/transfer", "/api/tickets/T-999999/transfer", AGENT),
    Route("POST", "api/tickets/<ref:str>/typing", "/api/tickets/T-999999/typing", AGENT),
    Route("GET", "api/search", "/api/search?q=T-999999", AGENT),
    Route("GET", "api/canned-replies", "/api/canned-replies", AGENT),
    Route("POST", "api/canned-replies", "/api/canned-replies", ADMIN),
    Route("PUT", "api/canned-replies/<reply_id:str>", "/api/canned-replies/999999", ADMIN),
    Route("DELETE", "api/canned-replies/<reply_id:str>", "/api/canned-replies/999999", ADMIN),
    Route("GET", "api/config", "/api/config", AGENT),
    Route("GET", "api/stats", "/api/stats", ADMIN),
    Route("GET", "api/public/queue", "/api/public/queue", PUBLIC),
    Route("GET", "console", "/console", PUBLIC),
    Route("GET", "console/", "/console/", PUBLIC),
    Route("GET", "console/config.js", "/console/config.js", PUBLIC),
    Route("GET", "console/<name:path>", "/console/console.js", PUBLIC),
    Route("GET", "widget", "/widget", PUBLIC),
    Route("GET", "widget/", "/widget/", PUBLIC),
    Route("GET", "widget/config.js", "/widget/config.js", PUBLIC),
    Route("GET", "widget/<name:path>", "/widget/widget.js", PUBLIC),
)

# Rasa's HTTP API: everything but the root and /version needs the auth token.
RASA_ROUTES = (
    ("GET", "/status"),
    ("GET", "/domain"),
    ("GET", f"/conversations/{CID}/tracker"),
    ("POST", f"/conversations/{CID}/trigger_intent"),
    ("POST", f"/conversations/{CID}/messages"),
    ("POST", f"/conversations/{CID}/execute"),
    ("POST", f"/conversations/{CID}/predict"),
    ("PUT", f"/conversations/{CID}/tracker/events"),
    ("POST", f"/conversations/{CID}/tracker/events"),
    ("GET", f"/conversations/{CID}/story"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
    ("POST", "/model/train"),
    ("POST", "/model/test/intents"),
    ("POST", "/model/test/stories"),
)


@pytest.fixture(scope="module")
def credentials(handoff_stack: Stack) -> Iterator[dict[str, dict[str, str]]]:
    """Authorization headers of every kind: valid ones and the ways to get it wrong."""
    assert handoff_stack.handoff_bot_token
    agent = handoff_stack.add_agent(f"matrix-{uuid.uuid4().hex[:6]}")
    admin = handoff_stack.add_agent(f"matrix-admin-{uuid.uuid4().hex[:6]}", role=ADMIN)
    retired_name = f"retired-{uuid.uuid4().hex[:6]}"
    retired = handoff_stack.add_agent(retired_name)
    handoff_stack.run_handoff_cli("agent", "deactivate", retired_name)
    yield {
        "none": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "basic": {"Authorization": f"Basic {handoff_stack.handoff_bot_token}"},
        "empty bearer": {"Authorization": "Bearer "},
        "chat session token": {
            "Authorization": f"Bearer {handoff_stack.session_token(CID)}"
        },
        "rasa token": {"Authorization": f"Bearer {handoff_stack.auth_token}"},
        "deactivated agent": {"Authorization": f"Bearer {retired}"},
        BOT: {"Authorization": f"Bearer {handoff_stack.handoff_bot_token}"},
        AGENT: {"Authorization": f"Bearer {agent}"},
        ADMIN: {"Authorization": f"Bearer {admin}"},
    }


def _expected(route: Route, kind: str) -> str:
    if route.who == PUBLIC:
        return "pass"
    if kind == route.who or (route.who == AGENT and kind == ADMIN):
        return "pass"
    return "forbidden" if kind in (BOT, AGENT, ADMIN) else "unauthenticated"


def test_the_matrix_covers_every_route_of_the_service(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    served = {
        (method, route.path)
        for route in app.router.routes
        for method in route.methods
        if method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    }
    assert served == {(r.method, r.pattern) for r in SERVICE_ROUTES}


@pytest.mark.parametrize("route", SERVICE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_service_route_takes_exactly_its_credential(
    handoff_stack: Stack, credentials: dict[str, dict[str, str]], route: Route
) -> None:
    for kind, headers in credentials.items():
        response = requests.request(
            route.method, f"{handoff_stack.handoff_url}{route.path}", headers=headers,
            json={} if route.method in ("POST", "PATCH", "PUT") else None, timeout=10,
            allow_redirects=False,
        )
        expected = _expected(route, kind)
        assert response.status_code < 500, (kind, response.status_code, response.text[:200])
        if expected == "pass":
            assert response.status_code not in (401, 403), (kind, response.text[:200])
        elif expected == "forbidden":
            assert response.status_code == 403, (kind, response.status_code)
        else:
            assert response.status_code == 401, (kind, response.status_code)


@pytest.mark.parametrize(("method", "path"), RASA_ROUTES, ids=lambda x: str(x))
def test_rasas_api_takes_only_its_auth_token(
    handoff_stack: Stack, credentials: dict[str, dict[str, str]], method: str, path: str
) -> None:
    for kind, headers in credentials.items():
        if kind == "rasa token":
            continue  # Rasa reads its token from ?token=, checked below
        response = requests.request(
            method, f"{handoff_stack.rasa_url}{path}", headers=headers, json={}, timeout=30
        )
        assert response.status_code in (401, 403), (kind, response.status_code)
    wrong = requests.request(
        method, f"{handoff_stack.rasa_url}{path}", params={"token": "wrong"}, json={}, timeout=30
    )
    assert wrong.status_code in (401, 403)


def test_rasas_api_works_with_its_token(handoff_stack: Stack) -> None:
    status = requests.get(
        f"{handoff_stack.rasa_url}/status", params={"token": handoff_stack.auth_token}, timeout=10
    )
    assert status.status_code == 200 and "model_file" in status.json()
