"""Details the bot adds to the open ticket after the escalation: ``PATCH .../ticket``, ``amount``.

Over real HTTP, on SQLite and PostgreSQL: what an update changes, what it
refuses (with the field named), what it never touches (another conversation's
ticket, a resolved one), and how an open console learns of it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from handoff_service import repository as repo
from handoff_service.models import AuditEvent, Message, OutgoingEmail
from handoff_service.services import HandoffService
from support_core.secret_guard import KEY_PLACEHOLDER, SEED_PLACEHOLDER
from tests.handoff.helpers import Api, FakeNotifier, start_api, ticket_payload

PATH = "/api/conversations/conv-1/ticket"
SQL = "Robert'); DROP TABLE tickets;-- ' OR '1'='1"
PHRASE = (
    "abandon ability able about above absent absorb abstract absurd abuse access accident"
)


@pytest.fixture
def both(database_url: str) -> Iterator[Api]:
    """The service on SQLite and on PostgreSQL (each test runs on both)."""
    notifier = FakeNotifier()
    server, agents = start_api(database_url, notifier)
    with requests.Session() as http:
        yield Api(server, agents, http, notifier)
    server.stop()


def _trail(api: Api, ref: str) -> list[tuple[str, str, Any]]:
    with api.server.app.ctx.sessions() as session:
        return HandoffService(session).audit_trail(ref)


def _updates(api: Api, ref: str) -> list[tuple[str, Any]]:
    # Only the updates: the confirmation e-mail is audited too, whenever it goes.
    trail = _trail(api, ref)
    return [(actor, detail) for actor, action, detail in trail if action == "ticket_updated"]


def _lines(api: Api, ref: str, author: str = "system") -> list[str]:
    messages = api.agent("alice", "GET", f"/api/tickets/{ref}/messages").json()["messages"]
    return [m["text"] for m in messages if m["author"] == author]


def test_details_come_in_after_the_escalation(both: Api) -> None:
    created = both.new_ticket(tx_hash=None, chain=None)
    ref = created["ref"]
    assert created["amount"] is None
    tx_hash = "0x" + secrets.token_hex(32)
    response = both.bot(
        "PATCH",
        PATH,
        json={
            "amount": "500 USDT",
            "tx_hash": tx_hash,
            "chain": "tron",
            "description": "Withdrew 500 USDT to Binance on TRON; it never arrived.",
            "occurred_at": "2025-11-24T21:00:00+08:00",
            "summary": {"facts": {"amount": ["500 USDT"]}, "problem": "withdrawal_missing"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # The same serializer as every other bot route.
    assert set(body) == set(created)
    assert body["ref"] == ref and body["status"] == "open"
    assert body["amount"] == "500 USDT"
    assert body["tx_hash"] == tx_hash
    assert body["chain"] == "tron"
    assert body["description"].startswith("Withdrew 500 USDT")
    assert body["occurred_at"] == "2025-11-24T13:00:00+00:00"
    assert body["summary"]["problem"] == "withdrawal_missing"
    # What the bot did not send stays as it was.
    assert (body["title"], body["contact_email"]) == (created["title"], created["contact_email"])
    seen = both.agent("alice", "GET", f"/api/tickets/{ref}").json()
    assert {k: seen[k] for k in body if k != "waiting_seconds"} == {
        k: body[k] for k in body if k != "waiting_seconds"
    }
    # Audited by field name, never by value.
    ((actor, detail),) = _updates(both, ref)
    assert actor == "bot"
    assert detail["fields"] == [
        "description", "tx_hash", "chain", "occurred_at", "amount", "summary"
    ]
    assert "500" not in json.dumps(detail) and tx_hash not in json.dumps(detail)
    assert _lines(both, ref)[-1] == (
        "Details added: tx hash, network, when it happened, amount, summary; "
        "changed: description"
    )


def test_the_update_of_an_assigned_ticket_and_the_time_its_text_names(both: Api) -> None:
    ref = both.new_ticket(occurred_at="2025-11-20T10:00:00Z")["ref"]
    both.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    typed = both.bot("PATCH", PATH, json={"occurred_at_text": "2025-11-24T21:00:00+08:00"})
    assert typed.status_code == 200 and typed.json()["status"] == "assigned"
    assert typed.json()["occurred_at"] == "2025-11-24T13:00:00+00:00"
    # Free text replaces the time too: the card never shows a stale one beside it.
    free = both.bot("PATCH", PATH, json={"occurred_at_text": "last Tuesday evening"}).json()
    assert (free["occurred_at_text"], free["occurred_at"]) == ("last Tuesday evening", None)


def test_a_repeated_update_changes_nothing_twice(both: Api) -> None:
    ref = both.new_ticket()["ref"]
    first = both.bot("PATCH", PATH, json={"amount": "120 USDT"})
    again = both.bot("PATCH", PATH, json={"amount": "120 USDT", "chain": "tron"})
    assert first.status_code == again.status_code == 200
    # The retry wrote nothing: same updated_at, one audit event, one system line.
    assert again.json()["updated_at"] == first.json()["updated_at"]
    assert len(_updates(both, ref)) == 1
    assert [line for line in _lines(both, ref) if line.startswith("Details")] == [
        "Details added: amount"
    ]


def test_an_update_reaches_only_the_conversation_s_own_open_ticket(both: Api) -> None:
    mine = both.new_ticket(conversation_id="mine")["ref"]
    theirs = both.new_ticket(conversation_id="theirs")["ref"]
    nobody = both.bot("PATCH", "/api/conversations/nobody/ticket", json={"amount": "1 BTC"})
    assert nobody.status_code == 404
    assert nobody.json()["error"] == "no_open_ticket"
    # Another conversation's reference in a field is text, nothing more.
    both.bot("PATCH", "/api/conversations/mine/ticket", json={"title": f"see {theirs}"})
    assert both.agent("alice", "GET", f"/api/tickets/{theirs}").json()["title"] != f"see {theirs}"
    both.agent("alice", "POST", f"/api/tickets/{mine}/claim")
    both.agent("alice", "POST", f"/api/tickets/{mine}/resolve")
    late = both.bot("PATCH", "/api/conversations/mine/ticket", json={"amount": "9 ETH"})
    assert late.status_code == 404 and late.json()["error"] == "no_open_ticket"
    assert both.agent("alice", "GET", f"/api/tickets/{mine}").json()["amount"] is None
    # A new ticket of the same conversation is the one updated from then on.
    reopened = both.new_ticket(conversation_id="mine")["ref"]
    assert both.bot("PATCH", "/api/conversations/mine/ticket", json={"amount": "9 ETH"}).ok
    assert both.agent("alice", "GET", f"/api/tickets/{reopened}").json()["amount"] == "9 ETH"
    assert both.agent("alice", "GET", f"/api/tickets/{mine}").json()["amount"] is None


def test_hostile_and_careless_updates(both: Api) -> None:
    ref = both.new_ticket()["ref"]
    before = both.agent("alice", "GET", f"/api/tickets/{ref}").json()
    refused = {
        "amount": [{"amount": "9" * 65}, {"amount": 500}, {"amount": ["500"]}],
        "contact_email": [{"contact_email": "not an address"}, {"contact_email": SQL}],
        "title": [{"title": "x" * 121}, {"title": {"nested": 1}}],
        "description": [{"description": "x" * 4001}],
        "tx_hash": [{"tx_hash": "f" * 129}],
        "occurred_at": [{"occurred_at": "yesterday"}, {"occurred_at": "9999-12-31T23:59:59-12:00"}],
        "summary": [{"summary": ["a", "list"]}, {"summary": "text"}],
        "chain": [{"chain": "c" * 33}],
    }
    for name, bodies in refused.items():
        for body in bodies:
            response = both.bot("PATCH", PATH, json={"amount": "1 BTC", **body})
            assert response.status_code == 422, (body, response.text)
            assert response.json()["field"] == name, body
    # A field given twice in one body means nothing definite: refused, naming it.
    twice = both.bot(
        "PATCH",
        PATH,
        data=b'{"amount": "500 USDT", "amount": "5000 USDT"}',
        headers={"Content-Type": "application/json"},
    )
    assert twice.status_code == 422 and twice.json()["field"] == "amount"
    for raw in (b"", b"   ", b"{bad", b"[1"):
        bad = both.bot("PATCH", PATH, data=raw, headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error"] == "bad_json", raw
    for body in ({}, {"unknown": "x"}, {"amount": None, "title": "   ", "status": "closed"}):
        empty = both.bot("PATCH", PATH, json=body)
        assert empty.status_code == 400, body
        assert empty.json()["error"] == "nothing_to_update"
        assert "amount" in empty.json()["detail"]
    assert both.bot("PATCH", PATH, json=["amount"]).status_code == 422
    huge = both.bot("PATCH", PATH, json={"amount": "9" * 100_000})
    assert huge.status_code == 413
    # Nothing of that changed the ticket.
    after = both.agent("alice", "GET", f"/api/tickets/{ref}").json()
    assert after["updated_at"] == before["updated_at"] and after["amount"] is None
    # Not the bot: refused before anything is read.
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": f"Bearer {both.agents['alice']}"}, 403),
    ):
        response = both.call("PATCH", PATH, headers=dict(headers), json={"amount": "1"})
        assert response.status_code == status
    # The status is not a detail: the bot cannot resolve or reopen through an update.
    assert both.bot("PATCH", PATH, json={"status": "resolved", "amount": "2 BTC"}).ok
    assert both.agent("alice", "GET", f"/api/tickets/{ref}").json()["status"] == "open"


def test_what_an_update_stores_is_checked_and_redacted_like_a_new_ticket(both: Api) -> None:
    ref = both.new_ticket()["ref"]
    key = secrets.token_hex(32)
    bare_hash = secrets.token_hex(32)
    response = both.bot(
        "PATCH",
        PATH,
        json={
            "title": SQL,
            "description": f"my words were {PHRASE} and the key {key}",
            # Asked for as the hash: a bare 64-hex value there is the hash.
            "tx_hash": bare_hash,
            "amount": "<b>500</b> USDT",
            "wallet_address": "TXyz\x00\x07abc",
            "summary": {"facts": {"notes": [f"pasted {PHRASE}"]}},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == SQL
    assert PHRASE not in body["description"] and key not in body["description"]
    assert SEED_PLACEHOLDER in body["description"] and KEY_PLACEHOLDER in body["description"]
    assert body["tx_hash"] == bare_hash
    assert body["amount"] == "<b>500</b> USDT"
    assert body["wallet_address"] == "TXyzabc"
    assert body["summary"]["facts"]["notes"] == [f"pasted {SEED_PLACEHOLDER}"]
    ((_, detail),) = _updates(both, ref)
    assert detail["redacted_fields"] == ["description", "summary"]
    assert PHRASE not in json.dumps(_trail(both, ref))
    # The tickets table is still there, and listed.
    queue = both.agent("alice", "GET", "/api/tickets").json()["tickets"]
    assert [t["ref"] for t in queue] == [ref] and queue[0]["title"] == SQL


def test_an_open_console_hears_of_an_update(both: Api) -> None:
    ref = both.new_ticket()["ref"]
    cursor = both.agent("alice", "GET", "/api/events").json()["cursor"]
    assert both.bot("PATCH", PATH, json={"amount": "3 ETH"}).status_code == 200
    feed = both.agent("alice", "GET", "/api/events", params={"after": cursor}).json()
    assert [c["ref"] for c in feed["changes"]] == [ref]
    # No chat notification: the user said it, the user needs no echo.
    assert both.notifier.calls == []


def test_a_first_contact_e_mail_gets_the_confirmation(both: Api) -> None:
    ref = both.new_ticket(contact_email=None)["ref"]
    given = both.bot("PATCH", PATH, json={"contact_email": "li.wei@example.com"})
    assert given.status_code == 200 and given.json()["contact_email"] == "li.wei@example.com"
    both.bot("PATCH", PATH, json={"contact_email": "wei.li@example.com"})
    with both.server.app.ctx.sessions() as session:
        kinds = session.execute(
            select(OutgoingEmail.kind).where(OutgoingEmail.ticket_id == int(ref[2:]))
        ).scalars()
        # One confirmation, for the first address; a corrected one needs no second.
        assert list(kinds) == ["ticket_created"]


def test_the_amount_is_taken_on_creation(both: Api) -> None:
    created = both.new_ticket(amount="  0.5 BTC ")
    assert created["amount"] == "0.5 BTC"
    stored = both.bot("GET", "/api/conversations/conv-1/ticket").json()
    assert stored["amount"] == "0.5 BTC"
    too_long = both.bot(
        "POST", "/api/tickets", json=ticket_payload(conversation_id="c2", amount="1" * 65)
    )
    assert too_long.status_code == 422 and too_long.json()["field"] == "amount"
    number = both.bot("POST", "/api/tickets", json=ticket_payload(conversation_id="c3", amount=5))
    assert number.status_code == 422 and number.json()["field"] == "amount"


def test_an_update_never_changes_a_ticket_resolved_meanwhile(both: Api) -> None:
    ref = both.new_ticket()["ref"]
    both.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    with both.server.app.ctx.sessions() as session:
        ticket = HandoffService(session).get_ticket(ref)
        # The resolution commits between the read and the write of an update.
        both.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
        assert not repo.update_active_ticket(session, ticket.id, {"amount": "1 BTC"})
        session.rollback()
    with both.server.app.ctx.sessions() as session:
        updated = AuditEvent.action == "ticket_updated"
        count = session.execute(
            select(func.count()).select_from(AuditEvent).where(updated)
        ).scalar_one()
        details = session.execute(
            select(func.count()).select_from(Message).where(Message.text.like("Details%"))
        ).scalar_one()
    assert (count, details) == (0, 0)
    assert both.agent("alice", "GET", f"/api/tickets/{ref}").json()["amount"] is None
