"""The outbox on SQLite and PostgreSQL, shared by several action servers ("replicas").

Every test here runs on both stores (a SQLite file, a PostgreSQL database); a
replica is one more ``Outbox`` object on the same store, with its own engine,
and its own ``OutboxFlusher`` and client.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from actions import outbox as outbox_module
from actions import runtime
from actions.escalation import ActionSubmitTicket
from actions.handoff_client import HandoffUnavailable
from actions.outbox import (
    MESSAGE,
    RATING,
    TICKET,
    TICKET_UPDATE,
    Outbox,
    OutboxFlusher,
    flush,
)
from devtools.databases import DatabaseUnavailable, temporary_postgres_database
from support_bot.cli import EXIT_OK, main
from tests.unit.action_helpers import FakeFlusher, FakeHandoffClient, rejected

TICKET_PAYLOAD = {"conversation_id": "conv-1", "title": "USDT 提币失败", "description": "没到账"}
TABLES = ("outbox", "dead_letters", "outbox_lease")
# The replica tests use a lease this short, so a takeover takes a fraction of a second.
LEASE = 0.6

Replicas = Callable[[], Outbox]


@pytest.fixture(scope="session")
def outbox_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (and xdist worker), dropped at the end."""
    try:
        with temporary_postgres_database("outbox_test") as url:
            yield url
    except DatabaseUnavailable as error:
        pytest.fail(f"{error}; start it or deselect these tests with -m 'not postgres'")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty outbox store: a SQLite file, or the session's database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'outbox.db'}"
    url = request.getfixturevalue("outbox_postgres_url")
    engine = sa.create_engine(url, future=True)
    try:
        with engine.begin() as conn:
            for table in TABLES:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def replicas(store: str) -> Iterator[Replicas]:
    """Makes ``Outbox`` objects on the one store, as each action server would; closed after."""
    made: list[Outbox] = []

    def replica() -> Outbox:
        box = Outbox(url=store)
        made.append(box)
        return box

    yield replica
    for box in made:
        box.close()


@pytest.fixture
def outbox(replicas: Replicas) -> Outbox:
    return replicas()


def stored(store: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(store, future=True)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(query), params)]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the store


def test_the_url_comes_from_outbox_url_and_nothing_connects_until_used(monkeypatch, tmp_path):
    monkeypatch.setenv("OUTBOX_URL", "postgresql://support:s3cret@db.internal:5432/outbox")
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "ignored.db"))
    box = Outbox()
    assert (box.dialect, box.path) == ("postgresql", None)
    assert box.location == "postgresql://support:***@db.internal:5432/outbox"
    assert box._engine is None  # built on first use, never at construction
    assert Outbox(tmp_path / "explicit.db").path == tmp_path / "explicit.db"  # a path wins
    monkeypatch.setenv("OUTBOX_URL", f"sqlite:///{tmp_path / 'shared.db'}")
    assert Outbox().path == tmp_path / "shared.db"
    monkeypatch.setenv("OUTBOX_URL", "postgres://db.internal/outbox")
    assert Outbox().dialect == "postgresql"


@pytest.mark.parametrize("url", ["mysql://db/outbox", "sqlite://", "sqlite:///:memory:"])
def test_an_outbox_url_that_cannot_work_is_refused(url):
    with pytest.raises(ValueError, match="OUTBOX_URL"):
        Outbox(url=url)


def test_replicas_starting_together_create_the_tables_once(replicas, store):
    boxes = [replicas() for _ in range(4)]
    start = threading.Barrier(len(boxes))
    errors: list[BaseException] = []

    def first_use(box: Outbox) -> None:
        start.wait()
        try:
            box.pending()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=first_use, args=(box,)) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored(store, "SELECT name, holder FROM outbox_lease") == [("flusher", None)]


def test_queue_keeps_a_key_once_and_every_replica_sees_it(replicas, store):
    a, b = replicas(), replicas()
    a.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    b.put(TICKET, "conv-1:m1", "conv-1", {**TICKET_PAYLOAD, "title": "changed"})
    [entry] = b.pending()
    assert (entry.key, entry.kind, entry.conversation_id, entry.attempts) == (
        "conv-1:m1", TICKET, "conv-1", 0,
    )
    assert entry.payload == TICKET_PAYLOAD
    assert b.pending("conv-2") == []
    assert "提币" in stored(store, "SELECT payload FROM outbox")[0][0]  # readable, not escaped


def test_order_is_tickets_first_then_oldest_and_kept_per_conversation(replicas):
    a, b = replicas(), replicas()
    a.put(MESSAGE, "conv-1:m2", "conv-1", {"text": "还在吗", "external_id": "m2"})
    b.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    a.put(MESSAGE, "conv-1:m3", "conv-1", {"text": "在等", "external_id": "m3"})
    b.put(TICKET, "conv-2:m1", "conv-2", TICKET_PAYLOAD)
    b.put(MESSAGE, "conv-2:m2", "conv-2", {"text": "hello", "external_id": "m2"})
    assert [e.key for e in a.pending()] == [
        "conv-1:m1", "conv-2:m1", "conv-1:m2", "conv-1:m3", "conv-2:m2",
    ]
    client = FakeHandoffClient(create_errors=[
        HandoffUnavailable("429 from /api/tickets", status=429, retry_after=60),
    ])
    assert flush(b, client, now=1000.0) == 2
    assert client.relayed == [("conv-2", "hello", "m2")]  # conv-1's messages wait for its ticket
    assert [e.key for e in a.pending()] == ["conv-1:m1", "conv-1:m2", "conv-1:m3"]
    assert flush(a, client, now=1060.0) == 3
    assert client.calls[-3:] == [
        ("create_ticket", "conv-1"), ("relay_user_message", "conv-1"),
        ("relay_user_message", "conv-1"),
    ]


def test_backoff_grows_and_honours_retry_after(outbox):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    client = FakeHandoffClient(create_errors=[
        HandoffUnavailable("503 from /api/tickets", status=503),
        HandoffUnavailable("503 from /api/tickets", status=503),
        HandoffUnavailable("429 from /api/tickets", status=429, retry_after=1800.0),
    ])
    now, waits = 1000.0, []
    for _ in range(3):
        assert flush(outbox, client, now=now) == 0
        [entry] = outbox.pending()
        waits.append(entry.next_attempt_at - now)
        assert not outbox.has_due(now=entry.next_attempt_at - 0.001)
        assert flush(outbox, client, now=entry.next_attempt_at - 0.001) == 0  # not due yet
        now = entry.next_attempt_at
    assert waits[1] == 2 * waits[0] and waits[2] == 1800.0
    assert (entry.attempts, entry.last_error) == (3, "429 from /api/tickets")
    assert len(client.created) == 3
    assert flush(outbox, client, now=now) == 1
    assert outbox.pending() == []


def test_dead_letters_keep_the_payload_and_retry_sends_them_again(outbox, store, caplog):
    outbox.put(TICKET, "conv-1:m1", "conv-1", TICKET_PAYLOAD)
    outbox.put(TICKET_UPDATE, "conv-2:m3:details", "conv-2", {"amount": "500 USDT"})
    client = FakeHandoffClient(create_errors=[
        rejected("occurred_at: 提币", error_code="validation_failed", field="occurred_at"),
    ])
    with caplog.at_level("DEBUG"):
        assert flush(outbox, client, now=1000.0) == 1
    assert "提币" not in caplog.text and "USDT" not in caplog.text
    outbox.put_dead_letter(MESSAGE, "conv-3:m2", "conv-3", {"text": "在吗"}, 409, "ticket_not_open")
    assert outbox.bury("conv-9:nothing", 400, "bad_request") is False
    [first, second] = outbox.dead_letters()
    assert (first.key, first.attempts, first.failed_at, first.last_error) == (
        "conv-1:m1", 1, 1000.0, "422 validation_failed (field occurred_at)",
    )
    assert (second.key, second.status, second.error_code) == ("conv-3:m2", 409, "ticket_not_open")
    assert "提币" in stored(
        store, "SELECT payload FROM dead_letters WHERE key = :key", key="conv-1:m1",
    )[0][0]
    assert outbox.retry("conv-1:m1") is True
    assert outbox.retry("conv-1:m1") is False
    [entry] = outbox.pending()
    assert (entry.key, entry.attempts, entry.next_attempt_at, entry.payload) == (
        "conv-1:m1", 0, 0, TICKET_PAYLOAD,
    )
    assert entry.last_error == "retried after 422 validation_failed"
    assert flush(outbox, client, now=1001.0) == 1
    assert client.created[-1] == ({**TICKET_PAYLOAD, "delivered_late": True}, "conv-1:m1")
    assert outbox.retry_all() == 1
    assert outbox.retry_all() == 0
    assert [e.key for e in outbox.pending()] == ["conv-3:m2"]


def test_a_rating_sent_again_after_a_crash_is_done_not_a_dead_letter(outbox):
    # The flusher that sent it died before removing it; the service took it the first time.
    outbox.put(RATING, "conv-1:rating:T-1", "conv-1", {"score": 5})
    client = FakeHandoffClient(rate_errors=[rejected(status=409, error_code="already_rated")])
    assert flush(outbox, client, now=1000.0) == 1
    assert outbox.pending() == [] and outbox.dead_letters() == []


# --------------------------------------------------------------------------- replicas


class RecordingClient(FakeHandoffClient):
    """One replica's client; every replica writes into one shared record of the service.

    ``deliveries`` lists (replica, key) in the order the service accepted them;
    ``most_at_once`` is the most calls that were ever in progress together,
    whichever replica made them.
    """

    def __init__(self, name: str, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.service = service

    def _call(self, key: str) -> dict[str, Any]:
        self.service.enter()
        try:
            time.sleep(self.service.call_seconds)
            if self.service.failing():
                raise HandoffUnavailable("503 from the service", status=503)
            self.service.accept(self.name, key)
            return {"ref": "T-1", "status": "open"}
        finally:
            self.service.leave()

    def create_ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self._call(idempotency_key)

    def relay_user_message(
        self, conversation_id: str, text: str, external_id: str | None = None,
        expecting_tx_hash: bool = False,
    ) -> dict[str, Any]:
        return self._call(f"{conversation_id}:{external_id}")


class Service:
    """What the handoff service saw, shared by every replica's client."""

    def __init__(self, call_seconds: float = 0.0, failure_rate: float = 0.0) -> None:
        self.call_seconds = call_seconds
        self.failure_rate = failure_rate
        self.deliveries: list[tuple[str, str]] = []
        self.most_at_once = 0
        self._at_once = 0
        self._lock = threading.Lock()
        self._random = random.Random(7)

    def enter(self) -> None:
        with self._lock:
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)

    def leave(self) -> None:
        with self._lock:
            self._at_once -= 1

    def failing(self) -> bool:
        with self._lock:
            return self._random.random() < self.failure_rate

    def accept(self, replica: str, key: str) -> None:
        with self._lock:
            self.deliveries.append((replica, key))

    def keys(self) -> list[str]:
        return [key for _, key in self.deliveries]


def put_conversation(box: Outbox, conversation: int, entries: int = 5) -> list[str]:
    """A ticket and its messages, queued in order; returns their keys."""
    cid = f"conv-{conversation}"
    box.put(TICKET, f"{cid}:m0", cid, {"conversation_id": cid, "title": "t", "description": "d"})
    for n in range(1, entries):
        box.put(MESSAGE, f"{cid}:m{n}", cid, {"text": f"第{n}条", "external_id": f"m{n}"})
    return [f"{cid}:m{n}" for n in range(entries)]


def flusher(box: Outbox, name: str, service: Service, **kwargs: Any) -> OutboxFlusher:
    return OutboxFlusher(box, RecordingClient(name, service), holder=name, **kwargs)


def test_an_entry_queued_by_one_replica_is_delivered_by_another(replicas):
    a, b = replicas(), replicas()
    service = Service()
    keys = put_conversation(a, 1)
    assert flusher(b, "b", service).run_once() == 5
    assert service.deliveries == [("b", key) for key in keys]
    assert a.pending() == []


def test_two_flushers_racing_deliver_every_entry_once_in_order(replicas, monkeypatch):
    # Failures make entries wait (a very short backoff) and rounds many; a flusher gives
    # the lease up after each of its rounds and pauses, so the two take turns while
    # entries arrive and conversations are half delivered.
    monkeypatch.setattr(outbox_module, "BACKOFF_BASE_SECONDS", 0.001)
    a, b = replicas(), replicas()
    service = Service(call_seconds=0.002, failure_rate=0.2)
    flushers = [flusher(box, name, service, lease_seconds=5) for box, name in ((a, "a"), (b, "b"))]
    expected: dict[str, list[str]] = {}
    for conversation in range(10):
        expected[f"conv-{conversation}"] = put_conversation(a, conversation)
    queued = threading.Event()
    errors: list[BaseException] = []

    def race(worker: OutboxFlusher) -> None:
        try:
            while not (queued.is_set() and not worker.outbox.pending()):
                if worker.run_once() is None:
                    time.sleep(0.0005)
                else:
                    worker.release()
                    time.sleep(0.005)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=race, args=(worker,)) for worker in flushers]
    for thread in threads:
        thread.start()
    for conversation in range(10, 20):  # queued while the flushers run, by the other replica
        expected[f"conv-{conversation}"] = put_conversation(b, conversation)
        time.sleep(0.01)
    queued.set()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and not any(thread.is_alive() for thread in threads)

    keys = service.keys()
    assert sorted(keys) == sorted(key for entries in expected.values() for key in entries)
    assert len(keys) == len(set(keys)) == 100  # each once
    by_conversation: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_conversation[key.rsplit(":", 1)[0]].append(key)
    assert by_conversation == expected  # in order within every conversation
    assert service.most_at_once == 1  # never two deliveries at the same time
    assert {replica for replica, _ in service.deliveries} == {"a", "b"}  # both took turns


def test_a_flusher_that_dies_holding_the_lease_is_replaced_once_it_expires(replicas):
    a, b = replicas(), replicas()
    service = Service()
    first = flusher(a, "a", service, lease_seconds=LEASE)
    second = flusher(b, "b", service, lease_seconds=LEASE)
    put_conversation(a, 1, entries=1)
    taken = time.monotonic()
    assert first.run_once() == 1
    # "a" dies here: it never runs again and never gives the lease up.
    later = put_conversation(a, 2)
    assert b.lease_holder() == "a"
    assert second.run_once() is None  # still held: nothing delivered twice at once
    while (delivered := second.run_once()) is None:
        assert time.monotonic() - taken < 10 * LEASE, "the lease never expired"
        time.sleep(0.02)
    assert time.monotonic() - taken >= LEASE * 0.9
    assert delivered == 5
    assert service.deliveries[1:] == [("b", key) for key in later]
    assert b.lease_holder() == "b"


def test_a_released_lease_is_taken_at_once(replicas):
    a, b = replicas(), replicas()
    service = Service()
    first = flusher(a, "a", service, lease_seconds=60)
    second = flusher(b, "b", service, lease_seconds=60)
    put_conversation(a, 1, entries=1)
    assert first.run_once() == 1
    put_conversation(a, 2, entries=1)
    assert second.run_once() is None
    first.release()
    assert second.run_once() == 1
    assert [replica for replica, _ in service.deliveries] == ["a", "b"]


def test_a_delivery_longer_than_the_lease_keeps_it(replicas):
    a, b = replicas(), replicas()
    service = Service(call_seconds=LEASE * 2.5)
    slow = flusher(a, "a", service, lease_seconds=LEASE)
    other = flusher(b, "b", service, lease_seconds=LEASE)
    keys = put_conversation(a, 1, entries=2)
    worker = threading.Thread(target=slow.run_once)
    worker.start()
    while b.lease_holder() != "a":  # "a" took it and is in its first, slow call
        assert worker.is_alive()
        time.sleep(0.005)
    while worker.is_alive():
        # Refused (the heartbeat renewed it all along), or nothing left to deliver.
        assert other.run_once() in (None, 0)
        time.sleep(0.03)
    worker.join()
    assert service.deliveries == [("a", key) for key in keys]


def test_a_flusher_that_cannot_renew_stops_before_its_next_delivery(replicas):
    a, b = replicas(), replicas()
    # The call outlasts the first renewal (a third of the lease), not the two thirds a
    # holder counts on without one: only the failed renewal can stop the round.
    service = Service(call_seconds=LEASE * 0.5)
    cut_off = flusher(a, "a", service, lease_seconds=LEASE)
    a.renew_lease = lambda holder, seconds: False  # type: ignore[method-assign]
    keys = put_conversation(a, 1, entries=3)
    assert cut_off.run_once() == 1  # the call in progress ends, no other starts
    assert [e.key for e in a.pending()] == keys[1:]
    taker = flusher(b, "b", service, lease_seconds=LEASE)
    deadline = time.monotonic() + 10 * LEASE
    while taker.run_once() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert service.deliveries == [("a", keys[0]), ("b", keys[1]), ("b", keys[2])]


def test_the_background_loops_of_two_replicas_drain_one_outbox(replicas, monkeypatch):
    monkeypatch.setattr(outbox_module, "FLUSH_INTERVAL_SECONDS", 0.01)
    a, b = replicas(), replicas()
    service = Service()
    loops = [flusher(a, "a", service), flusher(b, "b", service)]
    keys = [key for n in range(3) for key in put_conversation(b, n)]

    async def scenario() -> None:
        for loop in loops:
            loop.ensure_running()
        for _ in range(500):
            if not a.pending():
                break
            await asyncio.sleep(0.01)
        for loop in loops:
            assert loop._task is not None
            loop._task.cancel()

    asyncio.run(scenario())
    assert sorted(service.keys()) == sorted(keys)
    assert len({replica for replica, _ in service.deliveries}) == 1  # the lease holder's


# --------------------------------------------------------------------------- the action server


def test_every_action_server_starts_its_flusher_on_its_first_action(monkeypatch):
    # Not only once it queued something: a shared outbox may hold what another
    # replica left behind when it died.
    started = FakeFlusher()
    monkeypatch.setattr(runtime, "shared_flusher", lambda: started)

    async def use(action: ActionSubmitTicket) -> None:
        action.client  # noqa: B018 - the first use, as the action makes it
        action.outbox  # noqa: B018

    ActionSubmitTicket().client  # noqa: B018 - outside the event loop: nothing to start
    assert started.started == 0
    asyncio.run(use(ActionSubmitTicket()))
    assert started.started == 2  # asked on every use; ensure_running starts it once
    asyncio.run(use(ActionSubmitTicket(client=FakeHandoffClient())))
    assert started.started == 2  # a test's own collaborators start nothing


def test_support_bot_outbox_lists_the_shared_outbox(replicas, store, monkeypatch, capsys):
    outbox = replicas()
    outbox.put_dead_letter(MESSAGE, "conv-1:m2", "conv-1", {"text": "我的助记词"}, 409, "closed")
    outbox.put(MESSAGE, "conv-2:m2", "conv-2", {"text": "我的助记词", "external_id": "m2"})
    monkeypatch.setenv("OUTBOX_URL", store)
    monkeypatch.delenv("OUTBOX_PATH", raising=False)
    assert main(["outbox", "list"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("dead letters: 1\n") and "conv-1:m2" in out and "conv-2:m2" in out
    assert "助记词" not in out
    assert main(["outbox", "retry", "--all"]) == EXIT_OK
    assert sorted(e.key for e in outbox.pending()) == ["conv-1:m2", "conv-2:m2"]
