"""Dialogue policy that keeps the bot quiet while a human agent has the conversation.

While the ``handoff_active`` slot is true, every user message goes to
``action_relay_to_agent`` (appended to the ticket) and nothing else answers:
the bot never competes with the agent. Messages the handoff service triggers
(an agent's reply, the ticket resolved) still reach the rules.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

RELAY_ACTION = "action_relay_to_agent"
HANDOFF_SLOT = "handoff_active"
SERVICE_INTENTS = frozenset({"agent_message", "agent_joined", "ticket_resolved", "ticket_created"})


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class HandoffPolicy(Policy):
    """Routes user messages to the agent while a ticket is open; otherwise abstains."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Above RulePolicy (6), so an open handoff always wins."""
        return {"priority": 7}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> None:
        """No featurizer: the decision reads one slot and the last event."""
        super().__init__(config, model_storage, resource, execution_context, featurizer=None)

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Relay a user message during handoff, then listen; abstain otherwise."""
        if not tracker.get_slot(HANDOFF_SLOT):
            return self._prediction(self._default_predictions(domain))
        # The relay's own events (its notice, SlotSet) follow its ActionExecuted,
        # so look at the latest action, not the latest event.
        if _latest_action(tracker) == RELAY_ACTION:
            return self._prediction(_confidence_for(ACTION_LISTEN_NAME, domain))
        latest_intent = (tracker.latest_message.intent or {}).get("name")
        if latest_intent not in SERVICE_INTENTS and _user_spoke_last(tracker):
            return self._prediction(_confidence_for(RELAY_ACTION, domain))
        return self._prediction(self._default_predictions(domain))


def _latest_action(tracker: DialogueStateTracker) -> str | None:
    """The name of the most recent action run in the conversation."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            return event.action_name
    return None


def _user_spoke_last(tracker: DialogueStateTracker) -> bool:
    """True while the latest user message has not been answered by any action yet."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return True
        if isinstance(event, ActionExecuted) and event.action_name not in (
            ACTION_LISTEN_NAME, "action_extract_slots",
        ):
            return False
    return False


def _confidence_for(action: str, domain: Domain) -> list[float]:
    scores = [0.0] * domain.num_actions
    scores[domain.index_for_action(action)] = 1.0
    return scores
