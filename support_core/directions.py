"""Which way the money moved, in the user's own words: out (提币) or in (充值).

The two problems read alike ("USDT 提币没到账" / "USDT 充值没到账") and differ by
one word, so a classifier trained on both still mixes them up now and then. A
user who wrote 提币 (withdrawal) must never be answered, or have a ticket titled,
as if it were a 充值 (deposit), and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WITHDRAWAL = "withdrawal_failed"
DEPOSIT = "deposit_not_received"

_WITHDRAWAL_WORDS = re.compile(r"(提币|提幣|提现|提現|取出|withdr[ae]w)", re.IGNORECASE)
_DEPOSIT_WORDS = re.compile(r"(充值|充幣|充币|入金|存入|top[\s-]?up|deposit)", re.IGNORECASE)


def direction_in(text: str) -> str | None:
    """:data:`WITHDRAWAL` or :data:`DEPOSIT` when the words name only one of them."""
    withdrawal = bool(_WITHDRAWAL_WORDS.search(text))
    deposit = bool(_DEPOSIT_WORDS.search(text))
    if withdrawal == deposit:
        return None
    return WITHDRAWAL if withdrawal else DEPOSIT


def consistent_problem(intent: str | None, texts: Iterable[str]) -> str | None:
    """``intent``, unless it is one direction and the user's words name only the other."""
    if intent not in (WITHDRAWAL, DEPOSIT):
        return intent
    said = {direction_in(text) for text in texts} - {None}
    return said.pop() if len(said) == 1 else intent
