"""One normal form of a message, so "Withdrawal failed!!" and "withdrawal  failed" are one."""

from __future__ import annotations

import re
import unicodedata

# Rasa's inline entity markup in training examples: [USDT](asset) or [USDT]{"entity": ...}.
_ENTITY_MARKUP_RE = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    """NFKC, lower case, punctuation removed, whitespace collapsed to single spaces.

    Punctuation is removed rather than replaced by a space so that Chinese text
    ("交易，卡住了" / "交易卡住了") compares equal.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(text.split())


def strip_entity_markup(example: str) -> str:
    """A training example's text without Rasa's entity annotations."""
    return _ENTITY_MARKUP_RE.sub(r"\1", example)


def has_entity_markup(text: str) -> bool:
    """Whether Rasa would read part of ``text`` as an entity annotation."""
    return bool(_ENTITY_MARKUP_RE.search(text))
