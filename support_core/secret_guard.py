"""Find and redact wallet secrets (seed phrases, private keys) in free text.

The guard runs in the input channels, before Rasa builds a ``UserMessage``, so
the tracker store, the action server and the logs never see a secret. It also
runs inside the NLU pipeline as a second line, and again in the maintainers'
export.

Design rules (see docs/design.md, "Secrets never stay"):

* English-alphabet BIP-39 runs of 12+ list words are flagged on sight.
* Chinese BIP-39 lists hold 2,048 everyday characters, so a Chinese run is
  flagged only when it has the *shape* of a phrase (one character per token,
  groups that do not read as words, possibly glued to the prose around them,
  a whole message of valid length with a valid checksum) or when the message
  talks about a seed phrase (``support_core.chinese_phrase``).
* A 64-hex string is a private key unless it is part of a URL, the user labels
  it as a hash/TxID, or answers a question about the transaction hash; when in
  doubt, redact (``support_core.hash_context``).
* WIF keys and extended private keys are recognised by their Base58 shape.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

import base58
from mnemonic import Mnemonic

from support_core.chinese_phrase import VALID_LENGTHS, find_phrases, is_separator
from support_core.hash_context import hex_roles
from support_core.patterns import BASE58_CHAR, HAN_RE

MIN_PHRASE_WORDS = 12
VALID_PHRASE_LENGTHS = VALID_LENGTHS

SEED_PLACEHOLDER = "[redacted seed phrase]"
# A Chinese phrase leaves a Chinese placeholder, so the bot still answers in Chinese.
SEED_PLACEHOLDER_ZH = "[已隐藏的助记词]"
KEY_PLACEHOLDER = "[redacted private key]"
PLACEHOLDERS = (SEED_PLACEHOLDER, SEED_PLACEHOLDER_ZH, KEY_PLACEHOLDER)


class SecretKind(str, Enum):
    """What kind of secret was found."""

    SEED_PHRASE = "seed_phrase"
    PRIVATE_KEY = "private_key"

    @property
    def placeholder(self) -> str:
        """The text that replaces a secret of this kind."""
        return SEED_PLACEHOLDER if self is SecretKind.SEED_PHRASE else KEY_PLACEHOLDER


@dataclass(frozen=True)
class SecretMatch:
    """One secret found in a text, as a character span."""

    kind: SecretKind
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and what was removed from it (never the secret itself)."""

    text: str
    matches: tuple[SecretMatch, ...] = field(default_factory=tuple)

    @property
    def found(self) -> bool:
        """Whether anything was redacted."""
        return bool(self.matches)

    @property
    def kinds(self) -> list[str]:
        """The distinct kinds found, in a stable order, for metadata and logs."""
        return sorted({m.kind.value for m in self.matches})


_LATIN_LISTS = ("english", "spanish", "french", "italian", "portuguese", "czech", "turkish")
_SPACED_LISTS = ("japanese", "korean", "russian")

# A 'word' for the separated word lists: a run of letters (any script),
# excluding CJK ideographs, which are handled one character at a time.
_HEX_BLOB_RE = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_WORD_RE = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f\u3099\u309a])+", re.UNICODE)
_HEX64_RE = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_WIF_RE = re.compile(
    rf"(?<![0-9A-Za-z])(?:[5]{BASE58_CHAR}{{50}}|[KLc]{BASE58_CHAR}{{51}}"
    rf"|9{BASE58_CHAR}{{50}})(?![0-9A-Za-z])"
)
_XPRV_RE = re.compile(
    rf"(?<![0-9A-Za-z])[xyzYZtuvUV]prv{BASE58_CHAR}{{100,112}}(?![0-9A-Za-z])"
)


@cache
def _wordlist(language: str) -> frozenset[str]:
    return frozenset(Mnemonic(language).wordlist)


def _normalise(word: str) -> str:
    return unicodedata.normalize("NFKD", word.lower())


@cache
def _normalised_wordlist(language: str) -> frozenset[str]:
    return frozenset(_normalise(w) for w in _wordlist(language))


def _word_runs(text: str) -> list[SecretMatch]:
    """Runs of 12+ separated words that all belong to one alphabetic word list."""
    # Letters inside a long hex string (a key or a hash) are not words of a phrase,
    # even where digits between them read like a numbered list.
    blobs = [(m.start(), m.end()) for m in _HEX_BLOB_RE.finditer(text)]
    blob_starts = [start for start, _ in blobs]

    def in_blob(word: re.Match[str]) -> bool:
        # The blobs do not overlap: only the last one starting before the word can hold it.
        i = bisect.bisect_right(blob_starts, word.start()) - 1
        return i >= 0 and word.end() <= blobs[i][1]

    words = [
        m for m in _WORD_RE.finditer(text) if not HAN_RE.search(m.group()) and not in_blob(m)
    ]
    if len(words) < MIN_PHRASE_WORDS:
        return []
    normalised = [_normalise(m.group()) for m in words]
    # Whether each word may follow the previous one in a phrase (only separators between).
    adjacent = [False] + [
        is_separator(text[words[i - 1].end() : words[i].start()]) for i in range(1, len(words))
    ]
    found: list[SecretMatch] = []
    for language in _LATIN_LISTS + _SPACED_LISTS:
        wordlist = _normalised_wordlist(language)
        run_start: int | None = None
        for i in range(len(words) + 1):
            listed = i < len(words) and normalised[i] in wordlist
            if listed and run_start is not None and adjacent[i]:
                continue
            if run_start is not None and i - run_start >= MIN_PHRASE_WORDS:
                found.append(
                    SecretMatch(
                        SecretKind.SEED_PHRASE, words[run_start].start(), words[i - 1].end(),
                        language,
                    )
                )
            run_start = i if listed else None
    return found


def _segments_into_words(blob: str) -> int:
    """How many English list words ``blob`` splits into exactly (0 if it does not)."""
    wordlist = _wordlist("english")
    best: list[int | None] = [None] * (len(blob) + 1)
    best[0] = 0
    for end in range(1, len(blob) + 1):
        for size in range(3, 9):
            start = end - size
            prev = best[start] if start >= 0 else None
            if prev is not None and blob[start:end] in wordlist:
                best[end] = prev + 1
                break
    return best[-1] or 0


def _glued_english_runs(text: str) -> list[SecretMatch]:
    """English phrases typed without separators: 'abandonabilityable...'."""
    found = []
    for m in re.finditer(r"(?<![A-Za-z])[a-zA-Z]{36,}(?![A-Za-z])", text):
        if _segments_into_words(m.group().lower()) >= MIN_PHRASE_WORDS:
            found.append(SecretMatch(SecretKind.SEED_PHRASE, m.start(), m.end(), "english-glued"))
    return found


def _han_runs(text: str) -> list[SecretMatch]:
    """Chinese phrases, by their shape (see support_core.chinese_phrase)."""
    return [SecretMatch(SecretKind.SEED_PHRASE, s, e, r) for s, e, r in find_phrases(text)]


def _hex_keys(text: str, expecting_tx_hash: bool) -> list[SecretMatch]:
    found = []
    values = list(_HEX64_RE.finditer(text))
    # Placeholders of earlier redactions label nothing: the word 'seed' in
    # "[redacted seed phrase]" is no key label.
    labels = hex_roles(text, [m.span() for m in values], ignore=PLACEHOLDERS)
    for m, label in zip(values, labels, strict=True):
        if label == "key":
            found.append(SecretMatch(SecretKind.PRIVATE_KEY, m.start(), m.end(), "hex-labelled"))
        elif label == "hash" or expecting_tx_hash:
            continue
        else:
            found.append(SecretMatch(SecretKind.PRIVATE_KEY, m.start(), m.end(), "hex-unlabelled"))
    return found


def _base58check_ok(candidate: str) -> bool:
    try:
        raw = base58.b58decode(candidate)
    except ValueError:
        return False
    payload, checksum = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


def _base58_keys(text: str) -> list[SecretMatch]:
    found = []
    for m in _WIF_RE.finditer(text):
        # The shape alone is specific; a failed checksum is most likely a typo
        # in a real key, so it is redacted as well.
        reason = "wif" if _base58check_ok(m.group()) else "wif-shape"
        found.append(SecretMatch(SecretKind.PRIVATE_KEY, m.start(), m.end(), reason))
    for m in _XPRV_RE.finditer(text):
        found.append(SecretMatch(SecretKind.PRIVATE_KEY, m.start(), m.end(), "extended-key"))
    return found


def find_secrets(text: str, *, expecting_tx_hash: bool = False) -> list[SecretMatch]:
    """Return every secret in ``text`` as non-overlapping spans, in text order.

    ``expecting_tx_hash`` is true when the bot has just asked for a transaction
    hash, so an unlabelled 64-hex answer is taken as the hash it was asked for.
    """
    if len(text) < MIN_PHRASE_WORDS:
        # The shortest secret is a phrase of twelve glued Chinese characters;
        # keys are longer still. Short fields (assets, amounts) skip the scans.
        return []
    candidates = (
        _word_runs(text)
        + _glued_english_runs(text)
        + _han_runs(text)
        + _hex_keys(text, expecting_tx_hash)
        + _base58_keys(text)
    )
    candidates.sort(key=lambda m: (m.start, -(m.end - m.start)))
    merged: list[SecretMatch] = []
    for match in candidates:
        if merged and match.start < merged[-1].end:
            last = merged[-1]
            if match.end > last.end:
                merged[-1] = SecretMatch(last.kind, last.start, match.end, last.reason)
            continue
        merged.append(match)
    return merged


def redact(text: str, *, expecting_tx_hash: bool = False) -> Redaction:
    """Replace every secret in ``text`` by a placeholder naming its kind."""
    matches = find_secrets(text, expecting_tx_hash=expecting_tx_hash)
    if not matches:
        return Redaction(text)
    pieces: list[str] = []
    cursor = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        pieces.append(
            SEED_PLACEHOLDER_ZH if match.reason.startswith("han") else match.kind.placeholder
        )
        cursor = match.end
    pieces.append(text[cursor:])
    return Redaction("".join(pieces), tuple(matches))


def contains_placeholder(text: str) -> SecretKind | None:
    """The kind named by a placeholder left in ``text`` by an earlier redaction."""
    if SEED_PLACEHOLDER in text or SEED_PLACEHOLDER_ZH in text:
        return SecretKind.SEED_PHRASE
    if KEY_PLACEHOLDER in text:
        return SecretKind.PRIVATE_KEY
    return None
