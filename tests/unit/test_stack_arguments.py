"""Rasa starts with the arguments meant, and its secrets never on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.__main__ import create_argument_parser

from addons.server import run_arguments
from devtools.stack import rasa_run_arguments


@pytest.mark.parametrize("token", ["plainToken123", "-starts-with-a-dash", "--like-an-option"])
def test_any_generated_token_reaches_rasa_intact(token: str, tmp_path: Path) -> None:
    # secrets.token_urlsafe() starts with "-" one time in 64.
    command_line = rasa_run_arguments(tmp_path / "m.tar.gz", 5999, tmp_path / "e.yml")
    assert not any(token in argument for argument in command_line)
    inside = run_arguments(command_line, {"RASA_AUTH_TOKEN": token})
    parsed = create_argument_parser().parse_args(inside)
    assert parsed.auth_token == token
    assert (parsed.port, parsed.enable_api) == (5999, True)
    assert parsed.model == str(tmp_path / "m.tar.gz")


def test_the_server_listens_on_the_loopback_unless_configured(tmp_path: Path) -> None:
    command_line = rasa_run_arguments(tmp_path / "m.tar.gz", 5999, tmp_path / "e.yml")
    parser = create_argument_parser()
    assert parser.parse_args(run_arguments(command_line, {})).interface == "127.0.0.1"
    public = run_arguments(command_line, {"RASA_HOST": "0.0.0.0"})
    assert parser.parse_args(public).interface == "0.0.0.0"


def test_cors_origins_come_from_configuration_and_never_star(tmp_path: Path) -> None:
    command_line = rasa_run_arguments(tmp_path / "m.tar.gz", 5999, tmp_path / "e.yml")
    parser = create_argument_parser()
    env = {"CHAT_ALLOWED_ORIGINS": "https://wallet.example, *  https://help.example"}
    parsed = parser.parse_args(run_arguments(command_line, env))
    assert parsed.cors == ["https://wallet.example", "https://help.example"]
    assert not parser.parse_args(run_arguments(command_line, {})).cors


def test_the_action_server_command_is_left_alone() -> None:
    argv = ["run", "actions", "--port", "5055"]
    assert run_arguments(argv, {"RASA_AUTH_TOKEN": "x"}) == argv


def test_rasa_debug_logs_show_no_user_text() -> None:
    from rasa.utils import log_utils

    from addons.server import REDACTED, install_log_redaction

    original = log_utils._anonymizer
    install_log_redaction()
    try:
        event = {"event": "processor.message.parse", "parse_data_text": "my seed is ...",
                 "parse_data_entities": [{"value": "x"}], "user_text": "hi"}
        logged = log_utils._anonymizer(None, "debug", dict(event))
        assert logged["parse_data_text"] == REDACTED
        assert logged["parse_data_entities"] == REDACTED and logged["user_text"] == REDACTED
        assert logged["event"] == "processor.message.parse"
    finally:
        log_utils._anonymizer = original
