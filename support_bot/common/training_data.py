"""The project's NLU data: domain intents, training and evaluation examples, and appending
new examples to a topic file without disturbing its formatting."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from support_bot.errors import LabelFileError, TrainingDataError
from support_bot.nlu_yaml import parse_nlu
from support_bot.project import Project
from support_bot.textnorm import normalise, strip_entity_markup

_EXAMPLES_KEY_RE = re.compile(r"^(\s*)examples:\s*\|[-+]?\s*(#.*)?$")


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


@dataclass
class TrainingIndex:
    """What the import checks labelled examples against."""

    intents: frozenset[str]
    training: list[Example]
    evaluation: list[Example]
    _training_by_norm: dict[str, Example] = field(init=False, repr=False)
    _evaluation_by_norm: dict[str, Example] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Index the examples by their normal form (the first one written wins)."""
        self._training_by_norm = {}
        for example in self.training:
            self._training_by_norm.setdefault(normalise(example.text), example)
        self._evaluation_by_norm = {}
        for example in self.evaluation:
            self._evaluation_by_norm.setdefault(normalise(example.text), example)

    def training_match(self, text: str) -> Example | None:
        """The training example ``text`` duplicates after normalisation."""
        return self._training_by_norm.get(normalise(text))

    def evaluation_match(self, text: str) -> Example | None:
        """The evaluation example ``text`` duplicates after normalisation."""
        return self._evaluation_by_norm.get(normalise(text))

    def home_file(self, intent: str) -> Path | None:
        """The topic file holding the intent's examples (the one with most, if several)."""
        counts = Counter(example.path for example in self.training if example.intent == intent)
        if not counts:
            return None
        return min(counts, key=lambda path: (-counts[path], str(path)))


def load_index(project: Project) -> TrainingIndex:
    """Domain intents, training examples (data/nlu) and the evaluation split (tests/nlu_eval)."""
    if not project.nlu_dir.is_dir():
        raise TrainingDataError(f"no training data folder at {project.nlu_dir}")
    evaluation = read_examples(project.eval_dir) if project.eval_dir.is_dir() else []
    return TrainingIndex(
        intents=domain_intents(project.domain),
        training=read_examples(project.nlu_dir),
        evaluation=evaluation,
    )


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _intent_line_index(lines: list[str], intent: str) -> int | None:
    pattern = re.compile(rf"^\s*-\s+intent:\s*([\"']?){re.escape(intent)}\1\s*(#.*)?$")
    return next((i for i, line in enumerate(lines) if pattern.match(line.rstrip("\n"))), None)


def append_examples(text: str, intent: str, new_texts: list[str], source: str) -> str:
    """``text`` (an NLU YAML file) with ``new_texts`` added at the end of the intent's
    ``examples: |`` block; every other line is kept as it was.

    Raises:
        TrainingDataError: the intent's block is not found, or is not a ``|`` block.
    """
    lines = text.splitlines(keepends=True)
    start = _intent_line_index(lines, intent)
    if start is None:
        raise TrainingDataError(f"{source}: no `- intent: {intent}` line")
    item_indent = _indent(lines[start])
    key_index: int | None = None
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _EXAMPLES_KEY_RE.match(lines[index].rstrip("\n"))
        if match and _indent(lines[index]) > item_indent:
            key_index = index
            break
        if _indent(lines[index]) <= item_indent:
            break
    if key_index is None:
        raise TrainingDataError(
            f"{source} line {start + 1}: intent {intent!r} has no `examples: |` block to append to"
        )
    key_indent = _indent(lines[key_index])
    last = key_index
    example_indent: int | None = None
    for index in range(key_index + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        if _indent(line) <= key_indent:
            break
        last = index
        if example_indent is None:
            example_indent = _indent(line)
    indent = " " * (example_indent if example_indent is not None else key_indent + 2)
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    addition = [f"{indent}- {new}\n" for new in new_texts]
    updated = "".join(lines[: last + 1] + addition + lines[last + 1 :])
    _check_appended(updated, intent, new_texts, source)
    return updated


def _check_appended(updated: str, intent: str, new_texts: list[str], source: str) -> None:
    try:
        document = parse_nlu(updated, source)
    except LabelFileError as exc:
        raise TrainingDataError(f"appending to {source} would break it: {exc}") from None
    for block in document.intents:
        if block.intent == intent:
            tail = [example.text for example in block.examples[-len(new_texts) :]]
            if tail == list(new_texts):
                return
    raise TrainingDataError(f"appending to {source} did not give the expected examples")
