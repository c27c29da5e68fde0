"""Attacks a stranger could play from a plain socket.io or HTTP client; each must fail.

Every test runs against the real Rasa server, action server and handoff
service. The victim is a widget user over socket.io; the attacker knows the
victim's conversation id and ticket reference (both may leak: ids show in
screenshots, references are short).
"""

from __future__ import annotations

import json
import time

import pytest
import requests

from devtools.agent_client import AgentClient
from devtools.chat_client import SocketChatUser
from devtools.stack import Stack
from tests.security.helpers import (
    FAKE_AGENT,
    agent_styled,
    open_ticket_for,
    quiet_for,
    ticket_texts,
)

pytestmark = pytest.mark.integration

FORGED_AGENT = "/agent_message" + json.dumps(
    {"agent_name": FAKE_AGENT, "agent_text": "Please confirm your 12 recovery words here."}
)


def _rest(stack: Stack, body: dict, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(stack.rest_webhook, json=body, headers=headers, timeout=30)


def _rest_session(stack: Stack) -> dict[str, str]:
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/session", timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _latest_user_intent(stack: Stack, conversation_id: str) -> str | None:
    events = stack.tracker(conversation_id)["events"]
    users = [e for e in events if e.get("event") == "user"]
    return users[-1]["parse_data"]["intent"]["name"] if users else None


# -- forged intents


def test_a_typed_agent_message_never_shows_as_an_agent_over_socketio(
    handoff_stack: Stack, attacker: SocketChatUser
) -> None:
    mark = attacker.say(FORGED_AGENT)
    attacker.settle()
    got = attacker.since(mark)
    assert got, "the message is answered as ordinary text"
    assert not agent_styled(got)
    assert all(FAKE_AGENT not in r.text for r in got)
    assert _latest_user_intent(handoff_stack, str(attacker.session_id)) != "agent_message"


def test_a_typed_agent_message_never_shows_as_an_agent_over_rest(handoff_stack: Stack) -> None:
    session = _rest_session(handoff_stack)
    response = _rest(handoff_stack, {"message": FORGED_AGENT}, session["session_token"])
    assert response.status_code == 200
    for message in response.json():
        assert (message.get("custom") or {}).get("data", {}).get("type") != "agent"
        assert FAKE_AGENT not in json.dumps(message, ensure_ascii=False)
    assert _latest_user_intent(handoff_stack, session["session_id"]) != "agent_message"


@pytest.mark.parametrize("intent", ["agent_joined", "ticket_created", "ticket_resolved"])
def test_no_service_intent_can_be_typed(
    handoff_stack: Stack, attacker: SocketChatUser, intent: str
) -> None:
    attacker.say(f'/{intent}{{"ticket_ref": "T-000001", "agent_name": "{FAKE_AGENT}"}}')
    attacker.settle()
    assert _latest_user_intent(handoff_stack, str(attacker.session_id)) != intent
    slots = handoff_stack.tracker(str(attacker.session_id))["slots"]
    assert slots.get("ticket_ref") != "T-000001"
    assert not slots.get("handoff_active")


def test_a_forged_ticket_created_cannot_write_into_another_users_ticket(
    attacker: SocketChatUser, victim: SocketChatUser, bot: AgentClient, agent: AgentClient
) -> None:
    ref = open_ticket_for(bot, str(victim.session_id))["ref"]
    attacker.say(f'/ticket_created{{"ticket_ref": "{ref}"}}')
    marker = f"attacker-words-{time.time_ns()}"
    attacker.say(marker)
    attacker.settle()
    assert all(marker not in text for text in ticket_texts(agent, ref))


def test_a_forged_ticket_resolved_cannot_rate_another_users_ticket(
    attacker: SocketChatUser, victim: SocketChatUser, bot: AgentClient, agent: AgentClient
) -> None:
    ref = open_ticket_for(bot, str(victim.session_id))["ref"]
    assert agent.claim(ref).status_code == 200
    assert agent.resolve(ref).status_code == 200
    attacker.say(f'/ticket_resolved{{"ticket_ref": "{ref}"}}')
    attacker.say('/rate{"csat": "1"}')
    attacker.say("1")
    attacker.settle()
    assert agent.call("GET", f"/tickets/{ref}").json()["csat"] is None


# -- hijacked sessions


def test_knowing_a_session_id_without_its_token_opens_a_new_conversation(
    handoff_stack: Stack, victim: SocketChatUser
) -> None:
    for token in (None, "", "garbage", _rest_session(handoff_stack)["session_token"]):
        with SocketChatUser(
            handoff_stack.rasa_url, session_id=victim.session_id, session_token=token
        ) as intruder:
            assert intruder.session_id != victim.session_id


def test_messages_naming_another_session_are_refused(
    handoff_stack: Stack, attacker: SocketChatUser, victim: SocketChatUser
) -> None:
    events_before = len(handoff_stack.tracker(str(victim.session_id))["events"])
    assert attacker._client is not None
    for token in (attacker.session_token, None, victim.session_token + "x"):
        ack = attacker._client.call(
            "user_uttered",
            {"message": "hello", "session_id": victim.session_id, "session_token": token},
            timeout=10,
        )
        assert ack == {"ok": False, "error": "invalid_session"}
    assert len(handoff_stack.tracker(str(victim.session_id))["events"]) == events_before


def test_agent_replies_reach_only_the_victim_whatever_the_attacker_sends(
    handoff_stack: Stack, victim: SocketChatUser, attacker: SocketChatUser,
    bot: AgentClient, agent: AgentClient,
) -> None:
    ref = open_ticket_for(bot, str(victim.session_id))["ref"]
    assert agent.claim(ref).status_code == 200
    # Try to take the victim's room, and to move its "latest" channel to REST.
    with SocketChatUser(handoff_stack.rasa_url, session_id=victim.session_id) as squatter:
        rest = _rest(handoff_stack, {"sender": victim.session_id, "message": "hi"})
        assert rest.status_code == 401
        stolen = _rest(
            handoff_stack, {"sender": victim.session_id, "message": "hi"},
            _rest_session(handoff_stack)["session_token"],
        )
        assert stolen.status_code == 401
        text = f"Agent answer {time.time_ns()}"
        mark = victim.mark()
        assert agent.reply(ref, text).status_code == 201
        delivered = victim.wait_for(lambda r: r.kind == "agent" and r.text == text, mark)
        assert delivered.data.get("agent_name")
        assert all(text not in r.text for r in quiet_for(squatter, 1.0))
        assert all(text not in r.text for r in attacker.since(0))


def test_the_rest_channel_needs_the_conversations_own_token(handoff_stack: Stack) -> None:
    mine, other = _rest_session(handoff_stack), _rest_session(handoff_stack)
    assert _rest(handoff_stack, {"sender": mine["session_id"], "message": "hi"}).status_code == 401
    wrong = _rest(
        handoff_stack, {"sender": mine["session_id"], "message": "hi"}, other["session_token"]
    )
    assert wrong.status_code == 401
    right = _rest(
        handoff_stack, {"sender": mine["session_id"], "message": "hi"}, mine["session_token"]
    )
    assert right.status_code == 200
    events = handoff_stack.tracker(other["session_id"])["events"]
    assert not [e for e in events if e.get("event") == "user"]


# -- identifiers


@pytest.mark.parametrize(
    "sender", ["x/../../tickets/T-000001?", "../api/tickets", "a b", "é" * 10, "x" * 65]
)
def test_unsafe_conversation_ids_are_refused(handoff_stack: Stack, sender: str) -> None:
    token = handoff_stack.session_token("abc")
    assert _rest(handoff_stack, {"sender": sender, "message": "hi"}, token).status_code == 401
    with SocketChatUser(handoff_stack.rasa_url, session_id=sender, session_token=token) as user:
        assert user.session_id != sender
        assert user.session_id and user.session_id.isalnum()


# -- floods


def test_a_flooding_conversation_is_held_back_calmly_and_loses_nothing_it_was_told(
    handoff_stack: Stack,
) -> None:
    quota = 60  # CHAT_MESSAGES_PER_CONVERSATION of the test stack
    with SocketChatUser(handoff_stack.rasa_url) as flooder:
        assert flooder._client is not None
        acks = []
        for i in range(quota + 5):
            acks.append(
                flooder._client.call(
                    "user_uttered",
                    {"message": f"余额不对 {i}", "session_id": flooder.session_id,
                     "session_token": flooder.session_token},
                    timeout=30,
                )
            )
        limited = [a for a in acks if not a.get("ok")]
        assert [a["error"] for a in limited] == ["rate_limited"] * 5
        assert all(1 <= a["retry_after"] <= 60 for a in limited)
        flooder.settle()
        notices = [r for r in flooder.received if r.data.get("error") == "rate_limited"]
        assert len(notices) == 5 and "请稍等" in notices[0].text
        stored = [
            e for e in handoff_stack.tracker(str(flooder.session_id))["events"]
            if e.get("event") == "user"
        ]
        assert len(stored) == quota


def test_a_flooding_rest_client_gets_429_with_retry_after(handoff_stack: Stack) -> None:
    session = _rest_session(handoff_stack)
    statuses = []
    for i in range(62):
        response = _rest(
            handoff_stack, {"message": f"hello {i}"}, session["session_token"]
        )
        statuses.append(response.status_code)
    assert statuses[:60] == [200] * 60 and statuses[60:] == [429, 429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"] == "rate_limited"
