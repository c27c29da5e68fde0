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

Cost: the guard runs on every message of up to 4,000 characters, on the chat
server, and a message made of list characters in short groups has tens of
thousands of candidate windows. So the word numbers of a group's characters
are worked out once, which makes a checksum test a few integer operations;
pieces of text are read by jieba (and converted to Simplified script) once,
many in one call, and kept; a window already read as prose needs no test; a
window inside a stretch already redacted is not tried. What remains is
budgeted per message (``CHECK_BUDGET`` tests, ``READ_BUDGET`` characters
read): a candidate the guard has no budget left to check is redacted
("han-unchecked"), since when unsure the guard redacts. Ordinary messages, even
4,000 characters of prose, stay below both budgets and are decided exactly as
without them (``bench.secret_guard_precision`` measures both, and times the
worst cases).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate

from mnemonic import Mnemonic

from support_core.chinese_script import to_simplified

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

# What one message may spend (see "Cost" above). On a small server (2 vCPUs) a
# window and its checksum test cost some 5 µs, and reading 10 to 20 µs a
# character, plus a fixed cost per call, counted as ``_READ_CALL_COST``
# characters: a message that spends both budgets takes some 30 ms. 4,000
# characters of prose use up to some 800 tests and 950 characters read.
CHECK_BUDGET = 2000
READ_BUDGET = 1000
_READ_CALL_COST = 8
# Pieces read in one call when reading ahead: the windows still to come need them.
_READ_AHEAD = 2 * MAX_CHARS
# Windows that passed, compared pairwise to drop those shifted into prose; a phrase
# alone gives a handful (see ``_prefer_apart_from_prose``).
_MOST_COMPARED = 200


@dataclass(slots=True)
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


@cache
def _token_re() -> re.Pattern[str]:
    """A maximal run of list characters: any other character, Chinese or not, ends it."""
    return re.compile("[" + "".join(sorted(han_chars())) + "]+")


def is_separator(text: str) -> bool:
    """Whether ``text`` holds only what may stand between the words of a phrase."""
    return bool(SEPARATOR_RE.match(text))


# The low bits of as many words (11 bits each) as the index says.
_WORDS_MASK = [(1 << 11 * words) - 1 for words in range(MAX_CHARS + 1)]


def _checksum_holds(value: int, words: int) -> bool:
    """Whether ``value``, the numbers of ``words`` words (11 bits each), ends in its checksum."""
    checksum_bits = words // 3  # 1 checksum bit per 32 of entropy
    entropy = (value >> checksum_bits).to_bytes(words * 4 // 3, "big")
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    return value & ((1 << checksum_bits) - 1) == expected


def checksum_ok(chars: str) -> bool:
    """Whether ``chars``, one word per character, is a BIP-39 phrase of either Chinese list.

    Written out instead of ``Mnemonic.check``, which looks each word up in a
    list: the window scan below tries many candidates per message.
    """
    if len(chars) not in VALID_LENGTHS:
        return False
    for language in HAN_LISTS:
        index = _index(language)
        if all(ch in index for ch in chars):
            value = 0
            for ch in chars:
                value = value << 11 | index[ch]
            if _checksum_holds(value, len(chars)):
                return True
    return False


# --------------------------------------------------------------------------- reading as words

# How a piece of text reads, per character: (part of a word of two or more,
# reads as prose).
_Marks = tuple[tuple[bool, ...], tuple[bool, ...]]


def _simplified_pieces(pieces: Sequence[str]) -> list[str]:
    """Each piece in Simplified script, or as it is when the conversion changes its length.

    One conversion for all: the converter cuts its input at blanks, so no
    conversion reaches across the line break between two pieces.
    """
    joined = to_simplified("\n".join(pieces)).split("\n")
    if len(joined) != len(pieces):
        joined = [to_simplified(piece) for piece in pieces]
    return [new if len(new) == len(old) else old for new, old in zip(joined, pieces, strict=True)]


def _word_lengths(pieces: Sequence[str]) -> list[list[int]]:
    """jieba's words of each piece (their lengths), each piece read on its own, in one call.

    jieba reads the text between two line breaks on its own, so one call over the
    joined pieces reads each exactly as a call of its own would.
    """
    import jieba  # loaded lazily: Rasa's tokenizer has it in memory already

    lengths: list[list[int]] = [[]]
    for word in jieba.lcut("\n".join(pieces), HMM=False):
        if word == "\n":
            lengths.append([])
        else:
            lengths[-1].append(len(word))
    if len(lengths) != len(pieces) or any(
        sum(words) != len(piece) for words, piece in zip(lengths, pieces, strict=True)
    ):
        lengths = [[len(w) for w in jieba.lcut(piece, HMM=False)] for piece in pieces]
    return lengths


def _read(runs: Sequence[str], known: dict[str, _Marks]) -> list[_Marks]:
    """How each run reads, per character (see ``in_words``), all in one call.

    Runs in ``known`` (read before) are not read again; the others are added to it.
    """
    fresh = [run for run in dict.fromkeys(runs) if run not in known]
    if fresh:
        simplified = _simplified_pieces(fresh)
        for run, plain, words in zip(fresh, simplified, _word_lengths(simplified), strict=True):
            known[run] = _marks_of(plain, words)
    return [known[run] for run in runs]


def _marks_of(simplified: str, word_lengths: list[int]) -> _Marks:
    # The number of the word each character is part of; a wallet word jieba
    # lacks counts as one word too.
    ids = [number for number, size in enumerate(word_lengths) for _ in range(size)]
    fresh = len(ids)
    for word in _WALLET_WORDS:
        if word in simplified:
            for m in re.finditer(word, simplified):
                ids[m.start() : m.end()] = [fresh] * len(word)
                fresh += 1
    long_words = tuple(
        (i > 0 and ids[i - 1] == ids[i]) or (i + 1 < len(ids) and ids[i + 1] == ids[i])
        for i in range(len(ids))
    )
    prose = tuple(long_words[i] or simplified[i] in _PROSE_CHARS for i in range(len(ids)))
    return long_words, prose


def in_words(run: str) -> tuple[bool, ...]:
    """For each character of ``run``, whether it reads as prose.

    That is: part of a word of two or more characters (``run`` read whole by
    jieba, in Simplified script, plus the wallet words it lacks), or one of the
    particles and pronouns that fill everyday sentences ("了", "吗", "我"); a
    phrase of twelve random list characters holds one of those about every
    third time.
    """
    return _read([run], {})[0][1]


def looks_random(pieces: Sequence[str]) -> bool:
    """True for unrelated characters (a phrase), false for Chinese prose.

    Prose is more than half characters that read as prose, each piece read on
    its own: the groups of a phrase never join into a word across the blank
    between them.
    """
    covered = sum(sum(marks[1]) for marks in _read(pieces, {}))
    return covered <= _WORD_SHARE * sum(len(piece) for piece in pieces)


# --------------------------------------------------------------------------- one group


@dataclass
class _Budget:
    """What one message may still spend on checksum tests and on reading (see "Cost").

    Once the tests are spent, the rest of a group is redacted without looking at
    its windows one by one: that bounds the time a message can take. Once only
    the reading is spent, a window that passes the checksum is redacted unread.
    """

    checks: int = CHECK_BUDGET
    reads: int = READ_BUDGET
    # The pieces read so far: a message repeats itself more often than not. Kept
    # for the message only, since a piece may be part of a phrase.
    known: dict[str, _Marks] = field(default_factory=dict)

    @property
    def spent(self) -> bool:
        return self.checks <= 0


class _Group:
    """Tokens with only separators between them, their characters numbered in reading order.

    A window is a stretch ``k0..k1`` of those numbers: separators do not count,
    so a window of twelve words is twelve numbers long wherever it is written.
    What is known of each character is filled in as it is needed, within the
    message's budget: its word numbers in the two lists, and how it reads.
    """

    def __init__(self, tokens: list[_Token], budget: _Budget) -> None:
        self.tokens = tokens
        self.budget = budget
        # offsets[t] is the number of the first character of token t.
        self.sizes = [t.end - t.start for t in tokens]
        self.offsets = list(accumulate(self.sizes, initial=0))
        self.chars = "".join(t.text for t in tokens)
        # Per character: in a word of two or more / reads as prose; None until read.
        self.long_word: list[bool | None] = [None] * len(self.chars)
        self.prose: list[bool | None] = [None] * len(self.chars)
        # Per token once read: running counts of its characters that read as prose,
        # so that the window scan can rule out prose with a few additions.
        self.prose_sums: list[tuple[int, ...] | None] = [None] * len(tokens)
        self._unread = set(range(len(tokens)))
        self._numbers: list[tuple[list[int], list[int]]] | None = None

    def __len__(self) -> int:
        return len(self.chars)

    def token_at(self, k: int) -> int:
        return bisect.bisect_right(self.offsets, k) - 1

    def text_span(self, k0: int, k1: int) -> tuple[int, int]:
        """Where characters ``k0..k1`` stand in the text (separators between them included)."""
        first, last = self.token_at(k0), self.token_at(k1 - 1)
        start = self.tokens[first].start + k0 - self.offsets[first]
        return start, self.tokens[last].start + k1 - self.offsets[last]

    # -- the checksum

    def _word_numbers(self) -> list[tuple[list[int], list[int]]]:
        """Per list: for each character, the word numbers of the 24 characters ending with it
        as one integer (11 bits each, 0 for a character not in the list), and a running
        count of the characters not in the list.

        Each integer is the previous one shifted by a word, so a window's numbers
        are one mask away instead of a loop over its characters.
        """
        if self._numbers is None:
            self._numbers = []
            mask = _WORDS_MASK[MAX_CHARS]
            for language in HAN_LISTS:
                index = _index(language)
                missing = list(accumulate((ch not in index for ch in self.chars), initial=0))
                ending: list[int] = []
                value = 0
                for number in [index.get(ch, 0) for ch in self.chars]:
                    value = (value << 11 | number) & mask
                    ending.append(value)
                self._numbers.append((ending, missing))
        return self._numbers

    def checksum(self, k0: int, k1: int) -> bool | None:
        """Whether characters ``k0..k1`` pass the checksum; None when the budget is spent."""
        if self.budget.checks <= 0:
            return None
        self.budget.checks -= 1
        words = k1 - k0
        for ending, missing in self._numbers or self._word_numbers():
            if missing[k1] == missing[k0]:
                if _checksum_holds(ending[k1 - 1] & _WORDS_MASK[words], words):
                    return True
        return False

    # -- reading

    def prose_count(self, k0: int, k1: int, *, read: bool = True) -> int | None:
        """How many of characters ``k0..k1`` read as prose; None if not read (or not affordable)."""
        marks = self.prose[k0:k1]
        if None in marks and read and self._read_tokens(self.token_at(k0), self.token_at(k1 - 1)):
            marks = self.prose[k0:k1]
        return None if None in marks else sum(marks)  # type: ignore[arg-type]

    def _read_tokens(self, first: int, last: int) -> bool:
        """Read tokens ``first..last`` (and a few after them, in the same call) if affordable."""
        wanted = [t for t in range(first, last + 1) if t in self._unread]
        known = self.budget.known
        cost = sum(len(self.tokens[t]) for t in wanted if self.tokens[t].text not in known)
        if cost and cost + _READ_CALL_COST > self.budget.reads:
            return False
        # The windows still to come start further on and need the next tokens too:
        # short ones (groups of a phrase) are read in the same call, which saves the
        # cost of a call each. A long one is prose, read only if a window needs it.
        ahead = last + 1
        while ahead < len(self.tokens) and ahead in self._unread:
            size = self.sizes[ahead]
            if size > MAX_GROUP or cost + size > _READ_AHEAD:
                break
            if cost + size + _READ_CALL_COST > self.budget.reads:
                break
            wanted.append(ahead)
            cost += size if self.tokens[ahead].text not in known else 0
            ahead += 1
        if cost:
            self.budget.reads -= cost + _READ_CALL_COST
        read = _read([self.tokens[t].text for t in wanted], known)
        for t, (long_word, prose) in zip(wanted, read, strict=True):
            k = self.offsets[t]
            self.long_word[k : k + len(long_word)] = long_word
            self.prose[k : k + len(prose)] = prose
            self.prose_sums[t] = tuple(accumulate(prose, initial=0))
            self._unread.discard(t)
        return True

    def judge(self, k0: int, k1: int) -> bool | None:
        """Whether characters ``k0..k1`` are a phrase: they pass the checksum and do not
        read as words. None when the budget did not allow to tell (the caller redacts).

        A stretch already read is tested for prose first, which is the cheaper test.
        """
        limit = _WORD_SHARE * (k1 - k0)
        marks = self.prose[k0:k1]
        known = None if None in marks else sum(marks)  # type: ignore[arg-type]
        if known is not None and known > limit:
            return False
        passes = self.checksum(k0, k1)
        if passes is False:
            return False
        count = known if known is not None else self.prose_count(k0, k1)
        if count is None:
            return None
        return False if count > limit else passes


class _Covered:
    """Disjoint stretches of character numbers already redacted in a group.

    A window inside one would add nothing to what is redacted, so it is not
    tested (when it would also have made another window drop out, that one now
    stays: a few more characters redacted, never fewer).
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def holds(self, k0: int, k1: int) -> bool:
        i = bisect.bisect_right(self.starts, k0) - 1
        return i >= 0 and k1 <= self.ends[i]

    def add(self, k0: int, k1: int) -> None:
        # The stretches that overlap or touch [k0, k1) are merged into it.
        lo = bisect.bisect_left(self.ends, k0)
        hi = bisect.bisect_right(self.starts, k1)
        if lo < hi:
            k0, k1 = min(k0, self.starts[lo]), max(k1, self.ends[hi - 1])
        self.starts[lo:hi] = [k0]
        self.ends[lo:hi] = [k1]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self.starts, self.ends, strict=True))


def _tokens(scan: str) -> list[_Token]:
    """Runs of list characters; any other Chinese character ends a run."""
    return [_Token(m.start(), m.end(), m.group()) for m in _token_re().finditer(scan)]


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


def _runs(tokens: list[_Token], sizes: tuple[int, ...]) -> Iterator[tuple[int, int]]:
    """Maximal runs ``first..last`` of consecutive tokens whose lengths are in ``sizes``."""
    first = None
    for t, token in enumerate([*tokens, None]):
        if token is not None and len(token) in sizes:
            first = t if first is None else first
            continue
        if first is not None:
            yield first, t - 1
        first = None


_Span = tuple[int, int, str]  # start, end, reason


def _shape_runs(group: _Group, covered: _Covered) -> list[_Span]:
    """Phrases by shape alone (no checksum, so a phrase with a typo is caught too)."""
    tokens, offsets = group.tokens, group.offsets
    spans: list[_Span] = []
    for first, last in _runs(tokens, (1,)):
        if last - first + 1 >= MIN_CHARS:
            spans.append((tokens[first].start, tokens[last].end, "han-separated"))
            _cover_inside(group, covered, first, last)
    for first, last in _runs(tokens, (3, 4)):
        chars = offsets[last + 1] - offsets[first]
        if last - first < 2 or chars < MIN_CHARS:
            continue
        # A run too long to read within the budget has the shape of a phrase and
        # cannot be told from one: it is redacted.
        count = group.prose_count(offsets[first], offsets[last + 1])
        if count is None or count <= _WORD_SHARE * chars:
            spans.append((*_complete(group, first, last), "han-grouped"))
            _cover_inside(group, covered, first, last)
    return spans


def _cover_inside(group: _Group, covered: _Covered, first: int, last: int) -> None:
    """Mark the inside of redacted tokens ``first..last`` as covered, less a phrase's length
    at either end where the group goes on.

    A window near such an end may overlap one reaching out of the stretch and
    decide whether that one is kept (``_prefer_apart_from_prose``), so it is
    still tried; one further inside overlaps no such window, and adds nothing.
    """
    k0 = group.offsets[first] + (MAX_CHARS if first > 0 else 0)
    k1 = group.offsets[last + 1] - (MAX_CHARS if last + 1 < len(group.tokens) else 0)
    if k0 < k1:
        covered.add(k0, k1)


def _complete(group: _Group, first: int, last: int) -> tuple[int, int]:
    """Span of tokens ``first..last``, grown into its neighbours when its length is not a phrase's.

    Twenty characters in groups of four are most likely 24 with one group glued
    to the words around ("我转不出来了xxxx xxxx …"); the checksum rule finds a
    valid phrase exactly, this covers one with a typo. A glued neighbour gives
    a whole group, a short one standing apart all of itself, glued ones first,
    until the length is a phrase's. When unsure, redact.
    """
    tokens = group.tokens
    start, end = tokens[first].start, tokens[last].end
    chars = group.offsets[last + 1] - group.offsets[first]
    size = max(len(t) for t in tokens[first : last + 1])
    neighbours = [(True, tokens[first - 1])] if first > 0 else []
    neighbours += [(False, tokens[last + 1])] if last + 1 < len(tokens) else []
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


# A window that passed the checksum: its first and last character numbers (k0, k1),
# and whether both of its ends are whole tokens (it lines up with the separators,
# nothing glued).
_Window = tuple[int, int, bool]

_LENGTHS = sorted(VALID_LENGTHS)
# The phrase lengths from n on, for the window scan's inner loop.
_LENGTHS_FROM = [[size for size in _LENGTHS if size >= n] for n in range(MAX_CHARS + 1)]


def _checksum_windows(
    group: _Group, relaxed: bool, covered: _Covered, unchecked: _Covered
) -> list[_Window]:
    """Separated groups, the outer two possibly glued to prose, that pass the checksum.

    A window is tokens ``i..j``: the inner ones whole, a tail of token ``i`` and
    a head of token ``j`` of at most ``MAX_GROUP`` characters, or one when the
    inner ones are single characters (a glued end is one more group of the
    phrase, not a paragraph). Three pieces at least, or two (one of them
    apart) when ``relaxed``: the message talks about a seed phrase, or holds
    nothing but the group.

    Only the windows of a phrase's length are tried, and none inside a stretch
    already ``covered``. A window the budget did not allow to check is added to
    ``unchecked`` (and ``covered``): it is redacted.
    """
    sizes, offsets, sums = group.sizes, group.offsets, group.prose_sums
    windows: list[_Window] = []
    min_pieces = 2 if relaxed else 3
    for i in range(len(sizes) - 1):
        # Every window from token i lies within these characters.
        if covered.holds(offsets[i], min(offsets[i + 1] + MAX_CHARS, len(group))):
            continue
        head = sizes[i]
        inner = 0
        widest_inner = 0
        inner_prose: int | None = 0  # of the inner tokens, if all were read
        for j in range(i + 1, len(sizes)):
            if j > i + 1:
                between = sizes[j - 1]
                if between > MAX_GROUP:
                    break
                inner += between
                widest_inner = between if between > widest_inner else widest_inner
                read = sums[j - 1]
                if inner_prose is not None:
                    inner_prose = None if read is None else inner_prose + read[-1]
            if inner + 2 > MAX_CHARS:
                break
            if j - i + 1 < min_pieces:
                continue
            tail = sizes[j]
            limit = 1 if widest_inner == 1 else MAX_GROUP  # one by one inside: one more each end
            most_a = head if head < limit else limit
            most_b = tail if tail < limit else limit
            head_sums, tail_sums = sums[i], sums[j]
            known = inner_prose is not None and head_sums is not None and tail_sums is not None
            for total in _LENGTHS_FROM[inner + 2]:
                # a characters from the head token and b from the tail: a + b = total - inner.
                both = total - inner
                if both > most_a + most_b:
                    break
                fewest_a = both - most_b if both - most_b > 1 else 1
                for a in range(fewest_a, (most_a if most_a < both else both - 1) + 1):
                    b = both - a
                    glued = (a < head) + (b < tail)
                    if glued == 2 and j == i + 1:
                        continue  # no group stands apart: that is prose, or the glued rule's
                    if known and (
                        head_sums[head] - head_sums[head - a] + inner_prose + tail_sums[b]
                        > _WORD_SHARE * total
                    ):
                        continue  # read already, and reads as words (the common case in prose)
                    k0 = offsets[i + 1] - a
                    k1 = k0 + total
                    if covered.holds(k0, k1):
                        continue
                    verdict = group.judge(k0, k1)
                    if verdict is None and group.budget.spent:
                        # No tests left: the rest of the group, from the first
                        # character a window of token i may take, is redacted as it is.
                        rest = offsets[i + 1] - min(head, MAX_GROUP)
                        covered.add(rest, len(group))
                        unchecked.add(rest, len(group))
                        return windows
                    if verdict is None:
                        covered.add(k0, k1)
                        unchecked.add(k0, k1)
                    elif verdict:
                        windows.append((k0, k1, not glued))
    return windows


def _prefer_apart_from_prose(windows: list[_Window], group: _Group) -> list[_Window]:
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

    Every character of a window that passed has been read (``_Group.judge``).
    Past ``_MOST_COMPARED`` windows in a group (a message made so that many
    windows pass) they are not compared: all stay, which redacts more, not less.
    """
    if len(windows) < 2 or len(windows) > _MOST_COMPARED:
        return windows
    marks = (group.long_word, group.prose)

    def share(positions: list[int], level: int) -> float:
        return sum(bool(marks[level][p]) for p in positions) / len(positions) if positions else 0.0

    def shifted(window: _Window, other: _Window) -> bool:
        if other[1] <= window[0] or window[1] <= other[0]:
            return False
        own = [p for p in range(window[0], window[1]) if not other[0] <= p < other[1]]
        theirs = [p for p in range(other[0], other[1]) if not window[0] <= p < window[1]]
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
        # Only windows starting less than a phrase's length before it, and before
        # it ends, can overlap it.
        first = bisect.bisect_right(starts, window[0] - MAX_CHARS)
        last = bisect.bisect_left(starts, window[1])
        if not any(shifted(window, other) for other in windows[first:last]):
            kept.append(window)
    return kept


def _glued_phrases(
    group: _Group, t: int, anywhere: bool, covered: _Covered, unchecked: _Covered
) -> list[tuple[int, int]]:
    """Numbers ``(k0, k1)`` of checksum-valid, random-looking phrases in glued token ``t``.

    ``anywhere`` (the message talks about a seed phrase) allows the phrase to
    sit anywhere in the run ("助记词是……请帮我看看"); otherwise the run must be
    the phrase itself. Each candidate is read in its run, so that a stretch cut
    out of prose keeps its words. A candidate the budget did not allow to check
    is added to ``unchecked`` (and ``covered``): it is redacted.
    """
    start, end = group.offsets[t], group.offsets[t + 1]
    if not anywhere:
        verdict = group.judge(start, end) if end - start in VALID_LENGTHS else False
        if verdict is None:
            unchecked.add(start, end)
        return [(start, end)] if verdict else []
    # Every candidate is tried, overlapping or not: a stretch of prose that passes
    # by chance must not hide the phrase one character further on. The longest
    # first, so that the shorter ones inside a redacted one need no test.
    found = []
    for k0 in range(start, end - MIN_CHARS + 1):
        for size in reversed(_LENGTHS):
            k1 = k0 + size
            if k1 > end or covered.holds(k0, k1):
                continue
            verdict = group.judge(k0, k1)
            if verdict is None and group.budget.spent:
                # No tests left: the rest of the run is redacted as it is.
                covered.add(k0, end)
                unchecked.add(k0, end)
                return found
            if verdict is None:
                unchecked.add(k0, k1)
            elif verdict:
                found.append((k0, k1))
            if verdict is not False:
                covered.add(k0, k1)
    return found


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
    budget = _Budget()
    spans: list[_Span] = []
    for tokens in _groups(scan, _tokens(scan)):
        if sum(len(t) for t in tokens) >= MIN_CHARS:
            spans += _group_phrases(text, _Group(tokens, budget), has_context)
    return spans


def _group_phrases(text: str, group: _Group, has_context: bool) -> list[_Span]:
    """The phrases of one group of tokens, by every rule above."""
    tokens = group.tokens
    start, end = tokens[0].start, tokens[-1].end
    alone = is_separator(text[:start]) and is_separator(text[end:])
    # What is redacted already, so that windows inside it need no test; and what
    # is redacted because the budget did not allow to check it.
    covered, unchecked = _Covered(), _Covered()
    spans = _shape_runs(group, covered)
    windows = _checksum_windows(group, has_context or alone, covered, unchecked)
    for k0, k1, _ in _prefer_apart_from_prose(windows, group):
        spans.append((*group.text_span(k0, k1), "han-checksum"))
        covered.add(k0, k1)
    if has_context or (alone and len(tokens) == 1):
        reason = "han-context" if has_context else "han-whole-message"
        for t, token in enumerate(tokens):
            if len(token) >= MIN_CHARS:
                glued = _glued_phrases(group, t, has_context, covered, unchecked)
                spans += [(*group.text_span(k0, k1), reason) for k0, k1 in glued]
    spans += [(*group.text_span(k0, k1), "han-unchecked") for k0, k1 in unchecked]
    return spans
