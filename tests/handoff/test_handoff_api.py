"""API tests: the real Sanic HTTP stack on a local port, with a fake Rasa notifier."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import inspect

from handoff_service.app import create_app
from handoff_service.config import Settings
from handoff_service.events import AGENT_JOINED, AGENT_MESSAGE, TICKET_RESOLVED
from handoff_service.services import HandoffService
from tests.handoff.helpers import (
    BOT_TOKEN,
    Api,
    FakeNotifier,
    chat_lines,
    empty_postgres_schema,
    entities_without_id,
    live_server,
    start_api,
    ticket_payload,
)


def test_health(api: Api) -> None:
    response = api.call("GET", "/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_reports_a_database_that_is_down() -> None:
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/nowhere", bot_token=BOT_TOKEN
    )
    with live_server(create_app(settings, FakeNotifier())) as server:
        response = requests.get(server.url + "/api/health", timeout=10)
        assert response.status_code == 503
        assert response.json()["database"] == "unavailable"
        create = requests.post(
            server.url + "/api/tickets",
            json=ticket_payload(),
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            timeout=10,
        )
        assert create.status_code == 503
        assert create.json()["error"] == "database_unavailable"


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": BOT_TOKEN},
        {"Authorization": "Bearer "},
    ],
)
def test_missing_or_wrong_tokens_are_401(api: Api, headers: dict[str, str]) -> None:
    for method, path in [("POST", "/api/tickets"), ("GET", "/api/tickets"), ("GET", "/api/me")]:
        response = api.call(method, path, headers=dict(headers), json=ticket_payload())
        assert response.status_code == 401, (method, path)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_tokens_of_the_wrong_kind_are_403(api: Api) -> None:
    assert api.agent("alice", "POST", "/api/tickets", json=ticket_payload()).status_code == 403
    assert api.bot("GET", "/api/tickets").status_code == 403
    assert api.bot("GET", "/api/me").status_code == 403


def test_me(api: Api) -> None:
    me = api.agent("bob", "GET", "/api/me").json()
    assert (me["name"], me["role"], me["console_language"]) == ("bob", "agent", None)


# ---------------------------------------------------------------- creating tickets


def test_create_and_replay_with_the_idempotency_key(api: Api) -> None:
    headers = {"Idempotency-Key": "conv-1:msg-42"}
    first = api.bot("POST", "/api/tickets", json=ticket_payload(), headers=dict(headers))
    replay = api.bot("POST", "/api/tickets", json=ticket_payload(), headers=dict(headers))
    assert (first.status_code, replay.status_code) == (201, 200)
    assert first.json()["ref"] == replay.json()["ref"] == "T-000001"
    assert first.json()["status"] == "open" and first.json()["priority"] == "high"
    other_key = api.bot(
        "POST", "/api/tickets", json=ticket_payload(), headers={"Idempotency-Key": "x"}
    )
    assert other_key.status_code == 200 and other_key.json()["ref"] == "T-000001"


def test_the_bot_finds_the_conversation_ticket(api: Api) -> None:
    assert api.bot("GET", "/api/conversations/conv-1/ticket").status_code == 404
    ticket = api.new_ticket()
    found = api.bot("GET", "/api/conversations/conv-1/ticket")
    assert found.status_code == 200 and found.json()["ref"] == ticket["ref"]
    # The bot reads tickets through their conversation only, never by a reference.
    assert api.bot("GET", f"/api/tickets/{ticket['ref']}").status_code == 403
    assert api.agent("alice", "GET", f"/api/tickets/{ticket['ref']}").status_code == 200


def test_unknown_tickets_are_404(api: Api) -> None:
    for response in [
        api.agent("alice", "GET", "/api/tickets/T-000999"),
        api.agent("alice", "POST", "/api/tickets/T-000999/claim"),
        api.agent("alice", "GET", "/api/tickets/whatever/messages"),
        api.agent("alice", "GET", "/api/tickets/T-0000123"),
        api.bot("POST", "/api/conversations/nobody/user-messages", json={"text": "hi"}),
        api.bot("POST", "/api/conversations/nobody/rating", json={"score": 5}),
        api.bot("GET", "/api/conversations/nobody/messages/1"),
        api.call("GET", "/api/no-such-route"),
    ]:
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


def test_a_bad_body_is_422_with_the_field_and_a_clear_message(api: Api) -> None:
    body = ticket_payload()
    del body["title"]
    response = api.bot("POST", "/api/tickets", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "error": "validation_failed",
        "field": "title",
        "detail": "title is required and must not be empty",
    }
    wrong = api.bot("POST", "/api/tickets", json=ticket_payload(language="de")).json()
    assert wrong["field"] == "language" and "zh, en" in wrong["detail"]
    not_object = api.bot("POST", "/api/tickets", json=["a", "list"])
    assert not_object.status_code == 422 and not_object.json()["field"] == "body"
    limit = api.agent("alice", "GET", "/api/tickets", params={"limit": 101})
    assert limit.status_code == 422 and limit.json()["field"] == "limit"


def test_a_huge_body_is_413(api: Api) -> None:
    body = ticket_payload(description="x" * 100_000)
    response = api.bot("POST", "/api/tickets", json=body)
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


@pytest.mark.parametrize(
    "raw",
    [
        b"{bad json",
        b"",
        b"\xff\xfe",
        b'{"title": "unterminated',
        b'{"score": NaN}',
        b"[" * 30_000 + b"]" * 30_000,
    ],
)
def test_bad_json_is_400(api: Api, raw: bytes) -> None:
    response = api.bot(
        "POST", "/api/tickets", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_json"


def test_wrong_method_is_405_json(api: Api) -> None:
    response = api.bot("DELETE", "/api/tickets")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# ---------------------------------------------------------------- text stays text

ODD_TEXTS = [
    "Robert'); DROP TABLE tickets;-- ' OR '1'='1",
    "<img src=x onerror=alert(1)>",
    "提币 🚀 USDT — ёжик مرحبا 👩‍💻 e\u0301 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    '{"json": "inside"} \\ back\\slash',
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_texts_round_trip_verbatim(api: Api, text: str) -> None:
    ticket = api.new_ticket(title=text[:120], description=text)
    ref = ticket["ref"]
    assert ticket["title"] == text[:120] and ticket["description"] == text
    relay = api.bot("POST", "/api/conversations/conv-1/user-messages", json={"text": text})
    assert relay.status_code == 201 and relay.json()["text"] == text
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    reply = api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": text})
    assert reply.status_code == 201
    full = api.agent("alice", "GET", f"/api/tickets/{ref}")
    assert full.headers["Content-Type"].startswith("application/json")
    assert full.headers["X-Content-Type-Options"] == "nosniff"
    body = full.json()
    assert body["description"] == text
    assert [m["text"] for m in chat_lines(body["messages"])] == [text, text]
    # The table is still there and the ticket is still listed.
    listed = api.agent("alice", "GET", "/api/tickets", params={"status": "assigned"}).json()
    assert [t["ref"] for t in listed["tickets"]] == [ref]
    # On the wire: plain UTF-8 JSON strings, no \u escapes, no HTML entities.
    assert json.dumps(text, ensure_ascii=False)[1:-1].encode("utf-8") in full.content
    assert b"&lt;" not in full.content and b"\\u" not in full.content


def test_a_secret_sent_through_the_api_is_not_stored(api: Api) -> None:
    key = "a" * 12 + "b" * 52
    ticket = api.new_ticket(description=f"my private key is {key}")
    assert key not in ticket["description"]
    assert "[redacted private key]" in ticket["description"]


# ---------------------------------------------------------------- agents at work


def test_claim_reply_resolve_rate_and_the_notifications(api: Api) -> None:
    ticket = api.new_ticket(conversation_id="sess-9")
    ref = ticket["ref"]
    claim = api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    assert claim.status_code == 200 and claim.json()["assignee"] == "alice"
    taken = api.agent("bob", "POST", f"/api/tickets/{ref}/claim")
    assert taken.status_code == 409 and taken.json()["error"] == "claimed_by_another_agent"
    intruder = api.agent("bob", "POST", f"/api/tickets/{ref}/messages", json={"text": "hi"})
    assert intruder.status_code == 409 and intruder.json()["error"] == "not_assignee"
    assert api.agent("alice", "POST", f"/api/tickets/{ref}/claim").status_code == 200

    reply = api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "Hello!"})
    assert reply.status_code == 201
    assert reply.json()["author"] == "agent" and reply.json()["author_name"] == "alice"
    rating_path = "/api/conversations/sess-9/rating"
    early_rating = api.bot("POST", rating_path, json={"score": 5})
    assert early_rating.status_code == 404 and early_rating.json()["error"] == "not_found"
    resolved = api.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    bad = api.bot("POST", rating_path, json={"score": 9})
    assert bad.status_code == 422 and bad.json()["field"] == "score"
    rating = api.bot("POST", rating_path, json={"score": 5})
    assert rating.status_code == 200 and rating.json()["csat"] == 5
    assert rating.json()["ref"] == ref
    again = api.bot("POST", rating_path, json={"score": 1})
    assert again.status_code == 409 and again.json()["error"] == "already_rated"

    calls = api.notifier.wait_for(3)
    assert [c.intent for c in calls] == [AGENT_JOINED, AGENT_MESSAGE, TICKET_RESOLVED]
    assert {c.conversation_id for c in calls} == {"sess-9"}
    # Only the message id travels: the bot fetches the text, scoped by conversation.
    assert [entities_without_id(c) for c in calls] == [{}, {"message_id": reply.json()["id"]}, {}]
    ids = [c.entities["notification_id"] for c in calls]
    assert ids == sorted(ids) and len(set(ids)) == 3
    fetched = api.bot("GET", f"/api/conversations/sess-9/messages/{reply.json()['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == {
        "id": reply.json()["id"],
        "author": "agent",
        "author_name": "alice",
        "text": "Hello!",
        "created_at": reply.json()["created_at"],
        "ticket_ref": ref,
        "attachment": None,
    }
    closed = api.agent("alice", "POST", f"/api/tickets/{ref}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_user_messages_are_relayed_once(api: Api) -> None:
    ref = api.new_ticket()["ref"]
    path = "/api/conversations/conv-1/user-messages"
    first = api.bot("POST", path, json={"text": "hi", "external_id": "m1"})
    again = api.bot("POST", path, json={"text": "hi", "external_id": "m1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    transcript = api.agent("alice", "GET", f"/api/tickets/{ref}").json()["messages"]
    assert [m["text"] for m in chat_lines(transcript)] == ["hi"]


def test_the_ref_based_bot_routes_are_gone(api: Api) -> None:
    ref = api.new_ticket()["ref"]
    for path, body in [("user-messages", {"text": "hi"}), ("rating", {"score": 5})]:
        response = api.bot("POST", f"/api/tickets/{ref}/{path}", json=body)
        assert response.status_code == 404, path


def test_a_conversation_reaches_only_its_own_ticket(api: Api) -> None:
    mine = api.new_ticket(conversation_id="mine")["ref"]
    theirs = api.new_ticket(conversation_id="theirs")["ref"]
    relay = api.bot(
        "POST", "/api/conversations/mine/user-messages", json={"text": f"please read {theirs}"}
    )
    assert relay.status_code == 201
    texts = {
        ref: [
            m["text"]
            for m in chat_lines(api.agent("alice", "GET", f"/api/tickets/{ref}").json()["messages"])
        ]
        for ref in (mine, theirs)
    }
    assert texts == {mine: [f"please read {theirs}"], theirs: []}
    api.agent("alice", "POST", f"/api/tickets/{theirs}/claim")
    reply = api.agent("alice", "POST", f"/api/tickets/{theirs}/messages", json={"text": "x"})
    other_id = reply.json()["id"]
    # Another conversation's agent message, a user message, an unknown id: all 404.
    assert api.bot("GET", f"/api/conversations/mine/messages/{other_id}").status_code == 404
    assert api.bot("GET", f"/api/conversations/theirs/messages/{other_id}").status_code == 200
    user_id = relay.json()["id"]
    assert api.bot("GET", f"/api/conversations/mine/messages/{user_id}").status_code == 404
    assert api.bot("GET", "/api/conversations/mine/messages/99999").status_code == 404
    for bad in ("0", "-1", "1.5", "x", "99999999999", "٣"):
        response = api.bot("GET", f"/api/conversations/mine/messages/{bad}")
        assert response.status_code == 422 and response.json()["field"] == "message_id", bad
    # Agents use their own routes; the bot's are the bot's.
    assert (
        api.agent("alice", "GET", f"/api/conversations/theirs/messages/{other_id}").status_code
        == 403
    )


def test_a_resolved_conversation_refuses_relays_with_ticket_not_open(api: Api) -> None:
    ref = api.new_ticket()["ref"]
    path = "/api/conversations/conv-1/user-messages"
    assert api.bot("POST", path, json={"text": "one", "external_id": "m1"}).status_code == 201
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    api.agent("alice", "POST", f"/api/tickets/{ref}/resolve")
    late = api.bot("POST", path, json={"text": "two", "external_id": "m2"})
    assert late.status_code == 409 and late.json()["error"] == "ticket_not_open"
    # A retry of a relay that was stored before still succeeds.
    assert api.bot("POST", path, json={"text": "one", "external_id": "m1"}).status_code == 200


@pytest.mark.parametrize("cid", ["a b", "x" * 65, "émile", "a.b", "a%2Fb", "a;b"])
def test_conversation_ids_outside_the_safe_alphabet_are_refused(api: Api, cid: str) -> None:
    response = api.bot("GET", f"/api/conversations/{quote(cid, safe='')}/ticket")
    assert response.status_code == 422
    assert response.json()["field"] == "conversation_id"
    created = api.bot("POST", "/api/tickets", json=ticket_payload(conversation_id=cid))
    assert created.status_code == 422 and created.json()["field"] == "conversation_id"


def test_the_app_user_id_is_stored_and_returned(api: Api) -> None:
    created = api.new_ticket(app_user_id="u-7f3a 9<b>")
    assert created["app_user_id"] == "u-7f3a 9<b>"
    full = api.agent("alice", "GET", f"/api/tickets/{created['ref']}").json()
    assert full["app_user_id"] == "u-7f3a 9<b>"
    anonymous = api.new_ticket(conversation_id="anon")
    assert anonymous["app_user_id"] is None
    for bad in ["", "x" * 129, "a\nb", "tab\there", 42, ["u"]]:
        response = api.bot(
            "POST", "/api/tickets", json=ticket_payload(conversation_id="bad", app_user_id=bad)
        )
        assert response.status_code == 422 and response.json()["field"] == "app_user_id", bad


def test_polling_messages_after_an_id(api: Api) -> None:
    ref = api.new_ticket(transcript=[{"author": "user", "text": "one"}])["ref"]
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    api.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "two"})
    everything = api.agent("alice", "GET", f"/api/tickets/{ref}/messages").json()["messages"]
    assert [m["text"] for m in chat_lines(everything)] == ["one", "two"]
    newer = api.agent(
        "alice", "GET", f"/api/tickets/{ref}/messages", params={"after_id": everything[0]["id"]}
    ).json()["messages"]
    assert [m["text"] for m in chat_lines(newer)] == ["two"]
    bad = api.agent("alice", "GET", f"/api/tickets/{ref}/messages", params={"after_id": "x"})
    assert bad.status_code == 422


def test_the_queue_lists_urgent_first_with_waiting_time_and_pages(api: Api) -> None:
    for index, category in enumerate(["account", "security", "assets", "security", "policy"]):
        api.new_ticket(conversation_id=f"q{index}", category=category)
    first = api.agent("alice", "GET", "/api/tickets", params={"status": "open", "limit": 2}).json()
    assert [t["priority"] for t in first["tickets"]] == ["urgent", "urgent"]
    assert all(isinstance(t["waiting_seconds"], int) for t in first["tickets"])
    assert "description" not in first["tickets"][0]
    second = api.agent(
        "alice", "GET", "/api/tickets", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [t["priority"] for t in second["tickets"]] == ["high", "normal"]
    last = api.agent(
        "alice", "GET", "/api/tickets", params={"limit": 2, "cursor": second["next_cursor"]}
    ).json()
    assert len(last["tickets"]) == 1 and last["next_cursor"] is None
    bad = api.agent("alice", "GET", "/api/tickets", params={"cursor": "nope"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"
    wrong = api.agent("alice", "GET", "/api/tickets", params={"priority": "low"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "priority"


def test_events_feed_reports_changes_since_a_cursor(api: Api) -> None:
    first = api.agent("alice", "GET", "/api/events").json()
    assert first == {"changes": [], "cursor": None}
    ref = api.new_ticket()["ref"]
    feed = api.agent("alice", "GET", "/api/events").json()
    assert [c["ref"] for c in feed["changes"]] == [ref]
    quiet = api.agent("alice", "GET", "/api/events", params={"after": feed["cursor"]}).json()
    assert quiet["changes"] == [] and quiet["cursor"] == feed["cursor"]
    api.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    moved = api.agent("alice", "GET", "/api/events", params={"after": feed["cursor"]}).json()
    assert [(c["ref"], c["status"]) for c in moved["changes"]] == [(ref, "assigned")]


def test_a_failing_notifier_does_not_fail_the_agent_and_loses_nothing(
    sqlite_file_url: str,
) -> None:
    notifier = FakeNotifier(failing=True)
    server, agents = start_api(sqlite_file_url, notifier)
    try:
        auth = {"Authorization": f"Bearer {agents['alice']}"}
        created = requests.post(
            server.url + "/api/tickets",
            json=ticket_payload(),
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            timeout=10,
        ).json()
        ref = created["ref"]
        claim = requests.post(f"{server.url}/api/tickets/{ref}/claim", headers=auth, timeout=10)
        reply = requests.post(
            f"{server.url}/api/tickets/{ref}/messages",
            json={"text": "are you there?"},
            headers=auth,
            timeout=10,
        )
        assert claim.status_code == 200 and reply.status_code == 201
        # Rasa keeps failing: the first notification is retried, the second waits its turn.
        tried = notifier.wait_for(2)
        assert {c.intent for c in tried} == {AGENT_JOINED}
        notifier.failing = False
        delivered = notifier.wait_for_delivered(2)
        time.sleep(0.3)
        assert len(notifier.delivered) == 2
        assert [c.intent for c in delivered] == [AGENT_JOINED, AGENT_MESSAGE]
    finally:
        server.stop()
    with server.app.ctx.sessions() as session:
        trail = HandoffService(session).audit_trail(ref)
    # An outage is not a refusal: nothing was given up, so nothing is audited as failed.
    assert [action for _, action, _ in trail if action == "notify_failed"] == []
    assert "are you there" not in json.dumps(trail)


@pytest.mark.postgres
def test_the_api_on_postgresql(handoff_postgres_url: str) -> None:
    notifier = FakeNotifier()
    server, agents = start_api(empty_postgres_schema(handoff_postgres_url), notifier)
    try:
        with requests.Session() as http:
            api = Api(server, agents, http, notifier)
            ref = api.new_ticket(description=ODD_TEXTS[2])["ref"]
            assert api.agent("alice", "POST", f"/api/tickets/{ref}/claim").status_code == 200
            assert api.agent("bob", "POST", f"/api/tickets/{ref}/claim").status_code == 409
            body = api.agent("alice", "GET", f"/api/tickets/{ref}").json()
            assert body["description"] == ODD_TEXTS[2]
            assert "tickets" in inspect(server.app.ctx.engine).get_table_names()
    finally:
        server.stop()


def test_a_ticket_delivered_late_is_announced_without_entities(api: Api) -> None:
    headers = {"Idempotency-Key": "late-1"}
    late = ticket_payload(conversation_id="late", delivered_late=True)
    assert api.bot("POST", "/api/tickets", json=late, headers=dict(headers)).status_code == 201
    assert api.bot("POST", "/api/tickets", json=late, headers=dict(headers)).status_code == 200
    on_time = api.new_ticket(conversation_id="on-time")["ref"]
    api.agent("alice", "POST", f"/api/tickets/{on_time}/claim")
    # One announcement for the late ticket, however often it was replayed.
    api.notifier.wait_for(2)
    time.sleep(0.3)
    received = [(c.intent, c.conversation_id, entities_without_id(c)) for c in api.notifier.calls]
    assert sorted(received) == [
        ("agent_joined", "on-time", {}),
        ("ticket_created", "late", {}),
    ]


# ---------------------------------------------------------------- edge values are 4xx, never 500

EDGE_TIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z"]


@pytest.mark.parametrize("moment", EDGE_TIMES)
def test_times_at_the_ends_of_the_calendar_are_422(api: Api, moment: str) -> None:
    response = api.bot("POST", "/api/tickets", json=ticket_payload(occurred_at=moment))
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert response.json()["field"] == "occurred_at"
    line = [{"author": "user", "text": "hi", "at": moment}]
    response = api.bot("POST", "/api/tickets", json=ticket_payload(transcript=line))
    assert response.status_code == 422 and response.json()["field"] == "transcript[0].at"
    events = api.agent("alice", "GET", "/api/events", params={"after": moment})
    assert events.status_code == 422 and events.json()["field"] == "after"
    # Typed by the user, it is kept as text and not parsed.
    kept = api.new_ticket(conversation_id="typed", occurred_at_text=moment)
    assert (kept["occurred_at_text"], kept["occurred_at"]) == (moment, None)


def test_the_events_cursor_keeps_working_with_an_unencoded_plus(api: Api) -> None:
    api.new_ticket()
    cursor = api.agent("alice", "GET", "/api/events").json()["cursor"]
    assert cursor.endswith("+00:00")
    # "+" unencoded in a query string arrives as a space.
    raw = api.agent("alice", "GET", f"/api/events?after={cursor}")
    assert raw.status_code == 200 and raw.json()["changes"] == []


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor([0, "2025-11-25T09:00:00+00:00", 2**63]),
        _cursor([0, "2025-11-25T09:00:00+00:00", 0]),
        _cursor([7, "2025-11-25T09:00:00+00:00", 1]),
        _cursor([True, "2025-11-25T09:00:00+00:00", 1]),
        _cursor([0, "9999-12-31T23:59:59-12:00", 1]),
        _cursor([0, "2025-11-25T09:00:00", 1]),
        _cursor([1e308, "2025-11-25T09:00:00+00:00", 1]),
        _cursor({"a": 1, "b": 2, "c": 3}),
        _cursor("abc"),
        "W" * 300,
        "é",
    ],
)
def test_forged_cursors_are_422(api: Api, cursor: str) -> None:
    response = api.agent("alice", "GET", "/api/tickets", params={"cursor": cursor})
    assert response.status_code == 422 and response.json()["field"] == "cursor"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "1_0"),
        ("limit", " 5"),
        ("limit", "٣"),
        ("limit", "9" * 5000),
        ("after_id", "2147483648"),
        ("after_id", "-1"),
    ],
)
def test_numbers_in_the_query_are_ascii_and_in_range(api: Api, name: str, value: str) -> None:
    ref = api.new_ticket()["ref"]
    path = "/api/tickets" if name == "limit" else f"/api/tickets/{ref}/messages"
    response = api.agent("alice", "GET", path, params={name: value})
    assert response.status_code == 422 and response.json()["field"] == name


def test_odd_headers_are_4xx(api: Api) -> None:
    odd_token = {"Authorization": "Bearer caf\xe9"}
    assert api.call("GET", "/api/me", headers=odd_token).status_code == 401
    assert (
        api.call("GET", "/api/me", headers={"Authorization": "Bearer " + "x" * 600}).status_code
        == 401
    )
    for key in ("caf\xe9", "a" * 201, "tab\there"):
        headers = {"Idempotency-Key": key}
        response = api.bot("POST", "/api/tickets", json=ticket_payload(), headers=headers)
        assert response.status_code == 422, key
        assert response.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"score": ' + b"9" * 5000 + b"}",
        b'{"summary": {"x": 1e400}}',
        b'{"a":' * 40 + b"1" + b"}" * 40,
    ],
)
def test_numbers_and_nesting_json_cannot_hold_are_400(api: Api, raw: bytes) -> None:
    response = api.bot(
        "POST", "/api/tickets", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_json"
