"""Find and redact wallet secrets (seed phrases, private keys) in free text.

The guard runs in the input channels, before Rasa builds a ``UserMessage``, so
the tracker store, the action server and the logs never see a secret. It also
runs inside the NLU pipeline as a second line, and again in the maintainers'
export.

Design rules (see docs/design.md, "Secrets never stay"):

* English-alphabet BIP-39 runs of 12+ list words are flagged on sight.
* Chinese BIP-39 lists hold 2,048 everyday characters, so a Chinese run is
  flagged only when it has the *shape* of a phrase (one character per token,
  groups of 3-4, a whole message of valid length with a valid checksum) or
  when the message talks about a seed phrase.
* A 64-hex string is a private key unless the user labels it as a hash/TxID
  or answers a question about the transaction hash; when in doubt, redact.
* WIF keys and extended private keys are recognised by their Base58 shape.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

import base58
from mnemonic import Mnemonic

from support_core.patterns import BASE58_CHAR, HAN_RE, HAN_RUN_RE

MIN_PHRASE_WORDS = 12
VALID_PHRASE_LENGTHS = frozenset({12, 15, 18, 21, 24})
_CONTEXT_WINDOW = 40

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
_HAN_LISTS = ("chinese_simplified", "chinese_traditional")

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
# Separators allowed between the words of a phrase: blanks, punctuation and
# list numbering ("1." "2)" "3、"), never other letters.
_SEPARATOR_RE = re.compile(r"^[\s\d.,;:、，。；：)(）（\-–—_/|*#'\"“”‘’·•]*$")

_HASH_LABEL_RE = re.compile(
    r"(tx\s*id|txid|txn|tx\s*hash|hash|transaction\s*id|哈希|交易\s*id|交易号|交易\s*hash|"
    r"交易编号|区块浏览器|explorer|signature|签名)",
    re.IGNORECASE,
)
_KEY_LABEL_RE = re.compile(
    r"(private\s*key|priv\s*key|secret\s*key|(?<![A-Za-z])(?:key|wif|seed)(?![A-Za-z])|私钥|密钥|秘钥|"
    r"私匙|keystore)",
    re.IGNORECASE,
)
_SEED_CONTEXT_RE = re.compile(
    r"(助记词|助記詞|恢复短语|恢復短語|种子|種子|备份词|備份詞|密语|seed|mnemonic|recovery\s*phrase"
    r"|secret\s*phrase|backup\s*phrase|12\s*words|24\s*words|12个词|24个词)",
    re.IGNORECASE,
)


@cache
def _wordlist(language: str) -> frozenset[str]:
    return frozenset(Mnemonic(language).wordlist)


@cache
def _mnemonic(language: str) -> Mnemonic:
    return Mnemonic(language)


@cache
def _han_chars() -> frozenset[str]:
    chars: set[str] = set()
    for language in _HAN_LISTS:
        chars |= _wordlist(language)
    return frozenset(chars)


def _normalise(word: str) -> str:
    return unicodedata.normalize("NFKD", word.lower())


@cache
def _normalised_wordlist(language: str) -> frozenset[str]:
    return frozenset(_normalise(w) for w in _wordlist(language))


def _is_separator(text: str) -> bool:
    return bool(_SEPARATOR_RE.match(text))


def _word_runs(text: str) -> list[SecretMatch]:
    """Runs of 12+ separated words that all belong to one alphabetic word list."""
    # Letters inside a long hex string (a key or a hash) are not words of a phrase,
    # even where digits between them read like a numbered list.
    hex_blobs = [(m.start(), m.end()) for m in _HEX_BLOB_RE.finditer(text)]
    words = [
        m for m in _WORD_RE.finditer(text)
        if not HAN_RE.search(m.group())
        and not any(start <= m.start() and m.end() <= end for start, end in hex_blobs)
    ]
    if len(words) < MIN_PHRASE_WORDS:
        return []
    normalised = [_normalise(m.group()) for m in words]
    # Whether each word may follow the previous one in a phrase (only separators between).
    adjacent = [False] + [
        _is_separator(text[words[i - 1].end() : words[i].start()]) for i in range(1, len(words))
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


def _han_checksum_ok(chars: str) -> bool:
    for language in _HAN_LISTS:
        if set(chars) <= _wordlist(language):
            try:
                if _mnemonic(language).check(" ".join(chars)):
                    return True
            except (ValueError, LookupError):
                continue
    return False


def _looks_random(chars: str) -> bool:
    """True for a run of unrelated characters (a phrase), false for Chinese prose.

    Prose segments mostly into dictionary words; twelve characters drawn at
    random from the word list mostly stay single characters.
    """
    import jieba  # loaded lazily: Rasa's tokenizer has it in memory already

    words = jieba.lcut(chars, HMM=False)
    in_words = sum(len(w) for w in words if len(w) > 1)
    return in_words <= 0.5 * len(chars)


def _glued_phrases(token: str, anywhere: bool) -> list[tuple[int, int]]:
    """Offsets of checksum-valid, random-looking phrases inside a glued run.

    ``anywhere`` (the message talks about a seed phrase) allows the phrase to
    sit anywhere in the run ("助记词是……请帮我看看"); otherwise the run must be
    the phrase itself.
    """
    found: list[tuple[int, int]] = []
    lengths = sorted(VALID_PHRASE_LENGTHS, reverse=True)
    offset = 0
    while offset <= len(token) - MIN_PHRASE_WORDS:
        for size in lengths:
            if offset + size > len(token) or (not anywhere and size != len(token)):
                continue
            candidate = token[offset : offset + size]
            if _han_checksum_ok(candidate) and _looks_random(candidate):
                found.append((offset, offset + size))
                offset += size - 1
                break
        offset += 1
        if not anywhere:
            break
    return found


def _single_char_runs(group: list[re.Match[str]]) -> list[tuple[int, int]]:
    """Spans of 12+ consecutive one-character tokens inside a group."""
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for token in [*group, None]:
        if token is not None and len(token.group()) == 1:
            run.append(token)
            continue
        if len(run) >= MIN_PHRASE_WORDS:
            spans.append((run[0].start(), run[-1].end()))
        run = []
    return spans


def _grouped_runs(group: list[re.Match[str]]) -> list[tuple[int, int]]:
    """Spans of 3+ consecutive 3-4 character tokens (12+ characters) that look random."""
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for token in [*group, None]:
        if token is not None and len(token.group()) in (3, 4):
            run.append(token)
            continue
        chars = "".join(t.group() for t in run)
        if len(run) >= 3 and len(chars) >= MIN_PHRASE_WORDS and _looks_random(chars):
            spans.append((run[0].start(), run[-1].end()))
        run = []
    return spans


def _han_runs(text: str) -> list[SecretMatch]:
    """Chinese phrases, recognised by their shape, never by a run of characters alone.

    Shapes: 12+ one-character tokens (spaces, commas, numbering between),
    groups of 3-4 characters that do not read as words, or a glued run whose
    checksum holds and that does not read as words, standing alone or in a
    message that talks about a seed phrase (助记词 ...). Context words are
    cut out first so they never join a run.
    """
    listed = _han_chars()
    has_context = bool(_SEED_CONTEXT_RE.search(text))
    # Context words become hard boundaries: "...交助记词" must not glue onto a run.
    scan = _SEED_CONTEXT_RE.sub(lambda m: "\0" * len(m.group()), text)
    tokens = [
        t for t in HAN_RUN_RE.finditer(scan) if set(t.group()) <= listed
    ]
    found: list[SecretMatch] = []

    # Group consecutive tokens that are separated only by separators.
    groups: list[list[re.Match[str]]] = []
    for token in tokens:
        if groups and _is_separator(scan[groups[-1][-1].end() : token.start()]):
            groups[-1].append(token)
        else:
            groups.append([token])

    for group in groups:
        if sum(len(t.group()) for t in group) < MIN_PHRASE_WORDS:
            continue
        spans = [(s, e, "han-separated") for s, e in _single_char_runs(group)]
        spans += [(s, e, "han-grouped") for s, e in _grouped_runs(group)]
        start, end = group[0].start(), group[-1].end()
        alone = len(group) == 1 and _is_separator(text[:start]) and _is_separator(text[end:])
        if has_context or alone:
            for token in group:
                if len(token.group()) < MIN_PHRASE_WORDS:
                    continue
                for s, e in _glued_phrases(token.group(), anywhere=has_context):
                    reason = "han-context" if has_context else "han-whole-message"
                    spans.append((token.start() + s, token.start() + e, reason))
        found += [SecretMatch(SecretKind.SEED_PHRASE, s, e, r) for s, e, r in spans]
    return found


def _nearest_label(text: str, start: int, end: int) -> str | None:
    """'hash' or 'key': whichever label stands closest to the hex string, if any.

    Placeholders of earlier redactions are blanked first: the word 'seed' in
    "[redacted seed phrase]" labels nothing. On a tie the key label wins.
    """
    blanked = text
    for placeholder in PLACEHOLDERS:
        blanked = blanked.replace(placeholder, " " * len(placeholder))
    before_start = max(0, start - _CONTEXT_WINDOW)
    before = blanked[before_start:start]
    after = blanked[end : end + _CONTEXT_WINDOW // 2]
    best: tuple[int, int, str] | None = None  # (distance, tie-break, label)
    for label, regex, rank in (("key", _KEY_LABEL_RE, 0), ("hash", _HASH_LABEL_RE, 1)):
        for m in regex.finditer(before):
            candidate = (len(before) - m.end(), rank, label)
            best = candidate if best is None or candidate < best else best
        for m in regex.finditer(after):
            candidate = (m.start(), rank, label)
            best = candidate if best is None or candidate < best else best
    return best[2] if best else None


def _hex_keys(text: str, expecting_tx_hash: bool) -> list[SecretMatch]:
    found = []
    for m in _HEX64_RE.finditer(text):
        label = _nearest_label(text, m.start(), m.end())
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
