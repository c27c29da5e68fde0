"""Numbers as users write them (``1,200.50``, ``两千五``, ``2k``) and the amounts they make."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from support_core.facts.spans import FactSpan
from support_core.facts.tokens import MessageTokens

_CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "十百千万"
# Scale words after a number: 2k, 3w (万), 1.5万, 5千.
SCALES: dict[str, int] = {"k": 1000, "w": 10_000, "万": 10_000, "千": 1000, "百": 100}
# Beyond this a "number" is an id or a typo, not an amount anyone sent.
_MAX_AMOUNT = Decimal(10) ** 15


def cn_to_int(text: str) -> int | None:
    """Read a Chinese numeral: ``两千五百`` → 2500, ``两千五`` → 2500, ``二〇二六`` → 2026.

    Returns ``None`` for anything that is not a Chinese numeral.
    """
    if not text or any(ch not in CN_NUMERAL_CHARS for ch in text):
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


def parse_number(text: str) -> Decimal | None:
    """A Chinese numeral or a decimal number (thousands commas allowed), else ``None``."""
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


def amount_facts(
    m: MessageTokens, number_start: int, number_end: int, asset_start: int, asset_end: int,
    asset_value: str,
) -> tuple[FactSpan, FactSpan] | None:
    """The amount made of a number and an asset (in either order), and that asset.

    Tokens ``number_start:number_end`` hold the number with its scale word and
    any 个 or blanks; ``None`` when they do not read as a plausible amount.
    """
    tokens = [t for t in m.words[number_start:number_end] if t != "个" and not t.isspace()]
    scale = 1
    if len(tokens) > 1 and tokens[-1].lower() in SCALES and not cn_to_int(tokens[-1]):
        scale = SCALES[tokens.pop().lower()]
    elif len(tokens) == 2 and tokens[-1] in SCALES and cn_to_int(tokens[0]) is None:
        scale = SCALES[tokens.pop()]  # 1.5万, 5千
    value = parse_number("".join(tokens))
    if value is None:
        return None
    value *= scale
    if value >= _MAX_AMOUNT:
        return None
    start = min(number_start, asset_start)
    end = max(number_end, asset_end)
    amount = m.fact("amount", f"{format_amount(value)} {asset_value}", start, end)
    return amount, m.fact("asset", asset_value, asset_start, asset_end)
