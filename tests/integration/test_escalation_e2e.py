"""From a chat to a ticket an agent can act on, through the real processes."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devtools.chat_client import ESCALATE_ZH
from devtools.stack import Stack, running_stack
from tests.conftest import new_sender
from tests.integration.rest_chat import texts as _texts
from tests.integration.rest_chat import ticket as _ticket
from tests.integration.rest_chat import tickets_of as _tickets_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def full_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service."""
    with running_stack(
        tmp_path_factory.mktemp("escalation"), trained_model, handoff=True
    ) as running:
        yield running


@pytest.fixture(scope="module")
def agent_token(full_stack: Stack) -> str:
    return full_stack.add_agent(f"alice-{secrets.token_hex(3)}")


def _answer_until_summary(stack: Stack, sender: str, answers: dict[str, str]) -> str:
    """Answer whatever the form asks until it shows the summary; return the summary text."""
    reply = stack.send(sender, "/affirm")  # accept the ticket offer
    for _ in range(12):
        text = _texts(reply)
        if "Submit it?" in text or "确认提交吗" in text:
            return text
        for question, answer in answers.items():
            if question in text:
                reply = stack.send(sender, answer)
                break
        else:
            raise AssertionError(f"unexpected question: {text}")
    raise AssertionError("the form never reached the summary")


def test_chinese_conversation_ends_in_a_ticket_with_the_facts(
    full_stack: Stack, agent_token: str
) -> None:
    sender = new_sender()
    tx_hash = "0x" + secrets.token_hex(32)
    full_stack.send(sender, f"昨天晚上9点提币500 USDT到币安，交易哈希 {tx_hash}，一直没到账")
    assert "工单" in _texts(full_stack.send(sender, "没有用"))
    summary = _answer_until_summary(full_stack, sender, {
        "标题": "/affirm",
        "钱包地址": "跳过",
        "邮箱": "zhang@example.com",
        "什么时候": "昨天晚上9点",
        "具体描述": "昨天晚上9点提了500 USDT到币安，显示成功但一直没到账",
    })
    assert tx_hash in summary and "zhang@example.com" in summary
    created = _texts(full_stack.send(sender, "/affirm"))
    assert "T-" in created
    [ticket] = _tickets_of(full_stack, agent_token, sender)
    full = _ticket(full_stack, agent_token, ticket["ref"])
    assert full["category"] == "assets" and full["priority"] == "high"
    assert full["tx_hash"] == tx_hash
    facts = full["summary"]["facts"]
    assert tx_hash in facts["tx_hash"]
    assert "500 USDT" in facts["amount"]
    assert full["summary"]["escalation_reason"] == "self_help_failed"
    assert any(m["author"] == "user" and "500 USDT" in m["text"] for m in full["messages"])


def test_english_request_for_a_human_ends_in_a_ticket(full_stack: Stack, agent_token: str) -> None:
    sender = new_sender()
    tx_hash = "0x" + secrets.token_hex(32)
    full_stack.send(sender, f"I sent 1200 USDC on Arbitrum two hours ago, tx hash {tx_hash}")
    reply = _texts(full_stack.send(sender, "let me talk to a real person"))
    assert "ticket" in reply.lower()
    answers = {
        "title": "/affirm",
        "Which kind of problem": "/choose_category{\"ticket_category\": \"assets\"}",
        "describe the problem": "Sent 1200 USDC on Arbitrum two hours ago, never arrived",
        "When did it happen": "two hours ago",
        "wallet address": "skip",
        "transaction hash": tx_hash,
        "e-mail": "skip",
    }
    text = reply
    for _ in range(12):
        if "Submit it?" in text:
            break
        question = next((q for q in answers if q in text), None)
        assert question, f"unexpected question: {text}"
        text = _texts(full_stack.send(sender, answers[question]))
    assert "Submit it?" in text
    assert "T-" in _texts(full_stack.send(sender, "/affirm"))
    [ticket] = _tickets_of(full_stack, agent_token, sender)
    facts = _ticket(full_stack, agent_token, ticket["ref"])["summary"]["facts"]
    assert tx_hash in facts["tx_hash"]
    assert "1200 USDC" in facts["amount"]


def test_the_form_rejects_vague_and_malformed_answers(full_stack: Stack) -> None:
    sender = new_sender()
    full_stack.send(sender, "转人工")
    full_stack.send(sender, "/choose_category{\"ticket_category\": \"assets\"}")
    full_stack.send(sender, "提币问题")  # title
    vague = _texts(full_stack.send(sender, "钱包坏了"))
    assert "哪个功能" in vague
    full_stack.send(sender, "今天下午提了200 USDT到交易所，显示失败了")
    full_stack.send(sender, "今天下午3点")
    bad_hash = _texts(full_stack.send(sender, "0x1234"))
    assert "不是有效的交易哈希" in bad_hash
    full_stack.send(sender, "跳过")
    bad_address = _texts(full_stack.send(sender, "0x52908400098527886e0F7030069857D2E4169EE7"))
    assert "校验没有通过" in bad_address
    full_stack.send(sender, "跳过")
    bad_email = _texts(full_stack.send(sender, "我的邮箱是zhang@"))
    assert "邮箱格式不对" in bad_email
    cancelled = _texts(full_stack.send(sender, "取消工单，不提交了"))
    assert "已取消" in cancelled


def test_retrying_an_escalation_makes_no_second_ticket(
    full_stack: Stack, agent_token: str
) -> None:
    sender = new_sender()
    payload = {
        "conversation_id": sender, "category": "assets", "title": "USDT withdrawal failed",
        "description": "Withdrew 50 USDT yesterday, never arrived", "language": "en",
        "escalation_reason": "requested_human",
    }
    headers = {"Authorization": f"Bearer {full_stack.handoff_bot_token}",
               "Idempotency-Key": f"{sender}:msg-1"}
    first = requests.post(f"{full_stack.handoff_url}/api/tickets", json=payload,
                          headers=headers, timeout=10)
    again = requests.post(f"{full_stack.handoff_url}/api/tickets", json=payload,
                          headers=headers, timeout=10)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["ref"] == again.json()["ref"]
    assert len(_tickets_of(full_stack, agent_token, sender)) == 1


def _walk_to_confirmation(stack: Stack, sender: str, when: str = "this morning") -> None:
    """A deposit problem in English, self-help refused, the ticket form up to "Submit it?"."""
    stack.send(sender, "my deposit of 300 USDT on TRC20 hasn't arrived since this morning")
    stack.send(sender, "no")
    answers = {"title": "/affirm", "transaction hash": "skip", "wallet address": "skip",
               "e-mail": "skip", "When did it happen": when,
               "describe the problem": "Deposit of 300 USDT on TRC20 this morning not credited"}
    text = _texts(stack.send(sender, "/affirm"))
    for _ in range(12):
        if "Submit it?" in text:
            return
        question = next((q for q in answers if q in text), None)
        assert question, f"unexpected question: {text}"
        text = _texts(stack.send(sender, answers[question]))
    raise AssertionError(f"the form did not reach its confirmation: {text}")


def test_service_down_at_confirmation_loses_nothing(full_stack: Stack, agent_token: str) -> None:
    sender = new_sender()
    _walk_to_confirmation(full_stack, sender)
    full_stack.process("handoff").stop()
    try:
        queued = _texts(full_stack.send(sender, "/affirm"))
        assert "won't be lost" in queued
        full_stack.send(sender, "here is one more detail: it was 300 USDT from Binance")
    finally:
        full_stack.start_handoff()
    deadline = time.monotonic() + 30
    tickets: list[dict] = []
    while time.monotonic() < deadline and not tickets:
        tickets = _tickets_of(full_stack, agent_token, sender)
        time.sleep(0.5)
    assert len(tickets) == 1
    ref = tickets[0]["ref"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = [m["text"] for m in _ticket(full_stack, agent_token, ref)["messages"]]
        if any("one more detail" in line for line in lines):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the message written while the service was down was lost")
    time.sleep(2)
    assert len(_tickets_of(full_stack, agent_token, sender)) == 1


def test_a_refused_queued_ticket_is_a_dead_letter_and_holds_back_no_one(
    full_stack: Stack, agent_token: str
) -> None:
    refused, fine = new_sender(), new_sender()
    # A time the bot reads but the service refuses (it once made the service fail).
    for text, expect in ESCALATE_ZH:
        answer = "9999-12-31T23:59:59-12:00" if expect == "交易哈希" else text
        assert expect in _texts(full_stack.send(refused, answer))
    _walk_to_confirmation(full_stack, fine)
    full_stack.process("handoff").stop()
    try:
        # Queued in this order: the one the service will refuse goes first.
        assert "不会丢失" in _texts(full_stack.send(refused, "/affirm"))
        assert "won't be lost" in _texts(full_stack.send(fine, "/affirm"))
    finally:
        full_stack.start_handoff()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not _tickets_of(full_stack, agent_token, fine):
        time.sleep(0.5)
    assert len(_tickets_of(full_stack, agent_token, fine)) == 1
    # Each entry keeps its own back-off: the refused one may be tried after the other.
    dead, listing = "", ""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and refused not in dead:
        listing = subprocess.run(
            [str(Path(sys.executable).parent / "support-bot"), "outbox", "list",
             "--path", full_stack.extra_env["OUTBOX_PATH"]],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        dead = listing.split("pending", 1)[0]
        time.sleep(1)
    assert refused in dead and "occurred_at" in dead, listing
    assert "9999" not in listing  # keys and errors, never what the user wrote
    assert not _tickets_of(full_stack, agent_token, refused)
