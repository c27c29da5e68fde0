"""Action server replies are checked exactly as Rasa checks them, with the schema compiled once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from addons import action_response_validation

VALID = {
    "events": [{"event": "slot", "name": "ticket_title", "value": "USDT 提币未到账"}],
    "responses": [{"text": "好的", "buttons": [{"title": "是", "payload": "/affirm"}]}],
}
MALFORMED = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": "not a list"},
]

Validate = Callable[[RemoteAction, dict[str, Any]], bool]


@pytest.fixture()
def rasas_own() -> Iterator[Validate]:
    """Rasa's method, with ours installed on the class for the test."""
    original = RemoteAction.__dict__["_validate_action_result"]
    action_response_validation.install()
    action_response_validation.install()  # twice is the same as once
    yield original
    RemoteAction._validate_action_result = original


def remote_action() -> RemoteAction:
    return RemoteAction("action_start_ticket", None)


def test_install_replaces_the_method(rasas_own: Validate) -> None:
    assert RemoteAction._validate_action_result is action_response_validation.validate_action_result
    assert RemoteAction._validate_action_result is not rasas_own


def test_a_valid_reply_passes(rasas_own: Validate) -> None:
    assert remote_action()._validate_action_result(VALID) is True
    assert rasas_own(remote_action(), VALID) is True


@pytest.mark.parametrize("reply", MALFORMED)
def test_a_malformed_reply_is_refused_as_rasa_refuses_it(rasas_own: Validate, reply: dict) -> None:
    with pytest.raises(ValidationError) as ours:
        remote_action()._validate_action_result(reply)
    with pytest.raises(ValidationError) as theirs:
        rasas_own(remote_action(), reply)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message


def _every_event_type() -> list[dict[str, Any]]:
    """One real event of each type Rasa can receive from an action server, as JSON."""
    from datetime import datetime

    from rasa.shared.core import events as ev

    samples = [
        ev.UserUttered("USDT 提币没到账", {"name": "withdrawal_failed", "confidence": 0.9}),
        ev.ActionExecuted("action_start_ticket"),
        ev.SlotSet("ticket_title", "提币未到账"),
        ev.EntitiesAdded([{"entity": "asset", "value": "USDT"}]),
        ev.DefinePrevUserUtteredFeaturization(True),
        ev.ReminderCancelled(name="nudge"),
        ev.ReminderScheduled("EXTERNAL_nudge", datetime(2026, 1, 1), name="nudge"),
        ev.ActionExecutionRejected("ticket_form"),
        ev.LoopInterrupted(True),
        ev.ActiveLoop("ticket_form"),
        ev.AllSlotsReset(),
        ev.ConversationResumed(),
        ev.ConversationPaused(),
        ev.FollowupAction("action_listen"),
        ev.StoryExported(),
        ev.Restarted(),
        ev.UserUtteranceReverted(),
        ev.ActionReverted(),
        ev.BotUttered("好的", {"buttons": []}),
        ev.SessionStarted(),
        ev.AgentUttered("hello"),
    ]
    return [sample.as_dict() for sample in samples]


# Odd events; Rasa's schema refuses some of them and lets others through.
ODD_EVENTS = [
    {"event": "nonsense"},
    {"event": 5},
    {"event": "slot", "name": 5},
    {"event": "bot", "text": 5},
    {"event": "user", "parse_data": "not an object"},
    {"event": "active_loop", "name": ["ticket_form"]},
    {"event": "followup", "name": 7},
    {"event": "slot", "timestamp": "yesterday"},
]


@pytest.mark.parametrize(
    "reply",
    [{"events": [event]} for event in _every_event_type()]
    + [{"events": _every_event_type(), "responses": VALID["responses"]}]
    + [{"events": [VALID["events"][0], event]} for event in ODD_EVENTS],
)
def test_each_event_gets_the_verdict_of_the_whole_schema(rasas_own: Validate, reply: dict) -> None:
    def verdict(check: Callable[[], bool]) -> bool:
        try:
            return check()
        except ValidationError:
            return False

    theirs = verdict(lambda: rasas_own(remote_action(), reply))
    assert verdict(lambda: remote_action()._validate_action_result(reply)) == theirs


def test_a_schema_that_cannot_be_split_is_checked_whole(
    rasas_own: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = RemoteAction.action_response_format_spec()
    alternatives = schema["properties"]["events"]["items"]["oneOf"]
    # A second alternative for "slot": only the whole oneOf can judge such a schema.
    alternatives.append({"properties": {"event": {"const": "slot"}, "name": {"type": "integer"}}})
    monkeypatch.setattr(RemoteAction, "action_response_format_spec", staticmethod(lambda: schema))
    action_response_validation.response_validator.cache_clear()
    try:
        assert action_response_validation.response_validator().by_event is None
        for reply in (VALID, {"events": [{"event": "slot", "name": 3}]}, *MALFORMED):
            ours = theirs = True
            try:
                remote_action()._validate_action_result(reply)
            except ValidationError:
                ours = False
            try:
                rasas_own(remote_action(), reply)
            except ValidationError:
                theirs = False
            assert ours == theirs, reply
        remote_action()._validate_action_result(VALID)
    finally:
        action_response_validation.response_validator.cache_clear()
