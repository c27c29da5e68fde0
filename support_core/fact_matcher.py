"""spaCy rule-based matching of wallet facts in Chinese, English and mixed chat text.

A blank multilingual pipeline (``spacy.blank("xx")``, no downloaded model) with
a tokenizer made for the way users write here: every Han character is a token,
a run of Latin letters and digits is one token (so a hash, an address or
``1,200.50`` stays whole), ``500USDT`` is split into number and ticker, and
whitespace is kept as spaCy keeps it, so that ``doc.text == text`` and every
``token.idx`` / ``span.start_char`` is an offset into the user's own text.

On top of it a ``PhraseMatcher`` (attribute ``LOWER``) finds asset and network
names, and a ``Matcher`` with token patterns finds amounts, transaction
hashes, addresses, times and quoted error messages. Overlaps between kinds are
settled by length (the longest match wins); an asset keeps its place inside
the amount it belongs to.

Nothing is built at import time: the pipeline is made on first use and cached
(``get_fact_matcher``). The vocabularies (``ASSETS``, ``NETWORKS``, ...) live in
``support_core.wallet_facts``; ``normalise_time`` turns a time as written into
a datetime with dateparser and a small parser of its own.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

# --------------------------------------------------------------------------- tokenizer

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_HAN_RE = re.compile(f"[{_HAN}]")
# A letter or digit of any script except Han (each Han character is a token of its own).
_WORD_CHAR = rf"[^\W_{_HAN}]"
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


class MixedTextTokenizer:
    """spaCy tokenizer for mixed Chinese/English chat (see ``split_words``)."""

    def __init__(self, vocab: Vocab, glued_units: Collection[str] = ()) -> None:
        """Tokenize into ``vocab``; ``glued_units`` as for ``split_words``."""
        self.vocab = vocab
        self.glued_units = frozenset(glued_units)

    def __call__(self, text: str) -> Doc:
        """Make a ``Doc`` whose text is exactly ``text``."""
        from spacy.tokens import Doc

        words, spaces = split_words(text, self.glued_units)
        return Doc(self.vocab, words=words, spaces=spaces)


# --------------------------------------------------------------------------- numbers

_CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
_CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "十百千万"
_SCALES: dict[str, int] = {"k": 1000, "w": 10_000, "万": 10_000, "千": 1000, "百": 100}
_MAX_AMOUNT = Decimal(10) ** 15


def cn_to_int(text: str) -> int | None:
    """Read a Chinese numeral: ``两千五百`` → 2500, ``两千五`` → 2500, ``二〇二六`` → 2026.

    Returns ``None`` for anything that is not a Chinese numeral.
    """
    if not text or any(ch not in _CN_NUMERAL_CHARS for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text):
        if len(text) == 1:
            return _CN_DIGITS[text]
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))  # 二〇二六
    total = section = current = 0
    last_unit = 1
    zero_seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
            zero_seen = zero_seen or current == 0
        elif ch in _CN_UNITS:
            last_unit = _CN_UNITS[ch]
            section += (current or 1) * last_unit
            current, zero_seen = 0, False
        else:  # 万
            total += (section + current or 1) * 10_000
            section, current, last_unit, zero_seen = 0, 0, 10_000, False
    # Spoken short form: 两千五 is 2500, 三万五 is 35000 (but 两千零五 is 2005).
    if current and not zero_seen and last_unit >= 100:
        current *= last_unit // 10
    return total + section + current


def _parse_number(text: str) -> Decimal | None:
    cn = cn_to_int(text)
    if cn is not None:
        return Decimal(cn)
    if not re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", text):
        return None
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def format_amount(value: Decimal) -> str:
    """Write a number in full, without exponent or trailing zeros: 1200.50 → ``1200.5``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


# --------------------------------------------------------------------------- patterns

Pattern = list[dict[str, Any]]


def _zh(word: str) -> Pattern:
    """Token pattern for a Chinese word: one token per character."""
    return [{"ORTH": ch} for ch in word]


def _en(phrase: str) -> Pattern:
    """Token pattern for an English phrase, case-insensitive."""
    return [{"LOWER": word} for word in phrase.split()]


def _product(*segments: Iterable[Pattern]) -> list[Pattern]:
    """Every concatenation of one alternative per segment (an empty alternative = optional)."""
    patterns = [
        [tok for part in combo for tok in part] for combo in itertools.product(*segments)
    ]
    return [p for p in patterns if p]


# Digit tokens are told apart by spaCy's native SHAPE ("d", "dd", "dddd"): no Python regex.
_NUM_AR: Pattern = [{"SHAPE": {"IN": ["d", "dd"]}}]
_NUM_CN: Pattern = [{"ORTH": {"IN": list(_CN_NUMERAL_CHARS)}, "OP": "+"}]
_NUMS: list[Pattern] = [_NUM_AR, _NUM_CN]
_YEAR: Pattern = [{"SHAPE": "dddd"}]
_MINUTE: Pattern = [{"SHAPE": "dd"}]
_COLON: Pattern = [{"ORTH": {"IN": [":", "："]}}]
_HH_MM: Pattern = [*_NUM_AR, *_COLON, *_MINUTE]

# Time words of fixed spelling, matched by the PhraseMatcher.
_ZH_DAY_PARTS: tuple[str, ...] = (
    "早上", "早晨", "清晨", "上午", "中午", "下午", "傍晚", "晚上", "晚间", "夜里", "夜间",
    "凌晨", "半夜", "深夜", "午夜",
)
TIME_WORDS: tuple[str, ...] = (
    "今天", "昨天", "前天", "大前天", "今日", "昨日", "今早", "今晚", "昨晚", "昨夜", "今儿",
    "昨儿", "刚才", "刚刚", "上周", "上星期", "上礼拜", "上个星期", "上个礼拜", "上个月",
    "前几天", *_ZH_DAY_PARTS,
    "yesterday", "today", "tonight", "last night", "this morning", "this afternoon",
    "this evening", "the day before yesterday", "earlier today", "last week", "last month",
    "just now", "a moment ago", "moments ago", "a while ago",
    # parts of the day that need a day beside them (_WEAK_TIME_RE)
    "morning", "afternoon", "evening", "night", "noon", "in the morning",
    "in the afternoon", "in the evening", "at night", "at noon", "earlier",
)
_ZH_REL_UNIT_RE = re.compile(r"(?:小时|钟头|分钟|分|秒钟|秒|天|日|周|星期|礼拜|月)\s*(?:以|之)?前$")
_EN_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_EN_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
_EN_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty a an several few"
).split()
_EN_UNITS = (
    "second seconds sec secs minute minutes min mins m hour hours hr hrs h "
    "day days d week weeks wk wks month months"
).split()


def _time_patterns() -> list[Pattern]:
    """Token patterns for the parts a time is written in; adjacent parts are joined later.

    Few patterns on purpose (alternatives folded into IN and "?"), since the
    Matcher's cost grows with their number; what they over-match is checked
    afterwards (``_valid_time``).
    """
    patterns: list[Pattern] = []
    # 周三, 上周三, 上个星期五, 这周一, 礼拜天
    day = {"ORTH": {"IN": list("一二三四五六日天")}}
    prefix: Pattern = [{"ORTH": {"IN": ["上", "这", "本"]}, "OP": "?"}, {"ORTH": "个", "OP": "?"}]
    patterns += _product([prefix], [_zh("周"), _zh("星期"), _zh("礼拜")], [[day]])
    # 11月20日, 2026年11月20号, 20号, 20日
    day_mark = [{"ORTH": {"IN": ["日", "号"]}}]
    patterns += _product([[], [*_YEAR, {"ORTH": "年"}]], _NUMS, [_zh("月")], _NUMS, [day_mark])
    patterns += _product(_NUMS, [_zh("号")])
    patterns += [[*_NUM_AR, {"ORTH": "日"}]]
    # 9点, 九点半, 9点30分, 9点30, 9点钟, 9点多, 15时30分, 21:30
    hour_mark = [{"ORTH": {"IN": ["点", "時", "时"]}}]
    tails: list[Pattern] = [[], [{"ORTH": {"IN": ["半", "钟", "多"]}}]]
    tails += [[*n, {"ORTH": "分", "OP": "?"}] for n in _NUMS]
    patterns += _product(_NUMS, [hour_mark], tails)
    patterns += [_HH_MM]
    # 三个小时前, 3小时前, 半小时前, 一个半小时前, 三个多小时前, 十分钟以前, 几天前
    rel_num: list[Pattern] = [
        [{"LIKE_NUM": True}],
        [{"ORTH": {"IN": [*_CN_NUMERAL_CHARS, "几"]}, "OP": "+"}],
        _zh("半"),
    ]
    units: list[Pattern] = [
        [{"ORTH": {"IN": list("分秒天日周月")}}],
        [{"ORTH": {"IN": list("小钟分秒星礼")}}, {"ORTH": {"IN": list("时头钟期拜")}}],
    ]
    patterns += _product(
        rel_num,
        [[{"ORTH": "个", "OP": "?"}, {"ORTH": {"IN": ["多", "半"]}, "OP": "?"}]],
        units,
        [[{"ORTH": {"IN": ["以", "之"]}, "OP": "?"}, {"ORTH": "前"}]],
    )
    # on Monday, last Friday
    opt = "?"
    patterns += [[{"LOWER": {"IN": ["on", "last", "this"]}, "OP": opt},
                  {"LOWER": {"IN": _EN_WEEKDAYS}}]]
    # at 9 pm, 9:30pm, around 9 p.m., at 14:30, 9 o'clock
    at = [{"LOWER": {"IN": ["at", "around", "about", "by", "before", "after"]}, "OP": opt}]
    meridiem: list[Pattern] = [
        [{"LOWER": {"IN": ["am", "pm"]}}],
        [{"LOWER": {"IN": ["a", "p"]}}, {"ORTH": "."}, {"LOWER": "m"}, {"ORTH": ".", "OP": opt}],
    ]
    patterns += _product([at], [_NUM_AR, _HH_MM], meridiem)
    patterns += [[*at, *_HH_MM]]
    patterns += [[*at, *_NUM_AR, {"LOWER": "o"}, {"ORTH": {"IN": ["'", "’"]}},
                  {"LOWER": "clock"}]]
    # 3 hours ago, an hour ago, a few minutes ago, a couple of days ago, half an hour ago
    en_num: list[Pattern] = [
        [{"LIKE_NUM": True}],
        [{"LOWER": {"IN": ["a", "half"]}, "OP": opt}, {"LOWER": {"IN": _EN_NUMBER_WORDS}}],
        [{"LOWER": "a"}, {"LOWER": "couple"}, {"LOWER": "of", "OP": opt}],
    ]
    patterns += _product(en_num, [[{"LOWER": {"IN": _EN_UNITS}}, {"LOWER": "ago"}]])
    # 20 Nov, on the 20th of November 2026, Nov 20, 2026, 2026-11-20, 2026/11/20, 11/20(/2026)
    on: Pattern = [{"LOWER": "on", "OP": opt}, {"LOWER": "the", "OP": opt}]
    month = [{"LOWER": {"IN": _EN_MONTHS}}]
    ordinal = [{"LOWER": {"IN": ["st", "nd", "rd", "th"]}, "OP": opt}]
    years: list[Pattern] = [[], [{"ORTH": ",", "OP": opt}, *_YEAR]]
    patterns += _product(
        [[*on, *_NUM_AR, *ordinal, {"LOWER": "of", "OP": opt}, *month],
         [*on, *month, *_NUM_AR, *ordinal]],
        years,
    )
    sep = {"ORTH": {"IN": ["-", "/"]}}
    patterns += [[*on, *_YEAR, sep, *_NUM_AR, sep, *_NUM_AR]]
    patterns += _product([[*on, *_NUM_AR, {"ORTH": "/"}, *_NUM_AR]], [[], [{"ORTH": "/"}, *_YEAR]])
    return patterns


# Parts of a time that do not count on their own: 一点 is also "a bit", "evening" needs a day.
_WEAK_TIME_RE = re.compile(
    r"(?:[一二两]点多?|(?:in the |at )?(?:morning|afternoon|evening|night|noon)|earlier)",
    re.IGNORECASE,
)

_QUOTES: tuple[tuple[str, str], ...] = (
    ("“", "”"), ('"', '"'), ("「", "」"), ("『", "』"), ("‘", "’"), ("'", "'"), ("＂", "＂"),
)
_QUOTE_CHARS = sorted({ch for pair in _QUOTES for ch in pair})
_CLAUSE_END = [*"。！？!?.,，;；…~～", "……"]
_SEPARATORS = [":", "：", ",", "，"]
_ERROR_KEYWORDS: tuple[str, ...] = (
    "提示", "报错", "显示", "says", "said", "shows", "showed", "error", "error message",
)
# A person saying something is not the app showing an error.
_PEOPLE = frozenset(
    """i you u he she we they someone somebody friend support agent agents guy person people
    everyone who mom dad brother sister colleague customer staff service admin""".split()
)
_NOT_SHOWN_BEFORE = ("不", "没", "未", "根据", "按照", "按")
_ERROR_LEAD_RE = re.compile(r"^(?:了)?(?:说|是|的是|为|道)?[:：\s]*|^that\s+", re.IGNORECASE)
_ERROR_STOP_RE = re.compile(
    r"\s+(?:but|because|so|although|though|and then|what|how|why|please|pls)\b"
    r"|但是|可是|然后|所以|怎么|为什么|是什么|什么意思|请问|不知道|咋",
    re.IGNORECASE,
)
_ERROR_TRAIL_RE = re.compile(r"[\s了的啊呀吗呢啦哦哈嘛]+$")

# Overlaps between kinds: the longest match wins, ties go to the first kind here.
_PRIORITY = {"tx_hash": 0, "address": 1, "amount": 2, "time": 3, "network": 4, "asset": 5}


class FactSpan(NamedTuple):
    """A fact as matched: entity, normalised value, and character span in the text."""

    entity: str
    value: str
    start: int
    end: int


class FactMatcher:
    """Finds wallet facts with a blank spaCy pipeline, a PhraseMatcher and a Matcher."""

    def __init__(
        self,
        assets: Mapping[str, str],
        networks: Mapping[str, str],
        ambiguous_assets: Collection[str] = (),
        countable_assets: Collection[str] = (),
        ambiguous_networks: Collection[str] = (),
    ) -> None:
        """Build the pipeline and its matchers.

        ``assets`` and ``networks`` map lower-case names (any language) to the
        normalised value. ``ambiguous_assets`` are tickers that are also
        ordinary words: alone they count only in capitals; ``countable_assets``
        (``link``, ``dot``...) are ambiguous words that in lower case do not even
        make an amount ("2 link" counts links). ``ambiguous_networks`` count in
        capitals or title case ("Base").
        """
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.ambiguous_assets = frozenset(ambiguous_assets)
        self.countable_assets = frozenset(countable_assets)
        self.ambiguous_networks = frozenset(ambiguous_networks)
        self.nlp = spacy.blank("xx")
        glued = frozenset(k for k in assets if k.isascii() and k.isalpha())
        self.tokenizer = MixedTextTokenizer(self.nlp.vocab, glued)
        self.nlp.tokenizer = self.tokenizer
        strings = self.nlp.vocab.strings

        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._phrase_keys: dict[int, tuple[str, str]] = {}
        for entity, names in (("asset", assets), ("network", networks)):
            by_value: dict[str, list[str]] = {}
            for name, value in names.items():
                by_value.setdefault(value, []).append(name)
            for value, group in by_value.items():
                key = f"{entity}:{value}"
                self.phrases.add(key, [self.nlp.make_doc(name) for name in group])
                self._phrase_keys[strings.add(key)] = (entity, value)

        self.phrases.add("time", [self.nlp.make_doc(word) for word in TIME_WORDS])
        self._phrase_keys[strings.add("time")] = ("time", "")

        self.matcher = Matcher(self.nlp.vocab)
        asset: Pattern = [
            {"ENT_TYPE": "ASSET", "ENT_IOB": "B"},
            {"ENT_TYPE": "ASSET", "ENT_IOB": "I", "OP": "*"},
        ]
        number: list[Pattern] = [
            [{"LIKE_NUM": True}, {"LOWER": {"IN": list(_SCALES)}, "OP": "?"}],
            _NUM_CN,
        ]
        # "500  USDT", "500　USDT" (ideographic space): whitespace tokens, but not a new line.
        gap = {"ORTH": {"IN": [" ", "  ", "\t", "\u3000", "\u3000\u3000"]}, "OP": "?"}
        unit: Pattern = [gap, {"ORTH": "个", "OP": "?"}, gap]
        self.matcher.add("AMOUNT", _product(number, [unit], [asset]), greedy="LONGEST")
        self.matcher.add(
            "AMOUNT_AFTER",
            _product([asset], [[{"ORTH": {"IN": [":", "："]}, "OP": "?"}]], number),
            greedy="LONGEST",
        )
        # One REGEX predicate per kind: each is a Python call for every token.
        self.matcher.add("TX_HASH", [[{"TEXT": {"REGEX": r"^(?:0[xX])?[0-9a-fA-F]{64}$"}}]])
        base58 = "[1-9A-HJ-NP-Za-km-z]"
        address = (
            rf"^(?:0x[0-9a-fA-F]{{40}}|T{base58}{{33}}|[13]{base58}{{25,34}}"
            r"|bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71})$"
        )
        self.matcher.add("ADDRESS", [[{"TEXT": {"REGEX": address}}]])
        self.matcher.add("TIME", _time_patterns(), greedy="LONGEST")
        for open_, close in _QUOTES:
            self.matcher.add(
                "QUOTE", [[{"ORTH": open_}, {"ORTH": {"NOT_IN": [close]}, "OP": "+"},
                           {"ORTH": close}]]
            )
        content_start = {"ORTH": {"NOT_IN": _CLAUSE_END + _QUOTE_CHARS + _SEPARATORS},
                         "IS_SPACE": False}
        content = {"ORTH": {"NOT_IN": _CLAUSE_END + _QUOTE_CHARS}, "IS_SPACE": False}
        self._error_keys: dict[int, int] = {}
        for keyword in _ERROR_KEYWORDS:
            kw = _zh(keyword) if _HAN_RE.match(keyword) else _en(keyword)
            label = f"AFTER_{len(kw)}"
            self._error_keys[strings.add(label)] = len(kw)
            self.matcher.add(
                label,
                [
                    [*kw, content_start, {**content, "OP": "*"}],
                    [*kw, {"ORTH": {"IN": _SEPARATORS}}, {**content, "OP": "+"}],
                ],
                greedy="LONGEST",
            )
        self._labels = {
            name: strings.add(name)
            for name in ("AMOUNT", "AMOUNT_AFTER", "TX_HASH", "ADDRESS", "TIME", "QUOTE")
        }

    # ------------------------------------------------------------------ matching

    def make_doc(self, text: str) -> Doc:
        """The text as a spaCy ``Doc`` made by the mixed-text tokenizer."""
        return self.nlp.make_doc(text)

    def match(self, text: str) -> list[FactSpan]:
        """All facts in ``text``, ordered by position (see module docstring)."""
        if not text or text.isspace():
            return []
        from spacy.tokens import Doc, Span

        # The tokenizer's own steps, keeping the words for offsets without touching the Doc.
        words, spaces = split_words(text, self.tokenizer.glued_units)
        doc = Doc(self.nlp.vocab, words=words, spaces=spaces)
        m = _Message(text, words, spaces)
        candidates: list[tuple[FactSpan, FactSpan | None]] = []
        time_parts: list[tuple[int, int]] = []
        asset_spans: dict[int, tuple[int, str]] = {}  # start token -> (end token, value)
        network_hits: list[tuple[int, int, str]] = []
        kept_until = 0
        for match_id, start, end in sorted(self.phrases(doc), key=lambda h: (h[1], -h[2])):
            entity, value = self._phrase_keys[match_id]
            if entity == "time":
                time_parts.append((start, end))
            elif entity == "asset":
                if start < kept_until:
                    continue  # inside a longer name already kept
                surface = m.surface(start, end)
                if surface.lower() in self.countable_assets and not surface.isupper():
                    continue
                asset_spans[start] = (end, value)
                kept_until = end
                if self._plausible_asset(m, start, end):
                    candidates.append((m.fact("asset", value, start, end), None))
            else:
                network_hits.append((start, end, value))
        self._add_networks(m, network_hits, candidates)
        if asset_spans:
            doc.ents = [Span(doc, s, e, label="ASSET") for s, (e, _) in asset_spans.items()]

        quotes: list[tuple[int, int]] = []
        errors: list[FactSpan] = []
        labels = self._labels
        for match_id, start, end in self.matcher(doc):
            if match_id == labels["AMOUNT"]:
                self._add_amount(m, start, end, asset_spans, candidates)
            elif match_id == labels["AMOUNT_AFTER"]:
                self._add_amount_after(m, start, end, asset_spans, candidates)
            elif match_id == labels["TX_HASH"]:
                candidates.append((m.fact("tx_hash", words[start], start, end), None))
            elif match_id == labels["ADDRESS"]:
                if not words[start].isdigit():  # an order number is no address
                    candidates.append((m.fact("address", words[start], start, end), None))
            elif match_id == labels["TIME"]:
                time_parts.append((start, end))
            elif match_id == labels["QUOTE"]:
                quotes.append((start, end))
            else:
                fact = self._error_after(m, start, end, self._error_keys[match_id])
                if fact:
                    errors.append(fact)
        if time_parts:
            candidates.extend((fact, None) for fact in _times(m, time_parts))
        if quotes:
            errors.extend(_quoted(m, quotes))

        kept = _resolve(candidates)
        if errors:
            kept.extend(_longest_first(errors))
        kept.sort(key=lambda f: (f.start, f.entity))
        return kept

    def _plausible_asset(self, m: _Message, start: int, end: int) -> bool:
        surface = m.surface(start, end)
        lower = surface.lower()
        if lower not in self.ambiguous_assets:
            return True
        if not surface.isupper():
            return False
        if lower == "u":  # 我的U没了 yes; "can U help", U盘, U盾 no
            words = m.words
            if end < len(words) and words[end] in _U_WORDS:
                return False
            near = [words[i] for i in (start - 1, end) if 0 <= i < len(words)]
            return any(_HAN_RE.match(t) for t in near)
        return True

    def _add_networks(
        self,
        m: _Message,
        hits: list[tuple[int, int, str]],
        candidates: list[tuple[FactSpan, FactSpan | None]],
    ) -> None:
        kept: list[tuple[int, int, str]] = []
        for start, end, value in hits:
            lower = m.surface(start, end).lower()
            if lower == "mainnet" and kept and kept[-1][1] == start:
                # "Arbitrum mainnet" is Arbitrum, not Ethereum.
                kept[-1] = (kept[-1][0], end, kept[-1][2])
                continue
            if lower in self.ambiguous_networks:
                surface = m.surface(start, end)
                if not (surface.isupper() or surface.istitle()):
                    continue
            kept.append((start, end, value))
        candidates.extend((m.fact("network", v, s, e), None) for s, e, v in kept)

    @staticmethod
    def _amount(
        m: _Message, number_start: int, number_end: int, asset_start: int, asset_end: int,
        asset_value: str,
    ) -> tuple[FactSpan, FactSpan] | None:
        tokens = [t for t in m.words[number_start:number_end] if t != "个" and not t.isspace()]
        scale = 1
        if len(tokens) > 1 and tokens[-1].lower() in _SCALES and not cn_to_int(tokens[-1]):
            scale = _SCALES[tokens.pop().lower()]
        elif len(tokens) == 2 and tokens[-1] in _SCALES and cn_to_int(tokens[0]) is None:
            scale = _SCALES[tokens.pop()]  # 1.5万, 5千
        value = _parse_number("".join(tokens))
        if value is None:
            return None
        value *= scale
        if value >= _MAX_AMOUNT:
            return None
        start = min(number_start, asset_start)
        end = max(number_end, asset_end)
        amount = m.fact("amount", f"{format_amount(value)} {asset_value}", start, end)
        return amount, m.fact("asset", asset_value, asset_start, asset_end)

    def _add_amount(
        self,
        m: _Message,
        start: int,
        end: int,
        asset_spans: dict[int, tuple[int, str]],
        candidates: list[tuple[FactSpan, FactSpan | None]],
    ) -> None:
        if start > 0 and m.words[start - 1] in ("/", "-", "."):
            return  # 1/2 ETH, v1-2 ETH: the number is part of something else
        asset_start = next(i for i in range(start + 1, end) if i in asset_spans)
        found = self._amount(m, start, asset_start, asset_start, end, asset_spans[asset_start][1])
        if found:
            candidates.append(found)

    def _add_amount_after(
        self,
        m: _Message,
        start: int,
        end: int,
        asset_spans: dict[int, tuple[int, str]],
        candidates: list[tuple[FactSpan, FactSpan | None]],
    ) -> None:
        """"USDT 500": only when the number belongs to nothing else."""
        words = m.words
        asset_end, value = asset_spans[start]
        if not self._plausible_asset(m, start, asset_end) or words[start].lower() == "u":
            return
        if start > 0 and _parse_number(words[start - 1]) is not None:
            return  # "500 USDT" read the other way round
        number_start = asset_end
        if words[number_start] in (":", "："):
            number_start += 1
        if end < len(words):
            after = words[end]
            if end in asset_spans or after[0].isdigit() or after in _NOT_AFTER_AMOUNT:
                return  # "USDT 500 TRX", "USDT 3个", "USDT 3笔", "USDT 500 600", "USDT 5%"
        found = self._amount(m, number_start, end, start, asset_end, value)
        if found:
            candidates.append(found)

    def _error_after(self, m: _Message, start: int, end: int, keyword_len: int) -> FactSpan | None:
        words = m.words
        keyword = words[start].lower()
        if keyword.isascii():
            previous = [w for w in words[max(start - 2, 0):start] if not w.isspace()]
            if keyword in ("says", "said", "shows", "showed") and (
                not previous or previous[-1].lower() in _PEOPLE
            ):
                return None
            if keyword == "error" and words[start + keyword_len] not in (":", "："):
                return None
        else:
            before = m.text[:m.starts[start]]
            if before.endswith(_NOT_SHOWN_BEFORE) or before.endswith("没有"):
                return None
        first = start + keyword_len
        if words[first] in _SEPARATORS:
            first += 1
        if first >= end or words[first].lower() == "up":  # "it shows up as ..."
            return None
        return _trimmed(m.text, m.starts[first], m.ends[end - 1], clean=True)


_U_WORDS = frozenset("盘盾型形字")  # U盘 (USB drive), U盾 (USB key), U型
_NOT_AFTER_AMOUNT = frozenset("个次笔天号点分秒小时年月日周块元多%％/-xX")


class _Message:
    """One message as tokens: the text, each token's text and character offsets."""

    __slots__ = ("ends", "starts", "text", "words")

    def __init__(self, text: str, words: list[str], spaces: list[bool]) -> None:
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


def _times(m: _Message, parts: list[tuple[int, int]]) -> list[FactSpan]:
    """Time facts: parts next to each other ("昨天" "晚上" "9点") make one time."""
    text = m.text
    spans = [(m.starts[s], m.ends[e - 1]) for s, e in parts]
    # Parts found by several patterns may overlap: keep the longest.
    chosen = sorted(
        (a, b) for a, b in _non_overlapping(spans)
        if _valid_time(text[a:b]) and _time_in_context(text, a, b)
    )
    facts: list[FactSpan] = []
    group: list[tuple[int, int]] = []
    for a, b in [*chosen, (-1, -1)]:
        if group and a >= 0:
            gap = text[group[-1][1]:a]
            if len(gap) <= 2 and not gap.strip() and "\n" not in gap:
                group.append((a, b))
                continue
        if group:
            start, end = group[0][0], group[-1][1]
            if not all(_WEAK_TIME_RE.fullmatch(text[x:y]) for x, y in group):
                facts.append(FactSpan("time", text[start:end], start, end))
        group = [(a, b)]
    return facts


def _time_in_context(text: str, start: int, end: int) -> bool:
    """False for time-like words that the characters around them make something else."""
    surface = text[start:end]
    before = text[start - 1] if start else ""
    if before == "第":  # 第二点: a second point
        return False
    if before and before in _CN_NUMERAL_CHARS and surface.startswith(("周", "星期", "礼拜")):
        return False  # 一周一次: once a week
    return not (surface in _ZH_DAY_PARTS and text.startswith("好", end))  # 晚上好


def _quoted(m: _Message, quotes: list[tuple[int, int]]) -> list[FactSpan]:
    """Error messages in quotes, pairing quote marks left to right."""
    text = m.text
    facts: list[FactSpan] = []
    used_until = -1
    for start, end in sorted(quotes):
        opening, closing = m.starts[start], m.starts[end - 1]
        if opening < used_until:
            continue
        a, b = opening + 1, closing
        if text[opening] in ("'", '"'):
            # An apostrophe (don't, users') opens or closes nothing.
            if opening > 0 and text[opening - 1].isalnum():
                continue
            if b + 1 < len(text) and text[b + 1].isalnum():
                continue
        inner = text[a:b]
        if "\n" in inner or len(inner) > 300:
            continue
        fact = _trimmed(text, a, b, clean=False)
        if fact:
            facts.append(fact)
            used_until = closing + 1
    return facts


def _trimmed(text: str, start: int, end: int, *, clean: bool) -> FactSpan | None:
    """An error_message fact for text[start:end], trimmed of chat around the message."""
    inner = text[start:end]
    if clean:
        lead = _ERROR_LEAD_RE.match(inner)
        if lead:
            start += lead.end()
            inner = text[start:end]
        stop = _ERROR_STOP_RE.search(inner)
        if stop and stop.start() > 0:
            end = start + stop.start()
            inner = text[start:end]
        trail = _ERROR_TRAIL_RE.search(inner)
        if trail:
            end = start + trail.start()
            inner = text[start:end]
    stripped = inner.strip()
    if not stripped or (clean and len(stripped) < 2):
        return None
    start += len(inner) - len(inner.lstrip())
    end = start + len(stripped)
    return FactSpan("error_message", stripped, start, end)


def _non_overlapping(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    kept: list[tuple[int, int]] = []
    for a, b in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        if all(b <= x or y <= a for x, y in kept):
            kept.append((a, b))
    return kept


def _longest_first(facts: list[FactSpan]) -> list[FactSpan]:
    kept: list[FactSpan] = []
    for fact in sorted(facts, key=lambda f: (f.start - f.end, f.start)):
        if all(fact.end <= k.start or k.end <= fact.start for k in kept):
            kept.append(fact)
    return kept


def _resolve(candidates: list[tuple[FactSpan, FactSpan | None]]) -> list[FactSpan]:
    """Longest match wins; an amount brings its asset, a network keeps a same-span asset."""
    ordered = sorted(
        candidates,
        key=lambda c: (c[0].start - c[0].end, _PRIORITY[c[0].entity], c[0].start),
    )
    kept: list[FactSpan] = []
    taken: list[FactSpan] = []
    for fact, inner in ordered:
        clash = [t for t in taken if fact.start < t.end and t.start < fact.end]
        if clash:
            # "TON", "bitcoin": both the network and the asset of that name.
            same = all(
                fact.entity == "asset" and t.entity == "network"
                and (t.start, t.end) == (fact.start, fact.end)
                for t in clash
            )
            if not same or any(k.entity == "asset" and k[2:] == fact[2:] for k in kept):
                continue
            kept.append(fact)
            continue
        kept.append(fact)
        taken.append(fact)
        if inner is not None:
            kept.append(inner)
    return kept


_TIME_NUMBER_CHECKS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"(\d{1,2})\s*[:：]"), 24),
    (re.compile(r"(\d{1,2})\s*月"), 12),
    (re.compile(r"(\d{1,2})\s*[日号]"), 31),
    (re.compile(r"(\d{1,2})\s*[点時时]"), 24),
    (re.compile(r"(?<![:：\d])(\d{1,2})\s*(?:am|pm|a\.m|p\.m)", re.IGNORECASE), 12),
    (re.compile(r"[:：]\s*(\d{2})"), 59),
)
_ANY_NUMBER_RE = re.compile(rf"[\d{_CN_NUMERAL_CHARS}]|前")
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?![\d])")
_EN_MONTH_RE = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE)
_EN_DAY_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\b")
_CN_TIME_NUMBER_RE = re.compile(rf"([{_CN_NUMERAL_CHARS}]+)\s*([点时月号日])")
_CN_TIME_LIMITS = {"点": 24, "时": 24, "月": 12, "号": 31, "日": 31}


def _valid_time(surface: str) -> bool:
    """Whether the numbers in a time part can be a clock time or a date."""
    if not _ANY_NUMBER_RE.search(surface):
        return True
    if any(not y.startswith(("19", "20")) for y in _YEAR_RE.findall(surface)):
        return False
    if surface.endswith("前") and not _ZH_REL_UNIT_RE.search(surface):
        return False  # the unit patterns over-match: 小头前
    for regex, top in _TIME_NUMBER_CHECKS:
        if any(int(n) > top for n in regex.findall(surface)):
            return False
    for first, second in _SLASH_DATE_RE.findall(surface):
        a, b = int(first), int(second)
        if not (1 <= a <= 12 and 1 <= b <= 31) and not (1 <= b <= 12 and 1 <= a <= 31):
            return False
    if _EN_MONTH_RE.search(surface) and any(
        not 1 <= int(n) <= 31 for n in _EN_DAY_RE.findall(surface)
    ):
        return False
    for numeral, unit in _CN_TIME_NUMBER_RE.findall(surface):
        value = cn_to_int(numeral)
        if value is None or value > _CN_TIME_LIMITS[unit]:
            return False
    return True


@lru_cache(maxsize=1)
def get_fact_matcher() -> FactMatcher:
    """The shared matcher, built on first use from the vocabularies in ``wallet_facts``."""
    from support_core import wallet_facts

    return FactMatcher(
        wallet_facts.ASSETS,
        wallet_facts.NETWORKS,
        ambiguous_assets=wallet_facts.AMBIGUOUS_ASSETS,
        countable_assets=wallet_facts.COUNTABLE_ASSETS,
        ambiguous_networks=wallet_facts.AMBIGUOUS_NETWORKS,
    )


def match_facts(text: str) -> list[FactSpan]:
    """All wallet facts in ``text`` (see ``FactMatcher.match``)."""
    return get_fact_matcher().match(text)


# --------------------------------------------------------------------------- time values

_ZH_DAY_OFFSETS: tuple[tuple[str, int], ...] = (
    ("大前天", -3), ("前天", -2), ("昨天", -1), ("昨日", -1), ("昨晚", -1), ("昨夜", -1),
    ("昨早", -1), ("昨儿", -1), ("今天", 0), ("今日", 0), ("今早", 0), ("今晚", 0), ("今儿", 0),
    ("the day before yesterday", -2), ("yesterday", -1), ("last night", -1), ("today", 0),
    ("tonight", 0), ("this morning", 0), ("this afternoon", 0), ("this evening", 0),
    ("earlier today", 0),
)
# Day part: (default hour, how a clock hour in it is read: "pm", "noon", "night" or "am").
_DAY_PARTS: tuple[tuple[str, int, str], ...] = (
    ("凌晨", 3, "am"), ("早上", 8, "am"), ("早晨", 8, "am"), ("清晨", 7, "am"),
    ("今早", 8, "am"), ("昨早", 8, "am"), ("上午", 10, "am"), ("中午", 12, "noon"),
    ("下午", 15, "pm"), ("傍晚", 18, "pm"), ("晚上", 20, "pm"), ("晚间", 20, "pm"),
    ("今晚", 20, "pm"), ("昨晚", 20, "pm"), ("夜里", 22, "pm"), ("夜间", 22, "pm"),
    ("昨夜", 22, "pm"), ("半夜", 0, "night"), ("深夜", 23, "night"), ("午夜", 0, "night"),
    ("morning", 9, "am"), ("noon", 12, "noon"), ("afternoon", 15, "pm"),
    ("evening", 19, "pm"), ("tonight", 20, "pm"), ("night", 21, "pm"),
)
_ZH_WEEKDAY_RE = re.compile(r"(上|这|本)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])")
_EN_WEEKDAY_RE = re.compile(r"\b(?:(last|this|on)\s+)?(" + "|".join(_EN_WEEKDAYS) + r")\b")
_CN_RUN_RE = re.compile(f"[{_CN_NUMERAL_CHARS}]+")
_REL_ZH_RE = re.compile(
    r"(\d+(?:\.\d+)?|半|几)\s*个?\s*多?\s*(半)?\s*(小时|钟头|分钟|分|秒钟|秒|天|日|周|星期|礼拜|月)"
    r"\s*(?:以|之)?前"
)
_EN_COUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "several": 3, "a few": 3,
    "a couple of": 2, "a couple": 2, "half an": 0.5, "half a": 0.5,
}
_REL_EN_RE = re.compile(
    r"(\d+(?:\.\d+)?|half an?|a few|a couple(?: of)?|[a-z]+)\s*"
    r"(seconds?|secs?|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|months?)\s+ago"
)
_REL_UNITS: dict[str, timedelta] = {
    "秒": timedelta(seconds=1), "秒钟": timedelta(seconds=1), "分": timedelta(minutes=1),
    "分钟": timedelta(minutes=1), "小时": timedelta(hours=1), "钟头": timedelta(hours=1),
    "天": timedelta(days=1), "日": timedelta(days=1), "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1), "礼拜": timedelta(weeks=1), "月": timedelta(days=30),
    "s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1),
    "d": timedelta(days=1), "w": timedelta(weeks=1),
}
_EN_MONTH_NUMBERS = {name[:3]: i for i, name in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_MONTH_NAME = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


def normalise_time(
    text: str, language: str | None = None, now: datetime | None = None
) -> datetime | None:
    """The moment a time written by a user refers to, or ``None``.

    ``text`` is a time fact as written ("昨天晚上9点", "3 hours ago"); ``language``
    (``"zh"`` or ``"en"``) is tried first; ``now`` is the moment the message was
    sent (default: the current time, with the same tzinfo as the result).
    dateparser reads it first, preferring the past; what it cannot read
    (many Chinese forms: 昨天晚上9点, 上周三下午, 三个小时前, 刚才) is read by a small
    parser of our own: a day (offset, weekday or date), a part of the day
    (晚上 alone → 20:00, "evening" → 19:00) and a clock time, never in the future
    unless the day is named.
    """
    import dateparser

    now = now or datetime.now()
    languages = ["en", "zh"] if language == "en" else ["zh", "en"]
    settings = {"PREFER_DATES_FROM": "past", "RELATIVE_BASE": now}
    try:
        parsed = dateparser.parse(text, languages=languages, settings=settings)
    except (ValueError, OverflowError):  # pragma: no cover - dateparser's own edge cases
        parsed = None
    if parsed is not None:
        if now.tzinfo is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=now.tzinfo)
        return parsed
    return _own_time(text, now)


def _own_time(text: str, now: datetime) -> datetime | None:
    """Read a time with our own rules (see ``normalise_time``)."""
    s = " ".join(text.lower().split())
    if re.search(r"刚才|刚刚|just now|a moment ago|moments ago", s):
        return now
    weekday_zh = _ZH_WEEKDAY_RE.search(s)
    if weekday_zh:  # read before numerals are converted: 周一 is not 周1 of a number
        s = s[:weekday_zh.start()] + " " + s[weekday_zh.end():]
    s = _CN_RUN_RE.sub(lambda m: str(cn_to_int(m.group())), s)

    relative = _relative(s)
    if relative is not None:
        return now - relative

    today = now.date()
    day = None
    named_day = False
    for word, offset in _ZH_DAY_OFFSETS:
        if word in s:
            day, named_day = today + timedelta(days=offset), True
            break
    if weekday_zh:
        prefix, char = weekday_zh.groups()
        index = "一二三四五六".find(char) if char in "一二三四五六" else (
            6 if char in "日天7" else int(char) - 1)
        monday = today - timedelta(days=today.weekday())
        if prefix == "上":
            day = monday - timedelta(days=7) + timedelta(days=index)
        elif prefix in ("这", "本"):
            day = monday + timedelta(days=index)
        else:
            day = today - timedelta(days=(today.weekday() - index) % 7)
        named_day = True
    weekday_en = _EN_WEEKDAY_RE.search(s)
    if weekday_en:
        prefix, name = weekday_en.groups()
        back = (today.weekday() - _EN_WEEKDAYS.index(name)) % 7
        if prefix == "last" and back == 0:
            back = 7
        day, named_day = today - timedelta(days=back), True
    explicit = _explicit_date(s, now)
    if explicit:
        day, named_day = explicit, True
    if day is None and re.search(r"上周|上星期|上礼拜|last week", s):
        day, named_day = today - timedelta(days=7), True

    hour_minute, extra_days = _clock(s)
    if day is None and hour_minute is None:
        return None
    base = datetime.combine(day or today, time(0, 0), tzinfo=now.tzinfo)
    hour, minute = hour_minute or (0, 0)
    result = base + timedelta(days=extra_days, hours=hour, minutes=minute)
    if not named_day and result > now:
        result -= timedelta(days=1)
    return result


def _relative(s: str) -> timedelta | None:
    match = _REL_ZH_RE.search(s)
    if match:
        count_text, half, unit = match.groups()
        count = {"半": 0.5, "几": 3.0}.get(count_text) or float(count_text)
        return _REL_UNITS[unit] * (count + (0.5 if half else 0))
    match = _REL_EN_RE.search(s)
    if match:
        count_text, unit = match.groups()
        count = _EN_COUNTS.get(count_text)
        if count is None:
            try:
                count = float(count_text)
            except ValueError:
                return None
        key = unit if unit in _REL_UNITS else unit[0]
        if unit.startswith("mo"):
            return timedelta(days=30) * count
        return _REL_UNITS[key] * count
    return None


def _explicit_date(s: str, now: datetime) -> date | None:
    """A date written out in ``s``, in the past when the year or month is left out."""
    today = now.date()
    try:
        full = re.search(r"((?:19|20)\d\d)\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})", s)
        if full:
            return today.replace(year=int(full[1]), month=int(full[2]), day=int(full[3]))
        month_day = re.search(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?", s)
        if not month_day:
            month_day = re.search(r"(?<![\d:])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])", s)
        en = re.search(rf"(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME}", s)
        en_after = re.search(rf"{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", s)
        month = day = None
        if month_day:
            month, day = int(month_day[1]), int(month_day[2])
        elif en:
            month, day = _EN_MONTH_NUMBERS[en[2]], int(en[1])
        elif en_after:
            month, day = _EN_MONTH_NUMBERS[en_after[1]], int(en_after[2])
        if month and day:
            found = today.replace(month=month, day=day)
            return found if found <= today else found.replace(year=today.year - 1)
        only_day = re.search(r"(\d{1,2})\s*[日号]", s)
        if only_day:
            found = today.replace(day=int(only_day[1]))
            if found > today:
                previous = today.replace(day=1) - timedelta(days=1)
                found = previous.replace(day=int(only_day[1]))
            return found
    except ValueError:  # 2月30日
        return None
    return None


def _clock(s: str) -> tuple[tuple[int, int] | None, int]:
    """(hour, minute) written or implied by a part of the day, and a day carried over."""
    part = next(((h, kind) for word, h, kind in _DAY_PARTS if word in s), None)
    hour = minute = None
    meridiem = None
    en = re.search(r"(\d{1,2})(?:\s*:\s*(\d{2}))?\s*([ap])\.?\s*m\b\.?", s)
    colon = re.search(r"(\d{1,2})\s*[:：]\s*(\d{2})", s)
    zh = re.search(r"(\d{1,2})\s*[点時时](?:\s*(\d{1,2})\s*分?|\s*(半))?", s)
    oclock = re.search(r"(\d{1,2})\s*o\s*['’]\s*clock", s)
    if en:
        hour, minute, meridiem = int(en[1]), int(en[2] or 0), en[3]
    elif colon:
        hour, minute = int(colon[1]), int(colon[2])
    elif zh:
        hour = int(zh[1])
        minute = 30 if zh[3] else int(zh[2] or 0)
    elif oclock:
        hour, minute = int(oclock[1]), 0
    if hour is None:
        return ((part[0], 0), 0) if part else (None, 0)
    if hour > 24 or minute > 59:
        return None, 0
    extra = 0
    kind = "pm" if meridiem == "p" else "am" if meridiem == "a" else part[1] if part else None
    if kind == "pm" and hour < 12:
        hour += 12
    elif kind == "noon" and hour < 6:
        hour += 12
    elif kind == "am" and meridiem and hour == 12:
        hour = 0
    elif (kind == "pm" and hour == 12 and not meridiem) or (kind == "night" and hour == 12):
        hour, extra = 0, 1  # 晚上12点 is midnight at the end of that day
    if hour == 24:
        hour, extra = 0, 1
    return (hour, minute), extra
