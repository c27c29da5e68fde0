"""Unit tests for addons.lock_store on the machine's Redis: a dead replica's lock only delays."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from addons.lock_store import RenewingRedisLockStore

LIFETIME = 1.0


@pytest.fixture()
def prefix() -> str:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at 127.0.0.1:6379 is needed: {error}")
    return "locktest" + uuid.uuid4().hex[:10]


def _dead_replica_holds(prefix: str, conversation: str) -> None:
    """What a replica killed mid-turn leaves: a ticket nobody will give back."""
    RedisLockStore(host="127.0.0.1", db=1, key_prefix=prefix).issue_ticket(
        conversation, lock_lifetime=LIFETIME
    )


async def _take(store: RedisLockStore, conversation: str) -> float:
    started = time.monotonic()
    async with store.lock(conversation, lock_lifetime=LIFETIME, wait_time_in_seconds=0.1):
        return time.monotonic() - started


def test_rasas_own_store_never_serves_a_message_behind_a_dead_replicas_lock(
    prefix: str,
) -> None:
    conversation = uuid.uuid4().hex
    _dead_replica_holds(prefix, conversation)
    store = RedisLockStore(host="127.0.0.1", db=1, key_prefix=prefix)
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(asyncio.wait_for(_take(store, conversation), timeout=4 * LIFETIME))


def test_a_message_behind_a_dead_replicas_lock_waits_one_lifetime_then_runs(
    prefix: str,
) -> None:
    conversation = uuid.uuid4().hex
    _dead_replica_holds(prefix, conversation)
    store = RenewingRedisLockStore(host="127.0.0.1", db=1, key_prefix=prefix)
    waited = asyncio.run(asyncio.wait_for(_take(store, conversation), timeout=4 * LIFETIME))
    assert 0.5 * LIFETIME <= waited < 2.5 * LIFETIME
    # Served and cleaned up: the next message goes straight through.
    assert asyncio.run(_take(store, conversation)) < 0.5


def test_turns_of_one_conversation_still_run_one_at_a_time(prefix: str) -> None:
    conversation = uuid.uuid4().hex
    store = RenewingRedisLockStore(host="127.0.0.1", db=1, key_prefix=prefix)
    inside = 0
    most = 0

    async def turn() -> None:
        nonlocal inside, most
        async with store.lock(conversation, lock_lifetime=5, wait_time_in_seconds=0.02):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    async def many() -> None:
        await asyncio.gather(*(turn() for _ in range(6)))

    asyncio.run(many())
    assert most == 1


def test_rasa_builds_it_from_the_endpoints_entry(prefix: str) -> None:
    config = EndpointConfig(url="127.0.0.1", type="addons.lock_store.RenewingRedisLockStore",
                            port=6379, db=1, key_prefix=prefix)
    from rasa.core.lock_store import LockStore

    store = LockStore.create(config)
    assert isinstance(store, RenewingRedisLockStore)
    assert store.key_prefix.startswith(prefix)
