"""Every route of the app, thrown arbitrary input over HTTP: a 4xx at worst, never a 5xx.

The routes are read from the app's router, so a route added later is covered
without touching this file. Each example starts from a request that could be
valid (seeded ticket references, conversation ids and message ids in the
path, the bot's or an agent's token, the body the route expects) and makes
one part of it hostile: a path segment, the query arguments, a header
(garbage, missing or wrong-kind credentials, idempotency keys, origins), the
whole body (any JSON, deep nesting, huge numbers, invalid UTF-8) or a few of
its fields (edge times, NaN-like text, SQL, markup, emoji); some examples make
everything hostile at once. Input that gets past the early checks reaches the
deep code, which is where 500s hide. Run against a served app on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handoff_service.app import create_app
from handoff_service.config import Settings
from handoff_service.db import upgrade
from handoff_service.models import Attachment, Author
from handoff_service.services import HandoffService
from handoff_service.validation import UPDATABLE_FIELDS
from tests.handoff.helpers import FakeNotifier, LiveServer, empty_postgres_schema, ticket_payload

BOT = "fuzz-bot-token"
EXAMPLES_PER_ROUTE = 40
# Limits far above what the examples reach: a 429 is fine, but it would hide
# the code behind it.
NO_LIMIT = 10**6

_PARAM_RE = re.compile(r"<([A-Za-z_]+)(?::([A-Za-z_]+))?>")


@dataclass(frozen=True)
class RouteCase:
    """One method of one route, with its path template (``/api/tickets/<ref:str>``)."""

    method: str
    template: str

    @property
    def is_api(self) -> bool:
        """Whether the route belongs to the JSON API."""
        return self.template.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _route_cases() -> list[RouteCase]:
    # A throwaway app: building one does no I/O (the engine connects lazily).
    app = create_app(Settings(database_url="sqlite://", bot_token=BOT), FakeNotifier())
    cases = {
        RouteCase(method, "/" + route.path)
        for route in app.router.routes
        for method in route.methods
    }
    return sorted(cases, key=str)


ROUTES = _route_cases()


# ---------------------------------------------------------------- the served app


@dataclass
class Target:
    """A served app, credentials, and valid values for each path parameter name."""

    server: LiveServer
    agent_tokens: list[str]
    valid: dict[str, list[str]]
    database: str
    # The tokens each route takes: the bot's, or the agents' (found by asking).
    bot_routes: set[RouteCase]

    def credentials(self, route: RouteCase) -> st.SearchStrategy[str]:
        """The Authorization headers a valid request to ``route`` carries."""
        tokens = [BOT] if route in self.bot_routes else self.agent_tokens
        return st.sampled_from([f"Bearer {token}" for token in tokens])


PAGE_FILES = [
    "index.html",
    "console.js",
    "console.css",
    "favicon.svg",
    "widget.js",
    "widget.css",
    "node_modules/socket.io-client/dist/socket.io.min.js",
]


def _seed(app: Any) -> tuple[list[str], dict[str, list[str]]]:
    """Agents and tickets in every state, so valid ids reach the deep code paths.

    Alice is an admin, so the admin routes reach their deep code too; the
    agents the agent routes may disable or give new tokens to are two spares
    (the first ids, which hostile numbers hit most), never alice or bob.
    """
    valid: dict[str, list[str]] = {"ref": [], "conversation_id": [], "message_id": []}
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        spares = [service.add_agent(name)[0] for name in ("carol", "dave")]
        valid["agent_id"] = [str(agent.id) for agent in spares]
        alice, alice_token = service.add_agent("alice", "admin")
        _bob, bob_token = service.add_agent("bob")
        canned = [
            service.add_canned_reply(
                alice,
                {"shortcut": f"fz-{index}", "language": "en", "title": "t", "text": "hello"},
            )
            for index in range(3)
        ]
        valid["reply_id"] = [str(reply.id) for reply in canned]
        for conversation in ("fz-open", "fz-assigned", "fz-resolved"):
            ticket, _ = service.create_ticket(ticket_payload(conversation_id=conversation), None)
            service.add_user_message_for_conversation(conversation, "hello", f"{conversation}-m")
            if conversation != "fz-open":
                service.claim(ticket.ref, alice)
                reply = service.add_agent_message(ticket.ref, alice, "Hi <b>there</b>")
                valid["message_id"].append(str(reply.id))
            if conversation == "fz-resolved":
                service.resolve(ticket.ref, alice)
            valid["ref"].append(ticket.ref)
            valid["conversation_id"].append(conversation)
        # An image's row (its bytes are not needed to reach the deep code paths).
        image = Attachment(
            id="att_" + "f" * 24, conversation_id="fz-assigned", ticket_id=2, author=Author.USER,
            mime="image/png", thumbnail_mime="image/jpeg", width=1, height=1, size_bytes=1,
            sha256="0" * 64, text="",
        )
        session.add(image)
        session.commit()
        valid["attachment_id"] = [image.id]
    valid["name"] = PAGE_FILES
    return [alice_token, bob_token], valid


@contextmanager
def serving(url: str, database: str) -> Iterator[Target]:
    """The app on the empty database ``url``, seeded and served on a free port."""
    app = create_app(
        Settings(
            database_url=url,
            bot_token=BOT,
            rasa_url="http://127.0.0.1:9",
            cors_origins=("https://app.example.com",),
            tickets_per_hour=NO_LIMIT,
            agent_calls_per_minute=NO_LIMIT,
            anon_calls_per_minute=NO_LIMIT,
        ),
        FakeNotifier(),
    )
    upgrade(app.ctx.engine)
    tokens, valid = _seed(app)
    server = LiveServer(app).start()
    try:
        yield Target(server, tokens, valid, database, _bot_routes(server, valid))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The served app on a SQLite file, for this module."""
    with serving(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'handoff.db'}", "sqlite") as target:
        yield target


@pytest.fixture(scope="module")
def postgres_target(handoff_postgres_url: str) -> Iterator[Target]:
    """The served app on PostgreSQL, for this module."""
    with serving(empty_postgres_schema(handoff_postgres_url), "postgresql") as target:
        yield target


def _bot_routes(server: LiveServer, valid: dict[str, list[str]]) -> set[RouteCase]:
    """The routes that do not answer the bot's token with 403.

    Every handler checks the token before it reads the body, so an empty body
    finds out without changing anything.
    """
    found = set()
    for route in ROUTES:
        path = _PARAM_RE.sub(lambda match: valid[match.group(1)][0], route.template)
        response = requests.request(
            route.method, server.url + path, headers={"Authorization": f"Bearer {BOT}"}, timeout=10
        )
        if response.status_code != 403:
            found.add(route)
    return found


# ---------------------------------------------------------------- hostile values
# Lists start with the most dangerous values: Hypothesis tries early indexes first.

EDGE_TIMES = [
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "2025-02-30T10:00:00Z",
    "2025-11-24T21:00:00+24:00",
    "2025-11-24T21:00:00",
    "2025-11-24",
    "1969-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "２０２５-１１-２４T21:00:00Z",
    "2025-11-24T21:00:00+08:00",
    "2025-11-24 21:00:00 08:00",
]
NASTY_TEXT = [
    "\x00",
    "\ud800",
    "a" * 5000,
    "T-0000123",
    "T-999999999999",
    "T-2147483648",
    "9" * 40,
    "-1",
    "0",
    "1e400",
    "NaN",
    "-Infinity",
    "null",
    "",
    " ",
    "..",
    "%00",
    "../../etc/passwd",
    "' OR '1'='1'; DROP TABLE tickets;--",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "提币没到账 🚀👩‍💻",
    "\u202e\u200b\ufeff",
]

any_text = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=60))
times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.datetimes(timezones=st.just(timezone(timedelta(hours=-12)))).map(datetime.isoformat),
)
NUMBER_EDGES = [2**63, -(2**63) - 1, 10**40, 2**31, 2**31 - 1, -1, 0, 6, 1.5]
numbers = st.one_of(
    st.sampled_from(NUMBER_EDGES),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
)
# Path segments and query values that are numbers, references or ids, just out of range.
ID_EDGES = [
    *(str(number) for number in NUMBER_EDGES),
    "T-0000123",
    "T-999999999999",
    "T-2147483648",
    "T-000000",
    "9" * 5000,
    "\x00",
    "\ud800",
    "..",
    "٣",
]
ids = st.one_of(st.sampled_from(ID_EDGES), st.sampled_from(ID_EDGES), any_text, numbers.map(str))
scalars = st.one_of(any_text, times, numbers, st.none(), st.booleans())
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(any_text, children, max_size=4),
    ),
    max_leaves=16,
)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


deep_values = st.integers(min_value=1, max_value=200).map(_nested)
anything = st.one_of(scalars, json_values, deep_values)
transcripts = st.lists(
    st.fixed_dictionaries(
        {"author": st.sampled_from(["user", "bot", "agent", "x"]), "text": any_text},
        optional={"at": times, "expecting_tx_hash": scalars},
    ),
    min_size=1,
    max_size=3,
)

# What a field gets when it is made hostile: mostly values of its own kind,
# which pass the earlier checks and reach the deep ones.
TICKET_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "occurred_at": times,
    "occurred_at_text": st.one_of(times, any_text),
    "transcript": transcripts,
    "summary": st.one_of(json_values, deep_values),
    "app_user_id": any_text,
    "conversation_id": any_text,
    "title": any_text,
    "description": any_text,
    "contact_email": any_text,
    "tx_hash": any_text,
    "wallet_address": any_text,
    "chain": any_text,
    "category": any_text,
    "language": any_text,
    "escalation_reason": any_text,
    "delivered_late": scalars,
    "amount": any_text,
}
# What an update of the open ticket may change (every other key is ignored).
DETAIL_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    name: TICKET_FIELDS[name] for name in UPDATABLE_FIELDS
}
TEXT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "text": any_text,
    "external_id": any_text,
    "expecting_tx_hash": scalars,
}
BOT_LINE_FIELDS: dict[str, st.SearchStrategy[Any]] = {"text": any_text, "message_id": any_text}
SCORE_FIELDS: dict[str, st.SearchStrategy[Any]] = {"score": numbers}
TAG_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "tags": st.one_of(st.lists(any_text, max_size=12), anything)
}
TRANSFER_FIELDS: dict[str, st.SearchStrategy[Any]] = {"agent": any_text}
ME_FIELDS: dict[str, st.SearchStrategy[Any]] = {"console_language": any_text}
NEW_AGENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {"name": any_text, "role": any_text}
CANNED_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "shortcut": any_text,
    "language": any_text,
    "title": any_text,
    "text": any_text,
}
# Methods whose requests carry a body.
BODY_METHODS = ("POST", "PATCH", "PUT")


def _expected_body(route: RouteCase) -> tuple[dict[str, Any], dict[str, st.SearchStrategy[Any]]]:
    """A valid body for the route and the fields that can be made hostile."""
    if route.template == "/api/tickets":
        return ticket_payload(conversation_id="fz-new"), TICKET_FIELDS
    if route.template.endswith("/rating"):
        return {"score": 5}, SCORE_FIELDS
    if route.method == "PATCH" and route.template.endswith("/ticket"):
        return {"amount": "500 USDT", "tx_hash": "0x" + "ab" * 32}, DETAIL_FIELDS
    if route.template.endswith("/bot-messages"):
        return {"text": "Never share your recovery phrase.", "message_id": "b-1"}, BOT_LINE_FIELDS
    if route.template.endswith("/tags"):
        return {"tags": ["vip", "lost-funds", "提币"]}, TAG_FIELDS
    if route.template.endswith("/transfer"):
        return {"agent": "bob"}, TRANSFER_FIELDS
    if route.template == "/api/me":
        return {"console_language": "zh"}, ME_FIELDS
    if route.template == "/api/agents":
        return {"name": "fz-new", "role": "agent"}, NEW_AGENT_FIELDS
    if route.template.startswith("/api/canned-replies"):
        body = {"shortcut": "fz-new", "language": "zh", "title": "标题", "text": "内容"}
        return body, CANNED_FIELDS
    return {"text": "hello", "external_id": "m-1", "expecting_tx_hash": True}, TEXT_FIELDS


def _encode(value: Any) -> bytes:
    # surrogatepass: a lone surrogate becomes bytes that are not UTF-8, on purpose.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


raw_bodies = st.one_of(
    st.sampled_from(
        [
            b'{"score": ' + b"9" * 5000 + b"}",
            b'{"score": 1e400}',
            b'{"score": NaN}',
            b'{"occurred_at": -Infinity}',
            b"[" * 5000 + b"]" * 5000,
            b'{"a":' * 3000 + b"1" + b"}" * 3000,
            b'{"text": "\\ud800"}',
            b'{"text": "a\\u0000b"}',
            b"\xef\xbb\xbf{}",
            b"NaN",
            b"",
        ]
    ),
    st.binary(max_size=200),
)
any_body = st.one_of(raw_bodies, json_values.map(_encode), deep_values.map(_encode), st.none())

header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_categories=["Cc"]),
    max_size=80,
).map(str.strip)


def _quoted(text: str) -> str:
    # surrogatepass: a lone surrogate becomes percent-escapes of bytes that
    # are not UTF-8, which a client can send and the server must refuse.
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


QUERY_NAMES = [
    "after",
    "cursor",
    "after_id",
    "limit",
    "status",
    "category",
    "priority",
    "language",
    "tag",
    "q",
]


# ---------------------------------------------------------------- one request


@dataclass
class Call:
    """One HTTP request, built up by the strategy below."""

    path: str
    query: str
    headers: dict[str, str]
    body: bytes | None


@st.composite
def hostile_path_value(draw: st.DrawFn, kind: str | None) -> str:
    """One path parameter, percent-encoded; a ``path`` parameter may span segments."""
    segment = ids
    if kind != "path":
        return _quoted(draw(segment))
    parts = st.one_of(segment, st.sampled_from(["..", ".", "", "node_modules", "index.html"]))
    return "/".join(_quoted(part) for part in draw(st.lists(parts, min_size=1, max_size=4)))


@st.composite
def hostile_query(draw: st.DrawFn) -> str:
    """One to three query arguments, mostly ones the API reads, with hostile values."""
    names = st.one_of(st.sampled_from(QUERY_NAMES), any_text)
    values = st.one_of(times, ids)
    pairs = draw(st.lists(st.tuples(names, values), min_size=1, max_size=3))
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in pairs)


@st.composite
def hostile_headers(draw: st.DrawFn, target: Target) -> dict[str, str]:
    """Headers of which one or more are garbage; credentials may be missing or wrong."""
    headers: dict[str, str] = {}
    authorization = draw(
        st.one_of(
            st.none(),
            st.sampled_from(["Bearer ", "Bearer", "Basic Ym90OmJvdA==", f"bearer  {BOT} "]),
            header_text.map(lambda garbage: f"Bearer {garbage}"),
            header_text,
            st.sampled_from([f"Bearer {token}" for token in [BOT, *target.agent_tokens]]),
        )
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    extras = {
        "Idempotency-Key": header_text,
        "Origin": st.one_of(st.just("https://app.example.com"), header_text),
        "Content-Type": header_text,
        "Range": st.one_of(st.just("bytes=5-1"), header_text),
        "If-Modified-Since": header_text,
        "Access-Control-Request-Method": header_text,
    }
    for name in draw(st.lists(st.sampled_from(sorted(extras)), max_size=3, unique=True)):
        headers[name] = draw(extras[name])
    return headers


@st.composite
def calls(draw: st.DrawFn, target: Target, route: RouteCase) -> Call:
    """A plausible request to ``route`` with one part made hostile (or all of them)."""
    body, fields = _expected_body(route)
    posting = route.method in BODY_METHODS
    params = [name for name, _kind in _PARAM_RE.findall(route.template)]
    parts = [
        *(["path", "path"] if params else []),
        "query",
        "headers",
        *(["body", "fields", "fields", "fields"] if posting else []),
        "everything",
    ]
    hostile = draw(st.sampled_from(parts), label="hostile part")
    every = hostile == "everything"
    # One hostile parameter, the others valid: a valid conversation id lets a
    # hostile message id reach the database.
    hostile_param = draw(st.sampled_from(params), label="hostile parameter") if params else ""

    def param(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if every or (hostile == "path" and name == hostile_param):
            return draw(hostile_path_value(kind), label=name)
        return _quoted(draw(st.sampled_from(target.valid[name]), label=name))

    path = _PARAM_RE.sub(param, route.template)
    query = draw(hostile_query()) if hostile in ("query", "everything") else ""
    if hostile in ("headers", "everything"):
        headers = draw(hostile_headers(target), label="headers")
    else:
        headers = {"Authorization": draw(target.credentials(route), label="credentials")}
    data: bytes | None = None
    if posting:
        if hostile in ("body", "everything"):
            data = draw(any_body, label="body")
        else:
            if hostile == "fields":
                names = st.sampled_from(list(fields))
                for name in draw(st.lists(names, min_size=1, max_size=2, unique=True)):
                    body[name] = draw(st.one_of(fields[name], anything), label=name)
            data = _encode(body)
        headers.setdefault("Content-Type", "application/json")
    return Call(path, query, headers, data)


# ---------------------------------------------------------------- the property


FUZZ = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _throw(target: Target, route: RouteCase, data: st.DataObject) -> None:
    """Send one generated request to ``route``; a 5xx or an API error without its fields fails."""
    call = data.draw(calls(target, route), label="request")
    url = target.server.url + call.path + (f"?{call.query}" if call.query else "")
    response = requests.request(
        route.method,
        url,
        headers=call.headers,
        data=call.body,
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code < 500, (route, call, response.status_code, response.text[:500])
    if route.is_api and response.status_code >= 400:
        error = response.json()
        assert {"error", "detail", "field"} <= set(error), error


@pytest.mark.parametrize("route", ROUTES, ids=str)
@FUZZ
@given(data=st.data())
def test_no_input_makes_a_route_fail(
    sqlite_target: Target, route: RouteCase, data: st.DataObject
) -> None:
    _throw(sqlite_target, route, data)


@pytest.mark.postgres
@pytest.mark.parametrize("route", [route for route in ROUTES if route.is_api], ids=str)
@FUZZ
@given(data=st.data())
def test_no_input_makes_an_api_route_fail_on_postgresql(
    postgres_target: Target, route: RouteCase, data: st.DataObject
) -> None:
    # The pages never touch the database; the API's queries meet PostgreSQL's
    # stricter types (int4 ids, no NUL in text) here.
    _throw(postgres_target, route, data)
