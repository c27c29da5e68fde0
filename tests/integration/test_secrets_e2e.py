"""A pasted secret never reaches the tracker store or the logs; hashes survive intact."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from mnemonic import Mnemonic

from devtools.chat_client import SocketChatUser
from devtools.stack import Stack, running_stack
from support_core.secret_guard import find_secrets
from tests.conftest import new_sender, stored_events

pytestmark = pytest.mark.integration

WARNING_ZH = "助记词或私钥"
WARNING_EN = "seed phrase or private key"


def _texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def _assert_nothing_secret_stored(stack: Stack, sender: str, *secret_parts: str) -> list[str]:
    events = stored_events(stack.tracker_store_url, sender)
    assert events, "the conversation was not stored at all"
    dump = "\n".join(events)
    for part in secret_parts:
        assert part not in dump
    # No other shape of secret slipped through either.
    for raw in events:
        text = (json.loads(raw).get("text") or "")
        assert not find_secrets(text), text
    return events


def test_english_seed_phrase_and_tx_hash_over_rest(stack: Stack) -> None:
    phrase = Mnemonic("english").generate(128)
    tx_hash = "0x" + secrets.token_hex(32)
    sender = new_sender()
    reply = stack.send(sender, f"my seed phrase is {phrase} and the txid is {tx_hash}")
    assert WARNING_EN in _texts(reply)

    events = _assert_nothing_secret_stored(stack, sender, phrase, " ".join(phrase.split()[3:9]))
    assert tx_hash in "\n".join(events), "the transaction hash must survive intact"
    assert phrase not in stack.processes[-1].log()


def test_chinese_seed_phrase_numbered_over_rest(stack: Stack) -> None:
    words = Mnemonic("chinese_simplified").generate(128).split()
    numbered = " ".join(f"{i}.{w}" for i, w in enumerate(words, start=1))
    sender = new_sender()
    reply = stack.send(sender, f"客服你好，这是我的助记词 {numbered} 帮我看看钱包")
    assert WARNING_ZH in _texts(reply)
    _assert_nothing_secret_stored(stack, sender, numbered, "".join(words))


def test_glued_chinese_phrase_and_raw_private_key(stack: Stack) -> None:
    glued = Mnemonic("chinese_simplified").generate(128).replace(" ", "")
    key = secrets.token_hex(32)
    sender = new_sender()
    assert WARNING_ZH in _texts(stack.send(sender, f"我的助记词是{glued}"))
    assert WARNING_ZH in _texts(stack.send(sender, f"私钥 {key}"))
    # A bare key says nothing about the language: the conversation's language stays.
    assert WARNING_ZH in _texts(stack.send(sender, key))
    _assert_nothing_secret_stored(stack, sender, glued, key)


def test_seed_phrase_over_socketio(stack: Stack) -> None:
    phrase = Mnemonic("english").generate(256)
    with SocketChatUser(stack.rasa_url) as user:
        user.ask("hello", "")
        mark = user.say(phrase)
        warning = user.wait_for_text(WARNING_EN, mark, timeout=20)
        session_id = str(user.session_id)
    assert warning.text
    _assert_nothing_secret_stored(stack, session_id, phrase)


@pytest.fixture(scope="module")
def postgres_stack(
    trained_model: Path, postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The production profile: tracker store in PostgreSQL, lock store in Redis."""
    with running_stack(
        tmp_path_factory.mktemp("pg_stack"), trained_model,
        tracker_store_url=postgres_database, profile="production",
    ) as running:
        yield running


@pytest.mark.postgres
def test_production_profile_keeps_hash_and_drops_phrase(postgres_stack: Stack) -> None:
    phrase = Mnemonic("english").generate(128)
    tx_hash = secrets.token_hex(32)
    sender = new_sender()
    postgres_stack.send(sender, f"withdrawal failed, tx hash {tx_hash}")
    postgres_stack.send(sender, phrase)
    events = _assert_nothing_secret_stored(postgres_stack, sender, phrase)
    assert tx_hash in "\n".join(events)
    # The Redis lock store is really in use: Rasa holds a connection on its database.
    assert redis_clients_on_db(1) > 0


def redis_clients_on_db(db: int) -> int:
    """How many Redis clients are connected to database ``db`` right now."""
    import redis

    clients = redis.Redis(host="127.0.0.1", port=6379).client_list()
    return sum(1 for client in clients if str(client.get("db")) == str(db))
