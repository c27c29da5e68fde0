"""A chat-widget user without a browser: Rasa's socket.io channel through python-socketio.

Used by the live handoff tests and the handoff latency benchmark. It speaks
the widget's protocol (``session_request`` / ``session_confirm``,
``user_uttered`` with an acknowledgement, ``bot_uttered``) over HTTP
long-polling, and keeps every ``bot_uttered`` payload with the moment it
arrived so callers can wait for a given answer or time a delivery.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import socketio

DEFAULT_TIMEOUT = 30.0

# The ticket form in Chinese, from "转人工" to the ticket: (message, part of the bot's answer).
# The category and the confirmation are the payloads of the buttons the bot offers.
ESCALATE_ZH: tuple[tuple[str, str], ...] = (
    ("转人工", "您的问题属于哪一类"),
    ('/choose_category{"ticket_category": "assets"}', "写个标题"),
    ("USDT 提币到币安未到账", "请具体描述"),
    ("昨天晚上9点提了500 USDT到币安，显示成功但一直没到账", "什么时候发生"),
    ("昨天晚上9点", "交易哈希"),
    ("跳过", "钱包地址"),
    ("跳过", "邮箱"),
    ("跳过", "确认提交"),
)
SUBMIT = "/affirm"
TICKET_CREATED_ZH = "工单已提交"


class UnexpectedReply(AssertionError):
    """The bot did not answer as expected in time; the message lists what it did say."""


@dataclass(frozen=True)
class Received:
    """One ``bot_uttered`` payload and when it arrived (``time.perf_counter()``)."""

    at: float
    data: dict[str, Any]

    @property
    def text(self) -> str:
        """The text of the message ('' when it has none)."""
        return str(self.data.get("text") or "")

    @property
    def kind(self) -> str:
        """``agent`` or ``system`` for the handoff payloads, else ``bot``."""
        kind = self.data.get("type")
        return kind if kind in ("agent", "system") else "bot"

    @property
    def payloads(self) -> list[str]:
        """The payloads of the reply buttons offered with the message."""
        buttons = self.data.get("quick_replies") or self.data.get("buttons") or []
        return [str(b.get("payload")) for b in buttons if isinstance(b, dict)]


class SocketChatUser:
    """One conversation over the socket.io channel, as the widget has it."""

    def __init__(
        self, rasa_url: str, session_id: str | None = None, session_token: str | None = None,
        user_token: str | None = None, previous_session: dict[str, str] | None = None,
        transport: str = "polling",
    ) -> None:
        """Talk to the Rasa server at ``rasa_url``.

        With no arguments the server opens a new conversation. ``session_id`` and
        ``session_token`` resume one; ``user_token`` is the wallet app's signed
        token for its logged-in user. The server's ``session_confirm`` decides:
        :attr:`session_id` and :attr:`session_token` are what it confirmed.
        """
        self.rasa_url = rasa_url.rstrip("/")
        self.session_id = session_id
        self.session_token = session_token
        self.user_token = user_token
        # The conversation left for this new one (the widget's "new chat" with a ticket open).
        self.previous_session = previous_session
        # "polling" (HTTP long-polling, any HTTP client can follow it) or "websocket".
        self.transport = transport
        self.last_ack: Any = None
        self.received: list[Received] = []
        # ``agent_activity`` events (the agent typing, the user's lines seen), in order.
        self.activity: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._confirmed = threading.Event()
        self._client: socketio.Client | None = None

    # -- connection

    def connect(self, timeout: float = 15.0) -> SocketChatUser:
        """Connect (long-polling unless told otherwise) and wait for ``session_confirm``."""
        # engine.io reports its own normal shutdown ("packet queue is empty") as an
        # error; failures that matter raise here or show up as missing answers.
        quiet = logging.getLogger(f"{__name__}.engineio")
        quiet.setLevel(logging.CRITICAL)
        client = socketio.Client(reconnection=False, engineio_logger=quiet)
        client.on("bot_uttered", self._on_bot_uttered)
        client.on("session_confirm", self._on_session_confirm)
        client.on("agent_activity", self._on_activity)
        client.connect(
            self.rasa_url, transports=[self.transport], socketio_path="/socket.io",
            wait_timeout=timeout,
        )
        self._client = client
        request = {"session_id": self.session_id, "session_token": self.session_token}
        if self.user_token:
            request["user_token"] = self.user_token
        if self.previous_session:
            request["previous_session"] = self.previous_session
        client.emit("session_request", request)
        if not self._confirmed.wait(timeout):
            raise UnexpectedReply(f"no session_confirm within {timeout} s")
        return self

    def close(self) -> None:
        """Disconnect (safe to call twice)."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except socketio.exceptions.SocketIOError:
                pass  # the server is gone already

    def __enter__(self) -> SocketChatUser:
        return self.connect()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _on_session_confirm(self, data: Any) -> None:
        if isinstance(data, dict):
            self.session_id = data.get("session_id")
            self.session_token = data.get("session_token")
        self._confirmed.set()

    def _message(self, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        message = {"message": text, "session_id": self.session_id,
                   "session_token": self.session_token}
        if metadata is not None:
            message["metadata"] = metadata
        return message

    def _on_bot_uttered(self, data: Any) -> None:
        at = time.perf_counter()
        if not isinstance(data, dict):
            data = {"text": str(data)}
        with self._changed:
            self.received.append(Received(at, data))
            self._changed.notify_all()

    def _on_activity(self, data: Any) -> None:
        with self._changed:
            self.activity.append(data if isinstance(data, dict) else {"raw": data})
            self._changed.notify_all()

    def wait_for_activity(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first ``count`` ``agent_activity`` events; raises if fewer came in time."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.activity) >= count, timeout):
                raise UnexpectedReply(f"expected {count} agent_activity events: {self.activity}")
            return list(self.activity)

    def call(self, event: str, data: dict[str, Any], with_session: bool = True) -> Any:
        """Emit ``event`` (with this chat's session unless told otherwise) and its answer."""
        if self._client is None:
            raise RuntimeError("connect() first")
        if with_session:
            data = {"session_id": self.session_id, "session_token": self.session_token, **data}
        return self._client.call(event, data, timeout=DEFAULT_TIMEOUT)

    # -- messages

    def mark(self) -> int:
        """A position in :attr:`received`: what arrives from now on is after it."""
        with self._changed:
            return len(self.received)

    def since(self, mark: int) -> list[Received]:
        """Everything received after ``mark``."""
        with self._changed:
            return list(self.received[mark:])

    def say(
        self, text: str, timeout: float = DEFAULT_TIMEOUT, metadata: dict[str, Any] | None = None
    ) -> int:
        """Send a message and wait until the server has handled it; returns the mark before it.

        The server acknowledges ``user_uttered`` once the bot's answers were
        emitted; they may still be on their way, so use :meth:`wait_for`.
        """
        if self._client is None:
            raise RuntimeError("connect() first")
        mark = self.mark()
        self.last_ack = self._client.call(
            "user_uttered", self._message(text, metadata), timeout=timeout
        )
        return mark

    def say_reliably(self, text: str, timeout: float = DEFAULT_TIMEOUT, attempts: int = 6) -> int:
        """Send ``text`` as the widget does when connections break; returns the mark before it.

        The message carries a client id. If the acknowledgement does not come
        (the replica died, the connection dropped), the chat reconnects with
        its session, possibly to another replica, and sends the same id again
        marked as a resend: the server handles it at most once.
        """
        message_id = uuid.uuid4().hex
        mark = self.mark()
        failure: BaseException | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(min(0.5 * 2 ** attempt, 5.0))
            try:
                if self._client is None or not self._client.connected:
                    self.reconnect(timeout=min(timeout, 15.0))
                assert self._client is not None
                message = self._message(text)
                message["message_id"] = message_id
                if attempt:
                    message["resend"] = True
                self.last_ack = self._client.call("user_uttered", message, timeout=timeout)
                return mark
            except (socketio.exceptions.SocketIOError, UnexpectedReply) as error:
                failure = error
                self.close()
        raise UnexpectedReply(f"{text!r} not acknowledged after {attempts} attempts: {failure}")

    def ensure_connected(self) -> None:
        """Reconnect with the session if the connection was lost."""
        if self._client is None or not self._client.connected:
            self.reconnect()

    def reconnect(self, timeout: float = 15.0) -> SocketChatUser:
        """A new connection resuming this conversation with its session token."""
        self.close()
        self._confirmed.clear()
        return self.connect(timeout)

    def history(self, after: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """The server's ``history`` answer: the messages after id ``after``."""
        if self._client is None:
            raise RuntimeError("connect() first")
        request: dict[str, Any] = {
            "session_id": self.session_id, "session_token": self.session_token, "after": after,
        }
        if limit is not None:
            request["limit"] = limit
        reply = self._client.call("history", request, timeout=DEFAULT_TIMEOUT)
        return reply if isinstance(reply, dict) else {}

    def report_seen(self, message_ids: list[int]) -> dict[str, Any]:
        """Tell the server the widget showed these agent replies (``seen``)."""
        if self._client is None:
            raise RuntimeError("connect() first")
        reply = self._client.call(
            "seen",
            {"session_id": self.session_id, "session_token": self.session_token,
             "message_ids": message_ids},
            timeout=DEFAULT_TIMEOUT,
        )
        return reply if isinstance(reply, dict) else {}

    def send(self, text: str) -> threading.Event:
        """Emit a message without waiting; the event is set once the server has handled it."""
        if self._client is None:
            raise RuntimeError("connect() first")
        handled = threading.Event()
        self._client.emit(
            "user_uttered", self._message(text), callback=lambda *_args: handled.set()
        )
        return handled

    def wait_for(
        self, predicate: Callable[[Received], bool], since: int, timeout: float = 10.0
    ) -> Received:
        """The first message after ``since`` that satisfies ``predicate``; raises on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self.received[since:]:
                    if predicate(item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r.data for r in self.received[since:]]
                    raise UnexpectedReply(f"no matching bot message within {timeout} s; got {seen}")
                self._changed.wait(left)

    def wait_for_text(self, part: str, since: int, timeout: float = 10.0) -> Received:
        """The first message after ``since`` whose text contains ``part``."""
        return self.wait_for(lambda r: part in r.text, since, timeout)

    def ask(self, text: str, expect: str, timeout: float = DEFAULT_TIMEOUT) -> Received:
        """Send ``text`` and wait for an answer containing ``expect``."""
        mark = self.say(text, timeout)
        return self.wait_for_text(expect, mark, timeout)

    def settle(self, quiet: float = 0.3) -> None:
        """Wait until nothing has arrived for ``quiet`` seconds."""
        while True:
            before = self.mark()
            time.sleep(quiet)
            if self.mark() == before:
                return


def fill_ticket_form(
    user: SocketChatUser, script: Sequence[tuple[str, str]] = ESCALATE_ZH
) -> Received:
    """Walk the form with ``script`` (checking each answer); returns the summary message."""
    answer: Received | None = None
    for text, expect in script:
        answer = user.ask(text, expect)
    if answer is None:
        raise ValueError("empty script")
    return answer
