"""The file maintainers label: Rasa NLU YAML, one ``- intent:`` block per example.

Each block is preceded by a comment with the model's top-3 guesses and why
the message was exported, and is pre-filled with the best guess, so a
maintainer only edits the names that are wrong. Blocks are grouped by best
guess under a header comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

UNLABELLED = "label_me"

HEADER = """\
# Messages the assistant did not handle well, for relabelling.
# Exported {exported} from {source}
# Window: {window}
#
# How to label:
#   * Every example is its own "- intent:" block. The comment above it shows the
#     model's top-3 guesses and why the message was exported.
#   * The intent is pre-filled with the model's best guess. If it is wrong, replace
#     the name after "intent:" with the right one (an intent listed in the domain).
#   * "{unlabelled}" means the model had no guess: write the right intent or drop it.
#   * To drop an example, delete its "    - ..." line (or the whole block).
#   * Then check with `support-bot import {file_name} --dry-run` and import without
#     --dry-run. Nothing is written while any line is refused.
version: "3.1"
"""


@dataclass(frozen=True)
class LabelItem:
    """One example to label."""

    text: str
    best_guess: str | None
    top3: tuple[tuple[str, float], ...]
    reasons: tuple[str, ...]
    times_seen: int


def _comment(item: LabelItem) -> str:
    guesses = ", ".join(f"{name} {confidence:.2f}" for name, confidence in item.top3) or "none"
    note = f"reason: {', '.join(item.reasons)}"
    if item.times_seen > 1:
        note += f"; seen {item.times_seen} times"
    return f"# top-3: {guesses} ({note})"


def group_by_guess(items: Sequence[LabelItem]) -> list[tuple[str, list[LabelItem]]]:
    """Items grouped by best guess: biggest group first, then by name; order kept inside."""
    groups: dict[str, list[LabelItem]] = {}
    for item in items:
        groups.setdefault(item.best_guess or UNLABELLED, []).append(item)
    return sorted(groups.items(), key=lambda pair: (-len(pair[1]), pair[0]))


def render(
    items: Sequence[LabelItem],
    *,
    exported: datetime,
    source: str,
    window: str,
    file_name: str,
) -> str:
    """The whole label file for ``items``."""
    parts = [
        HEADER.format(
            exported=f"{exported:%Y-%m-%d %H:%M} UTC",
            source=source,
            window=window,
            unlabelled=UNLABELLED,
            file_name=file_name,
        )
    ]
    parts.append("nlu:\n" if items else "nlu: []\n")
    for guess, members in group_by_guess(items):
        noun = "example" if len(members) == 1 else "examples"
        parts.append(f"\n# ===== best guess: {guess} ({len(members)} {noun}) =====\n")
        for item in members:
            parts.append(
                f"\n{_comment(item)}\n"
                f"- intent: {item.best_guess or UNLABELLED}\n"
                f"  examples: |\n"
                f"    - {item.text}\n"
            )
    return "".join(parts)
