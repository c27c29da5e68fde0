"""Chinese recovery phrases, recognised by their shape (docs/design.md, "Secrets never stay").

The two Chinese BIP-39 lists hold 2,048 everyday characters each, so a run of
twelve list characters is ordinary prose far more often than a phrase, and one
run in sixteen even passes the checksum. A phrase is therefore flagged only
when the way it is *written* says so:

* twelve or more characters one by one (blanks, commas, numbering between);
* three or more groups of three or four characters that do not read as words;
* separated groups of one to six characters, the first and last of which may
  be glued to the prose around them ("助记词：xxxx xxxx xxxx然后……"), when the
  characters pass the BIP-39 checksum and do not read as words;
* a glued run that passes the checksum and does not read as words, standing
  alone or in a message that talks about a seed phrase (助记词 ...).

"Do not read as words": at most half of the characters lie in words of jieba's
dictionary (read in Simplified script, plus the wallet words it lacks) or are
the particles and pronouns of everyday sentences. Prose is mostly such
characters; characters drawn at random mostly are not. A piece cut out of
prose is read in the sentence it was cut from, so it keeps its words.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from mnemonic import Mnemonic

from support_core.chinese_script import to_simplified
from support_core.patterns import HAN_RUN_RE

VALID_LENGTHS = frozenset({12, 15, 18, 21, 24})
MIN_CHARS = min(VALID_LENGTHS)
MAX_CHARS = max(VALID_LENGTHS)
# The longest group people write a phrase in (24 as 6 x 4); a longer piece
# between separators is prose, or a phrase glued to prose.
MAX_GROUP = 6
# Above this share of characters that read as prose (see ``in_words``), a
# candidate is prose. A phrase's characters are drawn at random and rarely pair
# into words (one pair in 60): of 8,000 phrases read in the sentence around them,
# 99.9 % had at most 40 % and none more than half. Of 3,400 stretches of the
# benchmark's prose that pass the checksum, none had less than 58 %.
_WORD_SHARE = 0.5

HAN_LISTS = ("chinese_simplified", "chinese_traditional")

# Separators allowed between the words of a phrase: blanks, punctuation and
# list numbering ("1." "2)" "3、"), never letters or other Chinese characters.
SEPARATOR_RE = re.compile(r"^[\s\d.,;:、，。；：)(）（\-–—_/|*#'\"“”‘’·•\[\]【】「」]*$")

# Words that say a seed phrase is near.
SEED_CONTEXT_RE = re.compile(
    r"(助记词|助記詞|恢复短语|恢復短語|种子|種子|备份词|備份詞|密语|seed|mnemonic"
    r"|recovery\s*phrase|secret\s*phrase|backup\s*phrase|12\s*words|24\s*words|12个词|24个词)",
    re.IGNORECASE,
)

# Wallet words that jieba's dictionary lacks; without them "我要提币" would look
# like four unrelated characters.
_WALLET_WORDS = (
    "提币", "充币", "到账", "没到", "链上", "闪兑", "跨链", "公链", "主网", "白屏", "闪退",
    "转不", "提不", "转出", "转入", "币安", "火币", "波场", "以太", "比特", "授权", "钱包",
)


# The particles, pronouns and negations of everyday sentences. Hurried clauses
# ("转错了 被骗了 充不进去") hold few dictionary words but many of these.
_PROSE_CHARS = frozenset(
    "的了吗呢吧啊呀嘛么我你他她它们是不没有在这那就也都很还要会能个什怎为"
    "想请给被把让和对说看去来到过再又才好一下上错"
)


@dataclass(frozen=True)
class _Token:
    """A maximal run of list characters."""

    start: int
    end: int
    text: str

    def __len__(self) -> int:
        return self.end - self.start


@cache
def _index(language: str) -> dict[str, int]:
    return {word: i for i, word in enumerate(Mnemonic(language).wordlist)}


@cache
def han_chars() -> frozenset[str]:
    """Every character of the two Chinese word lists."""
    chars: set[str] = set()
    for language in HAN_LISTS:
        chars |= set(_index(language))
    return frozenset(chars)


def is_separator(text: str) -> bool:
    """Whether ``text`` holds only what may stand between the words of a phrase."""
    return bool(SEPARATOR_RE.match(text))


def checksum_ok(chars: str) -> bool:
    """Whether ``chars``, one word per character, is a BIP-39 phrase of either Chinese list.

    Written out instead of ``Mnemonic.check``, which looks each word up in a
    list: the window scan below tries many candidates per message.
    """
    if len(chars) not in VALID_LENGTHS:
        return False
    checksum_bits = len(chars) // 3  # 11 bits a word: 1 checksum bit per 32 of entropy
    for language in HAN_LISTS:
        index = _index(language)
        value = 0
        for ch in chars:
            word = index.get(ch)
            if word is None:
                break
            value = value << 11 | word
        else:
            entropy = (value >> checksum_bits).to_bytes(len(chars) * 4 // 3, "big")
            expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
            if value & ((1 << checksum_bits) - 1) == expected:
                return True
    return False


@lru_cache(maxsize=1024)
def _word_ids(run: str) -> tuple[int, ...]:
    """For each character of ``run``, the number of the word it is part of, ``run`` read whole.

    Read in Simplified script, since jieba's dictionary is; a wallet word jieba
    lacks counts as a word too.
    """
    import jieba  # loaded lazily: Rasa's tokenizer has it in memory already

    simplified = to_simplified(run)
    if len(simplified) != len(run):  # a conversion that changed the length: keep positions
        simplified = run
    ids: list[int] = []
    for number, word in enumerate(jieba.lcut(simplified, HMM=False)):
        ids += [number] * len(word)
    fresh = len(ids)
    for word in _WALLET_WORDS:
        for m in re.finditer(word, simplified):
            ids[m.start() : m.end()] = [fresh] * len(word)
            fresh += 1
    return tuple(ids)


@lru_cache(maxsize=1024)
def _in_long_words(run: str) -> tuple[bool, ...]:
    """For each character of ``run``, whether it is part of a word of two or more."""
    ids = _word_ids(run)
    return tuple(
        (i > 0 and ids[i - 1] == ids[i]) or (i + 1 < len(ids) and ids[i + 1] == ids[i])
        for i in range(len(ids))
    )


@lru_cache(maxsize=1024)
def in_words(run: str) -> tuple[bool, ...]:
    """For each character of ``run``, whether it reads as prose.

    That is: part of a word of two or more characters, or one of the particles
    and pronouns that fill everyday sentences ("了", "吗", "我"); a phrase of
    twelve random list characters holds one of those about every third time.
    """
    simplified = to_simplified(run)
    if len(simplified) != len(run):
        simplified = run
    long_words = _in_long_words(run)
    return tuple(long_words[i] or simplified[i] in _PROSE_CHARS for i in range(len(run)))


def _reads_as_words(slices: Sequence[tuple[str, int, int]]) -> bool:
    """Whether more than half of the characters of the slices read as prose.

    Each slice is ``(run, start, end)``: the run is segmented whole, so a slice
    cut out of prose ("守株待" of "守株待兔") is still read as the word it is
    part of, while the groups of a phrase, segmented one by one, never join
    into a word across the blank between them.
    """
    covered = sum(sum(in_words(run)[start:end]) for run, start, end in slices)
    total = sum(end - start for _, start, end in slices)
    return covered > _WORD_SHARE * total


def looks_random(pieces: Sequence[str]) -> bool:
    """True for unrelated characters (a phrase), false for Chinese prose."""
    return not _reads_as_words([(piece, 0, len(piece)) for piece in pieces])


def _tokens(scan: str) -> list[_Token]:
    """Runs of list characters; any other Chinese character ends a run."""
    listed = han_chars()
    tokens: list[_Token] = []
    for run in HAN_RUN_RE.finditer(scan):
        start = None
        for offset, ch in enumerate([*run.group(), ""]):
            if ch and ch in listed:
                start = run.start() + offset if start is None else start
            elif start is not None:
                end = run.start() + offset
                tokens.append(_Token(start, end, scan[start:end]))
                start = None
    return tokens


def _groups(scan: str, tokens: list[_Token]) -> list[list[_Token]]:
    """Consecutive tokens with only separators (and at least one) between them."""
    groups: list[list[_Token]] = []
    for token in tokens:
        gap = scan[groups[-1][-1].end : token.start] if groups else ""
        if gap and is_separator(gap):
            groups[-1].append(token)
        else:
            groups.append([token])
    return groups


def _runs(group: list[_Token], sizes: tuple[int, ...]) -> Iterator[list[_Token]]:
    """Maximal runs of consecutive tokens whose lengths are in ``sizes``."""
    run: list[_Token] = []
    for token in [*group, None]:
        if token is not None and len(token) in sizes:
            run.append(token)
            continue
        if run:
            yield run
        run = []


_Span = tuple[int, int, str]  # start, end, reason


def _shape_runs(group: list[_Token]) -> list[_Span]:
    """Phrases by shape alone (no checksum, so a phrase with a typo is caught too)."""
    spans = [
        (run[0].start, run[-1].end, "han-separated")
        for run in _runs(group, (1,))
        if len(run) >= MIN_CHARS
    ]
    for run in _runs(group, (3, 4)):
        chars = sum(len(t) for t in run)
        if len(run) >= 3 and chars >= MIN_CHARS and looks_random([t.text for t in run]):
            spans.append((*_complete(group, run), "han-grouped"))
    return spans


def _complete(group: list[_Token], run: list[_Token]) -> tuple[int, int]:
    """Span of ``run``, grown into its neighbours when its length is not a phrase's.

    Twenty characters in groups of four are most likely 24 with one group glued
    to the words around ("我转不出来了xxxx xxxx …"); the checksum rule finds a
    valid phrase exactly, this covers one with a typo. A glued neighbour gives
    a whole group, a short one standing apart all of itself, glued ones first,
    until the length is a phrase's. When unsure, redact.
    """
    start, end = run[0].start, run[-1].end
    chars = sum(len(t) for t in run)
    size = max(len(t) for t in run)
    first, last = group.index(run[0]), group.index(run[-1])
    neighbours = [(True, group[first - 1])] if first > 0 else []
    neighbours += [(False, group[last + 1])] if last + 1 < len(group) else []
    for before, token in sorted(neighbours, key=lambda n: len(n[1]) <= size):
        take = min(size, len(token))
        if chars in VALID_LENGTHS or chars + take > MAX_CHARS:
            break
        if before:
            start = token.end - take
        else:
            end = token.start + take
        chars += take
    return start, end


def _end_lengths(token: _Token, limit: int) -> range:
    """How many characters of an outer token a window may take: a group's worth at most."""
    return range(1, min(len(token), limit) + 1)


# A window that passed the checksum: start, end, and whether both of its ends
# are whole tokens (it lines up with the separators, nothing glued).
_Window = tuple[int, int, bool]


def _checksum_windows(group: list[_Token], relaxed: bool) -> list[_Window]:
    """Separated groups, the outer two possibly glued to prose, that pass the checksum.

    A window is tokens ``i..j``: the inner ones whole, a tail of token ``i`` and
    a head of token ``j`` of at most ``MAX_GROUP`` characters, or one when the
    inner ones are single characters (a glued end is one more group of the
    phrase, not a paragraph). Three pieces at least, or two (one of them
    apart) when ``relaxed``: the message talks about a seed phrase, or holds
    nothing but the group.
    """
    spans: list[_Window] = []
    min_pieces = 2 if relaxed else 3
    for i in range(len(group) - 1):
        inner = 0
        for j in range(i + 1, len(group)):
            if j > i + 1:
                between = group[j - 1]
                if len(between) > MAX_GROUP:
                    break
                inner += len(between)
            if inner + 2 > MAX_CHARS:
                break
            if j - i + 1 < min_pieces:
                continue
            interior = group[i + 1 : j]
            head, tail = group[i], group[j]
            one_by_one = bool(interior) and all(len(t) == 1 for t in interior)
            limit = 1 if one_by_one else MAX_GROUP
            tail_lengths = _end_lengths(tail, limit)
            for a in _end_lengths(head, limit):
                for total in sorted(VALID_LENGTHS):
                    b = total - inner - a
                    if b not in tail_lengths:
                        continue
                    glued = (a < len(head)) + (b < len(tail))
                    if glued == 2 and not interior:
                        continue  # no group stands apart: that is prose, or the glued rule's
                    chars = head.text[-a:] + "".join(t.text for t in interior) + tail.text[:b]
                    slices = [
                        (head.text, len(head) - a, len(head)),
                        *((t.text, 0, len(t)) for t in interior),
                        (tail.text, 0, b),
                    ]
                    if checksum_ok(chars) and not _reads_as_words(slices):
                        spans.append((head.end - a, tail.start + b, not glued))
    return spans


def _prefer_apart_from_prose(windows: list[_Window], group: list[_Token]) -> list[_Window]:
    """The windows, less those that are another window shifted into the prose next to it.

    Two overlapping windows that both pass are one phrase read twice, one of
    them a group too far ("a b … l 然" next to "a b … l", one in 16 passes by
    chance). The characters only one of them takes decide: a window whose own
    characters read as prose, where the other's do not, is dropped, and so is
    one holding the other and adding only characters that read as prose; against a
    window that lines up with the separators, also one whose own characters lie
    in dictionary words where the other's do not ("然" of "然后" against "請").
    In any other doubt both stay and the span redacted is their union: a few
    words of prose lost is better than a character of a phrase kept.
    """
    if len(windows) < 2:
        return windows
    marks: dict[int, tuple[bool, bool]] = {
        t.start + k: pair
        for t in group
        for k, pair in enumerate(zip(_in_long_words(t.text), in_words(t.text), strict=True))
    }

    def share(positions: list[int], level: int) -> float:
        return sum(marks[p][level] for p in positions) / len(positions) if positions else 0.0

    def shifted(window: _Window, other: _Window) -> bool:
        if other[1] <= window[0] or window[1] <= other[0]:
            return False
        own = [p for p in range(*window[:2]) if p in marks and not other[0] <= p < other[1]]
        theirs = [p for p in range(*other[:2]) if p in marks and not window[0] <= p < window[1]]
        if not own:
            return False  # inside the other: nothing of its own to take
        if not theirs:
            # It holds the other: a phrase and a chance stretch of it, or a chance
            # stretch reaching past the phrase into prose ("来了 … ，谢谢"). Only
            # when every character it adds reads as prose is it the latter (a
            # phrase adds three or more random characters).
            return share(own, 1) == 1.0
        # Level 1 (prose) always; level 0 (dictionary words only) against a
        # window that lines up with the separators, the likelier reading.
        levels = (0, 1) if other[2] else (1,)
        return any(share(own, level) > _WORD_SHARE >= share(theirs, level) for level in levels)

    windows = sorted(windows)
    starts = [w[0] for w in windows]
    kept = []
    for window in windows:
        # Only windows that start before this one ends can overlap it.
        overlapping = windows[: bisect.bisect_left(starts, window[1])]
        if not any(shifted(window, other) for other in overlapping):
            kept.append(window)
    return kept


def _glued_phrases(token: str, anywhere: bool) -> list[tuple[int, int]]:
    """Offsets of checksum-valid, random-looking phrases inside a glued run.

    ``anywhere`` (the message talks about a seed phrase) allows the phrase to
    sit anywhere in the run ("助记词是……请帮我看看"); otherwise the run must be
    the phrase itself.
    """
    if not anywhere:
        return [(0, len(token))] if checksum_ok(token) and looks_random([token]) else []
    # Every candidate is kept, overlapping or not: a stretch of prose that passes
    # by chance must not hide the phrase one character further on. Each is read
    # in its run, so that a stretch cut out of prose keeps its words.
    return [
        (offset, offset + size)
        for offset in range(len(token) - MIN_CHARS + 1)
        for size in VALID_LENGTHS
        if offset + size <= len(token)
        and checksum_ok(token[offset : offset + size])
        and not _reads_as_words([(token, offset, offset + size)])
    ]


def find_phrases(text: str) -> list[_Span]:
    """Spans ``(start, end, reason)`` of Chinese phrases in ``text``; they may overlap.

    Every reason starts with "han", which tells the caller to leave a Chinese
    placeholder.
    """
    has_context = bool(SEED_CONTEXT_RE.search(text))
    # Context words are cut out first, so that "…交助记词" never glues onto a run.
    # (A phrase that holds one by chance, "…素种子…", one in 150,000 or so, is
    # cut apart with it; reading the text once more uncut took words of the
    # label next to far more phrases than it saved.)
    scan = SEED_CONTEXT_RE.sub(lambda m: "\0" * len(m.group()), text)
    spans: list[_Span] = []
    for group in _groups(scan, _tokens(scan)):
        if sum(len(t) for t in group) >= MIN_CHARS:
            spans += _group_phrases(text, group, has_context)
    return spans


def _group_phrases(text: str, group: list[_Token], has_context: bool) -> list[_Span]:
    """The phrases of one group of tokens, by every rule above."""
    start, end = group[0].start, group[-1].end
    alone = is_separator(text[:start]) and is_separator(text[end:])
    spans = _shape_runs(group)
    windows = _checksum_windows(group, relaxed=has_context or alone)
    spans += [(s, e, "han-checksum") for s, e, _ in _prefer_apart_from_prose(windows, group)]
    if has_context or (alone and len(group) == 1):
        reason = "han-context" if has_context else "han-whole-message"
        for token in group:
            if len(token) >= MIN_CHARS:
                spans += [
                    (token.start + s, token.start + e, reason)
                    for s, e in _glued_phrases(token.text, anywhere=has_context)
                ]
    return spans
