"""The project's NLU data as the commands read it: the examples of an NLU folder (training
or evaluation) with where each is written, and the intents the domain declares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support_bot.common.errors import LabelFileError, TrainingDataError
from support_bot.common.nlu_yaml import parse_nlu
from support_bot.common.textnorm import strip_entity_markup


@dataclass(frozen=True)
class Example:
    """A training or evaluation example and where it is written."""

    text: str
    intent: str
    path: Path
    line: int


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def read_examples(folder: Path) -> list[Example]:
    """Every intent example in the NLU files of ``folder``, in file order.

    Raises:
        TrainingDataError: a file is not NLU YAML.
    """
    found: list[Example] = []
    for path in _yaml_files(folder):
        try:
            document = parse_nlu(path.read_text(encoding="utf-8"), str(path))
        except LabelFileError as exc:
            raise TrainingDataError(str(exc)) from None
        for block in document.intents:
            if block.intent is None:
                continue
            for example in block.examples:
                if example.text:
                    found.append(
                        Example(strip_entity_markup(example.text), block.intent, path, example.line)
                    )
    return found


def _intent_names(items: Any) -> set[str]:
    names: set[str] = set()
    for item in items or []:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict):
            names.update(str(key) for key in item)
    return names


def domain_intents(domain: Path) -> frozenset[str]:
    """The intents declared in the domain file (or every file of a domain folder).

    Raises:
        TrainingDataError: the domain is missing or not YAML.
    """
    files = [domain] if domain.is_file() else _yaml_files(domain) if domain.is_dir() else []
    if not files:
        raise TrainingDataError(f"no domain at {domain}")
    names: set[str] = set()
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise TrainingDataError(f"{path} is not valid YAML: {exc}") from None
        names |= _intent_names(data.get("intents") if isinstance(data, dict) else None)
    return frozenset(names)
