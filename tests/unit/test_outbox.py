"""Unit tests for actions.outbox: the queue that keeps what the handoff service could not take."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from actions import outbox as outbox_module
from actions import runtime
from actions.handoff_client import HandoffError, HandoffUnavailable
from actions.outbox import MESSAGE, RATING, TICKET, Outbox, OutboxFlusher, flush
from tests.unit.action_helpers import FakeHandoffClient, rejected

TICKET_PAYLOAD = {
    "conversation_id": "conv-1",
    "title": "USDT 提币失败",
    "description": "提币 500 USDT 没到账",
}


@pytest.fixture
def outbox(tmp_path) -> Outbox:
    return Outbox(str(tmp_path / "state" / "outbox.db"))


def stored_row(outbox: Outbox, key: str) -> tuple:
    with sqlite3.connect(outbox.path) as conn:
        return conn.execute(
            "SELECT attempts, last_error, payload FROM outbox WHERE key = ?", (key,)
        ).fetchone()


# --------------------------------------------------------------------------- the queue


def test_nothing_is_written_until_used(tmp_path):
    box = Outbox(str(tmp_path / "sub" / "outbox.db"))
    assert not box.path.exists()
    assert box.pending() == []
    assert box.path.exists()


def test_path_comes_from_outbox_path(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "env-outbox.db"))
    runtime.shared_outbox.cache_clear()
    try:
        assert runtime.shared_outbox().path == tmp_path / "env-outbox.db"
        assert Outbox().path == tmp_path / "env-outbox.db"
    finally:
        runtime.shared_outbox.cache_clear()


def test_put_and_pending(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    [entry] = outbox.pending()
    assert (entry.key, entry.kind, entry.conversation_id, entry.attempts) == (
        "conv-1:m1", TICKET, "conv-1", 0,
    )
    assert entry.payload == TICKET_PAYLOAD


def test_the_same_key_is_kept_once(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-1:m1", "conv-1", {**TICKET_PAYLOAD, "title": "changed"})
    [entry] = outbox.pending()
    assert entry.payload["title"] == "USDT 提币失败"


def test_pending_by_conversation(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    assert [e.key for e in outbox.pending("conv-2")] == ["conv-2:m1"]
    assert outbox.pending("conv-3") == []


def test_tickets_before_messages_oldest_first(outbox):
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(MESSAGE, "conv-1:m3", "conv-1", {"text": "在等", "external_id": "m3"})
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    assert [e.key for e in outbox.pending()] == ["conv-1:m1", "conv-2:m1", "conv-1:m2", "conv-1:m3"]


def test_entries_survive_a_restart(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    again = Outbox(str(outbox.path))
    assert [e.key for e in again.pending()] == ["conv-1:m1"]


def test_remove_and_note_failure(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.note_failure("conv-1:m1", "503 from /api/tickets" + "!" * 300)
    attempts, last_error, _ = stored_row(outbox, "conv-1:m1")
    assert attempts == 1
    assert last_error.startswith("503 from /api/tickets") and len(last_error) == 200
    outbox.remove("conv-1:m1")
    assert outbox.pending() == []


def test_chinese_text_is_stored_readably(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    assert "提币" in stored_row(outbox, "conv-1:m1")[2]


# --------------------------------------------------------------------------- delivery


def test_flush_delivers_a_ticket_late_with_its_key(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.created == [({**TICKET_PAYLOAD, "delivered_late": True}, "conv-1:m1")]
    assert outbox.pending() == []


def test_flush_relays_a_message_to_the_conversations_ticket(outbox):
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    client = FakeHandoffClient(tickets={"conv-1": {"ref": "T-000009", "status": "assigned"}})
    assert flush(outbox, client) == 1
    assert client.relayed == [("T-000009", "还在吗", "m2")]
    assert outbox.pending() == []


def test_flush_sends_a_queued_rating(outbox):
    outbox.put(RATING, "conv-1:rating:T-000009", "conv-1", {"ref": "T-000009", "score": 4})
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.ratings == [("T-000009", 4)]


def test_service_still_down_keeps_everything_in_order(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    client = FakeHandoffClient(unavailable=True)
    assert flush(outbox, client) == 0
    assert [e.key for e in outbox.pending()] == ["conv-1:m1", "conv-2:m1"]
    assert [e.attempts for e in outbox.pending()] == [1, 0]  # stopped at the first failure
    assert len(client.created) == 1
    assert stored_row(outbox, "conv-1:m1")[1] == "connection refused"


def test_refused_entry_leaves_the_queue_and_the_rest_goes_on(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[rejected("title: too short")])
    assert flush(outbox, client) == 1
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-2:m1"]
    assert outbox.pending() == []


def test_other_errors_are_counted_and_kept(outbox):
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    outbox.put(MESSAGE, "conv-2:m2", "conv-2", {"text": "hello", "external_id": "m2"})
    client = FakeHandoffClient(tickets={"conv-2": {"ref": "T-000010"}})  # conv-1: TicketNotFound
    assert flush(outbox, client) == 1
    [left] = outbox.pending()
    assert (left.key, left.attempts) == ("conv-1:m2", 1)
    assert client.relayed == [("T-000010", "hello", "m2")]


def test_a_generic_handoff_error_is_retried_later(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[HandoffError("odd answer")])
    assert flush(outbox, client) == 0
    assert outbox.pending()[0].attempts == 1
    assert flush(outbox, client) == 1
    assert outbox.pending() == []


def test_delivered_once_the_service_is_back(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[HandoffUnavailable("503 from /api/tickets")])
    assert flush(outbox, client) == 0
    assert flush(outbox, client) == 1
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-1:m1"]
    assert outbox.pending() == []


# --------------------------------------------------------------------------- background task


def test_flusher_empties_the_outbox_in_the_background(outbox, monkeypatch):
    monkeypatch.setattr(outbox_module, "FLUSH_INTERVAL_SECONDS", 0.01)
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[HandoffUnavailable("down")])
    flusher = OutboxFlusher(outbox, client)

    async def scenario() -> None:
        flusher.ensure_running()
        first = flusher._task
        flusher.ensure_running()
        assert flusher._task is first  # started once
        for _ in range(500):
            if not outbox.pending():
                break
            await asyncio.sleep(0.01)
        first.cancel()

    asyncio.run(scenario())
    assert outbox.pending() == []
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-1:m1"]
