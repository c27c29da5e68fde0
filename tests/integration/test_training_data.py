"""The training data is consistent and every rule holds in conversation tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.domain_files import load_domain
from devtools.stack import ROOT
from tests.conftest import rasa_cli

pytestmark = pytest.mark.integration

# Intents that only buttons or the handoff service send: no NLU examples by design.
BUTTON_OR_SERVICE_INTENTS = {
    "choose_category", "agent_message", "agent_joined", "ticket_resolved", "ticket_created", "rate",
    # The chat channel sends these for an uploaded screenshot and its button.
    "share_screenshot", "attach_screenshot",
}


def _used_by_actions() -> set[str]:
    # The actions, and the Rasa add-ons that answer for an action that could not run.
    files = [*(ROOT / "actions").glob("*.py"), *(ROOT / "addons").glob("*.py")]
    source = "\n".join(p.read_text() for p in files)
    domain = load_domain()
    form_asks = {f"utter_ask_{slot}" for form in domain.get("forms", {}).values()
                 for slot in form["required_slots"]}
    return set(re.findall(r"utter_\w+", source)) | form_asks


def test_rasa_data_validate_has_no_unexplained_warning() -> None:
    result = rasa_cli("data", "validate", "--domain", "domain")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    allowed_utterances = _used_by_actions()
    unexplained = []
    for warning in re.findall(r"UserWarning: (.+)", output):
        utterance = re.match(r"The utterance '(\w+)' is not used in any story or rule", warning)
        intent = re.match(r"The intent '(\w+)' (is listed in the domain file|is not used)", warning)
        if utterance and utterance.group(1) in allowed_utterances:
            continue
        if intent and intent.group(1) in BUTTON_OR_SERVICE_INTENTS:
            continue
        unexplained.append(warning)
    assert not unexplained, "\n".join(unexplained)


def test_conversation_stories_pass(trained_model: Path, tmp_path: Path) -> None:
    result = rasa_cli(
        "test", "core", "--model", str(trained_model), "--stories", "tests",
        "--fail-on-prediction-errors", "--out", str(tmp_path / "core"),
    )
    failed = tmp_path / "core" / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-6000:] or result.stderr[-4000:]
