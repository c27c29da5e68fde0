"""Check action server replies against Rasa's schema, compiled once and split by event type.

Rasa 3.6 checks every custom action's reply with ``jsonschema.validate``, which
first validates the schema itself against the 2020-12 meta-schema (about 40 ms
of CPU per call on 2 cores) and then tries each event of the reply against all
23 alternatives of the schema's ``oneOf``, one per event type, to make sure
exactly one matches. Every alternative pins ``event`` to its own constant, so
the only alternative that can match is the one named by the event itself:
checking the event against that one alone gives the same verdict at a
fraction of the cost. The schema's own check moves to the first call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@dataclass(frozen=True)
class ResponseValidator:
    """Rasa's action response schema as an envelope check plus one check per event type.

    Without ``by_event`` the envelope is the whole schema and checks alone.
    """

    envelope: Validator
    by_event: Mapping[str, Validator] | None

    def validate(self, result: Any) -> None:
        """Raise ``ValidationError`` where ``jsonschema.validate`` on the whole schema would."""
        self.envelope.validate(result)
        if self.by_event is None:
            return
        for event in result.get("events") or ():
            name = event["event"]  # the envelope requires it
            validator = self.by_event.get(name)
            if validator is None:
                raise ValidationError(f"{name!r} is not an event type Rasa knows")
            validator.validate(event)


@functools.lru_cache(maxsize=1)
def response_validator() -> ResponseValidator:
    """The validator for Rasa's action response format, built and checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    items = schema["properties"]["events"]["items"]
    branches = items["oneOf"]
    names = [branch.get("properties", {}).get("event", {}).get("const") for branch in branches]
    if None in names or len(set(names)) != len(names):
        # An alternative without its own event type: only the full oneOf can tell.
        return ResponseValidator(validator_class(schema), None)
    by_event = {
        name: validator_class(branch) for name, branch in zip(names, branches, strict=True)
    }
    envelope_items = {key: value for key, value in items.items() if key != "oneOf"}
    envelope = {
        **schema,
        "properties": {
            **schema["properties"],
            "events": {**schema["properties"]["events"], "items": envelope_items},
        },
    }
    return ResponseValidator(validator_class(envelope), by_event)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result`` with the cached validator.

    Raises:
        ValidationError: the reply does not match the action response format.
    """
    try:
        response_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def install() -> None:
    """Make Rasa's remote actions use the cached validator (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
