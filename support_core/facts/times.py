"""The moment a time written by a user refers to: "昨天晚上9点", "上周三下午", "3 hours ago".

dateparser reads what it can; the many Chinese forms it cannot read are read
by a small parser of our own (``_own_time``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from support_core.facts.numbers import CN_NUMERAL_CHARS, cn_to_int
from support_core.facts.vocabulary import EN_WEEKDAYS

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
_EN_WEEKDAY_RE = re.compile(r"\b(?:(last|this|on)\s+)?(" + "|".join(EN_WEEKDAYS) + r")\b")
_CN_RUN_RE = re.compile(f"[{CN_NUMERAL_CHARS}]+")
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
        back = (today.weekday() - EN_WEEKDAYS.index(name)) % 7
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
