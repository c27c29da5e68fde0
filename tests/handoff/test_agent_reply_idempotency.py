"""An agent's reply sent again with its Idempotency-Key is stored, and told to the user, once.

The console sends every reply with a key and sends it again when the answer
was lost (a handoff replica died, nginx answered 502). Over HTTP on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid

import requests

from tests.handoff.helpers import Workspace

TEXT = "I can see the withdrawal on the chain; it is waiting for confirmations."


def _claimed(workspace: Workspace) -> str:
    ref = workspace.new_ticket(conversation_id=f"conv-{uuid.uuid4().hex[:12]}")["ref"]
    assert workspace.agent("alice", "POST", f"/api/tickets/{ref}/claim").status_code == 200
    return str(ref)


def _reply(workspace: Workspace, ref: str, key: str | None, text: str = TEXT,
           agent: str = "alice") -> requests.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return workspace.agent(agent, "POST", f"/api/tickets/{ref}/messages",
                           json={"text": text}, headers=headers)


def _agent_lines(workspace: Workspace, ref: str) -> list[str]:
    messages = workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()["messages"]
    return [m["text"] for m in messages if m["author"] == "agent"]


def test_a_reply_sent_twice_with_its_key_is_kept_once(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    key = uuid.uuid4().hex
    first = _reply(workspace, ref, key)
    again = _reply(workspace, ref, key)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert _agent_lines(workspace, ref) == [TEXT]


def test_replies_with_other_keys_or_without_one_are_all_kept(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    for key in (uuid.uuid4().hex, uuid.uuid4().hex, None, None):
        assert _reply(workspace, ref, key).status_code == 201
    assert _agent_lines(workspace, ref) == [TEXT] * 4


def test_the_same_key_on_another_ticket_is_another_reply(workspace: Workspace) -> None:
    key = uuid.uuid4().hex
    one, two = _claimed(workspace), _claimed(workspace)
    assert _reply(workspace, one, key).status_code == 201
    assert _reply(workspace, two, key).status_code == 201
    assert _agent_lines(workspace, two) == [TEXT]


def test_copies_racing_each_other_store_one_reply(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    key = uuid.uuid4().hex
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(_reply(workspace, ref, key)
                                                              .status_code))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] * 5 + [201], statuses
    assert _agent_lines(workspace, ref) == [TEXT]


def test_a_late_copy_after_the_ticket_was_resolved_is_not_a_conflict(
    workspace: Workspace,
) -> None:
    ref = _claimed(workspace)
    key = uuid.uuid4().hex
    first = _reply(workspace, ref, key)
    assert workspace.agent("alice", "POST", f"/api/tickets/{ref}/resolve").status_code == 200
    late = _reply(workspace, ref, key)
    assert late.status_code == 200 and late.json()["id"] == first.json()["id"]
    # A new reply on the resolved ticket is still refused.
    assert _reply(workspace, ref, uuid.uuid4().hex).status_code == 409


def test_another_agent_cannot_read_a_reply_back_by_guessing_its_key_on_a_foreign_ticket(
    workspace: Workspace,
) -> None:
    ref = _claimed(workspace)
    key = uuid.uuid4().hex
    assert _reply(workspace, ref, key).status_code == 201
    # bob is not the assignee: with the same key he gets the stored reply at most,
    # never a new line under alice's ticket.
    copy = _reply(workspace, ref, key, text="something else", agent="bob")
    assert copy.status_code in (200, 409)
    assert _agent_lines(workspace, ref) == [TEXT]


def test_malformed_keys_are_refused_with_the_field_named(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    for key in ("", "k" * 300, "del\x7fkey", "tab\tinside"):
        response = _reply(workspace, ref, key)
        if key == "":
            assert response.status_code == 201  # an empty header is no key
            continue
        assert response.status_code == 422, (key, response.text)
        assert response.json().get("field") == "Idempotency-Key"
    assert len(_agent_lines(workspace, ref)) == 1
