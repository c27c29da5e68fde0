"""The handoff policy keeps the bot quiet while an agent has the conversation."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from addons.handoff_policy import HandoffPolicy
from devtools.domain_files import load_domain_object


@lru_cache(maxsize=1)
def _domain() -> Domain:
    return load_domain_object()


def _policy() -> HandoffPolicy:
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    return HandoffPolicy.create(
        HandoffPolicy.get_default_config(), storage, Resource("handoff"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def _predicted(events: list) -> str | None:
    domain = _domain()
    tracker = DialogueStateTracker.from_events("u", events, domain.slots)
    prediction = _policy().predict_action_probabilities(tracker, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[prediction.max_confidence_index]


def _user(intent: str, text: str = "hello") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0})


def test_abstains_without_a_handoff() -> None:
    assert _predicted([ActionExecuted("action_listen"), _user("fee_inquiry")]) is None


def test_relays_every_user_message_during_a_handoff() -> None:
    events = [SlotSet("handoff_active", True), ActionExecuted("action_listen")]
    for intent in ("fee_inquiry", "greet", "request_human", "nlu_fallback", "share_secret"):
        assert _predicted([*events, _user(intent)]) == "action_relay_to_agent"


def test_listens_after_relaying() -> None:
    events = [
        SlotSet("handoff_active", True), ActionExecuted("action_listen"), _user("greet"),
        ActionExecuted("action_relay_to_agent"),
    ]
    assert _predicted(events) == "action_listen"


def test_lets_the_service_intents_through_to_the_rules() -> None:
    events = [SlotSet("handoff_active", True), ActionExecuted("action_listen")]
    for intent in ("agent_message", "agent_joined", "ticket_resolved", "ticket_created"):
        assert _predicted([*events, _user(intent, "/" + intent)]) is None


def test_runs_at_a_higher_priority_than_the_rules() -> None:
    assert _policy().priority > 6


def test_listens_after_relaying_even_when_the_relay_set_slots_and_spoke() -> None:
    # The relay's notice and its SlotSet come after its ActionExecuted; the bot
    # must still listen (it once fell through to the rules' fallback here).
    events = [
        SlotSet("handoff_active", True), ActionExecuted("action_listen"), _user("greet"),
        ActionExecuted("action_relay_to_agent"),
        BotUttered("Your message has been passed to a human agent"),
        SlotSet("handoff_notice_given", True),
    ]
    assert _predicted(events) == "action_listen"
