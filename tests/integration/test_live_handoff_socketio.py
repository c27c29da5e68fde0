"""The live handoff without a browser: a socket.io user (as the widget), agents over the API.

Real processes (Rasa, the action server, the handoff service) shared by the
tests of this module. The user speaks Rasa's socket.io protocol over HTTP
long-polling with python-socketio; the agent calls the service's JSON API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import (
    ESCALATE_ZH,
    SUBMIT,
    TICKET_CREATED_ZH,
    SocketChatUser,
    fill_ticket_form,
)
from devtools.stack import Stack

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
AGENT_REPLY_BUDGET_S = 0.5
OUTBOX_BUDGET_S = 10.0
HANDOFF_NOTICE = ("已转给人工客服", "passed to a human agent")
RATE_5 = '/rate{"csat": "5"}'


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared with the security tests)."""
    return handoff_stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> Iterator[AgentClient]:
    """The agent Alice, over the API."""
    assert live.handoff_url is not None
    client = AgentClient(live.handoff_url, live.add_agent("Alice"))
    yield client
    client.close()


@pytest.fixture
def user(live: Stack) -> Iterator[SocketChatUser]:
    """A new conversation over socket.io (polling), as the widget opens it."""
    with SocketChatUser(live.rasa_url) as chat:
        yield chat


def _ref_in(text: str) -> str:
    match = REF.search(text)
    assert match, f"no ticket reference in {text!r}"
    return match.group()


def _open_ticket(user: SocketChatUser, bot: AgentClient) -> str:
    """Escalate in Chinese, fill the form, submit; returns the ticket's reference."""
    summary = fill_ticket_form(user)
    assert SUBMIT in summary.payloads
    created = user.ask(SUBMIT, TICKET_CREATED_ZH)
    assert created.kind == "system"
    ref = _ref_in(created.text)
    ticket = bot.conversation_ticket(user.session_id)
    assert ticket is not None and ticket["ref"] == ref
    assert ticket["status"] == "open"
    return ref


def _last_id(messages: list[dict[str, Any]]) -> int:
    return max((m["id"] for m in messages), default=0)


def test_full_loop_over_socketio(
    user: SocketChatUser, agent: AgentClient, bot: AgentClient
) -> None:
    ref = _open_ticket(user, bot)

    ticket = agent.ticket(ref)
    assert (ticket["category"], ticket["priority"], ticket["language"]) == ("assets", "high", "zh")
    assert ticket["title"] == "USDT 提币到币安未到账"
    assert "500 USDT" in ticket["description"]
    assert "500 USDT" in ticket["summary"]["facts"]["amount"]
    assert ticket["escalation_reason"] == "requested_human"
    lines = [(m["author"], m["text"]) for m in ticket["messages"]]
    assert ("user", "转人工") in lines, "the chat before the escalation is in the transcript"
    assert ("bot", "您的问题属于哪一类？") in lines

    # The agent claims; the user is told who joined.
    mark = user.mark()
    assert agent.claim(ref).status_code == 200
    joined = user.wait_for(lambda r: r.kind == "system" and "Alice" in r.text, mark)
    assert "客服 Alice" in joined.text

    # The agent's reply reaches the user as an agent message, fast.
    text = "您好，我是 Alice，正在帮您查这笔提币。"
    mark = user.mark()
    sent_at = time.perf_counter()
    response = agent.reply(ref, text)
    assert response.status_code == 201, response.text
    delivered = user.wait_for(lambda r: r.kind == "agent", mark, timeout=5)
    latency = delivered.at - sent_at
    assert {k: delivered.data[k] for k in ("type", "agent_name", "text", "message_id")} == {
        "type": "agent", "agent_name": "Alice", "text": text, "message_id": response.json()["id"],
    }
    assert isinstance(delivered.data["id"], str) and isinstance(delivered.data["ts"], float)
    assert latency <= AGENT_REPLY_BUDGET_S, f"agent reply took {latency * 1000:.0f} ms"

    # The user's answer reaches the ticket; the bot stays out of it.
    after = _last_id(agent.messages(ref))
    answer = "好的，我等您的消息。"
    mark = user.say(answer)
    relayed = wait_until(
        lambda: [m for m in agent.messages(ref, after_id=after) if m["text"] == answer],
        timeout=5,
        what="the user's answer in the ticket",
    )
    assert relayed[0]["author"] == "user"
    user.settle()
    assert all(any(n in r.text for n in HANDOFF_NOTICE) for r in user.since(mark))

    # Resolved: the bot takes over and asks for a rating; 5 is stored on the ticket.
    mark = user.mark()
    assert agent.resolve(ref).status_code == 200
    user.wait_for(lambda r: r.kind == "system" and ref in r.text, mark)
    prompt = user.wait_for(lambda r: RATE_5 in r.payloads, mark)
    assert len(prompt.payloads) >= 5
    thanks = user.ask(RATE_5, "谢谢您的评分")
    assert thanks.kind == "bot"
    rated = wait_until(lambda: agent.ticket(ref)["csat"] == 5, timeout=5, what="csat == 5")
    assert rated
    assert agent.ticket(ref)["status"] == "resolved"


def test_bot_stays_silent_during_handoff(
    live: Stack, user: SocketChatUser, agent: AgentClient, bot: AgentClient
) -> None:
    ref = _open_ticket(user, bot)
    during = [
        "还在吗",
        "提币手续费是多少",
        "my deposit still has not arrived",
        "请问大概多久能处理？",
    ]

    mark = user.mark()
    for text in during:
        user.say(text)
    user.settle(0.5)
    answers = user.since(mark)

    # At most the one-time notice that a human will answer; no FAQ, no fallback.
    assert len(answers) <= 1, [a.data for a in answers]
    assert all(any(n in a.text for n in HANDOFF_NOTICE) for a in answers), answers
    events = live.tracker(user.session_id)["events"]
    submitted = max(
        i for i, e in enumerate(events) if e.get("name") == "action_submit_ticket"
    )
    actions_after = [e["name"] for e in events[submitted + 1:] if e["event"] == "action"]
    assert set(actions_after) <= {"action_listen", "action_relay_to_agent"}, actions_after

    # Every one of them is in the ticket's transcript, in order.
    relayed = [m["text"] for m in agent.messages(ref) if m["author"] == "user"]
    assert relayed[-len(during):] == during


def test_ticket_confirmed_while_service_is_down_is_delivered_later(
    live: Stack, user: SocketChatUser, agent: AgentClient, bot: AgentClient
) -> None:
    summary = fill_ticket_form(user, ESCALATE_ZH)
    assert SUBMIT in summary.payloads
    live.process("handoff").stop()
    try:
        # The user is told plainly that the ticket is kept and will be sent.
        queued = user.ask(SUBMIT, "暂时连不上")
        assert "不会丢失" in queued.text
        assert not REF.search(queued.text)
        extra = "补充一下：币安那边说没有收到这笔 500 USDT。"
        mark = user.say(extra)
        user.settle()
        assert all(any(n in r.text for n in HANDOFF_NOTICE) for r in user.since(mark))

        mark = user.mark()
        live.start_handoff()
        back_at = time.monotonic()
        created = user.wait_for(
            lambda r: r.kind == "system" and TICKET_CREATED_ZH in r.text,
            mark,
            timeout=OUTBOX_BUDGET_S + 5,
        )
        took = time.monotonic() - back_at
        assert took <= OUTBOX_BUDGET_S, f"the queued ticket arrived after {took:.1f} s"
    finally:
        if live.process("handoff").popen.poll() is not None:
            live.start_handoff()

    ref = _ref_in(created.text)
    ticket = bot.conversation_ticket(user.session_id)
    assert ticket is not None and ticket["ref"] == ref

    # Nothing the user wrote is lost: the message sent while down follows the ticket.
    wait_until(
        lambda: any(m["text"] == extra for m in agent.messages(ref)),
        timeout=OUTBOX_BUDGET_S,
        what="the message written while the service was down",
    )
    # One more outbox round: still one ticket and one notice, never a duplicate.
    time.sleep(4)
    mine = [t for t in agent.tickets() if t["conversation_id"] == user.session_id]
    assert [t["ref"] for t in mine] == [ref]
    notices = [r for r in user.since(mark) if r.kind == "system" and ref in r.text]
    assert len(notices) == 1
    assert [m["text"] for m in agent.messages(ref)].count(extra) == 1

    # And the ticket works like any other: the agent's reply reaches the user.
    mark = user.mark()
    assert agent.claim(ref).status_code == 200
    assert agent.reply(ref, "收到，我来处理。").status_code == 201
    user.wait_for(lambda r: r.kind == "agent" and r.text == "收到，我来处理。", mark, timeout=5)
