"""Where a message names a time: the token patterns of its parts, and which parts count.

The ``Matcher`` finds parts ("昨天", "晚上", "9点", "3 hours ago"); parts next to
each other make one time fact ("昨天晚上9点"). What the patterns over-match (a
25th hour, 一点 meaning "a bit", 晚上好) is dropped here. Reading the moment a
time refers to is ``times.normalise_time``'s job.
"""

from __future__ import annotations

import re

from support_core.facts.numbers import CN_NUMERAL_CHARS, cn_to_int
from support_core.facts.spans import FactSpan, non_overlapping
from support_core.facts.token_patterns import NUM_AR, NUM_CN, Pattern, product, zh
from support_core.facts.tokens import MessageTokens
from support_core.facts.vocabulary import (
    EN_MONTHS,
    EN_NUMBER_WORDS,
    EN_UNITS,
    EN_WEEKDAYS,
    ZH_DAY_PARTS,
)

_NUMS: list[Pattern] = [NUM_AR, NUM_CN]
_YEAR: Pattern = [{"SHAPE": "dddd"}]
_MINUTE: Pattern = [{"SHAPE": "dd"}]
_COLON: Pattern = [{"ORTH": {"IN": [":", "："]}}]
_HH_MM: Pattern = [*NUM_AR, *_COLON, *_MINUTE]

_ZH_REL_UNIT_RE = re.compile(r"(?:小时|钟头|分钟|分|秒钟|秒|天|日|周|星期|礼拜|月)\s*(?:以|之)?前$")


def time_patterns() -> list[Pattern]:
    """Token patterns for the parts a time is written in; adjacent parts are joined later.

    Few patterns on purpose (alternatives folded into IN and "?"), since the
    Matcher's cost grows with their number; what they over-match is checked
    afterwards (``_valid_time``).
    """
    patterns: list[Pattern] = []
    # 周三, 上周三, 上个星期五, 这周一, 礼拜天
    day = {"ORTH": {"IN": list("一二三四五六日天")}}
    prefix: Pattern = [{"ORTH": {"IN": ["上", "这", "本"]}, "OP": "?"}, {"ORTH": "个", "OP": "?"}]
    patterns += product([prefix], [zh("周"), zh("星期"), zh("礼拜")], [[day]])
    # 11月20日, 2026年11月20号, 20号, 20日
    day_mark = [{"ORTH": {"IN": ["日", "号"]}}]
    patterns += product([[], [*_YEAR, {"ORTH": "年"}]], _NUMS, [zh("月")], _NUMS, [day_mark])
    patterns += product(_NUMS, [zh("号")])
    patterns += [[*NUM_AR, {"ORTH": "日"}]]
    # 9点, 九点半, 9点30分, 9点30, 9点钟, 9点多, 15时30分, 21:30
    hour_mark = [{"ORTH": {"IN": ["点", "時", "时"]}}]
    tails: list[Pattern] = [[], [{"ORTH": {"IN": ["半", "钟", "多"]}}]]
    tails += [[*n, {"ORTH": "分", "OP": "?"}] for n in _NUMS]
    patterns += product(_NUMS, [hour_mark], tails)
    patterns += [_HH_MM]
    # 三个小时前, 3小时前, 半小时前, 一个半小时前, 三个多小时前, 十分钟以前, 几天前
    rel_num: list[Pattern] = [
        [{"LIKE_NUM": True}],
        [{"ORTH": {"IN": [*CN_NUMERAL_CHARS, "几"]}, "OP": "+"}],
        zh("半"),
    ]
    units: list[Pattern] = [
        [{"ORTH": {"IN": list("分秒天日周月")}}],
        [{"ORTH": {"IN": list("小钟分秒星礼")}}, {"ORTH": {"IN": list("时头钟期拜")}}],
    ]
    patterns += product(
        rel_num,
        [[{"ORTH": "个", "OP": "?"}, {"ORTH": {"IN": ["多", "半"]}, "OP": "?"}]],
        units,
        [[{"ORTH": {"IN": ["以", "之"]}, "OP": "?"}, {"ORTH": "前"}]],
    )
    # on Monday, last Friday
    opt = "?"
    patterns += [[{"LOWER": {"IN": ["on", "last", "this"]}, "OP": opt},
                  {"LOWER": {"IN": EN_WEEKDAYS}}]]
    # at 9 pm, 9:30pm, around 9 p.m., at 14:30, 9 o'clock
    at = [{"LOWER": {"IN": ["at", "around", "about", "by", "before", "after"]}, "OP": opt}]
    meridiem: list[Pattern] = [
        [{"LOWER": {"IN": ["am", "pm"]}}],
        [{"LOWER": {"IN": ["a", "p"]}}, {"ORTH": "."}, {"LOWER": "m"}, {"ORTH": ".", "OP": opt}],
    ]
    patterns += product([at], [NUM_AR, _HH_MM], meridiem)
    patterns += [[*at, *_HH_MM]]
    patterns += [[*at, *NUM_AR, {"LOWER": "o"}, {"ORTH": {"IN": ["'", "’"]}},
                  {"LOWER": "clock"}]]
    # 3 hours ago, an hour ago, a few minutes ago, a couple of days ago, half an hour ago
    en_num: list[Pattern] = [
        [{"LIKE_NUM": True}],
        [{"LOWER": {"IN": ["a", "half"]}, "OP": opt}, {"LOWER": {"IN": EN_NUMBER_WORDS}}],
        [{"LOWER": "a"}, {"LOWER": "couple"}, {"LOWER": "of", "OP": opt}],
    ]
    patterns += product(en_num, [[{"LOWER": {"IN": EN_UNITS}}, {"LOWER": "ago"}]])
    # 20 Nov, on the 20th of November 2026, Nov 20, 2026, 2026-11-20, 2026/11/20, 11/20(/2026)
    on: Pattern = [{"LOWER": "on", "OP": opt}, {"LOWER": "the", "OP": opt}]
    month = [{"LOWER": {"IN": EN_MONTHS}}]
    ordinal = [{"LOWER": {"IN": ["st", "nd", "rd", "th"]}, "OP": opt}]
    years: list[Pattern] = [[], [{"ORTH": ",", "OP": opt}, *_YEAR]]
    patterns += product(
        [[*on, *NUM_AR, *ordinal, {"LOWER": "of", "OP": opt}, *month],
         [*on, *month, *NUM_AR, *ordinal]],
        years,
    )
    sep = {"ORTH": {"IN": ["-", "/"]}}
    patterns += [[*on, *_YEAR, sep, *NUM_AR, sep, *NUM_AR]]
    patterns += product([[*on, *NUM_AR, {"ORTH": "/"}, *NUM_AR]], [[], [{"ORTH": "/"}, *_YEAR]])
    return patterns


# Parts of a time that do not count on their own: 一点 is also "a bit", "evening" needs a day.
_WEAK_TIME_RE = re.compile(
    r"(?:[一二两]点多?|(?:in the |at )?(?:morning|afternoon|evening|night|noon)|earlier)",
    re.IGNORECASE,
)


def time_facts(m: MessageTokens, parts: list[tuple[int, int]]) -> list[FactSpan]:
    """Time facts from the parts found (token spans): parts next to each other make one."""
    text = m.text
    spans = [(m.starts[s], m.ends[e - 1]) for s, e in parts]
    # Parts found by several patterns may overlap: keep the longest.
    chosen = sorted(
        (a, b) for a, b in non_overlapping(spans)
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
    if before and before in CN_NUMERAL_CHARS and surface.startswith(("周", "星期", "礼拜")):
        return False  # 一周一次: once a week
    return not (surface in ZH_DAY_PARTS and text.startswith("好", end))  # 晚上好


_TIME_NUMBER_CHECKS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"(\d{1,2})\s*[:：]"), 24),
    (re.compile(r"(\d{1,2})\s*月"), 12),
    (re.compile(r"(\d{1,2})\s*[日号]"), 31),
    (re.compile(r"(\d{1,2})\s*[点時时]"), 24),
    (re.compile(r"(?<![:：\d])(\d{1,2})\s*(?:am|pm|a\.m|p\.m)", re.IGNORECASE), 12),
    (re.compile(r"[:：]\s*(\d{2})"), 59),
)
_ANY_NUMBER_RE = re.compile(rf"[\d{CN_NUMERAL_CHARS}]|前")
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?![\d])")
_EN_MONTH_RE = re.compile(r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec", re.IGNORECASE)
_EN_DAY_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\b")
_CN_TIME_NUMBER_RE = re.compile(rf"([{CN_NUMERAL_CHARS}]+)\s*([点时月号日])")
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
