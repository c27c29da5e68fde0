"""Tell Chinese from English in a short chat message.

Users of a Chinese wallet often write Chinese with English terms mixed in
("USDT提币一直pending"), and English speakers sometimes quote a Chinese word.
Tickers, hashes, addresses and app jargon are therefore not counted as
English words; what is left decides.
"""

from __future__ import annotations

import re
from typing import Literal

from support_core.patterns import EMAIL_IN_TEXT_RE, count_han, looks_like_address

Language = Literal["zh", "en"]

_TAG_RE = re.compile(r"<[^<>]{0,200}>")
# Values carry no language of their own: an e-mail address ("li.wei@example.com") or a
# link typed by a Chinese user is not English prose, and must not switch the chat.
_URL_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|(?<![A-Za-z0-9.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|io|app|xyz|info|cn)"
    r"(?:/\S*)?(?![A-Za-z0-9])",
    re.I,
)
# Whole Latin words only: fragments of hashes and addresses ("0x3fa9…") are not words.
_LATIN_WORD_RE = re.compile(r"(?<![0-9A-Za-z])[A-Za-z][A-Za-z']*(?![0-9A-Za-z])")
# One-word replies a Chinese speaker types as often as an English one ("yes", "thx"):
# alone they answer the bot's question and say nothing about the conversation's language.
_SHORT_REPLIES = frozenset(
    "yes no yeah yep nope ok okay sure thanks thx ty bye y n".split()
)
# Words a Chinese speaker commonly types in Latin letters inside Chinese text.
_NEUTRAL_WORDS = frozenset(
    """
    app apps ok okay okx wallet web id tx txid hash gas fee pending swap dex defi nft kyc
    usdt usdc btc eth trx sol bnb okb matic arb op ton doge ltc xrp dai trc erc bep
    trc20 erc20 bep20 polygon arbitrum optimism solana tron ethereum bitcoin layer
    google sms email e-mail iphone android ios apk bug vpn wifi ui api
    """.split()
)


def detect_language(text: str) -> Language | None:
    """Return ``"zh"`` or ``"en"``, or ``None`` when the text gives no clue.

    ``None`` (emoji, numbers, a bare hash) lets the caller keep the language
    the conversation already has.
    """
    if not text:
        return None
    # Markup ("<img src=x>") is not the user's language either.
    text = _TAG_RE.sub(" ", text)
    text = _URL_RE.sub(" ", EMAIL_IN_TEXT_RE.sub(" ", text))
    han = count_han(text)
    # An address can be all letters (TRON, base58): it is a value, not an English word.
    words = [w for w in _LATIN_WORD_RE.findall(text) if not looks_like_address(w)]
    # Tickers in capitals (PEPE, WBTC) are not English, nor are the jargon words.
    english = [
        w for w in words if w.lower() not in _NEUTRAL_WORDS and not (w.isupper() and len(w) > 1)
    ]
    # English placeholders of the secret guard are ours, not the user's words (Chinese
    # users often have English seed phrases); the Chinese placeholder counts as Chinese.
    english_count = len(english) - 3 * text.count("[redacted ")
    if han == 0:
        # Only tickers and jargon ("OK", "USDT") say nothing about the language, nor
        # does a bare "yes" or "thanks".
        if all(w.lower() in _SHORT_REPLIES for w in english):
            return None
        return "en" if english_count > 0 else None
    # A Chinese word is ~1.5 characters: Chinese wins unless clearly outnumbered.
    return "zh" if han >= 1.5 * max(english_count, 0) else "en"
