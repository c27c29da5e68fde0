"""Base for NLU components that learn nothing and keep no state."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData


class StatelessComponent(GraphComponent):
    """Created without configuration; training data passes through unchanged."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessComponent:
        """Create the component; it has no state."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data
