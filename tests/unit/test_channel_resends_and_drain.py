"""A resent message is handled at most once; a stopping replica finishes its turns first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from addons.channels.drain import DEFAULT_DRAIN_TIMEOUT_S, Drain, drain_timeout
from addons.channels.resends import already_handled, handle_once, is_resend

MESSAGE_ID = "0123456789abcdef0123456789abcdef"


class FakeAgent:
    """Rasa's agent as handle_once uses it: locks, a tracker store, a processor."""

    def __init__(self, ready: bool = True, turn_seconds: float = 0.0) -> None:
        self.ready = ready
        self.turn_seconds = turn_seconds
        self.trackers: dict[str, DialogueStateTracker] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.handled: list[str] = []
        self.lock_store = self
        self.tracker_store = self
        self.processor = self

    def is_ready(self) -> bool:
        return self.ready

    @contextlib.asynccontextmanager
    async def lock(self, sender_id: str) -> AsyncIterator[None]:
        async with self.locks.setdefault(sender_id, asyncio.Lock()):
            yield

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return self.trackers.get(sender_id)

    async def handle_message(self, message: UserMessage) -> None:
        await asyncio.sleep(self.turn_seconds)
        tracker = self.trackers.setdefault(
            message.sender_id, DialogueStateTracker(message.sender_id, [])
        )
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        self.handled.append(message.text)


def _message(text: str = "我的提币没到账", message_id: str | None = MESSAGE_ID) -> UserMessage:
    return UserMessage(text, sender_id="c-1", message_id=message_id)


def test_only_a_true_flag_marks_a_resend() -> None:
    assert is_resend({"resend": True})
    for data in ({}, {"resend": "true"}, {"resend": 1}, {"resend": None}, {"resend": [True]}):
        assert not is_resend(data)


def test_a_tracker_knows_a_message_by_its_client_id_only() -> None:
    tracker = DialogueStateTracker("c-1", [])
    assert not already_handled(None, MESSAGE_ID)
    assert not already_handled(tracker, MESSAGE_ID)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("hi", message_id="f" * 32))
    assert not already_handled(tracker, MESSAGE_ID)
    tracker.update(UserUttered("hi", message_id=MESSAGE_ID))
    assert already_handled(tracker, MESSAGE_ID)


def test_a_copy_of_a_handled_message_is_dropped() -> None:
    agent = FakeAgent()

    async def scenario() -> list[bool]:
        return [await handle_once(agent, _message()), await handle_once(agent, _message())]

    assert asyncio.run(scenario()) == [False, True]
    assert agent.handled == ["我的提币没到账"]


def test_two_copies_racing_for_the_lock_are_handled_once() -> None:
    # The first copy is still running when the second arrives (two replicas):
    # the check under the lock sees the first copy's message.
    agent = FakeAgent(turn_seconds=0.05)

    async def scenario() -> list[bool]:
        return list(await asyncio.gather(handle_once(agent, _message()),
                                         handle_once(agent, _message())))

    assert sorted(asyncio.run(scenario())) == [False, True]
    assert agent.handled == ["我的提币没到账"]


def test_messages_with_other_ids_or_no_id_are_all_handled() -> None:
    agent = FakeAgent()

    async def scenario() -> None:
        await handle_once(agent, _message("a", "a" * 32))
        await handle_once(agent, _message("b", "b" * 32))
        await handle_once(agent, _message("c", None))
        await handle_once(agent, _message("c", None))

    asyncio.run(scenario())
    assert agent.handled == ["a", "b", "c", "c"]


def test_without_a_model_nothing_is_handled_and_nothing_is_called_a_duplicate() -> None:
    agent = FakeAgent(ready=False)
    assert asyncio.run(handle_once(agent, _message())) is False
    assert asyncio.run(handle_once(None, _message())) is False
    assert agent.handled == []


def test_stopping_waits_for_the_turns_in_progress() -> None:
    drain = Drain()
    finished: list[str] = []

    async def a_turn() -> None:
        async with drain.turn():
            await asyncio.sleep(0.1)
            finished.append("turn")

    async def scenario() -> bool:
        task = asyncio.create_task(a_turn())
        await asyncio.sleep(0.01)
        assert drain.running == 1
        ended = await drain.stop(5)
        finished.append("stopped")
        await task
        return ended

    assert asyncio.run(scenario()) is True
    assert finished == ["turn", "stopped"]
    assert drain.draining and drain.running == 0


def test_stopping_gives_up_on_a_turn_that_never_ends() -> None:
    drain = Drain()

    async def scenario() -> bool:
        hold = asyncio.Event()

        async def stuck() -> None:
            async with drain.turn():
                await hold.wait()

        task = asyncio.create_task(stuck())
        await asyncio.sleep(0.01)
        ended = await drain.stop(0.05)
        hold.set()
        await task
        return ended

    assert asyncio.run(scenario()) is False
    assert drain.running == 0


def test_a_failing_turn_still_counts_as_ended() -> None:
    drain = Drain()

    async def scenario() -> bool:
        with contextlib.suppress(RuntimeError):
            async with drain.turn():
                raise RuntimeError("the processor failed")
        return await drain.stop(0.5)

    assert asyncio.run(scenario()) is True


def test_an_idle_replica_stops_at_once() -> None:
    assert asyncio.run(Drain().stop(0)) is True


def test_the_drain_timeout_comes_from_the_environment_within_bounds() -> None:
    assert drain_timeout({}) == DEFAULT_DRAIN_TIMEOUT_S
    assert drain_timeout({"CHAT_DRAIN_TIMEOUT_S": "5"}) == 5.0
    for bad in ("", "soon", "-1", "601", "nan"):
        assert drain_timeout({"CHAT_DRAIN_TIMEOUT_S": bad}) == DEFAULT_DRAIN_TIMEOUT_S
