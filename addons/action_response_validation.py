"""Check action server replies against a schema compiled once, not once per reply.

Rasa 3.6 checks every custom action's reply with ``jsonschema.validate``, which
first validates the schema itself against the 2020-12 meta-schema. That costs
about 40 ms of CPU per call on 2 cores, most of a form turn, and it blocks the
event loop for every other conversation meanwhile. The checks made on the reply
are the same; only the schema's own check moves to the first call.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@functools.lru_cache(maxsize=1)
def response_validator() -> Validator:
    """The validator for Rasa's action response format, built and checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


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
