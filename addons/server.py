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

With ``PROFILE=production`` it first checks the configuration, before Rasa
loads a model or opens a port: ``run`` refuses what :mod:`addons.production_checks` lists
(read against the ``--endpoints`` file), ``run actions`` what
:mod:`actions.production_checks` lists; one ``error:`` line each, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from addons import action_outage, action_response_validation
from addons.channels.origins import allowed_origins
from addons.production_checks import rasa_server_problems, rasa_server_warnings
from support_core.production import EXIT_REFUSED, Problem, is_production, report

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


DEFAULT_ENDPOINTS = "endpoints.yml"


def endpoints_path(argv: list[str]) -> str:
    """The endpoints file ``rasa run`` reads (``--endpoints``, else Rasa's default)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--endpoints", default=DEFAULT_ENDPOINTS)
    known, _rest = parser.parse_known_args(argv[1:])
    return str(known.endpoints or DEFAULT_ENDPOINTS)


def read_endpoints(path: str) -> tuple[Mapping[str, Any], Problem | None]:
    """The endpoints file as Rasa reads it (``${VAR}`` expanded), or why it cannot be read.

    A missing file is no error here: Rasa then runs on its in-memory
    defaults, which the production rules name.
    """
    from rasa.shared.exceptions import RasaException
    from rasa.shared.utils.io import read_config_file

    try:
        return read_config_file(path), None
    except FileNotFoundError:
        return {}, None
    except RasaException as exc:
        return {}, Problem("--endpoints", f"the endpoints file {path} cannot be read: {exc}")


def production_findings(
    argv: list[str], env: Mapping[str, str]
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of a production start of ``rasa run`` or ``rasa run actions``.

    Nothing for the development profile or for any other command.
    """
    if not is_production(env) or not argv or argv[0] != "run":
        return [], []
    if len(argv) > 1 and argv[1] == "actions":
        # Only here: the Rasa server itself has no use for the actions package.
        from actions.production_checks import action_server_problems, action_server_warnings

        return action_server_problems(env), action_server_warnings(env)
    path = endpoints_path(argv)
    endpoints, unreadable = read_endpoints(path)
    problems = rasa_server_problems(env, endpoints, path)
    if unreadable is not None:
        problems.insert(0, unreadable)
    return problems, rasa_server_warnings(env, endpoints, path)


def refuse_unfit_production(
    argv: list[str], env: Mapping[str, str], stream: TextIO | None = None
) -> None:
    """Print what production refuses or warns about (to stderr); exit with status 2 on a problem.

    Raises:
        SystemExit: the configuration has a problem (status :data:`EXIT_REFUSED`).
    """
    problems, warnings = production_findings(argv, env)
    report(problems, warnings, stream or sys.stderr)
    if problems:
        raise SystemExit(EXIT_REFUSED)


def main() -> None:
    """Check a production start, install the fixes, then hand over to Rasa's entry point."""
    # First: a refused start stops before Rasa loads a model or opens a port.
    refuse_unfit_production(sys.argv[1:], os.environ)
    from rasa.__main__ import main as rasa_main
    action_response_validation.install()
    action_outage.install()
    install_log_redaction()
    sys.argv[1:] = run_arguments(sys.argv[1:], os.environ)
    rasa_main()


if __name__ == "__main__":
    main()
