"""Error messages the app showed, as the user quotes or reports them.

Two ways in: a message in quote marks (提示“余额不足”), or the words after a
cue (报错：余额不足, it says insufficient funds). Chat around the message
("了", "but what do I do?") is trimmed off; a person saying something is no
error message.
"""

from __future__ import annotations

import re

from support_core.facts.spans import FactSpan
from support_core.facts.token_patterns import Pattern, en, zh
from support_core.facts.tokens import MessageTokens
from support_core.facts.vocabulary import ERROR_KEYWORDS, PEOPLE, QUOTES
from support_core.patterns import HAN_RE

_QUOTE_CHARS = sorted({ch for pair in QUOTES for ch in pair})
_CLAUSE_END = [*"。！？!?.,，;；…~～", "……"]
_SEPARATORS = [":", "：", ",", "，"]
_NOT_SHOWN_BEFORE = ("不", "没", "未", "根据", "按照", "按")
_ERROR_LEAD_RE = re.compile(r"^(?:了)?(?:说|是|的是|为|道)?[:：\s]*|^that\s+", re.IGNORECASE)
_ERROR_STOP_RE = re.compile(
    r"\s+(?:but|because|so|although|though|and then|what|how|why|please|pls)\b"
    r"|但是|可是|然后|所以|怎么|为什么|是什么|什么意思|请问|不知道|咋",
    re.IGNORECASE,
)
_ERROR_TRAIL_RE = re.compile(r"[\s了的啊呀吗呢啦哦哈嘛]+$")
# What a transaction's status line says is no error: "显示‘已完成’但没到账" quotes a
# status, and an agent must not read "Error shown: 已完成".
_STATUS_WORDS = frozenset(
    """
    已完成 完成 成功 已成功 交易成功 转账成功 提币成功 充值成功 已到账 到账 处理中 审核中 待确认
    确认中 已确认 等待确认 进行中 已提交 已发送 pending completed complete success successful
    succeeded confirmed processing done sent submitted
    """.split()
)


def quote_patterns() -> list[Pattern]:
    """One token pattern per kind of quote marks: an opening mark, text, its closing mark."""
    return [
        [{"ORTH": open_}, {"ORTH": {"NOT_IN": [close]}, "OP": "+"}, {"ORTH": close}]
        for open_, close in QUOTES
    ]


def keyword_patterns() -> list[tuple[int, list[Pattern]]]:
    """For each cue in ``ERROR_KEYWORDS``: its length in tokens and its token patterns.

    The patterns match the cue and what follows it up to the end of the clause;
    ``error_after`` then decides what of that is the message.
    """
    content_start = {"ORTH": {"NOT_IN": _CLAUSE_END + _QUOTE_CHARS + _SEPARATORS},
                     "IS_SPACE": False}
    content = {"ORTH": {"NOT_IN": _CLAUSE_END + _QUOTE_CHARS}, "IS_SPACE": False}
    found: list[tuple[int, list[Pattern]]] = []
    for keyword in ERROR_KEYWORDS:
        kw = zh(keyword) if HAN_RE.match(keyword) else en(keyword)
        found.append((len(kw), [
            [*kw, content_start, {**content, "OP": "*"}],
            [*kw, {"ORTH": {"IN": _SEPARATORS}}, {**content, "OP": "+"}],
        ]))
    return found


def error_after(m: MessageTokens, start: int, end: int, keyword_len: int) -> FactSpan | None:
    """The error message in tokens ``start:end``, which begin with a cue of ``keyword_len``."""
    words = m.words
    keyword = words[start].lower()
    if keyword.isascii():
        previous = [w for w in words[max(start - 2, 0):start] if not w.isspace()]
        if keyword in ("says", "said", "shows", "showed") and (
            not previous or previous[-1].lower() in PEOPLE
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


def quoted_errors(m: MessageTokens, quotes: list[tuple[int, int]]) -> list[FactSpan]:
    """Error messages in quotes (token spans of the quotes), pairing marks left to right."""
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
    if stripped.lower().strip("!！.。") in _STATUS_WORDS:
        return None
    start += len(inner) - len(inner.lstrip())
    end = start + len(stripped)
    return FactSpan("error_message", stripped, start, end)
