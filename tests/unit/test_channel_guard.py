"""What the input channels do to a user's text before Rasa sees it."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from mnemonic import Mnemonic

from addons.channels.guard import (
    MAX_MESSAGE_CHARS,
    SECRET_METADATA_KEY,
    MessageRejected,
    guard_text,
    tx_hash_expected,
    with_secret_metadata,
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
    faked = with_secret_metadata({SECRET_METADATA_KEY: ["seed_phrase"], "x": 1}, clean)
    assert faked == {"x": 1}
    dirty = guard_text(secrets.token_hex(32))
    assert with_secret_metadata(None, dirty) == {SECRET_METADATA_KEY: ["private_key"]}


class _Tracker:
    def __init__(self, requested: str | None) -> None:
        self.requested = requested

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


def test_tx_hash_expected_reads_the_tracker_only_for_hex_strings() -> None:
    store = _Store(_Tracker("ticket_tx_hash"))
    agent = _Agent(store)
    assert not asyncio.run(tx_hash_expected(agent, "s", "my withdrawal failed"))
    assert store.reads == 0
    assert asyncio.run(tx_hash_expected(agent, "s", "0x" + secrets.token_hex(32)))
    assert store.reads == 1


def test_tx_hash_not_expected_for_another_question_or_no_conversation() -> None:
    hex64 = secrets.token_hex(32)
    assert not asyncio.run(tx_hash_expected(_Agent(_Store(_Tracker("ticket_email"))), "s", hex64))
    assert not asyncio.run(tx_hash_expected(_Agent(_Store(None)), "s", hex64))
    assert not asyncio.run(tx_hash_expected(None, "s", hex64))
