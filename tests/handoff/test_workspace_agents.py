"""Agents and roles over HTTP (SQLite and PostgreSQL) and the command line.

Admins add, enable and deactivate agents and replace tokens; an agent may
replace their own token and choose their console's language; a plain agent
on an admin route gets 403, a deactivated agent's token 401.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from handoff_service.cli import main
from handoff_service.db import make_session_factory
from handoff_service.models import AuditEvent
from handoff_service.services import HandoffService
from tests.handoff.helpers import Workspace


def _id_of(workspace: Workspace, name: str) -> int:
    agents = workspace.agent("alice", "GET", "/api/agents").json()["agents"]
    return next(a["id"] for a in agents if a["name"] == name)


def test_me_tells_the_role_and_keeps_the_console_language(workspace: Workspace) -> None:
    assert workspace.admin("GET", "/api/me").json()["role"] == "admin"
    me = workspace.agent("alice", "GET", "/api/me").json()
    assert (me["name"], me["role"], me["console_language"]) == ("alice", "agent", None)

    changed = workspace.agent("alice", "PATCH", "/api/me", json={"console_language": "zh"})
    assert changed.status_code == 200 and changed.json()["console_language"] == "zh"
    assert workspace.agent("alice", "GET", "/api/me").json()["console_language"] == "zh"
    # Bob's choice is his own.
    assert workspace.agent("bob", "GET", "/api/me").json()["console_language"] is None
    cleared = workspace.agent("alice", "PATCH", "/api/me", json={"console_language": None})
    assert cleared.json()["console_language"] is None

    for bad in ({"console_language": "fr"}, {"console_language": 1}, {}, {"role": "admin"}):
        refused = workspace.agent("alice", "PATCH", "/api/me", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["field"] == "console_language"
    # Nobody makes themselves an admin through /me.
    assert workspace.agent("alice", "GET", "/api/me").json()["role"] == "agent"
    twice = workspace.agent(
        "alice", "PATCH", "/api/me", data='{"console_language":"zh","console_language":"en"}'
    )
    assert twice.status_code == 422 and twice.json()["field"] == "console_language"


def test_any_agent_lists_agents_without_tokens(workspace: Workspace) -> None:
    listed = workspace.agent("bob", "GET", "/api/agents")
    assert listed.status_code == 200
    agents = listed.json()["agents"]
    assert [a["name"] for a in agents] == ["alice", "bob", "root"]
    assert {a["role"] for a in agents} == {"agent", "admin"}
    assert set(agents[0]) >= {"id", "name", "role", "active", "created_at"}
    for token in workspace.agents.values():
        assert token not in listed.text
    assert "token" not in listed.text


def test_an_admin_adds_an_agent_whose_token_is_shown_once(workspace: Workspace) -> None:
    added = workspace.admin("POST", "/api/agents", json={"name": "Dana", "role": "admin"})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["agent"]["name"] == "Dana" and body["agent"]["role"] == "admin"
    token = body["token"]
    assert workspace.call("GET", "/api/me", token).json()["name"] == "Dana"
    assert token not in workspace.admin("GET", "/api/agents").text

    plain = workspace.admin("POST", "/api/agents", json={"name": "Eve"})
    assert plain.status_code == 201 and plain.json()["agent"]["role"] == "agent"
    taken = workspace.admin("POST", "/api/agents", json={"name": "Dana"})
    assert taken.status_code == 422 and taken.json()["field"] == "name"
    for bad in (
        {"name": ""},
        {"name": "x" * 65},
        {"name": "<script>"},
        {"name": "'; DROP TABLE agents;--"},
        {"name": "Fay", "role": "superuser"},
        {"name": ["Fay"]},
    ):
        refused = workspace.admin("POST", "/api/agents", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
    assert workspace.admin("POST", "/api/agents", data=b"\xff\xfe").status_code == 400


def test_a_plain_agent_gets_403_on_every_admin_route(workspace: Workspace) -> None:
    root = _id_of(workspace, "root")
    calls = [
        ("POST", "/api/agents", {"name": "Mallory", "role": "admin"}),
        ("POST", f"/api/agents/{root}/disable", None),
        ("POST", f"/api/agents/{root}/enable", None),
        ("POST", f"/api/agents/{root}/rotate", None),
        ("GET", "/api/stats", None),
        (
            "POST",
            "/api/canned-replies",
            {"shortcut": "hi", "language": "en", "title": "t", "text": "t"},
        ),
        (
            "PUT",
            "/api/canned-replies/1",
            {"shortcut": "hi", "language": "en", "title": "t", "text": "t"},
        ),
        ("DELETE", "/api/canned-replies/1", None),
    ]
    for method, path, body in calls:
        refused = workspace.agent("alice", method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"] == "forbidden"
        # The bot's token is no agent's either.
        assert workspace.bot(method, path, json=body).status_code == 403
        assert workspace.call(method, path, json=body).status_code == 401
    names = [a["name"] for a in workspace.admin("GET", "/api/agents").json()["agents"]]
    assert "Mallory" not in names
    # The admin's token still works: nobody rotated or disabled it.
    assert workspace.admin("GET", "/api/me").status_code == 200


def test_disable_and_enable_an_agent(workspace: Workspace) -> None:
    bob = _id_of(workspace, "bob")
    disabled = workspace.admin("POST", f"/api/agents/{bob}/disable")
    assert disabled.status_code == 200 and disabled.json()["agent"]["active"] is False
    # A deactivated agent's token is unknown from now on, on every route.
    for method, path in (("GET", "/api/me"), ("GET", "/api/tickets"), ("GET", "/api/agents")):
        assert workspace.agent("bob", method, path).status_code == 401
    again = workspace.admin("POST", f"/api/agents/{bob}/disable")
    assert again.status_code == 200 and again.json()["agent"]["active"] is False

    enabled = workspace.admin("POST", f"/api/agents/{bob}/enable")
    assert enabled.status_code == 200 and enabled.json()["agent"]["active"] is True
    assert workspace.agent("bob", "GET", "/api/me").status_code == 200


def test_an_admin_cannot_disable_their_own_account(workspace: Workspace) -> None:
    root = _id_of(workspace, "root")
    refused = workspace.admin("POST", f"/api/agents/{root}/disable")
    assert refused.status_code == 409 and refused.json()["error"] == "self_disable"
    assert workspace.admin("GET", "/api/me").status_code == 200


@pytest.mark.parametrize(
    ("agent_id", "status"),
    [("999999", 404), ("0", 422), ("-1", 422), ("abc", 422), ("9" * 30, 422), ("1.5", 422)],
)
def test_unknown_or_malformed_agent_ids(workspace: Workspace, agent_id: str, status: int) -> None:
    for action in ("disable", "enable", "rotate"):
        response = workspace.admin("POST", f"/api/agents/{agent_id}/{action}")
        assert response.status_code == status, (action, response.text)


def test_rotating_a_token_retires_the_old_one(workspace: Workspace) -> None:
    alice, bob = _id_of(workspace, "alice"), _id_of(workspace, "bob")
    # An agent may replace their own token...
    own = workspace.agent("alice", "POST", f"/api/agents/{alice}/rotate")
    assert own.status_code == 200
    new_token = own.json()["token"]
    assert workspace.agent("alice", "GET", "/api/me").status_code == 401
    assert workspace.call("GET", "/api/me", new_token).json()["name"] == "alice"
    # ...but not another agent's.
    workspace.agents["alice"] = new_token
    refused = workspace.agent("alice", "POST", f"/api/agents/{bob}/rotate")
    assert refused.status_code == 403
    assert workspace.agent("bob", "GET", "/api/me").status_code == 200
    # An admin may replace anyone's.
    by_admin = workspace.admin("POST", f"/api/agents/{bob}/rotate")
    assert by_admin.status_code == 200
    assert workspace.agent("bob", "GET", "/api/me").status_code == 401
    assert workspace.call("GET", "/api/me", by_admin.json()["token"]).status_code == 200


def test_agent_changes_are_audited_without_tokens(workspace: Workspace) -> None:
    bob = _id_of(workspace, "bob")
    workspace.admin("POST", f"/api/agents/{bob}/disable")
    token = workspace.admin("POST", f"/api/agents/{bob}/rotate").json()["token"]
    with workspace.server.app.ctx.sessions() as session:
        events = session.query(AuditEvent).filter(AuditEvent.ticket_id.is_(None)).all()
        trail = [(e.actor, e.action) for e in events]
        assert ("root", "agent_deactivated") in trail and ("root", "agent_token_rotated") in trail
        assert all(token not in str(e.detail) for e in events)


# ---------------------------------------------------------------- the command line


def _cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> int:
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    return main(list(args))


def test_the_cli_manages_roles_tokens_and_states(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated_engine.url.render_as_string(hide_password=False)
    assert _cli(monkeypatch, url, "agent", "add", "Ana", "--role", "admin") == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    assert _cli(monkeypatch, url, "agent", "add", "Ben") == 0
    capsys.readouterr()
    assert _cli(monkeypatch, url, "agent", "list") == 0
    listed = capsys.readouterr().out
    assert "Ana\tactive\tadmin\t" in listed and "Ben\tactive\tagent\t" in listed
    assert first not in listed

    assert _cli(monkeypatch, url, "agent", "rotate", "Ana") == 0
    rotated = capsys.readouterr().out.strip().splitlines()[-1]
    assert rotated != first and len(rotated) >= 40
    assert _cli(monkeypatch, url, "agent", "role", "Ana", "agent") == 0
    assert _cli(monkeypatch, url, "agent", "deactivate", "Ben") == 0
    capsys.readouterr()
    sessions = make_session_factory(migrated_engine)
    with sessions() as session:
        service = HandoffService(session)
        agents = {a.name: a for a in service.agents()}
        assert agents["Ana"].role.value == "agent" and not agents["Ben"].active
        assert service.authenticate_agent(rotated).name == "Ana"
    assert _cli(monkeypatch, url, "agent", "enable", "Ben") == 0
    with sessions() as session:
        assert {a.name: a.active for a in HandoffService(session).agents()}["Ben"] is True

    assert _cli(monkeypatch, url, "agent", "enable", "Nobody") == 1
    assert _cli(monkeypatch, url, "agent", "rotate", "Nobody") == 1
    assert "no agent named" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(monkeypatch, url, "agent", "role", "Ana", "superuser")
    with pytest.raises(SystemExit):
        _cli(monkeypatch, url, "agent", "add", "Cid", "--role", "root")
