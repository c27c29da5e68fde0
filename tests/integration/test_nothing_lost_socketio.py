"""Nothing said in a conversation is lost: away, restarts, a lost resolve, a component down.

Real processes (the shared ``handoff_stack``): a socket.io user as the widget
speaks, an agent over the service's API. Restarting Rasa and the action server
happens here, on the shared stack, and each test leaves every process running.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from devtools.agent_client import AgentClient, wait_until
from devtools.chat_client import (
    ESCALATE_ZH,
    SUBMIT,
    TICKET_CREATED_ZH,
    SocketChatUser,
    fill_ticket_form,
)
from devtools.mailbox import SmtpSink
from devtools.stack import Stack

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
KEPT_ZH = "您的消息已经保存"


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """The shared stack; every process is running again after each test."""
    return handoff_stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> Iterator[AgentClient]:
    assert live.handoff_url is not None
    client = AgentClient(live.handoff_url, live.add_agent("Mei"))
    yield client
    client.close()


@pytest.fixture(autouse=True)
def everything_running_after(live: Stack) -> Iterator[None]:
    yield
    for name in ("handoff", "actions", "rasa"):
        if live.process(name).popen.poll() is not None:
            live.restart(name)


def _escalated(live: Stack, agent: AgentClient) -> tuple[SocketChatUser, str]:
    """A Chinese conversation with a ticket Mei has claimed; returns the user and the ref."""
    user = SocketChatUser(live.rasa_url).connect()
    fill_ticket_form(user, ESCALATE_ZH)
    created = user.ask(SUBMIT, TICKET_CREATED_ZH)
    ref = REF.search(created.text).group()  # type: ignore[union-attr]
    mark = user.mark()
    assert agent.claim(ref).status_code == 200
    user.wait_for(lambda r: r.kind == "system" and "Mei" in r.text, mark)
    return user, ref


def _agent_bubbles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m.get("type") == "agent"]


def _tracker_agent_texts(live: Stack, sender: str) -> list[str]:
    events = live.tracker(sender)["events"]
    out = []
    for event in events:
        custom = ((event.get("data") or {}).get("custom") or {}).get("data") or {}
        if event.get("event") == "bot" and custom.get("type") == "agent":
            out.append(custom["text"])
    return out


def _all_history(user: SocketChatUser, after: str | None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        page = user.history(after=after, limit=5)
        assert page["ok"] is True, page
        messages += page["messages"]
        if not page["more"]:
            return messages
        after = page["messages"][-1]["id"]
        time.sleep(0.6)  # the channel answers one history request per half second


def test_replies_sent_while_the_widget_was_closed_are_shown_on_return_once(
    live: Stack, agent: AgentClient
) -> None:
    user, ref = _escalated(live, agent)
    last_seen = user.received[-1].data["id"]
    session = (user.session_id, user.session_token)
    user.close()
    texts = ["您好，我是 Mei，已经在查了。", "查到了：这笔提币在链上确认中。"]
    for text in texts:
        assert agent.reply(ref, text).status_code == 201
    wait_until(lambda: _tracker_agent_texts(live, session[0]) == texts, timeout=10,
               what="both replies in the conversation")

    back = SocketChatUser(live.rasa_url, *session).connect()
    try:
        time.sleep(0.6)
        missed = _all_history(back, last_seen)
        assert _agent_bubbles(missed) == texts
        assert {m["sender"] for m in missed} == {"bot"}
        ids = [m["id"] for m in missed]
        assert len(set(ids)) == len(ids)
        # Asking again gives the same ids; after the last one, nothing.
        time.sleep(0.6)
        assert [m["id"] for m in _all_history(back, last_seen)] == ids
        time.sleep(0.6)
        assert _all_history(back, ids[-1]) == []
        # A new device without any stored id rebuilds the whole chat, the user's words too.
        time.sleep(0.6)
        everything = back.history(None, limit=200)["messages"]
        assert "转人工" in [m.get("text") for m in everything if m["sender"] == "user"]
        assert _agent_bubbles(everything)[-2:] == texts
        # The widget reports the replies it showed: the service records them.
        reply_ids = [m["message_id"] for m in missed if m.get("type") == "agent"]
        assert back.report_seen(reply_ids) == {"ok": True, "seen": 2}
        assert back.report_seen(reply_ids) == {"ok": True, "seen": 0}
    finally:
        back.close()


def test_history_and_seen_need_the_conversations_own_token(live: Stack) -> None:
    with SocketChatUser(live.rasa_url) as mine, SocketChatUser(live.rasa_url) as theirs:
        request = {"session_id": theirs.session_id, "session_token": mine.session_token,
                   "after": None}
        assert mine._client is not None
        assert mine._client.call("history", request, timeout=10) == {
            "ok": False, "error": "invalid_session",
        }
        forged = {**request, "message_ids": [1, 2, 3]}
        assert mine._client.call("seen", forged, timeout=10)["ok"] is False
        assert mine._client.call("history", "junk", timeout=10)["ok"] is False


def test_a_rasa_restart_during_a_handoff_delivers_every_reply_once_in_order(
    live: Stack, agent: AgentClient
) -> None:
    user, ref = _escalated(live, agent)
    session = (user.session_id, user.session_token)
    user.close()
    live.process("rasa").stop()
    texts = [f"第 {n} 条回复：正在处理。" for n in range(1, 6)]
    for text in texts:
        # The agent's work is stored and answered at once, Rasa or not.
        assert agent.reply(ref, text).status_code == 201
    time.sleep(3)
    live.restart("rasa")
    wait_until(lambda: _tracker_agent_texts(live, session[0]) == texts, timeout=30,
               what="every reply once Rasa is back")
    time.sleep(2)
    assert _tracker_agent_texts(live, session[0]) == texts
    with SocketChatUser(live.rasa_url, *session) as back:
        time.sleep(0.6)
        assert _agent_bubbles(back.history(None, limit=200)["messages"])[-5:] == texts


def _resolve_without_telling_the_chat(live: Stack, ref: str) -> None:
    """The ticket is resolved and its notice never reaches the chat (as if lost)."""
    engine = sa.create_engine(live.handoff_database_url or "", future=True)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE tickets SET status = 'resolved', resolved_at = :now "
                        "WHERE id = :id"),
                {"now": datetime.now(timezone.utc).replace(tzinfo=None), "id": int(ref[2:])},
            )
    finally:
        engine.dispose()


def test_a_lost_resolve_never_silences_the_bot(live: Stack, agent: AgentClient) -> None:
    user, ref = _escalated(live, agent)
    try:
        _resolve_without_telling_the_chat(live, ref)
        mark = user.say("提币手续费是多少？")
        user.settle(0.5)
        said = [r.text for r in user.since(mark)]
        assert any(ref in text and "处理完毕" in text for text in said), said
        # The question itself is answered, not swallowed or met with a fallback.
        assert any("手续费" in text for text in said if ref not in text), said
        mark = user.say("我的钱包地址怎么看？")
        user.settle(0.5)
        again = [r.text for r in user.since(mark)]
        assert again and not any("已转给人工客服" in text for text in again), again
        assert not any(ref in text for text in again), again
    finally:
        user.close()


def test_with_the_action_server_down_the_user_is_told_and_nothing_is_lost(
    live: Stack, agent: AgentClient
) -> None:
    user, ref = _escalated(live, agent)
    try:
        live.process("actions").stop()
        mark = user.say("我刚才又试了一次，还是没到账。")
        told = user.wait_for_text(KEPT_ZH, mark, timeout=15)
        assert told.kind == "bot"
        user.say("交易所说没有收到。")
        live.restart("actions")
        user.say("你们能帮我查一下吗？")
        wanted = ["我刚才又试了一次，还是没到账。", "交易所说没有收到。", "你们能帮我查一下吗？"]
        wait_until(
            lambda: [m["text"] for m in agent.messages(ref) if m["author"] == "user"][-3:]
            == wanted,
            timeout=15, what="every message written during the outage in the ticket",
        )
        relayed = [m["text"] for m in agent.messages(ref) if m["author"] == "user"]
        assert all(relayed.count(text) == 1 for text in wanted)
    finally:
        user.close()


def test_a_new_chat_keeps_the_open_ticket_reachable(live: Stack, agent: AgentClient) -> None:
    user, ref = _escalated(live, agent)
    previous = {"session_id": user.session_id, "session_token": user.session_token}
    user.close()
    with SocketChatUser(live.rasa_url, previous_session=previous) as fresh:
        assert fresh.session_id != previous["session_id"]
        answer = fresh.ask("我的工单进度怎么样了？", ref)
        assert "Mei" in answer.text
    # A forged link (someone else's id with my token) links nothing.
    with SocketChatUser(live.rasa_url) as other:
        forged = {"session_id": previous["session_id"], "session_token": other.session_token}
        with SocketChatUser(live.rasa_url, previous_session=forged) as fresh:
            answer = fresh.ask("我的工单进度怎么样了？", "")
            fresh.settle()
            assert all(ref not in r.text for r in fresh.received)


def test_a_reply_the_user_did_not_see_arrives_by_email(
    live: Stack, agent: AgentClient, stack_mailbox: SmtpSink
) -> None:
    address = f"user-{time.monotonic_ns()}@example.com"
    script = [*ESCALATE_ZH[:-2], ("跳过", "邮箱"), (address, "")]
    user = SocketChatUser(live.rasa_url).connect()
    try:
        for text, expect in script:
            user.ask(text, expect)
        created = user.ask(SUBMIT, "T-")
        ref = REF.search(created.text).group()  # type: ignore[union-attr]
        assert agent.claim(ref).status_code == 200
        session_id = user.session_id
    finally:
        user.close()

    def mails() -> list[Any]:
        return [m for m in stack_mailbox.received if address in m.rcpt_tos]

    # The ticket is confirmed by e-mail at once.
    wait_until(lambda: len(mails()) == 1, timeout=20, what="the ticket's confirmation e-mail")
    assert ref in mails()[0].message["Subject"]
    reply = "您好，这笔提币已经在链上找到了，请查收。"
    assert agent.reply(ref, reply).status_code == 201
    wait_until(lambda: _tracker_agent_texts(live, session_id or "") == [reply], timeout=10,
               what="the reply in the conversation")
    # Nobody saw it in the widget: after the delay, one e-mail carries it.
    wait_until(lambda: len(mails()) == 2, timeout=40, what="the reply by e-mail")
    follow_up = mails()[1]
    assert ref in follow_up.message["Subject"]
    assert reply in follow_up.text and "/widget/" in follow_up.text
    assert follow_up.message["From"] == "support@wallet.example"
    time.sleep(12)
    assert len(mails()) == 2, "the same reply was e-mailed twice"
