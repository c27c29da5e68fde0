"""The rating form after a resolved ticket: what counts as a score, a skip, or no answer yet."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.rating import SKIPPED, ValidateRatingForm


def _validate(value: Any, intent: str = "rate") -> tuple[dict[str, Any], list[str]]:
    tracker = Tracker(
        "u", {}, {"intent": {"name": intent}, "text": str(value)}, [], False, None,
        {"name": "rating_form"}, "action_listen",
    )
    dispatcher = CollectingDispatcher()
    result = ValidateRatingForm().validate_csat(value, dispatcher, tracker, {})
    return result, [m.get("response") for m in dispatcher.messages]


def test_the_reset_at_form_start_is_no_answer_not_a_skip() -> None:
    # action_ticket_resolved resets csat to None right before the form starts;
    # "None" once matched the skip words and the rating was never asked.
    assert _validate(None, intent="ticket_resolved") == ({"csat": None}, [])


@pytest.mark.parametrize(("value", "score"), [("5", "5"), ("4分", "4"), ("★★★", "3")])
def test_scores(value: str, score: str) -> None:
    assert _validate(value) == ({"csat": score}, [])


def test_skip_and_no() -> None:
    assert _validate("skip")[0] == {"csat": SKIPPED}
    assert _validate("不用了", intent="deny")[0] == {"csat": SKIPPED}


def test_anything_else_is_asked_again() -> None:
    assert _validate("great service") == ({"csat": None}, ["utter_invalid_rating"])
