"""The fact matcher's tokenizer: chat text into tokens whose offsets are the user's own.

Every Han character is a token, a run of Latin letters and digits is one token
(so a hash, an address or ``1,200.50`` stays whole), ``500USDT`` is split into
number and ticker, and whitespace is kept as spaCy keeps it, so that
``doc.text == text`` and every ``token.idx`` is an offset into the text.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from support_core.facts.spans import FactSpan
from support_core.patterns import HAN_RANGES

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

# A letter or digit of any script except Han (each Han character is a token of its own).
_WORD_CHAR = rf"[^\W_{HAN_RANGES}]"
_TOKEN_RE = re.compile(
    r"(?P<space>\s+)"
    # Numbers keep their thousands separators and decimals: 1,200.50 is one token.
    rf"|(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?{_WORD_CHAR}*)"
    rf"|(?P<word>{_WORD_CHAR}+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
# "500USDT", "0.5eth", "2k", "9pm", "3h": a number glued to a short run of letters.
_GLUED_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)([A-Za-z]{1,10})")
_SCALE_LETTERS = "kKwW"


def split_words(text: str, glued_units: Collection[str] = ()) -> tuple[list[str], list[bool]]:
    """Split ``text`` into spaCy ``words`` and ``spaces`` that rebuild it exactly.

    Han characters are single tokens; runs of letters and digits are single
    tokens, except that a number glued to a few letters (``500USDT``, ``2k``)
    is split in two, and a scale letter glued to a known unit (``2kusdt``:
    ``glued_units`` holds the lower-case units) is split off as well. A single
    space after a token is that token's trailing space; any other whitespace
    (newlines, runs of spaces) becomes a whitespace token, as in spaCy.
    """
    words: list[str] = []
    spaces: list[bool] = []
    for match in _TOKEN_RE.finditer(text):
        kind, piece = match.lastgroup, match.group()
        if kind == "space":
            if words and not spaces[-1] and not words[-1].isspace() and piece[0] == " ":
                spaces[-1] = True
                piece = piece[1:]
            if piece:
                words.append(piece)
                spaces.append(False)
            continue
        if kind == "num" and len(piece) <= 24 and piece[:2].lower() != "0x":
            glued = _GLUED_RE.fullmatch(piece)
            if glued:
                number, letters = glued.groups()
                words.append(number)
                spaces.append(False)
                lower = letters.lower()
                if (
                    len(letters) > 1
                    and letters[0] in _SCALE_LETTERS
                    and lower not in glued_units
                    and lower[1:] in glued_units
                ):
                    words.append(letters[0])
                    spaces.append(False)
                    letters = letters[1:]
                words.append(letters)
                spaces.append(False)
                continue
        words.append(piece)
        spaces.append(False)
    return words, spaces


class HanCharTokenizer:
    """spaCy tokenizer: one token per Han character, Latin words and numbers whole.

    Not the Rasa pipeline's Jieba tokenizer (``addons.tokenizer``): this one
    serves the fact matcher, whose patterns spell Chinese words character by
    character (see ``split_words``).
    """

    def __init__(self, vocab: Vocab, glued_units: Collection[str] = ()) -> None:
        """Tokenize into ``vocab``; ``glued_units`` as for ``split_words``."""
        self.vocab = vocab
        self.glued_units = frozenset(glued_units)

    def __call__(self, text: str) -> Doc:
        """Make a ``Doc`` whose text is exactly ``text``."""
        from spacy.tokens import Doc

        words, spaces = split_words(text, self.glued_units)
        return Doc(self.vocab, words=words, spaces=spaces)


class MessageTokens:
    """One message as tokens: the text, each token's text and character offsets."""

    __slots__ = ("ends", "starts", "text", "words")

    def __init__(self, text: str, words: list[str], spaces: list[bool]) -> None:
        """Offsets of ``words`` (as ``split_words`` made them from ``text``)."""
        self.text = text
        self.words = words
        self.starts: list[int] = []
        self.ends: list[int] = []
        position = 0
        for word, space in zip(words, spaces, strict=True):
            self.starts.append(position)
            position += len(word)
            self.ends.append(position)
            position += space

    def surface(self, start: int, end: int) -> str:
        """The text of tokens ``start:end`` as written."""
        return self.text[self.starts[start]:self.ends[end - 1]]

    def fact(self, entity: str, value: str, start: int, end: int) -> FactSpan:
        """A fact covering tokens ``start:end``."""
        return FactSpan(entity, value, self.starts[start], self.ends[end - 1])
