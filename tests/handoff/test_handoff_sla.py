"""First-reply targets: their settings, ``sla_due_at``, the console's config, and urgent speed.

The last test is the console's live path over real HTTP: an urgent ticket the
bot creates must reach the queue of a console polling like ``console.js``
within a second.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from handoff_service.config import ConfigError, Settings, SlaTargets, sla_targets
from handoff_service.console_config import console_config
from tests.handoff.helpers import Api, FakeNotifier, start_api

CONSOLE_JS = Path(__file__).resolve().parents[2] / "handoff_service" / "console" / "console.js"
TARGETS = SlaTargets(urgent=15, high=60, normal=240)


@pytest.fixture
def configured(sqlite_file_url: str) -> Iterator[Api]:
    """The service with first-reply targets of 15, 60 and 240 minutes."""
    notifier = FakeNotifier()
    server, agents = start_api(sqlite_file_url, notifier, sla=TARGETS)
    with requests.Session() as http:
        yield Api(server, agents, http, notifier)
    server.stop()


def test_the_targets_are_configuration() -> None:
    assert Settings().sla == SlaTargets() == sla_targets("")
    assert (SlaTargets().urgent, SlaTargets().high, SlaTargets().normal) == (5, 15, 60)
    env = {"HANDOFF_SLA_FIRST_REPLY_MINUTES": "urgent=15, high=60,normal=240"}
    assert Settings.from_env(env).sla == TARGETS
    # A priority left out keeps its default.
    assert sla_targets("urgent=3") == SlaTargets(urgent=3, high=15, normal=60)
    assert TARGETS.as_seconds() == {"urgent": 900, "high": 3600, "normal": 14400}
    assert TARGETS.minutes("nonsense") == 240


@pytest.mark.parametrize(
    "raw",
    [
        "urgent=0",
        "urgent=-5",
        "urgent=10081",
        "urgent=1_0",
        "urgent=٣",
        "urgent=5.5",
        "urgent",
        "urgent=",
        "low=5",
        "URGENT=5",
        "urgent=5,urgent=6",
        "urgent=5;high=6",
    ],
)
def test_unusable_targets_are_refused_at_start(raw: str) -> None:
    with pytest.raises(ConfigError, match="HANDOFF_SLA_FIRST_REPLY_MINUTES"):
        Settings.from_env({"HANDOFF_SLA_FIRST_REPLY_MINUTES": raw})


def _due_minutes(ticket: dict[str, object]) -> float:
    due = datetime.fromisoformat(str(ticket["sla_due_at"]))
    created = datetime.fromisoformat(str(ticket["created_at"]))
    return (due - created) / timedelta(minutes=1)


def test_every_ticket_says_when_its_first_reply_is_due(configured: Api) -> None:
    expected = {"security": 15, "assets": 60, "account": 240}
    for index, category in enumerate(expected):
        created = configured.new_ticket(conversation_id=f"c{index}", category=category)
        assert _due_minutes(created) == expected[category]
    queue = configured.agent("alice", "GET", "/api/tickets").json()["tickets"]
    assert [(t["priority"], _due_minutes(t)) for t in queue] == [
        ("urgent", 15), ("high", 60), ("normal", 240)
    ]
    ref = queue[0]["ref"]
    full = configured.agent("alice", "GET", f"/api/tickets/{ref}").json()
    assert full["sla_due_at"] == queue[0]["sla_due_at"]
    # The due time stays after the reply (the clock stops; the target does not move).
    configured.agent("alice", "POST", f"/api/tickets/{ref}/claim")
    configured.agent("alice", "POST", f"/api/tickets/{ref}/messages", json={"text": "hi"})
    replied = configured.agent("alice", "GET", f"/api/tickets/{ref}").json()
    assert replied["sla_due_at"] == full["sla_due_at"]
    assert replied["first_agent_reply_at"] is not None


def test_the_console_is_told_the_targets(configured: Api) -> None:
    served = requests.get(configured.server.url + "/console/config.js", timeout=10).text
    assert '"slaFirstReplySeconds": {"urgent": 900, "high": 3600, "normal": 14400}' in served
    assert console_config()["slaFirstReplySeconds"] == {"urgent": 300, "high": 900, "normal": 3600}
    assert console_config(TARGETS)["slaFirstReplySeconds"]["urgent"] == 900


def test_the_events_feed_says_what_the_console_filters_by(api: Api) -> None:
    api.new_ticket(conversation_id="theft", category="security", language="zh")
    (change,) = api.agent("alice", "GET", "/api/events").json()["changes"]
    assert {k: change[k] for k in ("status", "priority", "category", "language")} == {
        "status": "open",
        "priority": "urgent",
        "category": "security",
        "language": "zh",
    }


def _console_poll_interval() -> float:
    match = re.search(r"var EVENTS_EVERY_MS = (\d+);", CONSOLE_JS.read_text(encoding="utf-8"))
    assert match is not None
    return int(match.group(1)) / 1000


class ConsoleWatcher:
    """Polls like console.js: the events feed, then the queue when something changed."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.interval = _console_poll_interval()
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cursor: str | None = None
        # Its own connection: the test's session is used by the test's thread.
        self._http = requests.Session()
        self._auth = {"Authorization": f"Bearer {api.agents['alice']}"}

    def __enter__(self) -> ConsoleWatcher:
        self._poll()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._http.close()

    def _run(self) -> None:
        # As console.js schedules it: the next poll a fixed pause after the last one ended.
        while not self._stop.wait(self.interval):
            self._poll()

    def _get(self, path: str, params: dict[str, str]) -> requests.Response:
        url = self.api.server.url + path
        return self._http.get(url, params=params, headers=self._auth, timeout=10)

    def _poll(self) -> None:
        params = {"after": self._cursor} if self._cursor else {}
        feed = self._get("/api/events", params).json()
        self._cursor = feed["cursor"] or self._cursor
        if not feed["changes"]:
            return
        queue = self._get("/api/tickets", {"status": "open"})
        now = time.monotonic()
        for ticket in queue.json()["tickets"]:
            self.seen.setdefault(ticket["ref"], now)


def test_an_urgent_ticket_reaches_an_open_console_within_a_second(api: Api) -> None:
    api.new_ticket(conversation_id="older", category="account")
    delays = []
    with ConsoleWatcher(api) as console:
        for index in range(3):
            # Land anywhere in the console's polling cycle.
            time.sleep(0.17 * (index + 1))
            started = time.monotonic()
            ticket = api.new_ticket(
                conversation_id=f"stolen-{index}",
                category="security",
                escalation_reason="security",
            )
            assert ticket["priority"] == "urgent"
            deadline = started + 5
            while ticket["ref"] not in console.seen and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ticket["ref"] in console.seen, "the urgent ticket never reached the queue"
            delays.append(console.seen[ticket["ref"]] - started)
    assert max(delays) < 1.0, delays
    # Urgent first in the queue the console shows.
    queue = api.agent("alice", "GET", "/api/tickets", params={"status": "open"}).json()
    assert [t["priority"] for t in queue["tickets"]] == ["urgent"] * 3 + ["normal"]
