"""The SQL tracker store: URL handling and saving a turn without re-counting stored events."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from addons.tracker_store import StoredEventCounts, UrlSQLTrackerStore, resolve_url

T = TypeVar("T")


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UrlSQLTrackerStore:
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'sub' / 't.db'}"
    return UrlSQLTrackerStore(host=url, domain=Domain.empty())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def count_queries(store: UrlSQLTrackerStore) -> list[str]:
    """Record the COUNT statements the store sends from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "count(" in statement.lower():
            seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    return seen


def stored_types(store: UrlSQLTrackerStore, sender: str) -> list[str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        )
        return [json.loads(data)["event"] for (data,) in rows]


def user(text: str) -> UserUttered:
    return UserUttered(text, {"name": "greet", "confidence": 1.0})


def test_environment_url_wins_over_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", "postgresql://db/x")
    assert resolve_url("sqlite:///other.db") == "postgresql://db/x"
    monkeypatch.delenv("TRACKER_STORE_URL")
    assert resolve_url("sqlite:///other.db") == "sqlite:///other.db"
    assert resolve_url(None) == "sqlite:///state/tracker.db"


def test_sqlite_folder_is_created_and_wal_is_on(store: UrlSQLTrackerStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_loaded_tracker_saves_only_new_events_without_counting(
    store: UrlSQLTrackerStore,
) -> None:
    run(store.save(DialogueStateTracker.from_events("a", [SessionStarted(), user("hi")])))
    tracker = run(store.retrieve("a"))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(user("again"))
    counts = count_queries(store)

    run(store.save(tracker))
    tracker.update(ActionExecuted("action_listen"))
    run(store.save(tracker))  # the same object twice: nothing stored twice

    assert counts == []
    assert stored_types(store, "a") == ["session_started", "user", "action", "user", "action"]


def test_an_unknown_tracker_object_is_counted_as_rasa_does(store: UrlSQLTrackerStore) -> None:
    run(store.save(DialogueStateTracker.from_events("b", [SessionStarted(), user("hi")])))
    copy = DialogueStateTracker.from_events("b", [SessionStarted(), user("hi")])
    copy.update(ActionExecuted("utter_greet"))
    counts = count_queries(store)

    run(store.save(copy))

    assert len(counts) == 1
    assert stored_types(store, "b") == ["session_started", "user", "action"]


def test_a_new_session_after_stored_ones_appends_after_the_latest(
    store: UrlSQLTrackerStore,
) -> None:
    run(store.save(DialogueStateTracker.from_events("c", [SessionStarted(), user("old")])))
    tracker = run(store.retrieve("c"))
    tracker.update(SessionStarted())
    tracker.update(user("new"))
    run(store.save(tracker))

    assert stored_types(store, "c") == ["session_started", "user", "session_started", "user"]
    latest = run(store.retrieve("c"))
    assert [e.type_name for e in latest.events] == ["session_started", "user"]


def test_counts_are_forgotten_with_their_tracker() -> None:
    counts = StoredEventCounts()
    tracker = DialogueStateTracker.from_events("d", [SessionStarted()])
    counts.remember(tracker)
    assert counts.get(tracker) == 1
    assert counts.get(DialogueStateTracker.from_events("d", [SessionStarted()])) is None
    del tracker
    gc.collect()
    assert len(counts) == 0


def test_sqlite_connections_are_pooled_and_reused(store: UrlSQLTrackerStore) -> None:
    connects: list[object] = []
    sa.event.listen(store.engine, "connect", lambda *_args: connects.append(1))
    for text in ("one", "two", "three"):
        run(store.save(DialogueStateTracker.from_events("e", [SessionStarted(), user(text)])))
        run(store.retrieve("e"))
    assert len(connects) <= 1
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def _conversation() -> list[Any]:
    from rasa.shared.core.events import BotUttered, SlotSet

    return [
        SessionStarted(timestamp=1.0),
        UserUttered(
            "USDT 提币没到账",
            {"name": "withdrawal_failed", "confidence": 0.93},
            [{"entity": "asset", "value": "USDT", "start": 0, "end": 4}],
            timestamp=2.0,
        ),
        SlotSet("asset", "USDT", timestamp=3.0),
        BotUttered("请确认网络。", {"buttons": []}, timestamp=4.0),
        ActionExecuted("action_listen", timestamp=5.0),
        SessionStarted(timestamp=6.0),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}, timestamp=7.0),
    ]


def test_rows_and_trackers_are_those_of_rasas_own_store(
    store: UrlSQLTrackerStore, tmp_path: Path
) -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    rasas = SQLTrackerStore(
        dialect="sqlite", db=str(tmp_path / "rasa.db"), domain=Domain.empty()
    )
    for target in (store, rasas):
        run(target.save(DialogueStateTracker.from_events("f", _conversation())))
        latest = run(target.retrieve("f"))
        latest.update(ActionExecuted("utter_greet", timestamp=8.0))
        run(target.save(latest))
        latest.update(ActionExecuted("action_listen", timestamp=9.0))
        run(target.save(latest))

    def rows(engine: sa.engine.Engine) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT sender_id, type_name, timestamp, intent_name, action_name, data"
                        " FROM events ORDER BY id"
                    )
                )
            )

    assert rows(store.engine) == rows(rasas.engine)
    assert len(rows(store.engine)) == len(_conversation()) + 2
    for fetch in ("retrieve", "retrieve_full_tracker"):
        ours = run(getattr(store, fetch)("f"))
        theirs = run(getattr(rasas, fetch)("f"))
        assert ours.current_state() == theirs.current_state()
        assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in theirs.events]
    latest_types = [e.type_name for e in run(store.retrieve("f")).events]
    assert latest_types == ["session_started", "user", "action", "action"]
    assert run(store.retrieve("nobody")) is None
