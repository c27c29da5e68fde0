"""Whether a 64-hex string in a message is a transaction hash or a private key.

Both are 64 hex digits; only the words around tell them apart
(docs/design.md, "Secrets never stay"). In order:

1. Part of a URL (a block explorer's ``/tx/…``, ``#/transaction/…``,
   ``?txid=…``, on any host): a hash. Nobody pastes a private key into an
   explorer's address bar; a URL parameter named like a key is the exception.
2. A label right before it ("私钥：", "tx hash = ", "my private key is"): that label.
3. Otherwise the nearest label within a short window, after negated labels
   ("not my private key", "不是私钥") are taken out: they name what the value
   is *not*, so they must not count as naming it.
4. No label: the caller decides (a key, unless the bot asked for a hash).
"""

from __future__ import annotations

import re
from typing import Literal

Role = Literal["hash", "key"]

_WINDOW_BEFORE = 40
_WINDOW_AFTER = 20

_HASH_WORDS = (
    r"tx\s*id|txid|txn|tx\s*hash|hash|transaction\s*(?:id|hash)|哈希|交易\s*id|交易号|交易\s*hash"
    r"|交易编号|交易編號|区块浏览器|區塊瀏覽器|explorer|signature|签名|簽名"
)
_KEY_WORDS = (
    r"private\s*key|priv\s*key|secret\s*key|(?<![A-Za-z])(?:key|wif|seed)(?![A-Za-z])"
    r"|私钥|私鑰|密钥|密鑰|秘钥|私匙|keystore"
)
_HASH_LABEL_RE = re.compile(f"(?:{_HASH_WORDS})", re.IGNORECASE)
_KEY_LABEL_RE = re.compile(f"(?:{_KEY_WORDS})", re.IGNORECASE)

# "not my private key", "isn't the hash", "不是私钥", "并非我的私钥": a label
# that says what the value is not.
_NEGATION = (
    r"(?:(?<![A-Za-z])(?:not|isn['’]?t|aren['’]?t|wasn['’]?t|never|nor|rather\s+than"
    r"|instead\s+of)\s+(?:(?:my|a|an|the|your|any|our|this|that)\s+)?"
    r"|(?:不是|并非|並非|并不是|並不是|而不是|而非|非|不属于|不屬於)\s*(?:我的|你的|我|一个|一個)?\s*)"
)
_NEGATED_RE = re.compile(f"{_NEGATION}(?:{_HASH_WORDS}|{_KEY_WORDS})", re.IGNORECASE)

# What may stand between a label and the value it labels directly.
_DIRECT_GAP_RE = re.compile(
    r"^[\s:：=＝\-–—>→(（\[【\"'“‘]*(?:is|was|=|是|为|為|就是)?[\s:：=＝\-–—>→\"'“‘]*$",
    re.IGNORECASE,
)

# A URL: a scheme and host, or a host with a top-level domain, then a path,
# query or fragment. Only URL characters, so "…/tx/0x…，谢谢" ends at the comma.
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL_RE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9\-._~%@:\[\]]+"
    r"|(?<![A-Za-z0-9\-.])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?::\d+)?)"
    rf"[/?#]{_URL_CHARS}*"
)
# The path segment or parameter name right before the value, when it names a key.
_URL_KEY_NAME_RE = re.compile(
    r"(?:^|[/?&#;])(?:priv(?:ate)?[_\-]?key|privkey|pkey|pk|secret|secret[_\-]?key|seed|wif"
    r"|mnemonic|key)[/=:]?$",
    re.IGNORECASE,
)


def _url_role(text: str, start: int, end: int) -> Role | None:
    """'hash' when the value is part of a URL, 'key' when the URL names it a key."""
    line_start = max(text.rfind(ch, 0, start) for ch in " \t\r\n\u3000") + 1
    for url in _URL_RE.finditer(text, line_start, min(len(text), end + 1)):
        if url.start() < start and end <= url.end():
            return "key" if _URL_KEY_NAME_RE.search(text[url.start() : start]) else "hash"
    return None


def _blanked(text: str, ignore: tuple[str, ...]) -> str:
    """``text`` with the ``ignore`` strings and the negated labels blanked out."""
    for word in ignore:
        text = text.replace(word, " " * len(word))
    return _NEGATED_RE.sub(lambda m: " " * len(m.group()), text)


def hex_role(text: str, start: int, end: int, *, ignore: tuple[str, ...] = ()) -> Role | None:
    """What the words around ``text[start:end]`` call it: 'hash', 'key', or None.

    ``ignore`` lists strings that label nothing although they contain a label
    word (the guard's own placeholders: "[redacted seed phrase]" is no seed).
    """
    return hex_roles(text, [(start, end)], ignore=ignore)[0]


def hex_roles(
    text: str, spans: list[tuple[int, int]], *, ignore: tuple[str, ...] = ()
) -> list[Role | None]:
    """``hex_role`` of each ``(start, end)`` of one text.

    The negated labels are blanked out once for all, not once per value: a
    message of 4,000 characters holds some 60 of them.
    """
    blanked: str | None = None
    roles: list[Role | None] = []
    for start, end in spans:
        role = _url_role(text, start, end)
        if role is None:
            if blanked is None:
                blanked = _blanked(text, ignore)
            role = _label_role(blanked, start, end)
        roles.append(role)
    return roles


def _label_role(blanked: str, start: int, end: int) -> Role | None:
    """The role the nearest label gives the value at ``start:end`` (labels: see above)."""
    before_start = max(0, start - _WINDOW_BEFORE)
    before = blanked[before_start:start]
    after = blanked[end : end + _WINDOW_AFTER]

    labels: tuple[tuple[Role, re.Pattern[str], int], ...] = (
        ("key", _KEY_LABEL_RE, 0),  # on a tie the key label wins: when in doubt, redact
        ("hash", _HASH_LABEL_RE, 1),
    )
    best: tuple[int, int, Role] | None = None  # (distance, tie-break, label)
    for role, regex, rank in labels:
        for m in regex.finditer(before):
            if _DIRECT_GAP_RE.match(before[m.end() :]):
                # A label right before the value names it, whatever stands further off.
                return role
            candidate = (len(before) - m.end(), rank, role)
            best = candidate if best is None or candidate < best else best
        for m in regex.finditer(after):
            candidate = (m.start(), rank, role)
            best = candidate if best is None or candidate < best else best
    return best[2] if best else None
