"""The Rasa command line as the project runs its server: ``python -m addons.server run ...``.

Takes the arguments of ``rasa``; it first installs the project's runtime fixes
to Rasa (see :mod:`addons.action_response_validation` and
:mod:`addons.action_outage`). For ``run`` it also
supplies, from the environment, what must not be spelled on a command line or
left wide open:

- ``RASA_AUTH_TOKEN`` becomes ``--auth-token`` inside the process, so the
  token never shows in ``ps`` (the kernel keeps the command line as started);
- ``RASA_HOST`` (default ``127.0.0.1``) becomes ``--interface``: the HTTP API
  is reachable from this machine only unless configured otherwise;
- ``CHAT_ALLOWED_ORIGINS`` becomes ``--cors``: only the pages allowed to embed
  the chat may call the server from a browser (never ``*``).

It also installs :func:`redact_user_text`, so that Rasa's structured debug logs
show ``[redacted]`` where they would print what a user wrote.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from addons import action_outage, action_response_validation
from addons.channels.origins import allowed_origins

DEFAULT_INTERFACE = "127.0.0.1"
REDACTED = "[redacted]"
# The fields of Rasa's structured debug logs that can hold what a user wrote
# (Rasa's own anonymizer looks at the same ones, but only with a paid plug-in).
USER_TEXT_FIELDS = frozenset(
    """
    text response_text user_text slot_values parse_data_text parse_data_entities
    prediction_events tracker_latest_message prefilled_slots message response
    slot_candidates rasa_event rasa_events tracker_states current_states old_states
    successes current_entity next_entity states entity token_text user_message json_message
    """.split()
)


def redact_user_text(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: the log shows ``[redacted]`` for every user-text field."""
    for key in USER_TEXT_FIELDS.intersection(event):
        event[key] = REDACTED
    return event


def install_log_redaction() -> None:
    """Put :func:`redact_user_text` where Rasa's log set-up takes its anonymizer.

    ``configure_structlog`` reads the module attribute when Rasa's command line
    starts, so replacing it first is enough. Registering an anonymization
    plug-in instead would make Rasa load every conversation a second time per
    message to compute what changed.
    """
    from rasa.utils import log_utils

    log_utils._anonymizer = redact_user_text


def _has_option(argv: list[str], *names: str) -> bool:
    return any(arg == name or arg.startswith(name + "=") for arg in argv for name in names)


def run_arguments(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """``argv`` (the arguments after the program name) completed from ``env``."""
    if not argv or argv[0] != "run" or (len(argv) > 1 and argv[1] == "actions"):
        return list(argv)
    completed = list(argv)
    token = env.get("RASA_AUTH_TOKEN")
    if token and not _has_option(completed, "--auth-token", "-t"):
        # Joined to its option: a token starting with "-" would read as an option.
        completed.append(f"--auth-token={token}")
    if not _has_option(completed, "--interface", "-i"):
        completed.append(f"--interface={env.get('RASA_HOST') or DEFAULT_INTERFACE}")
    origins = allowed_origins(env)
    if origins and not _has_option(completed, "--cors"):
        completed += ["--cors", *origins]
    return completed


def main() -> None:
    """Install the fixes, complete the arguments, then hand over to Rasa's entry point."""
    from rasa.__main__ import main as rasa_main
    action_response_validation.install()
    action_outage.install()
    install_log_redaction()
    sys.argv[1:] = run_arguments(sys.argv[1:], os.environ)
    rasa_main()


if __name__ == "__main__":
    main()
