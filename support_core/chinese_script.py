"""Traditional Chinese to Simplified, so users in Taiwan or Hong Kong are understood too.

The training data is written in Simplified Chinese; "轉帳失敗" and "转账失败" must
reach the classifier as the same words.
"""

from __future__ import annotations

import functools

from opencc import OpenCC


@functools.lru_cache(maxsize=1)
def _converter() -> OpenCC:
    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """``text`` with Traditional characters and phrases in their Simplified form."""
    if text.isascii():
        return text
    return str(_converter().convert(text))
