"""Unit tests for actions.outbox: the queue that keeps what the handoff service could not take."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from actions import outbox as outbox_module
from actions import runtime
from actions.handoff_client import HandoffCallFailed, HandoffUnavailable, NoSuchTicket
from actions.outbox import (
    BACKOFF_CAP_SECONDS,
    BOT_MESSAGE,
    MESSAGE,
    RATING,
    TICKET,
    TICKET_UPDATE,
    Outbox,
    OutboxFlusher,
    backoff_delay,
    flush,
)
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


def test_flush_relays_a_message_by_conversation(outbox):
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.relayed == [("conv-1", "还在吗", "m2")]
    assert client.lookups == []
    assert outbox.pending() == []


def test_flush_sends_a_queued_rating_by_conversation(outbox):
    # An entry queued before ratings went by conversation still names a ticket: ignored.
    outbox.put(RATING, "conv-1:rating:T-000009", "conv-1", {"ref": "T-999999", "score": 4})
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.ratings == [("conv-1", 4)]


def test_flush_adds_queued_details_to_the_conversations_ticket(outbox):
    details = {"amount": "500 USDT", "occurred_at_text": "昨天晚上9点"}
    outbox.put(TICKET_UPDATE, "conv-1:m3:details", "conv-1", details)
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.updated == [("conv-1", details)]
    assert client.created == [] and outbox.pending() == []


def test_flush_adds_a_queued_bot_line_with_its_message_id(outbox):
    outbox.put(BOT_MESSAGE, "conv-1:m4:warning", "conv-1",
               {"text": "请不要发送助记词", "message_id": "m4:warning"})
    client = FakeHandoffClient()
    assert flush(outbox, client) == 1
    assert client.bot_messages == [("conv-1", "请不要发送助记词", "m4:warning")]
    assert outbox.pending() == []


def test_an_urgent_ticket_goes_first_and_its_details_follow_in_order(outbox):
    # Queued in this order while the service was down: the ticket, two answers, a warning.
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "快帮帮我", "external_id": "m2"})
    outbox.put(TICKET_UPDATE, "conv-1:m3:details", "conv-1", {"amount": "500 USDT"})
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET_UPDATE, "conv-1:m4:details", "conv-1", {"amount": "480 USDT"})
    outbox.put(BOT_MESSAGE, "conv-1:m5:warning", "conv-1",
               {"text": "warning", "message_id": "m5:warning"})
    client = FakeHandoffClient()
    assert flush(outbox, client) == 5
    assert client.calls == [
        ("create_ticket", "conv-1"),
        ("relay_user_message", "conv-1"),
        ("update_ticket", "conv-1"),
        ("update_ticket", "conv-1"),
        ("add_bot_message", "conv-1"),
    ]
    # The later answer is the one the ticket keeps.
    assert [fields for _, fields in client.updated] == [
        {"amount": "500 USDT"}, {"amount": "480 USDT"},
    ]


def test_details_wait_while_their_ticket_cannot_be_delivered(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET_UPDATE, "conv-1:m3:details", "conv-1", {"amount": "500 USDT"})
    outbox.put(BOT_MESSAGE, "conv-1:m4:warning", "conv-1", {"text": "w", "message_id": "x"})
    outbox.put(TICKET_UPDATE, "conv-2:m3:details", "conv-2", {"amount": "1 BTC"})
    client = FakeHandoffClient(create_errors=[HandoffUnavailable("503", status=503)])
    assert flush(outbox, client, now=1000.0) == 1
    assert client.updated == [("conv-2", {"amount": "1 BTC"})]
    assert client.bot_messages == []
    assert [e.key for e in outbox.pending()] == [
        "conv-1:m1", "conv-1:m3:details", "conv-1:m4:warning",
    ]


def test_details_for_a_ticket_that_is_gone_are_a_dead_letter(outbox):
    outbox.put(TICKET_UPDATE, "conv-1:m3:details", "conv-1", {"amount": "500 USDT"})
    client = FakeHandoffClient(update_errors=[NoSuchTicket("/api/conversations/conv-1/ticket")])
    assert flush(outbox, client) == 0
    assert outbox.pending() == []
    [dead] = outbox.dead_letters()
    assert (dead.key, dead.kind, dead.status) == ("conv-1:m3:details", TICKET_UPDATE, 404)


def test_service_still_down_keeps_everything_in_order(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    client = FakeHandoffClient(unavailable=True)
    assert flush(outbox, client) == 0
    assert [e.key for e in outbox.pending()] == ["conv-1:m1", "conv-2:m1"]
    assert [e.attempts for e in outbox.pending()] == [1, 0]  # stopped at the first failure
    assert outbox.pending()[1].next_attempt_at == 0  # untried: its schedule is untouched
    assert len(client.created) == 1
    assert stored_row(outbox, "conv-1:m1")[1] == "connection refused"


def dead_row(outbox: Outbox, key: str) -> tuple:
    with sqlite3.connect(outbox.path) as conn:
        return conn.execute(
            "SELECT kind, conversation_id, status, error_code, field, failed_at, payload"
            " FROM dead_letters WHERE key = ?", (key,),
        ).fetchone()


def test_refused_entry_becomes_a_dead_letter_and_the_next_conversation_goes_on(outbox, caplog):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[rejected(
        "occurred_at: 提币 500 USDT out of range", error_code="validation_failed",
        field="occurred_at",
    )])
    with caplog.at_level("DEBUG"):
        assert flush(outbox, client, now=1000.0) == 1
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-2:m1"]
    assert outbox.pending() == []
    [dead] = outbox.dead_letters()
    assert (dead.key, dead.kind, dead.conversation_id, dead.attempts) == (
        "conv-1:m1", TICKET, "conv-1", 1,
    )
    assert (dead.status, dead.error_code, dead.field, dead.failed_at) == (
        422, "validation_failed", "occurred_at", 1000.0,
    )
    assert dead.last_error == "422 validation_failed (field occurred_at)"
    assert "提币" in dead_row(outbox, "conv-1:m1")[6]  # kept whole, to be sent again
    assert "conv-1:m1" in caplog.text
    assert "提币" not in caplog.text and "USDT" not in caplog.text


def test_a_message_of_a_closed_ticket_is_a_dead_letter_not_a_loss(outbox):
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    outbox.put(MESSAGE, "conv-2:m2", "conv-2", {"text": "hello", "external_id": "m2"})
    client = FakeHandoffClient(relay_errors=[rejected(
        "ticket resolved", status=409, error_code="ticket_not_open",
    )])
    assert flush(outbox, client) == 1
    assert client.relayed == [("conv-1", "还在吗", "m2"), ("conv-2", "hello", "m2")]
    assert [(d.key, d.status, d.error_code) for d in outbox.dead_letters()] == [
        ("conv-1:m2", 409, "ticket_not_open"),
    ]


def test_a_conversations_messages_wait_for_its_ticket_others_do_not(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    outbox.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    outbox.put(MESSAGE, "conv-2:m2", "conv-2", {"text": "hello", "external_id": "m2"})
    client = FakeHandoffClient(create_errors=[
        HandoffUnavailable("429 from /api/tickets", status=429, retry_after=60),
    ])
    assert flush(outbox, client, now=1000.0) == 2
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-2:m1"]
    assert client.relayed == [("conv-2", "hello", "m2")]  # conv-1's message kept its place
    assert [e.key for e in outbox.pending()] == ["conv-1:m1", "conv-1:m2"]


def test_a_failing_rating_does_not_hold_back_the_conversations_messages(outbox):
    outbox.put(RATING, "conv-1:rating:T-1", "conv-1", {"score": 5})
    outbox.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    client = FakeHandoffClient(rate_errors=[HandoffUnavailable("503", status=503)])
    assert flush(outbox, client, now=1000.0) == 1
    assert client.relayed == [("conv-1", "还在吗", "m2")]
    assert [e.key for e in outbox.pending()] == ["conv-1:rating:T-1"]


def test_5xx_is_retried_later_with_a_growing_delay(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[
        HandoffUnavailable("503 from /api/tickets", status=503) for _ in range(3)
    ])
    now = 1000.0
    waits = []
    for _ in range(3):
        assert flush(outbox, client, now=now) == 0
        [entry] = outbox.pending()
        waits.append(entry.next_attempt_at - now)
        assert flush(outbox, client, now=entry.next_attempt_at - 0.001) == 0  # not due yet
        now = entry.next_attempt_at
    assert len(client.created) == 3  # only due attempts reached the service
    assert waits[0] > 0 and waits[1] == 2 * waits[0] and waits[2] == 2 * waits[1]
    assert outbox.pending()[0].attempts == 3
    assert outbox.pending()[0].last_error == "503 from /api/tickets"
    assert flush(outbox, client, now=now) == 1
    assert outbox.pending() == []


def test_the_delay_is_capped_and_honours_retry_after():
    delays = [backoff_delay(attempts) for attempts in range(1, 40)]
    assert delays == sorted(delays)
    assert delays[-1] == BACKOFF_CAP_SECONDS
    assert backoff_delay(1, retry_after=120.0) == 120.0
    assert backoff_delay(30, retry_after=1.0) == BACKOFF_CAP_SECONDS


def test_retry_after_from_a_429_sets_the_next_attempt(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[
        HandoffUnavailable("429 from /api/tickets", status=429, retry_after=1800.0),
    ])
    flush(outbox, client, now=1000.0)
    assert outbox.pending()[0].next_attempt_at == 2800.0


def test_a_generic_handoff_error_is_retried_later(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[HandoffCallFailed("odd answer")])
    assert flush(outbox, client, now=1000.0) == 0
    [entry] = outbox.pending()
    assert entry.attempts == 1
    assert flush(outbox, client, now=entry.next_attempt_at) == 1
    assert outbox.pending() == []


def test_delivered_once_the_service_is_back(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[HandoffUnavailable("503 from /api/tickets")])
    assert flush(outbox, client, now=1000.0) == 0
    assert flush(outbox, client, now=1000.0 + BACKOFF_CAP_SECONDS) == 1
    assert [key for _, key in client.created] == ["conv-1:m1", "conv-1:m1"]
    assert outbox.pending() == []


# --------------------------------------------------------------------------- dead letters


def test_retry_moves_a_dead_letter_back_and_it_is_delivered(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[rejected(error_code="validation_failed")])
    flush(outbox, client, now=1000.0)
    assert [d.key for d in outbox.dead_letters()] == ["conv-1:m1"]
    assert outbox.retry("conv-1:m1") is True
    assert outbox.dead_letters() == []
    [entry] = outbox.pending()
    assert (entry.key, entry.attempts, entry.next_attempt_at) == ("conv-1:m1", 0, 0)
    assert entry.payload == TICKET_PAYLOAD
    assert entry.last_error == "retried after 422 validation_failed"
    assert flush(outbox, client, now=1001.0) == 1
    assert client.created[-1] == ({**TICKET_PAYLOAD, "delivered_late": True}, "conv-1:m1")


def test_retry_of_an_unknown_key_changes_nothing(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    assert outbox.retry("conv-1:m1") is False  # pending, not dead
    assert outbox.retry("nope") is False
    assert [e.key for e in outbox.pending()] == ["conv-1:m1"]


def test_retry_all(outbox):
    outbox.put_dead_letter(MESSAGE, "conv-1:m2", "conv-1", {"text": "a"}, 400, "bad_request")
    outbox.put_dead_letter(MESSAGE, "conv-2:m2", "conv-2", {"text": "b"}, 404, "not_found")
    assert outbox.retry_all() == 2
    assert outbox.retry_all() == 0
    assert sorted(e.key for e in outbox.pending()) == ["conv-1:m2", "conv-2:m2"]


def test_an_older_file_gets_the_new_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE outbox (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " conversation_id TEXT NOT NULL, payload TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, last_error TEXT)"
        )
        conn.execute(
            "INSERT INTO outbox VALUES ('conv-1:m1', 'ticket', 'conv-1', '{}', 2, 1.0, '503')"
        )
    box = Outbox(path)
    [entry] = box.pending()
    assert (entry.key, entry.attempts, entry.next_attempt_at) == ("conv-1:m1", 2, 0)
    assert box.dead_letters() == []


# --------------------------------------------------------------------------- background task


def test_flusher_empties_the_outbox_in_the_background(outbox, monkeypatch):
    monkeypatch.setattr(outbox_module, "FLUSH_INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(outbox_module, "BACKOFF_BASE_SECONDS", 0.01)
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
