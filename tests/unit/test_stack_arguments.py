"""The test stack starts Rasa with arguments Rasa's own parser reads back as meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.__main__ import create_argument_parser

from devtools.stack import rasa_run_arguments


@pytest.mark.parametrize("token", ["plainToken123", "-starts-with-a-dash", "--like-an-option"])
def test_any_generated_token_reaches_rasa_intact(token: str, tmp_path: Path) -> None:
    # secrets.token_urlsafe() starts with "-" one time in 64.
    arguments = rasa_run_arguments(tmp_path / "m.tar.gz", token, 5999, tmp_path / "e.yml")
    parsed = create_argument_parser().parse_args(arguments)
    assert parsed.auth_token == token
    assert (parsed.port, parsed.enable_api) == (5999, True)
    assert parsed.model == str(tmp_path / "m.tar.gz")
