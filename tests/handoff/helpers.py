"""Test helpers for the handoff service: fake notifier, fake clock, live server, payloads."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import sqlalchemy as sa
from sanic import Sanic

from handoff_service.app import create_app
from handoff_service.config import Settings
from handoff_service.db import upgrade
from handoff_service.notifier import Notification, NotificationFailed
from handoff_service.services import HandoffService

START = datetime(2025, 11, 25, 9, 0, tzinfo=timezone.utc)
BOT_TOKEN = "bot-token-for-tests"


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now


class FakeNotifier:
    """Records every notification; fails every call when ``failing`` is set."""

    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.calls: list[Notification] = []
        # The calls that did not fail, i.e. what the chat really received.
        self.delivered: list[Notification] = []
        self._changed = threading.Condition()

    def notify(self, notification: Notification) -> None:
        with self._changed:
            self.calls.append(notification)
            if not self.failing:
                self.delivered.append(notification)
            self._changed.notify_all()
        if self.failing:
            raise NotificationFailed("cannot reach Rasa: ConnectionError")

    def wait_for_delivered(self, count: int, timeout: float = 10.0) -> list[Notification]:
        """Block until ``count`` notifications were delivered (not failed)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.delivered) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries, got {self.delivered}")
            return list(self.delivered)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Notification]:
        """Block until ``count`` notifications arrived (they are delivered off the request)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} notifications, got {self.calls}")
            return list(self.calls)

    @property
    def intents(self) -> list[str]:
        """The intents triggered so far, in order."""
        return [c.intent for c in self.calls]


def entities_without_id(notification: Notification) -> dict[str, Any]:
    """A notification's entities but the outbox row id the dispatcher adds to each."""
    return {k: v for k, v in notification.entities.items() if k != "notification_id"}


class LiveServer:
    """A Sanic app served on a free local port from a background thread.

    The real HTTP stack (body size limit, keep-alive, error handlers) without
    a child process, so a test can hand the app fakes.
    """

    def __init__(self, app: Sanic) -> None:
        self.app = app
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-sanic", daemon=True)

    def start(self) -> LiveServer:
        """Serve, returning once the server accepts connections."""
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the test server did not start")
        if self._failed is not None:
            raise RuntimeError("the test server failed to start") from self._failed
        return self

    def stop(self) -> None:
        """Run the shutdown listeners and stop the thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        if self._failed is not None:
            raise RuntimeError("the test server failed") from self._failed

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:
            # Re-raised in the test's thread by start() or stop().
            self._failed = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await self.app.create_server(
            sock=self._sock, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        await server.before_start()
        await server.after_start()
        self._ready.set()
        await self._stop.wait()
        # The same shutdown sequence as Sanic's own runner: stop accepting,
        # close idle keep-alive connections, give busy ones a moment, abort.
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for connection in list(server.connections):
            connection.close_if_idle()
        for _ in range(50):
            if not server.connections:
                break
            await asyncio.sleep(0.02)
        for connection in list(server.connections):
            connection.abort()
        await server.after_stop()
        await asyncio.sleep(0)
        leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        # The request worker threads (asyncio.to_thread) end with the loop.
        await self._loop.shutdown_default_executor()


@contextmanager
def live_server(app: Sanic) -> Iterator[LiveServer]:
    """Serve ``app`` for the duration of the block."""
    server = LiveServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def chat_lines(messages: Iterable[Any]) -> list[Any]:
    """A transcript without its system lines (messages as rows or as API JSON)."""
    return [
        message
        for message in messages
        if _author_of(message) != "system"
    ]


def _author_of(message: Any) -> str:
    author = message["author"] if isinstance(message, dict) else message.author
    return str(getattr(author, "value", author))


def ticket_payload(**overrides: Any) -> dict[str, Any]:
    """A valid ticket creation body; ``overrides`` replace or add fields."""
    body: dict[str, Any] = {
        "conversation_id": "conv-1",
        "category": "assets",
        "title": "USDT withdrawal not received",
        "description": "I withdrew 120 USDT on TRON yesterday at 21:00 and it never arrived.",
        "language": "en",
        "escalation_reason": "self_help_failed",
        "contact_email": "user@example.com",
        "chain": "tron",
        "occurred_at_text": "yesterday around 9 pm",
    }
    body.update(overrides)
    return body


def empty_postgres_schema(url: str) -> str:
    """Drop everything in the database's public schema; returns ``url``."""
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


@dataclass
class ServedApp:
    """A served app, its agents' tokens and a keep-alive HTTP session."""

    server: LiveServer
    agents: dict[str, str]
    http: requests.Session

    def call(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> requests.Response:
        """One request to ``path`` with ``token`` as the bearer token, if any."""
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        timeout = kw.pop("timeout", 10)
        return self.http.request(
            method, self.server.url + path, headers=headers, timeout=timeout, **kw
        )


@dataclass
class Api(ServedApp):
    """A running service, its notifier and the credentials to call it."""

    notifier: FakeNotifier = field(default_factory=FakeNotifier)

    def bot(self, method: str, path: str, **kw: Any) -> requests.Response:
        """A request with the bot's token."""
        return self.call(method, path, BOT_TOKEN, **kw)

    def agent(self, name: str, method: str, path: str, **kw: Any) -> requests.Response:
        """A request with agent ``name``'s token."""
        return self.call(method, path, self.agents[name], **kw)

    def new_ticket(self, **overrides: Any) -> dict[str, Any]:
        """Create a ticket (``ticket_payload(**overrides)``); its JSON."""
        response = self.bot("POST", "/api/tickets", json=ticket_payload(**overrides))
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


def start_api(
    database_url: str, notifier: FakeNotifier, **settings: Any
) -> tuple[LiveServer, dict[str, str]]:
    """Serve the app on ``database_url`` (migrated) with agents alice and bob; their tokens."""
    app = create_app(Settings(database_url=database_url, bot_token=BOT_TOKEN, **settings), notifier)
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        agents = {name: service.add_agent(name)[1] for name in ("alice", "bob")}
    return LiveServer(app).start(), agents


class FakeActivity:
    """Records the agent activity (typing, seen) the service relays to the chat."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self._changed = threading.Condition()

    def send(self, body: Any) -> None:
        with self._changed:
            self.sent.append(dict(body))
            self._changed.notify_all()

    def kinds(self) -> list[str]:
        """The kinds relayed so far, in order."""
        with self._changed:
            return [str(body["kind"]) for body in self.sent]


@dataclass
class Workspace(Api):
    """A running service with agents alice and bob, admin root, and the relayed activity."""

    activity: FakeActivity = field(default_factory=FakeActivity)

    def admin(self, method: str, path: str, **kw: Any) -> requests.Response:
        """A request with admin root's token."""
        return self.agent("root", method, path, **kw)


def start_workspace(
    database_url: str, notifier: FakeNotifier, activity: FakeActivity, **kw: Any
) -> tuple[LiveServer, dict[str, str]]:
    """Serve the app on ``database_url`` (migrated): agents alice and bob, admin root; tokens.

    ``kw`` are :func:`handoff_service.app.create_app`'s keyword arguments
    (``clock``, ``mail_sender``) and settings.
    """
    app_options = {key: kw.pop(key) for key in ("clock", "mail_sender") if key in kw}
    app = create_app(
        Settings(database_url=database_url, bot_token=BOT_TOKEN, **kw),
        notifier,
        activity=activity,
        **app_options,
    )
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        service = HandoffService(session)
        agents = {name: service.add_agent(name)[1] for name in ("alice", "bob")}
        agents["root"] = service.add_agent("root", "admin")[1]
    return LiveServer(app).start(), agents
