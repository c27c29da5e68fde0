"""``support-bot import``: merge labelled examples into the topic files of data/nlu.

Every line is checked first; if any line is refused, nothing is written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from support_bot.common.console import Printer
from support_bot.common.errors import LabelFileError
from support_bot.common.label_file import UNLABELLED
from support_bot.common.nlu_yaml import ExampleLine, parse_nlu
from support_bot.common.project import Project
from support_bot.common.textnorm import has_entity_markup, normalise
from support_bot.label_import.topic_files import append_examples
from support_bot.label_import.training_index import TrainingIndex, load_index
from support_core.secret_guard import contains_placeholder, find_secrets, redact


@dataclass(frozen=True)
class Refusal:
    """A line of the label file that cannot be imported, and why."""

    line: int
    text: str
    reasons: tuple[str, ...]

    def describe(self, source: str) -> str:
        """``source:line: reason; reason  "text"``."""
        shown = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"{source}:{self.line}: {'; '.join(self.reasons)}  [{shown}]"


@dataclass(frozen=True)
class Addition:
    """One example to append, and the line it came from."""

    intent: str
    text: str
    line: int


@dataclass
class ImportPlan:
    """What the import would do: additions per topic file, or refusals."""

    additions: dict[Path, list[Addition]] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many examples would be added."""
        return sum(len(items) for items in self.additions.values())


class _Checker:
    """The checks of one label file against the project's data."""

    def __init__(self, index: TrainingIndex, project: Project) -> None:
        self.index = index
        self.project = project
        self.seen: dict[str, int] = {}

    def where(self, path: Path, line: int) -> str:
        """``path line N`` with the path relative to the project."""
        try:
            shown = path.relative_to(self.project.root)
        except ValueError:
            shown = path
        return f"{shown} line {line}"

    def home(self, intent: str | None) -> tuple[Path | None, list[str]]:
        """The topic file for ``intent``, or why there is none."""
        if intent is None:
            return None, ["not labelled: the intent name is empty"]
        if intent == UNLABELLED:
            return None, [f"not labelled: the intent is still {UNLABELLED!r}"]
        if intent not in self.index.intents:
            return None, [f"unknown intent {intent!r} (not an intent of the domain)"]
        home = self.index.home_file(intent)
        if home is None:
            return None, [
                f"intent {intent!r} has no examples in data/nlu "
                "(buttons or the handoff service send it), so there is no file to add to"
            ]
        return home, []

    def text_problems(self, example: ExampleLine) -> list[str]:
        """Why the example's text cannot be added (empty list: it can)."""
        text = example.text
        if text is None:
            return ["not an example line: write it as `    - text` inside `examples: |`"]
        if not text.strip():
            return ["the example is empty"]
        problems: list[str] = []
        secrets = find_secrets(text)
        if secrets:
            kinds = sorted({match.kind.value.replace("_", " ") for match in secrets})
            problems.append(f"still contains a secret ({', '.join(kinds)})")
        if contains_placeholder(text) is not None:
            problems.append("contains a redaction placeholder")
        if has_entity_markup(text):
            problems.append("contains [..](..) which Rasa would read as an entity annotation")
        key = normalise(text)
        if not key:
            problems.append("nothing left after normalisation (only punctuation)")
            return problems
        known = self.index.training_match(text)
        if known is not None:
            problems.append(
                f"duplicate of a training example of {known.intent!r} "
                f"({self.where(known.path, known.line)})"
            )
        held_out = self.index.evaluation_match(text)
        if held_out is not None:
            problems.append(
                "is in the evaluation split "
                f"({self.where(held_out.path, held_out.line)}, {held_out.intent!r}); "
                "training on it would spoil the evaluation"
            )
        if key in self.seen:
            problems.append(f"duplicate of line {self.seen[key]} of this file")
        else:
            self.seen[key] = example.line
        return problems


def plan_import(text: str, source: str, index: TrainingIndex, project: Project) -> ImportPlan:
    """Check every example of the label file ``text``; plan the additions or list refusals.

    Raises:
        LabelFileError: the file is not NLU YAML.
    """
    document = parse_nlu(text, source)
    plan = ImportPlan()
    checker = _Checker(index, project)
    for other in document.others:
        reason = f"only intent blocks can be imported, not {other.kind!r}"
        plan.refusals.append(Refusal(other.line, other.kind, (reason,)))
    for block in document.intents:
        home, intent_problems = checker.home(block.intent)
        for example in block.examples:
            problems = intent_problems + checker.text_problems(example)
            if home is None or block.intent is None or example.text is None or problems:
                written = example.text if example.text is not None else example.raw.strip()
                # Shown to the maintainer: never with a secret in it.
                shown = redact(written).text
                plan.refusals.append(Refusal(example.line, shown, tuple(problems)))
                continue
            plan.additions.setdefault(home, []).append(
                Addition(block.intent, example.text, example.line)
            )
    plan.refusals.sort(key=lambda refusal: refusal.line)
    return plan


def _updated_files(plan: ImportPlan) -> dict[Path, str]:
    updated: dict[Path, str] = {}
    for path, additions in plan.additions.items():
        content = path.read_text(encoding="utf-8")
        by_intent: dict[str, list[str]] = {}
        for addition in additions:
            by_intent.setdefault(addition.intent, []).append(addition.text)
        for intent, texts in by_intent.items():
            content = append_examples(content, intent, texts, str(path))
        updated[path] = content
    return updated


def _write_all(updated: dict[Path, str]) -> None:
    """Write every file through a temporary file beside it, then swap them in."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in updated.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
            staged.append((Path(tmp), path))
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def run_import(label_path: Path, project: Project, dry_run: bool, say: Printer = print) -> int:
    """Import ``label_path`` into ``project``; returns 0 when done, 1 when refused.

    Raises:
        LabelFileError: the label file is missing or not NLU YAML.
        TrainingDataError: the project's data cannot be read or edited.
    """
    if not label_path.is_file():
        raise LabelFileError(f"no file {label_path}")
    say(f"==> reading the training data of {project.root}")
    index = load_index(project)
    say(
        f"    {len(index.intents)} domain intents, {len(index.training)} training examples, "
        f"{len(index.evaluation)} evaluation examples"
    )
    say(f"==> checking {label_path}")
    plan = plan_import(label_path.read_text(encoding="utf-8"), str(label_path), index, project)
    if plan.refusals:
        say(f"REFUSED: {len(plan.refusals)} lines cannot be imported; nothing was written:")
        for refusal in plan.refusals:
            say(f"  {refusal.describe(label_path.name)}")
        return 1
    if not plan.count:
        say("    nothing to import")
        return 0
    updated = _updated_files(plan)
    verb = "would add" if dry_run else "adding"
    for path, additions in plan.additions.items():
        say(f"==> {path.relative_to(project.root)}: {verb} {len(additions)} examples")
        for addition in additions:
            say(f"    + {addition.intent}: {addition.text}  (line {addition.line})")
    if dry_run:
        say(f"dry run: {plan.count} examples would be added; nothing was written")
        return 0
    _write_all(updated)
    say(f"added {plan.count} examples to {len(updated)} files")
    return 0
