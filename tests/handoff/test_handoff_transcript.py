"""The transcript an agent reads: true to the chat, with the bot's lines and the ticket's events.

- A hash the user gave in answer to "what is the transaction hash?" stays a
  hash (the channel's context travels with the text); a bare 64-hex string
  without that context is still treated as a key.
- Placeholders the channel wrote are kept as written.
- The bot's own lines during a handoff are stored once per message id and go
  nowhere else (no chat notification, no e-mail).
- System lines tell what happened to the ticket, in time order, and are never
  sent to the user either.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from mnemonic import Mnemonic

from handoff_service import validation
from handoff_service.events import AGENT_JOINED, AGENT_MESSAGE, TICKET_RESOLVED
from handoff_service.mail.scheduling import schedule_reply_emails
from handoff_service.models import OutgoingEmail, utc_now
from support_core.secret_guard import (
    KEY_PLACEHOLDER,
    PLACEHOLDERS,
    SEED_PLACEHOLDER,
    SEED_PLACEHOLDER_ZH,
    Redaction,
    SecretKind,
    SecretMatch,
)
from tests.handoff.helpers import Api, chat_lines, ticket_payload

ASKED = "What is the transaction hash (TxID) of the transfer?"
PHRASE = (
    "abandon ability able about above absent absorb abstract absurd abuse access accident"
)
RELAY = "/api/conversations/conv-1/user-messages"
BOT_LINES = "/api/conversations/conv-1/bot-messages"


def _transcript(api: Api, ref: str) -> list[dict[str, Any]]:
    response = api.agent("alice", "GET", f"/api/tickets/{ref}/messages")
    assert response.status_code == 200, response.text
    return response.json()["messages"]  # type: ignore[no-any-return]


def _texts(api: Api, ref: str, author: str) -> list[str]:
    return [m["text"] for m in _transcript(api, ref) if m["author"] == author]


# ---------------------------------------------------------------- the hash the user was asked for


def test_a_hash_given_as_the_answer_stays_a_hash(api: Api) -> None:
    answer = secrets.token_hex(32)
    unasked = secrets.token_hex(32)
    ticket = api.new_ticket(
        tx_hash=answer,
        transcript=[
            {"author": "bot", "text": ASKED},
            {"author": "user", "text": answer, "expecting_tx_hash": True},
            {"author": "user", "text": unasked},
            {"author": "user", "text": unasked, "expecting_tx_hash": False},
        ],
    )
    ref = ticket["ref"]
    # The card and the transcript agree on the hash.
    assert ticket["tx_hash"] == answer
    assert _texts(api, ref, "user") == [answer, KEY_PLACEHOLDER, KEY_PLACEHOLDER]
    later = secrets.token_hex(32)
    asked = api.bot("POST", RELAY, json={"text": later, "expecting_tx_hash": True})
    assert asked.status_code == 201 and asked.json()["text"] == later
    bare = api.bot("POST", RELAY, json={"text": later})
    assert bare.status_code == 201 and bare.json()["text"] == KEY_PLACEHOLDER
    prefixed = "0x" + secrets.token_hex(32)
    assert api.bot(
        "POST", RELAY, json={"text": prefixed, "expecting_tx_hash": True}
    ).json()["text"] == prefixed


def test_the_hash_context_never_lets_a_key_or_a_phrase_through(api: Api) -> None:
    key = secrets.token_hex(32)
    ticket = api.new_ticket(
        transcript=[
            {"author": "user", "text": f"my private key is {key}", "expecting_tx_hash": True},
            {"author": "user", "text": PHRASE, "expecting_tx_hash": True},
            # The bot's own lines never answer the question.
            {"author": "bot", "text": key, "expecting_tx_hash": True},
        ]
    )
    stored = [m["text"] for m in chat_lines(_transcript(api, ticket["ref"]))]
    assert stored == [f"my private key is {KEY_PLACEHOLDER}", SEED_PLACEHOLDER, KEY_PLACEHOLDER]
    relayed = api.bot("POST", RELAY, json={"text": f"key: {key}", "expecting_tx_hash": True})
    assert relayed.json()["text"] == f"key: {KEY_PLACEHOLDER}"


@pytest.mark.parametrize("flag", ["true", 1, 0, "yes", [], {}])
def test_the_hash_context_is_a_boolean(api: Api, flag: object) -> None:
    api.new_ticket()
    relay = api.bot("POST", RELAY, json={"text": "hi", "expecting_tx_hash": flag})
    assert relay.status_code == 422 and relay.json()["field"] == "expecting_tx_hash"
    line = [{"author": "user", "text": "hi", "expecting_tx_hash": flag}]
    created = api.bot(
        "POST", "/api/tickets", json=ticket_payload(conversation_id="c2", transcript=line)
    )
    assert created.status_code == 422
    assert created.json()["field"] == "transcript[0].expecting_tx_hash"


# ---------------------------------------------------------------- placeholders of the channel


@pytest.mark.parametrize(
    "text",
    [
        *PLACEHOLDERS,
        f"my words: {SEED_PLACEHOLDER} and my key {KEY_PLACEHOLDER}",
        f"助记词是{SEED_PLACEHOLDER_ZH}，私钥是{KEY_PLACEHOLDER}，交易哈希是多少？",
        f"{SEED_PLACEHOLDER}{SEED_PLACEHOLDER}{KEY_PLACEHOLDER}",
        f"[{KEY_PLACEHOLDER}]] {SEED_PLACEHOLDER_ZH}{SEED_PLACEHOLDER_ZH}",
        f"{KEY_PLACEHOLDER} " + " ".join(["abandon"] * 11),
    ],
)
def test_placeholders_the_channel_wrote_are_kept_as_written(api: Api, text: str) -> None:
    ticket = api.new_ticket(transcript=[{"author": "user", "text": text}])
    relayed = api.bot("POST", RELAY, json={"text": text})
    assert relayed.status_code == 201
    assert _texts(api, ticket["ref"], "user") == [text, text]


def test_a_new_secret_beside_a_placeholder_is_still_redacted(api: Api) -> None:
    api.new_ticket()
    key = secrets.token_hex(32)
    text = f"{KEY_PLACEHOLDER} oops, retry: {PHRASE} and {key} {SEED_PLACEHOLDER_ZH}"
    stored = api.bot("POST", RELAY, json={"text": text}).json()["text"]
    assert stored == (
        f"{KEY_PLACEHOLDER} oops, retry: {SEED_PLACEHOLDER} and {KEY_PLACEHOLDER} "
        f"{SEED_PLACEHOLDER_ZH}"
    )
    # A hash answered right after a placeholder keeps its context too.
    answer = secrets.token_hex(32)
    asked = api.bot(
        "POST", RELAY, json={"text": f"{KEY_PLACEHOLDER} {answer}", "expecting_tx_hash": True}
    )
    assert asked.json()["text"] == f"{KEY_PLACEHOLDER} {answer}"


def test_a_placeholder_still_counts_as_talk_of_secrets(api: Api) -> None:
    api.new_ticket()
    # A checksum-valid Chinese phrase typed without spaces inside a sentence:
    # on its own it could be prose; beside the channel's placeholder it is not.
    glued = Mnemonic("chinese_simplified").to_mnemonic(bytes([5]) * 16).replace(" ", "")
    text = f"我昨天转账{glued}没有到账 {SEED_PLACEHOLDER_ZH}"
    stored = api.bot("POST", RELAY, json={"text": text}).json()["text"]
    assert glued not in stored
    assert stored.endswith(f"没有到账 {SEED_PLACEHOLDER_ZH}")


def test_a_secret_reaching_into_a_placeholder_never_rewrites_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A guard that would take "key" anywhere, also inside its own placeholder.
    def find(text: str, *, expecting_tx_hash: bool = False) -> list[SecretMatch]:
        return [
            SecretMatch(SecretKind.PRIVATE_KEY, m.start(), m.end(), "test")
            for m in re.finditer("key", text)
        ]

    def fake_redact(text: str, *, expecting_tx_hash: bool = False) -> Redaction:
        return Redaction(text.replace("key", KEY_PLACEHOLDER), tuple(find(text)))

    monkeypatch.setattr(validation, "find_secrets", find)
    monkeypatch.setattr(validation, "redact", fake_redact)
    text = f"{KEY_PLACEHOLDER} my key {KEY_PLACEHOLDER}{SEED_PLACEHOLDER}"
    assert validation.parse_message_text(text) == (
        f"{KEY_PLACEHOLDER} my {KEY_PLACEHOLDER} {KEY_PLACEHOLDER}{SEED_PLACEHOLDER}",
        True,
    )
    # Without a placeholder, or with one that nothing reaches, the scan is the plain one.
    assert validation.parse_message_text("my key") == (f"my {KEY_PLACEHOLDER}", True)
    assert validation.parse_message_text(f"{SEED_PLACEHOLDER} ok") == (
        f"{SEED_PLACEHOLDER} ok",
        False,
    )


# ---------------------------------------------------------------- the bot's lines during a handoff


def test_bot_lines_are_stored_once_per_message_id(api: Api) -> None:
    ref = api.new_ticket()["ref"]
    warning = "Real support never asks for your recovery phrase. Never share it."
    first = api.bot("POST", BOT_LINES, json={"text": warning, "message_id": "warn-1"})
    again = api.bot("POST", BOT_LINES, json={"text": warning, "message_id": "warn-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["author"] == "bot" and first.json()["text"] == warning
    other = api.bot("POST", BOT_LINES, json={"text": warning, "message_id": "warn-2"})
    unkeyed = [api.bot("POST", BOT_LINES, json={"text": "no key"}) for _ in range(2)]
    assert other.status_code == 201 and [r.status_code for r in unkeyed] == [201, 201]
    assert _texts(api, ref, "bot") == [warning, warning, "no key", "no key"]
    # A user message with the same id is another line: the keys do not meet.
    user = api.bot("POST", RELAY, json={"text": "ok", "external_id": "warn-1"})
    assert user.status_code == 201 and user.json()["author"] == "user"
    assert api.bot("POST", BOT_LINES, json={"text": "x", "message_id": "warn-1"}).status_code == 200


def test_bot_lines_reach_agents_only(api: Api) -> None:
    api.new_ticket(conversation_id="sess-1", contact_email="user@example.com")
    path = "/api/conversations/sess-1/bot-messages"
    line = api.bot("POST", path, json={"text": "Please never paste your key.", "message_id": "b1"})
    assert line.status_code == 201
    line_id = line.json()["id"]
    # The bot fetches agent lines only; its own line is not one.
    assert api.bot("GET", f"/api/conversations/sess-1/messages/{line_id}").status_code == 404
    seen = api.bot("POST", "/api/conversations/sess-1/seen", json={"message_ids": [line_id]})
    assert seen.json() == {"seen": 0}
    time.sleep(0.5)
    assert api.notifier.calls == []
    with api.server.app.ctx.sessions() as session:
        queued = schedule_reply_emails(session, utc_now() + timedelta(days=1), timedelta(0))
        kinds = [row.kind for row in session.query(OutgoingEmail).all()]
    assert queued == 0 and kinds == ["ticket_created"]


def test_bot_lines_need_an_open_ticket_and_valid_input(api: Api) -> None:
    missing = api.bot("POST", BOT_LINES, json={"text": "hello"})
    assert missing.status_code == 404 and missing.json()["error"] == "no_open_ticket"
    ref = api.new_ticket()["ref"]
    assert api.bot("POST", BOT_LINES, json={"text": "kept", "message_id": "k"}).status_code == 201
    for body, field in [
        ({"text": ""}, "text"),
        ({"text": None}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"text": "ok", "message_id": "m" * 129}, "message_id"),
        ({"text": "ok", "message_id": " edge"}, "message_id"),
        ({"text": "ok", "message_id": 7}, "message_id"),
    ]:
        response = api.bot("POST", BOT_LINES, json=body)
        assert response.status_code == 422 and response.json()["field"] == field, body
    assert api.agent("alice", "POST", BOT_LINES, json={"text": "x"}).status_code == 403
    assert api.call("POST", BOT_LINES, json={"text": "x"}).status_code == 401
    secret = api.bot("POST", BOT_LINES, json={"text": f"you wrote {PHRASE}"})
    assert secret.json()["text"] == f"you wrote {SEED_PLACEHOLDER}"
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    api.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
    late = api.bot("POST", BOT_LINES, json={"text": "late", "message_id": "late"})
    assert late.status_code == 404 and late.json()["error"] == "no_open_ticket"
    # A retry of a line stored before the resolution still gets its answer.
    assert api.bot("POST", BOT_LINES, json={"text": "kept", "message_id": "k"}).status_code == 200
    other = api.bot(
        "POST", "/api/conversations/someone-else/bot-messages", json={"text": "x"}
    )
    assert other.status_code == 404


# ---------------------------------------------------------------- system lines


def test_system_lines_tell_the_ticket_s_story_in_order(api: Api) -> None:
    ref = api.new_ticket(
        conversation_id="story",
        escalation_reason="requested_human",
        transcript=[{"author": "user", "text": "转人工"}, {"author": "bot", "text": "好的"}],
    )["ref"]
    conversation = "/api/conversations/story"
    api.bot("POST", f"{conversation}/user-messages", json={"text": "any news?"})
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "Looking now."})
    api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "Found it."})
    api.bot("PATCH", f"{conversation}/ticket", json={"amount": "500 USDT", "title": "New"})
    api.bot("POST", f"{conversation}/bot-messages", json={"text": "Never share your phrase."})
    api.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
    api.bot("POST", f"{conversation}/rating", json={"score": 4})
    lines = [(m["author"], m["text"]) for m in _transcript(api, ref)]
    assert lines == [
        ("user", "转人工"),
        ("bot", "好的"),
        ("system", "Ticket submitted (high priority): User asked for a human"),
        ("user", "any news?"),
        ("system", "Claimed by alice"),
        ("agent", "Looking now."),
        ("system", "First reply by alice, less than a minute after the ticket was submitted"),
        ("agent", "Found it."),
        ("system", "Details added: amount; changed: title"),
        ("bot", "Never share your phrase."),
        ("system", "Resolved by alice"),
        ("system", "Rated 4/5 by the user"),
    ]
    messages = _transcript(api, ref)
    ids = [m["id"] for m in messages]
    times = [m["created_at"] for m in messages[2:]]
    assert ids == sorted(ids) and times == sorted(times)
    # The full ticket shows the same transcript; polling after an id finds the newer lines.
    full = api.agent("alice", "GET", f"/api/tickets/{ref}").json()["messages"]
    assert [(m["author"], m["text"]) for m in full] == lines
    after = api.agent(
        "alice", "GET", f"/api/tickets/{ref}/messages", params={"after_id": ids[-3]}
    ).json()["messages"]
    assert [m["text"] for m in after] == ["Resolved by alice", "Rated 4/5 by the user"]
    # The chat heard of the claim, each reply and the resolution: nothing else.
    calls = api.notifier.wait_for(4)
    time.sleep(0.3)
    assert [c.intent for c in api.notifier.calls] == [
        AGENT_JOINED, AGENT_MESSAGE, AGENT_MESSAGE, TICKET_RESOLVED
    ]
    replies = {m["id"] for m in messages if m["author"] == "agent"}
    assert {c.entities["message_id"] for c in calls if c.intent == AGENT_MESSAGE} == replies
    # The bot can fetch neither a system line nor anything but the replies.
    for message in messages:
        status = api.bot("GET", f"{conversation}/messages/{message['id']}").status_code
        assert status == (200 if message["author"] == "agent" else 404), message


def test_system_lines_are_never_e_mailed(api: Api) -> None:
    ref = api.new_ticket(conversation_id="mail", contact_email="user@example.com")["ref"]
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    reply = api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "Hi"})
    api.bot("PATCH", "/api/conversations/mail/ticket", json={"amount": "1 BTC"})
    with api.server.app.ctx.sessions() as session:
        queued = schedule_reply_emails(session, utc_now() + timedelta(days=1), timedelta(0))
        replies = [
            row.message_ids for row in session.query(OutgoingEmail).all()
            if row.kind == "agent_replies"
        ]
    # One e-mail, carrying the agent's reply only (not "Claimed by", not "First reply by").
    assert queued == 1 and replies == [[reply.json()["id"]]]
