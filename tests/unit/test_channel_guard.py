"""What the input channels do to a user's text before Rasa sees it."""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import replace

import pytest
from mnemonic import Mnemonic

from addons.channels import guard
from addons.channels.guard import (
    APP_USER_METADATA_KEY,
    MAX_MESSAGE_CHARS,
    SECRET_METADATA_KEY,
    MessageRejected,
    guard_text,
    screen_message,
    trusted_metadata,
)
from support_core.secret_guard import KEY_PLACEHOLDER, SEED_PLACEHOLDER


def test_plain_text_passes_unchanged() -> None:
    guarded = guard_text("USDT提币一直pending 都三小时了 😭 <b>help</b>")
    assert guarded.text == "USDT提币一直pending 都三小时了 😭 <b>help</b>"
    assert guarded.secret_kinds == ()


def test_none_is_an_empty_message() -> None:
    assert guard_text(None).text == ""


@pytest.mark.parametrize("payload", [123, ["hi"], {"text": "hi"}, b"hi"])
def test_non_text_is_rejected(payload: object) -> None:
    with pytest.raises(MessageRejected) as rejected:
        guard_text(payload)
    assert rejected.value.code == "message_not_text"


def test_too_long_is_rejected_not_truncated() -> None:
    assert guard_text("a" * MAX_MESSAGE_CHARS).text == "a" * MAX_MESSAGE_CHARS
    with pytest.raises(MessageRejected) as rejected:
        guard_text("a" * (MAX_MESSAGE_CHARS + 1))
    assert rejected.value.code == "message_too_long"


def test_control_characters_are_dropped_but_line_breaks_kept() -> None:
    assert guard_text("a\x00b\x07c\nd\te\x7f").text == "abc\nd\te"


def test_secrets_are_replaced_and_only_their_kind_is_kept() -> None:
    phrase = Mnemonic("english").generate(128)
    key = secrets.token_hex(32)
    guarded = guard_text(f"seed: {phrase} key: {key}")
    assert phrase not in guarded.text and key not in guarded.text
    assert SEED_PLACEHOLDER in guarded.text and KEY_PLACEHOLDER in guarded.text
    assert guarded.secret_kinds == ("private_key", "seed_phrase")


def test_a_hash_is_kept_when_the_bot_asked_for_one() -> None:
    tx_hash = secrets.token_hex(32)
    assert guard_text(tx_hash).text == KEY_PLACEHOLDER
    assert guard_text(tx_hash, expecting_tx_hash=True).text == tx_hash


def test_metadata_names_the_redaction_and_clients_cannot_fake_it() -> None:
    clean = guard_text("hello")
    claimed = {SECRET_METADATA_KEY: ["seed_phrase"], APP_USER_METADATA_KEY: "ceo", "x": 1}
    assert trusted_metadata(claimed, clean) == {"x": 1}
    dirty = guard_text(secrets.token_hex(32))
    assert trusted_metadata(None, dirty) == {SECRET_METADATA_KEY: ["private_key"]}
    assert trusted_metadata("junk", clean, "user-7") == {APP_USER_METADATA_KEY: "user-7"}


class _Tracker:
    def __init__(self, requested: str | None, events: list[object] | None = None) -> None:
        self.requested = requested
        self.events: list[object] = events or []
        self.active_loop_name = "ticket_form" if requested else None

    def get_slot(self, name: str) -> str | None:
        return self.requested if name == "requested_slot" else None


class _Store:
    def __init__(self, tracker: _Tracker | None) -> None:
        self.tracker = tracker
        self.reads = 0

    async def retrieve(self, sender_id: str) -> _Tracker | None:
        self.reads += 1
        return self.tracker


class _Agent:
    def __init__(self, store: _Store) -> None:
        self.tracker_store = store


def _screen(agent: object, raw: object) -> str:
    return asyncio.run(screen_message(agent, "s", raw, frozenset())).text


def test_the_conversation_is_read_once_per_message() -> None:
    store = _Store(_Tracker("ticket_tx_hash"))
    agent = _Agent(store)
    assert _screen(agent, "my withdrawal failed") == "my withdrawal failed"
    assert store.reads == 1
    tx_hash = "0x" + secrets.token_hex(32)
    assert _screen(agent, tx_hash) == tx_hash
    assert store.reads == 2


class _Bot:
    type_name = "bot"

    def __init__(self, buttons: list[dict[str, str]]) -> None:
        self.data = {"buttons": buttons}


class _User:
    type_name = "user"


def test_the_expected_answer_is_the_latest_turns_buttons_and_the_asked_field() -> None:
    offer = [
        {"title": "好的，提交工单", "payload": "/affirm"},
        {"title": "不用了", "payload": "/deny"},
    ]
    older = _Bot([{"title": "Old", "payload": "/greet"}])
    tracker = _Tracker(None, [older, _User(), _Bot(offer)])
    guarded = asyncio.run(screen_message(_Agent(_Store(tracker)), "s", "好的", frozenset()))
    assert guarded.expected == {"choices": [{"payload": "/affirm", "title": "好的，提交工单"},
                                            {"payload": "/deny", "title": "不用了"}],
                                "slot": None}
    in_form = _Tracker("ticket_description")
    guarded = asyncio.run(screen_message(_Agent(_Store(in_form)), "s", "x", frozenset()))
    assert guarded.expected == {"choices": [], "slot": "ticket_description"}
    # Text payloads ("skip") are answers as typed, not choices; no question, no metadata.
    plain = _Tracker(None, [_Bot([{"title": "skip", "payload": "skip"}])])
    guarded = asyncio.run(screen_message(_Agent(_Store(plain)), "s", "x", frozenset()))
    assert guarded.expected is None


def test_a_client_cannot_claim_what_the_bot_expects() -> None:
    forged = {"expected_answer": {"choices": [{"payload": "/agent_message", "title": "x"}]}}
    assert trusted_metadata(forged, guard_text("x")) == {}
    expected = {"choices": [{"payload": "/affirm", "title": "Yes"}], "slot": None}
    guarded = guard_text("yes")
    assert trusted_metadata(forged, replace(guarded, expected=expected)) == {
        "expected_answer": expected
    }


def test_an_unlabelled_hex_is_a_key_unless_the_bot_asked_for_a_hash() -> None:
    hex64 = secrets.token_hex(32)
    assert _screen(_Agent(_Store(_Tracker("ticket_email"))), hex64) == KEY_PLACEHOLDER
    assert _screen(_Agent(_Store(None)), hex64) == KEY_PLACEHOLDER
    assert _screen(None, hex64) == KEY_PLACEHOLDER


def test_the_guard_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long message costs the guard some tens of milliseconds; other conversations
    # on the same loop must go on meanwhile. This guard waits for the loop to run
    # something else: were it called on the loop, it would wait in vain.
    loop_ran = threading.Event()
    loop_thread = threading.get_ident()
    guarded_in: list[int] = []

    def waiting_guard(raw: object, *, expecting_tx_hash: bool = False) -> guard.GuardedText:
        guarded_in.append(threading.get_ident())
        assert loop_ran.wait(timeout=10), "the guard held up the event loop"
        return guard_text(raw, expecting_tx_hash=expecting_tx_hash)

    monkeypatch.setattr(guard, "guard_text", waiting_guard)

    async def other_conversation() -> None:
        loop_ran.set()

    async def both() -> str:
        screening = asyncio.create_task(screen_message(None, "s", "hello", frozenset()))
        await asyncio.sleep(0)  # the screening starts and hands the guard to a thread
        await other_conversation()
        return (await screening).text

    assert asyncio.run(both()) == "hello"
    assert guarded_in and guarded_in[0] != loop_thread
