"""Building blocks for spaCy ``Matcher`` token patterns, shared by every kind of fact."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from support_core.facts.numbers import CN_NUMERAL_CHARS

Pattern = list[dict[str, Any]]

# Digit tokens are told apart by spaCy's native SHAPE ("d", "dd", "dddd"): no Python regex.
NUM_AR: Pattern = [{"SHAPE": {"IN": ["d", "dd"]}}]
NUM_CN: Pattern = [{"ORTH": {"IN": list(CN_NUMERAL_CHARS)}, "OP": "+"}]


def zh(word: str) -> Pattern:
    """Token pattern for a Chinese word: one token per character."""
    return [{"ORTH": ch} for ch in word]


def en(phrase: str) -> Pattern:
    """Token pattern for an English phrase, case-insensitive."""
    return [{"LOWER": word} for word in phrase.split()]


def product(*segments: Iterable[Pattern]) -> list[Pattern]:
    """Every concatenation of one alternative per segment (an empty alternative = optional)."""
    patterns = [
        [tok for part in combo for tok in part] for combo in itertools.product(*segments)
    ]
    return [p for p in patterns if p]
