"""A typed answer to the bot's own question is read as the button it means."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from addons.expected_answer import ExpectedAnswerClassifier
from support_core.choices import (
    Choice,
    asks_something_else,
    choices_from,
    chosen,
    polarity,
    rating_in,
)

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
OFFER_ZH = [Choice("/affirm", "好的，提交工单"), Choice("/deny", "不用了")]
OFFER_EN = [Choice("/affirm", "Yes, open a ticket"), Choice("/deny", "No thanks")]
RATING = [Choice(f'/rate{{"csat": "{n}"}}', "⭐" * n) for n in range(1, 6)]


def _domain_buttons() -> list[tuple[str, str, list[Choice]]]:
    """Every response with intent buttons: (response, language, its choices)."""
    found = []
    for path in sorted(DOMAIN.glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses", {})
        for name, variations in responses.items():
            for variation in variations or []:
                buttons = variation.get("buttons") or []
                choices = choices_from(buttons)
                if choices:
                    language = "zh" if variation.get("condition") else "en"
                    found.append((name, language, choices))
    return found


@pytest.mark.parametrize(
    ("name", "language", "choices"),
    _domain_buttons(),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_typing_any_buttons_title_chooses_it(name, language, choices) -> None:
    for choice in choices:
        assert chosen(choice.title, choices) == choice, (name, language, choice.title)


@pytest.mark.parametrize(
    ("text", "choices", "intent"),
    [
        ("yes please, open a ticket", OFFER_EN, "affirm"),
        ("Yes", OFFER_EN, "affirm"),
        ("ok go ahead", OFFER_EN, "affirm"),
        ("sure, please do", OFFER_EN, "affirm"),
        ("no thanks, I'll wait", OFFER_EN, "deny"),
        ("nope", OFFER_EN, "deny"),
        ("no problem, open it", OFFER_EN, "affirm"),
        ("好的, 提交工单", OFFER_ZH, "affirm"),
        ("好的，提交工单吧", OFFER_ZH, "affirm"),
        ("好", OFFER_ZH, "affirm"),
        ("可以，麻烦了", OFFER_ZH, "affirm"),
        ("嗯嗯", OFFER_ZH, "affirm"),
        ("需要", OFFER_ZH, "affirm"),
        ("没问题", OFFER_ZH, "affirm"),
        ("不用了谢谢", OFFER_ZH, "deny"),
        ("不要", OFFER_ZH, "deny"),
        ("算了", OFFER_ZH, "deny"),
        ("还没有解决", OFFER_ZH, "deny"),
    ],
)
def test_yes_and_no_with_more_words(text, choices, intent) -> None:
    picked = chosen(text, choices)
    assert picked is not None and picked.intent == intent


@pytest.mark.parametrize(
    "text", ["好像还是不行", "对方说没收到", "不知道", "not sure", "my deposit is missing", ""]
)
def test_messages_that_are_no_answer_choose_nothing(text) -> None:
    assert chosen(text, OFFER_ZH + OFFER_EN) is None


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), ("4分", 4), ("五星", 5), ("三分吧", 3), ("five", 5), ("⭐⭐", 2), ("1 star", 1)],
)
def test_a_typed_score_chooses_that_rating(text, score) -> None:
    assert rating_in(text) == score
    picked = chosen(text, RATING)
    assert picked is not None and picked.entities == {"csat": str(score)}


def test_no_score_or_two_scores_choose_nothing() -> None:
    assert chosen("good", RATING) is None
    assert chosen("between 3 and 4", RATING) is None
    assert rating_in("10") is None


@pytest.mark.parametrize(
    "text",
    ["how long does a ticket take?", "工单要多久才有回复", "what should I write in it",
     "提交工单需要准备什么？"],
)
def test_questions_are_recognised(text) -> None:
    assert asks_something_else(text)


@pytest.mark.parametrize("text", ["yes please, open a ticket", "好的，提交工单", "不用了", "5"])
def test_answers_are_not_questions(text) -> None:
    assert not asks_something_else(text)


def test_polarity_leaves_non_answers_alone() -> None:
    assert polarity("right now my balance is zero") is None
    assert polarity("行情怎么样") is None or asks_something_else("行情怎么样")


def test_choice_payload_entities() -> None:
    choice = Choice('/choose_category{"ticket_category": "assets"}', "资产问题")
    assert choice.intent == "choose_category"
    assert choice.entities == {"ticket_category": "assets"}
    assert Choice("/affirm", "Yes").entities == {}
    assert choices_from([{"payload": "skip", "title": "skip"}, "junk", {"payload": 3}]) == []


def _message(text: str, intent: str, expected: dict | None, ranking: list[str] = ()) -> Message:
    message = Message(data={TEXT: text, "metadata": {"expected_answer": expected}
                            if expected is not None else {}})
    message.set(INTENT, {"name": intent, "confidence": 0.7})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": 0.1} for n in (intent, *ranking)])
    return message


def _classify(message: Message) -> Message:
    return ExpectedAnswerClassifier().process([message])[0]


OFFER = {"choices": [{"payload": "/affirm", "title": "Yes, open a ticket"},
                     {"payload": "/deny", "title": "No thanks"}], "slot": None}


def test_the_component_turns_a_typed_yes_into_the_offered_affirm() -> None:
    message = _classify(_message("yes please, open a ticket", "ask_ticket_guidance", OFFER))
    assert message.get(INTENT)["name"] == "affirm"
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "affirm"


def test_a_real_question_keeps_its_faq_intent() -> None:
    message = _classify(_message("how do I write a good ticket?", "ask_ticket_guidance", OFFER))
    assert message.get(INTENT)["name"] == "ask_ticket_guidance"


def test_a_secret_a_theft_or_a_request_for_a_person_always_wins() -> None:
    for intent in ("share_secret", "account_compromised", "request_human"):
        assert _classify(_message("yes", intent, OFFER)).get(INTENT)["name"] == intent


def test_without_metadata_nothing_changes() -> None:
    message = _classify(_message("yes please, open a ticket", "ask_ticket_guidance", None))
    assert message.get(INTENT)["name"] == "ask_ticket_guidance"


def test_a_typed_rating_sets_the_score_entity() -> None:
    expected = {"choices": [{"payload": f'/rate{{"csat": "{n}"}}', "title": str(n)}
                            for n in range(1, 6)], "slot": "csat"}
    message = _classify(_message("给4分吧", "nlu_fallback", expected))
    assert message.get(INTENT)["name"] == "rate"
    assert [e["value"] for e in message.get(ENTITIES) if e["entity"] == "csat"] == ["4"]


def test_a_form_answer_is_not_taken_for_an_faq_question() -> None:
    expected = {"choices": [], "slot": "ticket_description"}
    message = _classify(_message(
        "提币手续费被扣了两次，币没到", "fee_inquiry", expected, ["withdrawal_failed"]
    ))
    assert message.get(INTENT)["name"] == "withdrawal_failed"
    question = _classify(_message("提币手续费是多少？", "fee_inquiry", expected))
    assert question.get(INTENT)["name"] == "fee_inquiry"
