"""The handoff service's JSON API as an agent (or the bot) uses it, for tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

T = TypeVar("T")


class AgentClient:
    """Calls ``/api`` with one bearer token over a keep-alive session; returns raw responses."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        """Talk to the service at ``base_url`` as the holder of ``token``."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request to ``/api{path}``."""
        return self.http.request(
            method, f"{self.base_url}/api{path}", timeout=self.timeout, **kwargs
        )

    def claim(self, ref: str) -> requests.Response:
        """Take the ticket."""
        return self.call("POST", f"/tickets/{ref}/claim")

    def reply(self, ref: str, text: str) -> requests.Response:
        """Answer the user."""
        return self.call("POST", f"/tickets/{ref}/messages", json={"text": text})

    def resolve(self, ref: str) -> requests.Response:
        """Hand the chat back to the bot."""
        return self.call("POST", f"/tickets/{ref}/resolve")

    def ticket(self, ref: str) -> dict[str, Any]:
        """The ticket with its messages (raises on an HTTP error)."""
        response = self.call("GET", f"/tickets/{ref}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def messages(self, ref: str, after_id: int | None = None) -> list[dict[str, Any]]:
        """The ticket's transcript, or only the lines after ``after_id``."""
        params = {} if after_id is None else {"after_id": after_id}
        response = self.call("GET", f"/tickets/{ref}/messages", params=params)
        response.raise_for_status()
        return response.json()["messages"]  # type: ignore[no-any-return]

    def tickets(self, **filters: str) -> list[dict[str, Any]]:
        """Every ticket of the queue matching ``filters`` (all pages)."""
        found: list[dict[str, Any]] = []
        params: dict[str, str] = {**filters, "limit": "100"}
        while True:
            response = self.call("GET", "/tickets", params=params)
            response.raise_for_status()
            body = response.json()
            found.extend(body["tickets"])
            if not body.get("next_cursor"):
                return found
            params["cursor"] = body["next_cursor"]

    def open_queue(self) -> list[dict[str, Any]]:
        """The first page of open tickets, as the console shows the queue."""
        response = self.call("GET", "/tickets", params={"status": "open", "limit": "100"})
        response.raise_for_status()
        return response.json()["tickets"]  # type: ignore[no-any-return]

    def conversation_ticket(self, conversation_id: str) -> dict[str, Any] | None:
        """The conversation's ticket (bot token only), or None when it has none."""
        response = self.call("GET", f"/conversations/{conversation_id}/ticket")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release the connection pool."""
        self.http.close()


def wait_until(
    check: Callable[[], T], timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll ``check()`` until it returns something truthy and return that (fail after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout} s: {what or check} (last value {last!r})")
        time.sleep(interval)
