"""Around a ticket, over HTTP on SQLite and PostgreSQL: notes, tags, hand-overs, search, related
tickets and the clocks of the ticket's details."""

from __future__ import annotations

import asyncio
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine

from handoff_service.attachment_store import make_store
from handoff_service.config import parse_mail_from
from handoff_service.db import make_session_factory
from handoff_service.mail.dispatcher import EmailDispatcher, EmailDispatchSettings
from handoff_service.models import AuditEvent, Message, TicketNote
from handoff_service.services import HandoffService
from tests.handoff.helpers import (
    FakeActivity,
    FakeClock,
    FakeNotifier,
    Workspace,
    chat_lines,
    start_workspace,
    ticket_payload,
)

NOTE = "VIP customer, second time this month; check the 2nd withdrawal first (zq-note-marker)"


def _claimed(workspace: Workspace, agent: str = "alice", **overrides: Any) -> str:
    ref = workspace.new_ticket(**overrides)["ref"]
    assert workspace.agent(agent, "POST", f"/api/tickets/{ref}/claim").status_code == 200
    return str(ref)


def _system_lines(workspace: Workspace, ref: str) -> list[str]:
    messages = workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()["messages"]
    return [m["text"] for m in messages if m["author"] == "system"]


def _audit(workspace: Workspace, ref: str) -> list[tuple[str, str, Any]]:
    ticket_id = int(ref[2:])
    with workspace.server.app.ctx.sessions() as session:
        events = session.query(AuditEvent).filter(AuditEvent.ticket_id == ticket_id).all()
        return [(e.actor, e.action, e.detail) for e in events]


# ---------------------------------------------------------------- notes


def test_notes_are_kept_for_agents_and_shown_with_the_ticket(workspace: Workspace) -> None:
    ref = workspace.new_ticket()["ref"]
    added = workspace.agent("bob", "POST", f"/api/tickets/{ref}/notes", json={"text": NOTE})
    assert added.status_code == 201, added.text
    note = added.json()
    assert (note["author"], note["text"]) == ("bob", NOTE) and note["created_at"]
    markup = "<img src=x onerror=alert(1)> 提币 🚀 '; DROP TABLE ticket_notes;--"
    workspace.agent("alice", "POST", f"/api/tickets/{ref}/notes", json={"text": markup})

    listed = workspace.agent("alice", "GET", f"/api/tickets/{ref}/notes").json()["notes"]
    assert [(n["author"], n["text"]) for n in listed] == [("bob", NOTE), ("alice", markup)]
    detail = workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()
    assert [n["text"] for n in detail["notes"]] == [NOTE, markup]
    # A note is no line of the transcript.
    assert all(NOTE not in m["text"] for m in detail["messages"])
    assert ("bob", "note_added", {"note_id": note["id"]}) in _audit(workspace, ref)


def test_bad_notes_are_refused(workspace: Workspace) -> None:
    ref = workspace.new_ticket()["ref"]
    path = f"/api/tickets/{ref}/notes"
    for body in (
        {"text": ""},
        {"text": "   "},
        {"text": "a" * 4001},
        {"text": 5},
        {},
        {"text": None},
    ):
        refused = workspace.agent("alice", "POST", path, json=body)
        assert refused.status_code == 422 and refused.json()["field"] == "text", body
    assert workspace.agent("alice", "POST", path, data=b"\x00\xff").status_code == 400
    twice = workspace.agent("alice", "POST", path, data='{"text":"a","text":"b"}')
    assert twice.status_code == 422 and twice.json()["field"] == "text"
    assert workspace.agent("alice", "POST", path, json={"text": "a" * 4000}).status_code == 201
    for missing in ("T-999999", "T-0000001", "nope", "T-2147483648"):
        response = workspace.agent("alice", "POST", f"/api/tickets/{missing}/notes", json=NOTE)
        assert response.status_code in (404, 422), missing
        assert workspace.agent("alice", "GET", f"/api/tickets/{missing}/notes").status_code == 404
    assert workspace.bot("GET", path).status_code == 403


def test_a_note_never_keeps_a_secret(workspace: Workspace) -> None:
    ref = workspace.new_ticket()["ref"]
    phrase = "abandon ability able about above absent absorb abstract absurd abuse access accident"
    stored = workspace.agent(
        "alice", "POST", f"/api/tickets/{ref}/notes", json={"text": f"user pasted {phrase}"}
    ).json()
    assert "abandon ability" not in stored["text"]


class _RecordingSender:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def test_a_note_never_reaches_the_user(database_url: str) -> None:
    """Not the chat (notifications, the bot's routes), not the e-mails, not the transcript."""
    clock, notifier, activity, sender = (
        FakeClock(),
        FakeNotifier(),
        FakeActivity(),
        _RecordingSender(),
    )
    server, agents = start_workspace(
        database_url, notifier, activity, clock=clock, mail_sender=sender
    )
    try:
        with requests.Session() as http:
            desk = Workspace(server, agents, http, notifier, activity)
            ticket = desk.new_ticket(conversation_id="conv-notes", contact_email="u@example.com")
            ref = ticket["ref"]
            desk.agent("alice", "POST", f"/api/tickets/{ref}/claim")
            desk.agent("alice", "POST", f"/api/tickets/{ref}/notes", json={"text": NOTE})
            reply = desk.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "Hi"})
            desk.agent("bob", "POST", f"/api/tickets/{ref}/notes", json={"text": NOTE + " 2"})
            notifier.wait_for(2)
            # The reply stays unseen in the widget: it is e-mailed with the ticket's replies.
            clock.advance(3600)
            mailer = EmailDispatcher(
                server.app.ctx.sessions,
                sender,
                clock,
                mail_from=parse_mail_from("support@wallet.test"),
                chat_url="https://wallet.example/chat/",
                settings=EmailDispatchSettings(reply_delay_s=600),
            )
            asyncio.run(mailer.run_once())
            asyncio.run(mailer.run_once())
            bodies = [m.get_body(("plain",)).get_content() for m in sender.sent]  # type: ignore[union-attr]
            assert len(sender.sent) >= 2 and any("Hi" in body for body in bodies)
            assert all("zq-note-marker" not in body for body in bodies)
            assert all("zq-note-marker" not in str(n) for n in notifier.calls)
            seen_by_bot = [
                desk.bot("GET", "/api/conversations/conv-notes/ticket").text,
                desk.bot(
                    "GET", f"/api/conversations/conv-notes/messages/{reply.json()['id']}"
                ).text,
            ]
            assert all(
                "zq-note-marker" not in text and '"notes"' not in text for text in seen_by_bot
            )
            assert all("zq-note-marker" not in json.dumps(a) for a in activity.sent)
            with server.app.ctx.sessions() as session:
                lines = session.query(Message).all()
                assert lines and all("zq-note-marker" not in m.text for m in lines)
                assert session.query(TicketNote).count() == 2
    finally:
        server.stop()


# ---------------------------------------------------------------- tags


def test_tags_are_set_filtered_and_counted(workspace: Workspace) -> None:
    first = workspace.new_ticket(conversation_id="c-1")["ref"]
    second = workspace.new_ticket(conversation_id="c-2")["ref"]
    workspace.new_ticket(conversation_id="c-3")
    put = workspace.agent(
        "alice",
        "PUT",
        f"/api/tickets/{first}/tags",
        json={"tags": ["VIP", "lost-funds", "vip", "提币"]},
    )
    assert put.status_code == 200 and put.json() == {"tags": ["lost-funds", "vip", "提币"]}
    workspace.agent("bob", "PUT", f"/api/tickets/{second}/tags", json={"tags": ["vip"]})

    queue = workspace.agent("alice", "GET", "/api/tickets", params={"tag": "vip"}).json()
    assert sorted(t["ref"] for t in queue["tickets"]) == sorted([first, second])
    by_both = workspace.agent(
        "alice", "GET", "/api/tickets", params={"tag": "提币", "status": "open"}
    ).json()["tickets"]
    assert [t["ref"] for t in by_both] == [first]
    assert (
        workspace.agent("alice", "GET", "/api/tickets", params={"tag": "none"}).json()["tickets"]
        == []
    )
    assert workspace.agent("alice", "GET", "/api/tags").json()["tags"] == [
        {"tag": "vip", "count": 2},
        {"tag": "lost-funds", "count": 1},
        {"tag": "提币", "count": 1},
    ]
    assert workspace.agent("alice", "GET", f"/api/tickets/{first}").json()["tags"] == [
        "lost-funds",
        "vip",
        "提币",
    ]
    # Replacing the set removes what is left out; an empty list clears it.
    assert workspace.agent(
        "alice", "PUT", f"/api/tickets/{first}/tags", json={"tags": ["vip"]}
    ).json() == {"tags": ["vip"]}
    assert workspace.agent(
        "alice", "PUT", f"/api/tickets/{second}/tags", json={"tags": []}
    ).json() == {"tags": []}
    actions = [(actor, action) for actor, action, _ in _audit(workspace, first)]
    assert actions.count(("alice", "tags_changed")) == 2


@pytest.mark.parametrize(
    "tags",
    [
        "vip",
        [""],
        ["a" * 33],
        ["has space"],
        ["<b>"],
        ["a%"],
        ["🚀"],
        [1],
        [None],
        [f"t{i}" for i in range(11)],
        {"vip": True},
    ],
)
def test_bad_tags_are_refused(workspace: Workspace, tags: Any) -> None:
    ref = workspace.new_ticket()["ref"]
    refused = workspace.agent("alice", "PUT", f"/api/tickets/{ref}/tags", json={"tags": tags})
    assert refused.status_code == 422 and refused.json()["field"] == "tags", refused.text
    assert workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()["tags"] == []


def test_bad_tag_filters_are_refused(workspace: Workspace) -> None:
    for tag in ("a b", "x" * 40, "%", "<b>"):
        refused = workspace.agent("alice", "GET", "/api/tickets", params={"tag": tag})
        assert refused.status_code == 422 and refused.json()["field"] == "tag"


# ---------------------------------------------------------------- unassign and transfer


def test_the_assignee_puts_a_ticket_back_in_the_queue(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    before = len(workspace.notifier.wait_for(1))
    back = workspace.agent("alice", "POST", f"/api/tickets/{ref}/unassign")
    assert back.status_code == 200
    assert (back.json()["status"], back.json()["assignee"]) == ("open", None)
    assert _system_lines(workspace, ref)[-1] == "Returned to the queue by alice"
    assert ("alice", "ticket_unassigned", {"previous": "alice"}) in _audit(workspace, ref)
    # Bob may claim it now; the user was not told about the hand-back.
    assert workspace.agent("bob", "POST", f"/api/tickets/{ref}/claim").status_code == 200
    assert workspace.notifier.intents[:before] == ["agent_joined"]
    again = workspace.agent("alice", "POST", f"/api/tickets/{ref}/unassign")
    assert again.status_code == 409 and again.json()["error"] == "not_assignee"


def test_an_admin_unassigns_and_transfers_anyones_ticket(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    moved = workspace.admin("POST", f"/api/tickets/{ref}/transfer", json={"agent": "bob"})
    assert moved.status_code == 200 and moved.json()["assignee"] == "bob"
    assert _system_lines(workspace, ref)[-1] == "Transferred from alice to bob by root"
    back = workspace.admin("POST", f"/api/tickets/{ref}/unassign")
    assert back.status_code == 200 and back.json()["status"] == "open"
    assert _system_lines(workspace, ref)[-1] == "Returned to the queue by root (was with bob)"
    # An open ticket given to an agent is a claim on their behalf: the chat hears it.
    given = workspace.admin("POST", f"/api/tickets/{ref}/transfer", json={"agent": "alice"})
    assert given.status_code == 200 and given.json()["status"] == "assigned"
    assert _system_lines(workspace, ref)[-1] == "Assigned to alice by root"
    workspace.notifier.wait_for(2)
    assert workspace.notifier.intents == ["agent_joined", "agent_joined"]


def test_the_assignee_transfers_and_the_user_is_not_told(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    workspace.notifier.wait_for(1)
    moved = workspace.agent("alice", "POST", f"/api/tickets/{ref}/transfer", json={"agent": "bob"})
    assert moved.status_code == 200 and moved.json()["assignee"] == "bob"
    assert _system_lines(workspace, ref)[-1] == "Transferred from alice to bob"
    assert ("alice", "ticket_transferred", {"previous": "alice", "to": "bob"}) in _audit(
        workspace, ref
    )
    # Bob answers now; alice no longer may.
    assert workspace.agent("bob", "POST", f"/api/tickets/{ref}/messages", json={"text": "hi"}).ok
    refused = workspace.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "x"})
    assert refused.status_code == 409
    workspace.notifier.wait_for(2)
    assert workspace.notifier.intents == ["agent_joined", "agent_message"]
    # The user's transcript (what the bot and e-mails read) has no system line about it.
    messages = workspace.agent("bob", "GET", f"/api/tickets/{ref}").json()["messages"]
    assert all("Transferred" not in m["text"] for m in chat_lines(messages))


def test_transfers_that_must_fail(workspace: Workspace) -> None:
    ref = _claimed(workspace)
    path = f"/api/tickets/{ref}/transfer"
    # Not the assignee, not an admin.
    stolen = workspace.agent("bob", "POST", path, json={"agent": "bob"})
    assert stolen.status_code == 409 and stolen.json()["error"] == "not_assignee"
    assert workspace.agent("bob", "POST", f"/api/tickets/{ref}/unassign").status_code == 409
    # To a deactivated agent.
    bob = next(
        a["id"]
        for a in workspace.admin("GET", "/api/agents").json()["agents"]
        if a["name"] == "bob"
    )
    workspace.admin("POST", f"/api/agents/{bob}/disable")
    disabled = workspace.agent("alice", "POST", path, json={"agent": "bob"})
    assert disabled.status_code == 409 and disabled.json()["error"] == "agent_disabled"
    for body in ({"agent": "nobody"}, {"agent": ""}, {"agent": 7}, {}, {"agent": ["bob"]}):
        refused = workspace.agent("alice", "POST", path, json=body)
        assert refused.status_code == 422 and refused.json()["field"] == "agent", body
    same = workspace.agent("alice", "POST", path, json={"agent": "alice"})
    assert same.status_code == 409 and same.json()["error"] == "already_assigned"
    assert workspace.agent("alice", "GET", f"/api/tickets/{ref}").json()["assignee"] == "alice"
    # A resolved ticket stays with whoever resolved it.
    workspace.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
    late = workspace.admin("POST", path, json={"agent": "root"})
    assert late.status_code == 409
    assert workspace.admin("POST", f"/api/tickets/{ref}/unassign").status_code == 409
    assert workspace.admin("POST", "/api/tickets/T-999999/unassign").status_code == 404


# ---------------------------------------------------------------- search


def _search(workspace: Workspace, q: str) -> list[str]:
    response = workspace.agent("alice", "GET", "/api/search", params={"q": q})
    assert response.status_code == 200, response.text
    return [t["ref"] for t in response.json()["tickets"]]


def test_search_finds_by_reference_hash_address_email_conversation_and_tag(
    workspace: Workspace,
) -> None:
    tx = "0x" + "ab" * 32
    one = workspace.new_ticket(
        conversation_id="conv-search",
        tx_hash=tx,
        wallet_address="TXyz9876543210abcdefABCDEF",
        contact_email="Worried.User@Example.com",
    )["ref"]
    other = workspace.new_ticket(conversation_id="conv-other", contact_email="x@example.com")["ref"]
    workspace.agent("alice", "PUT", f"/api/tickets/{other}/tags", json={"tags": ["vip"]})

    assert _search(workspace, one) == [one]
    assert _search(workspace, one.lower()) == [one]
    assert _search(workspace, tx) == [one]
    assert _search(workspace, tx[:10].upper()) == [one]
    assert _search(workspace, "txyz9876") == [one]
    assert _search(workspace, "worried.user@example.com") == [one]
    assert _search(workspace, "Worried.User") == []
    assert _search(workspace, "conv-search") == [one]
    assert _search(workspace, "conv-") == []
    assert _search(workspace, "VIP") == [other]
    assert _search(workspace, "nothing-like-this") == []


def test_search_treats_like_wildcards_as_text(workspace: Workspace) -> None:
    workspace.new_ticket(conversation_id="c-a", tx_hash="0x" + "cd" * 32)
    odd = workspace.new_ticket(conversation_id="c-b", wallet_address="ab%_cd\\ef")["ref"]
    assert _search(workspace, "%%%") == []
    assert _search(workspace, "___") == []
    assert _search(workspace, "0x%") == []
    assert _search(workspace, "0x_c") == []
    assert _search(workspace, "ab%_c") == [odd]
    assert _search(workspace, "ab%_cd\\") == [odd]
    assert _search(workspace, "a\\%") == []
    assert _search(workspace, "' OR '1'='1") == []
    assert _search(workspace, "'; DROP TABLE tickets;--") == []
    assert workspace.agent("alice", "GET", "/api/tickets").json()["tickets"]


@pytest.mark.parametrize("q", [None, "", "ab", "  ab  ", "a" * 201, "\x00\x00\x00"])
def test_search_needs_3_to_200_characters(workspace: Workspace, q: str | None) -> None:
    params = {} if q is None else {"q": q}
    refused = workspace.agent("alice", "GET", "/api/search", params=params)
    assert refused.status_code == 422 and refused.json()["field"] == "q"


def test_search_returns_at_most_20_newest_first(workspace: Workspace) -> None:
    refs = [
        workspace.new_ticket(conversation_id=f"c-{i}", contact_email="same@example.com")["ref"]
        for i in range(22)
    ]
    found = _search(workspace, "same@example.com")
    assert found == list(reversed(refs))[:20]


# ---------------------------------------------------------------- details


def test_related_tickets_of_the_same_user(workspace: Workspace) -> None:
    first = workspace.new_ticket(conversation_id="conv-a", app_user_id="user-1")["ref"]
    by_email = workspace.new_ticket(conversation_id="conv-b", contact_email="user@example.com")[
        "ref"
    ]
    stranger = workspace.new_ticket(
        conversation_id="conv-c", contact_email="other@example.com", app_user_id="user-2"
    )["ref"]
    latest = workspace.new_ticket(
        conversation_id="conv-d", app_user_id="user-1", contact_email="user@example.com"
    )["ref"]
    related = workspace.agent("alice", "GET", f"/api/tickets/{latest}").json()["related"]
    assert [t["ref"] for t in related] == [by_email, first]
    assert stranger not in [t["ref"] for t in related]
    assert {"ref", "status", "title", "waiting_seconds"} <= set(related[0])


def test_the_waiting_clock_stops_at_the_first_reply_and_resolution_is_timed(
    database_url: str,
) -> None:
    clock, notifier, activity = FakeClock(), FakeNotifier(), FakeActivity()
    server, agents = start_workspace(database_url, notifier, activity, clock=clock)
    try:
        with requests.Session() as http:
            desk = Workspace(server, agents, http, notifier, activity)
            ref = desk.new_ticket()["ref"]
            clock.advance(90)
            desk.agent("alice", "POST", f"/api/tickets/{ref}/claim")
            detail = desk.agent("alice", "GET", f"/api/tickets/{ref}").json()
            assert detail["waiting_seconds"] == 90 and detail["resolution_seconds"] is None
            clock.advance(30)
            desk.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "On it"})
            clock.advance(600)
            detail = desk.agent("alice", "GET", f"/api/tickets/{ref}").json()
            assert detail["waiting_seconds"] == 120
            assert detail["first_agent_reply_at"] is not None
            desk.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
            clock.advance(60)
            detail = desk.agent("alice", "GET", f"/api/tickets/{ref}").json()
            assert detail["waiting_seconds"] == 120 and detail["resolution_seconds"] == 720
            assert detail["resolved_at"] is not None and detail["closed_at"] is None
            assert detail["csat"] is None
            desk.bot("POST", "/api/conversations/conv-1/rating", json={"score": 4})
            assert desk.agent("alice", "GET", f"/api/tickets/{ref}").json()["csat"] == 4
    finally:
        server.stop()


def test_erasing_a_ticket_erases_its_notes_and_tags(migrated_engine: Engine) -> None:
    with make_session_factory(migrated_engine)() as session:
        service = HandoffService(session)
        alice, _ = service.add_agent("alice")
        ticket, _ = service.create_ticket(ticket_payload(), None)
        service.add_note(ticket.ref, alice, NOTE)
        service.set_tags(ticket.ref, alice, ["vip"])
        kept, _ = service.create_ticket(ticket_payload(conversation_id="other"), None)
        service.set_tags(kept.ref, alice, ["vip"])
        service.delete_ticket(ticket.ref, make_store("database", Path("unused")))
        assert session.query(TicketNote).count() == 0
        assert service.tags_in_use() == [("vip", 1)]
