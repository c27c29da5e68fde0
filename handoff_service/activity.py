"""What the assignee is doing, told to the user's chat: "typing…" and "seen".

Best effort and nothing more: one POST to the Rasa channel's
``/webhooks/socketio/agent_activity`` (with Rasa's auth token as a Bearer
token), from a small pool of background threads, with a short timeout. The
agent's request never waits for it and never fails because of it; a relay
that cannot be made at once (Rasa down, the pool busy) is dropped, never
queued or retried: a "typing" shown late is worse than none, and the next
poll brings a newer "seen". Only ids, the agent's name and a time travel;
no message text, and nothing of the body is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

import requests

from handoff_service.times import format_time

logger = logging.getLogger(__name__)

ACTIVITY_PATH = "/webhooks/socketio/agent_activity"
TIMEOUT_S = 2.0
WORKERS = 2
# Relays waiting for a thread beyond this are dropped, not queued.
MAX_PENDING = 32


class ActivitySink(Protocol):
    """Anything that takes activity for a chat; tests pass fakes."""

    def send(self, body: Mapping[str, Any]) -> None:
        """Hand ``body`` over without blocking; never raises."""


class RasaActivityRelay:
    """Posts activity to the Rasa channel from background threads, one attempt each."""

    def __init__(self, rasa_url: str, auth_token: str | None, timeout: float = TIMEOUT_S) -> None:
        """Post to ``rasa_url`` + the channel's path, with ``auth_token`` (none: never post)."""
        self.url = rasa_url.rstrip("/") + ACTIVITY_PATH
        self.auth_token = auth_token
        self.timeout = timeout
        self._pool: ThreadPoolExecutor | None = None
        self._http: requests.Session | None = None
        self._lock = threading.Lock()
        self._pending = 0

    def send(self, body: Mapping[str, Any]) -> None:
        """Post ``body`` in the background; dropped when no token is set or the pool is busy."""
        if not self.auth_token:
            # The channel answers 403 without a token: no point in asking.
            return
        with self._lock:
            if self._pending >= MAX_PENDING:
                return
            self._pending += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="agent-activity")
                self._http = requests.Session()
            pool = self._pool
        try:
            pool.submit(self._post, dict(body))
        except RuntimeError:
            # Shutting down.
            with self._lock:
                self._pending -= 1

    def _post(self, body: dict[str, Any]) -> None:
        try:
            assert self._http is not None
            response = self._http.post(
                self.url,
                json=body,
                headers={"Authorization": f"Bearer {self.auth_token}"},
                timeout=self.timeout,
            )
            if not response.ok:
                logger.info(
                    "agent activity (%s) refused: HTTP %s", body.get("kind"), response.status_code
                )
        except requests.RequestException as exc:
            logger.info("agent activity (%s) not relayed: %s", body.get("kind"), type(exc).__name__)
        except Exception:  # pragma: no cover - a relay must never break anything
            logger.exception("agent activity not relayed")
        finally:
            with self._lock:
                self._pending -= 1

    def close(self) -> None:
        """Stop the threads (relays in flight finish or time out) and the connection pool."""
        with self._lock:
            pool, http = self._pool, self._http
            self._pool = self._http = None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if http is not None:
            http.close()


def typing_activity(conversation_id: str, agent: str) -> dict[str, Any]:
    """The body that says the assignee is typing."""
    return {"conversation_id": conversation_id, "kind": "typing", "agent": agent}


def seen_activity(conversation_id: str, seen_until: datetime) -> dict[str, Any]:
    """The body that says the assignee has seen the user's lines up to ``seen_until``."""
    return {
        "conversation_id": conversation_id,
        "kind": "seen",
        "seen_until": format_time(seen_until),
    }
