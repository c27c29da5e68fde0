"""Screenshots through the real chat channel, Rasa, the action server and the service.

The widget's route (``/webhooks/socketio/attachments``) with a real session: a
transaction screenshot is kept, acknowledged, answers "what is the hash?" with
the hash read from it, and goes with the ticket; a recovery-phrase screenshot
is refused, warned about like a typed one, and leaves nothing behind; a chat
can only reach its own images.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid

import pytest
import requests

from devtools.stack import Stack
from tests.conftest import new_sender
from tests.handoff.test_handoff_attachments import _png, phrase_screenshot
from tests.integration.rest_chat import texts, ticket, tickets_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent(handoff_stack: Stack) -> str:
    return handoff_stack.add_agent(f"shots-{secrets.token_hex(3)}")


def upload(stack: Stack, sender: str, data: bytes, token: str | None = None) -> requests.Response:
    """What the widget sends: the bytes, the session, a fresh message id."""
    return requests.post(
        f"{stack.rasa_url}/webhooks/socketio/attachments",
        data=data,
        headers={
            "Authorization": f"Bearer {token or stack.session_token(sender)}",
            "X-Session-Id": sender,
            "X-Message-Id": uuid.uuid4().hex,
            "Content-Type": "image/png",
        },
        timeout=120,
    )


def bot_texts_after(stack: Stack, sender: str, intent: str) -> list[str]:
    """What the bot said after the latest user turn with ``intent``."""
    events = stack.tracker(sender)["events"]
    start = max(
        i for i, e in enumerate(events)
        if e["event"] == "user" and (e.get("parse_data") or {}).get("intent", {}).get("name")
        == intent
    )
    return [e.get("text") or "" for e in events[start:] if e["event"] == "bot"]


def test_a_transaction_screenshot_answers_the_hash_question(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    tx = "0x" + secrets.token_hex(32)
    shot = _png(["Transfer failed", "Amount: 40 USDC", "Network: Arbitrum", "TxID:",
                 tx[:34], tx[34:]], size=(1000, 420))
    reply = texts(handoff_stack.send(sender, "I want to talk to a human"))
    answers = {
        "Which kind of problem": "assets",
        "title": "USDC transfer failed on Arbitrum",
        "describe": "Sent 40 USDC on Arbitrum yesterday, it shows failed and fee was taken",
        "When": "yesterday",
        "How much": "40 USDC",
        "wallet address": "skip",
        "e-mail": "skip",
    }
    for _ in range(12):
        if "Submit it?" in reply:
            break
        if "transaction hash" in reply:
            sent = upload(handoff_stack, sender, shot)
            assert sent.status_code == 201, sent.text
            said = bot_texts_after(handoff_stack, sender, "share_screenshot")
            # The form took the hash from the picture, said so, and asked the next question.
            assert any("I can read this in it: transaction hash" in line for line in said), said
            reply = said[-1]
            continue
        question = next((q for q in answers if q in reply), None)
        assert question, f"unexpected question: {reply}"
        reply = texts(handoff_stack.send(sender, answers[question]))
    assert "Submit it?" in reply
    assert tx.lower() in reply.lower()
    # At the summary, another screenshot is acknowledged with what it shows, and the
    # summary is asked again.
    sent = upload(handoff_stack, sender, shot)
    assert sent.status_code == 201, sent.text
    said = bot_texts_after(handoff_stack, sender, "share_screenshot")
    assert any("Got your screenshot" in line for line in said), said
    assert any("40 USDC" in line for line in said), said
    assert "T-" in texts(handoff_stack.send(sender, "Submit"))
    [found] = tickets_of(handoff_stack, agent, sender)
    full = ticket(handoff_stack, agent, found["ref"])
    assert full["tx_hash"].lower() == tx.lower()
    images = full["attachments"]
    assert len(images) == 2 and all("USDC" in image["text"] for image in images)
    # Each on the transcript line where it was sent.
    lines = [m for m in full["messages"] if m.get("attachment")]
    assert [m["attachment"]["id"] for m in lines] == [image["id"] for image in images]
    assert {m["author"] for m in lines} == {"user"}
    image = images[0]
    # The chat gets its own image back through its session; the image is a real PNG.
    own = requests.get(
        f"{handoff_stack.rasa_url}/webhooks/socketio/attachments/{image['id']}",
        headers={"Authorization": f"Bearer {handoff_stack.session_token(sender)}",
                 "X-Session-Id": sender},
        timeout=10,
    )
    assert own.status_code == 200 and own.content.startswith(b"\x89PNG")
    # Another conversation's session, even with the right id, gets nothing.
    other = new_sender()
    stolen = requests.get(
        f"{handoff_stack.rasa_url}/webhooks/socketio/attachments/{image['id']}",
        headers={"Authorization": f"Bearer {handoff_stack.session_token(other)}",
                 "X-Session-Id": other},
        timeout=10,
    )
    assert stolen.status_code == 404


def test_a_login_ticket_asks_for_a_screenshot_of_the_error_and_keeps_it(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    shot = _png(["Login failed", "Error 1003: verification code expired", "Try again"],
                size=(900, 300))
    reply = texts(handoff_stack.send(sender, "I want to talk to a human"))
    answers = {
        "Which kind of problem": "account",
        "title": "Cannot log in, code rejected",
        "describe": "Since this morning every login says the verification code expired, "
                    "even a code sent a minute ago",
        "When": "this morning",
        "e-mail": "skip",
    }
    asked_for_image = 0
    for _ in range(12):
        if "Submit it?" in reply:
            break
        if "screenshot of the error" in reply:
            asked_for_image += 1
            if asked_for_image == 1:
                # Words are not a picture: asked again.
                reply = texts(handoff_stack.send(sender, "it says code expired"))
                assert "This step needs a picture" in reply, reply
                continue
            sent = upload(handoff_stack, sender, shot)
            assert sent.status_code == 201, sent.text
            said = bot_texts_after(handoff_stack, sender, "share_screenshot")
            assert any("Got your screenshot" in line for line in said), said
            reply = said[-1]
            continue
        question = next((q for q in answers if q in reply), None)
        assert question, f"unexpected question: {reply}"
        reply = texts(handoff_stack.send(sender, answers[question]))
    assert asked_for_image == 2
    assert "Submit it?" in reply
    assert "T-" in texts(handoff_stack.send(sender, "Submit"))
    [found] = tickets_of(handoff_stack, agent, sender)
    full = ticket(handoff_stack, agent, found["ref"])
    assert full["category"] == "account"
    [image] = full["attachments"]
    assert "1003" in image["text"]


def test_a_recovery_phrase_screenshot_is_refused_and_warned_about(handoff_stack: Stack) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "你好")
    refused = upload(handoff_stack, sender, phrase_screenshot())
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "image_refused" and body["kinds"] == ["seed_phrase"]
    assert "助记词" in body["message"]
    tracker = handoff_stack.tracker(sender)
    user = [e for e in tracker["events"] if e["event"] == "user"][-1]
    assert user["parse_data"]["intent"]["name"] == "share_secret"
    assert "[图片未保存]" in user["text"]
    said = bot_texts_after(handoff_stack, sender, "share_secret")
    assert any("助记词" in line for line in said), said
    # Nothing of the image at the service: no row, no file.
    database = handoff_stack.handoff_database_url or ""
    if database.startswith("sqlite:///"):
        with sqlite3.connect(database.removeprefix("sqlite:///")) as db:
            rows = db.execute(
                "SELECT count(*) FROM attachments WHERE conversation_id = ?", (sender,)
            ).fetchone()[0]
        assert rows == 0
    assert "abandon" not in json.dumps(tracker)


def test_the_route_trusts_nobody(handoff_stack: Stack) -> None:
    sender = new_sender()
    base = f"{handoff_stack.rasa_url}/webhooks/socketio/attachments"
    limits = requests.get(f"{base}/limits", timeout=10).json()
    assert limits["types"] == ["image/png", "image/jpeg", "image/webp"] and limits["max_bytes"] > 0
    # No session, a forged token, someone else's token for this id.
    assert requests.post(base, data=b"x", timeout=10).status_code == 401
    assert upload(handoff_stack, sender, b"x", token="not.a.token").status_code == 401
    assert upload(handoff_stack, sender, b"x", token=handoff_stack.session_token(new_sender())
                  ).status_code == 401
    # Not an image, too large: clear answers, in the conversation's language.
    wrong = upload(handoff_stack, sender, b"%PDF-1.4 not an image")
    assert wrong.status_code == 415 and wrong.json()["error"] == "unsupported_image"
    big = upload(handoff_stack, sender, b"\x89PNG\r\n\x1a\n" + b"\x00" * (limits["max_bytes"] + 1))
    assert big.status_code == 413 and big.json()["message"]
    # A made-up image id.
    made_up = requests.get(
        f"{base}/att_{'A' * 24}",
        headers={"Authorization": f"Bearer {handoff_stack.session_token(sender)}",
                 "X-Session-Id": sender},
        timeout=10,
    )
    assert made_up.status_code == 404
