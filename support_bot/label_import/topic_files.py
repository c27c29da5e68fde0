"""Append new examples to a topic file of data/nlu without disturbing its formatting:
every other line, comment and blank line is kept as it was."""

from __future__ import annotations

import re

from support_bot.common.errors import LabelFileError, TrainingDataError
from support_bot.common.nlu_yaml import parse_nlu

_EXAMPLES_KEY_RE = re.compile(r"^(\s*)examples:\s*\|[-+]?\s*(#.*)?$")


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
