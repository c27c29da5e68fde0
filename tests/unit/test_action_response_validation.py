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
