"""Read a typed reply as one of the choices the bot has just offered.

At "Shall I open a ticket for a human agent?" many users, on a phone most of all,
type instead of tapping: "yes please, open a ticket", or the button's own words
"好的，提交工单". Read without the question, such a message is about tickets (so:
ticket guidance) and the escalation the user asked for is lost. Given the
buttons of the bot's latest turn, :func:`chosen` says which one a typed message
means, or ``None``; :func:`asks_something_else` tells a real question ("how long
does a ticket take?") from an answer, so that a question still gets its answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

AFFIRM = "affirm"
DENY = "deny"
RATE = "rate"

# Leading words that answer a yes/no question, longest first within each list.
# Exceptions come first: they start like an answer but are not one
# ("好像…" = "it seems…", "不知道" = "I don't know").
_NOT_AN_ANSWER_ZH = (
    "好像", "好久", "好多", "好几", "对方", "对于", "对了", "是否", "是不是", "要不要",
    "要多久", "要多少", "不知道", "不清楚", "不确定", "不太懂", "不懂", "没关系",
)
_YES_ZH = (
    "没问题", "不错", "好的", "好啊", "好吧", "好呀", "好滴", "好嘞", "可以", "行啊", "行",
    "是的", "是啊", "是", "对的", "对啊", "对", "嗯嗯", "嗯", "要的", "需要", "确认", "提交",
    "麻烦", "当然", "解决了", "好了", "好",
)
_NO_ZH = (
    "不用", "不要", "不需要", "不必", "不了", "算了", "还没", "没有", "没解决", "没用",
    "不行", "不是", "不对", "否", "没", "不",
)
_YES_EN = frozenset(
    "yes yeah yea yep yup sure ok okay alright please absolutely definitely correct "
    "right confirm confirmed y fine great perfect solved".split()
)
_NO_EN = frozenset("no nope nah not don't dont never nothing n".split())
# "no problem", "not sure": the first word misleads.
_EN_EXCEPTIONS = {
    ("no", "problem"): AFFIRM,
    ("no", "worries"): AFFIRM,
    ("not", "sure"): None,
    ("right", "now"): None,
    ("please", "help"): None,
}

_QUESTION_ZH = (
    "怎么", "怎样", "如何", "为什么", "为啥", "什么", "哪里", "哪儿", "哪个", "多久", "多少",
    "几天", "几个", "吗", "呢", "是否", "能否", "可不可以", "是不是", "有没有", "要不要",
)
_QUESTION_EN = frozenset(
    "how what why where when which who whom whose can could should is are do does did will "
    "would may might".split()
)

_RATING_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
}
_RATING_DIGIT = re.compile(r"(?<![0-9.])([1-5])(?![0-9.])")
_RATING_WORD = re.compile(r"\b(one|two|three|four|five)\b|([一二两三四五])\s*(?:分|星|颗星)")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_KEEP = re.compile(r"[\w']+", re.UNICODE)


@dataclass(frozen=True)
class Choice:
    """One button the bot offered: its intent payload and its title."""

    payload: str
    title: str
    intent: str = field(init=False)
    entities: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        name, _, raw = self.payload.lstrip("/").partition("{")
        entities: dict[str, str] = {}
        if raw:
            try:
                parsed = json.loads("{" + raw)
            except ValueError:
                parsed = {}
            if isinstance(parsed, dict):
                entities = {str(k): str(v) for k, v in parsed.items()}
        object.__setattr__(self, "intent", name.strip())
        object.__setattr__(self, "entities", entities)


def choices_from(raw: object) -> list[Choice]:
    """The intent buttons in ``raw`` (a list of ``{"payload", "title"}``), others dropped.

    Buttons whose payload is plain text ("skip") are already answers as typed.
    """
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        payload, title = item.get("payload"), item.get("title")
        if isinstance(payload, str) and payload.startswith("/") and len(payload) > 1:
            found.append(Choice(payload, title if isinstance(title, str) else ""))
    return found


def normalise(text: str) -> str:
    """Lower case, full-width folded, punctuation, emoji and spaces dropped."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(_KEEP.findall(folded)).replace("_", "")


def _words(text: str) -> list[str]:
    return _LATIN_WORD.findall(unicodedata.normalize("NFKC", text).lower().replace("’", "'"))


def polarity(text: str) -> str | None:
    """``"affirm"`` or ``"deny"`` when the message opens with a yes or a no, else None."""
    words = _words(text)
    compact = normalise(text)
    if words and compact.startswith(words[0]):
        key = tuple(words[:2])
        if key in _EN_EXCEPTIONS:
            return _EN_EXCEPTIONS[key]
        if words[0] in _YES_EN:
            return AFFIRM
        if words[0] in _NO_EN:
            return DENY
        return None
    if any(compact.startswith(w) for w in _NOT_AN_ANSWER_ZH):
        return None
    yes = next((w for w in _YES_ZH if compact.startswith(w)), None)
    no = next((w for w in _NO_ZH if compact.startswith(w)), None)
    if yes and (not no or len(yes) >= len(no)):
        return AFFIRM
    return DENY if no else None


def asks_something_else(text: str) -> bool:
    """Whether the message is a question of its own rather than an answer."""
    if "?" in text or "？" in text:
        return True
    compact = normalise(text)
    if any(w in compact for w in _QUESTION_ZH):
        return True
    words = _words(text)
    return bool(words) and words[0] in _QUESTION_EN


def rating_in(text: str) -> int | None:
    """A score from 1 to 5 typed as a digit, a word ("five", "五分") or stars."""
    stars = text.count("⭐") + text.count("★")
    if 1 <= stars <= 5:
        return stars
    lowered = unicodedata.normalize("NFKC", text).lower()
    digits = {int(d) for d in _RATING_DIGIT.findall(lowered)}
    if len(digits) == 1:
        return digits.pop()
    words = {_RATING_WORDS[a or b] for a, b in _RATING_WORD.findall(lowered)}
    return words.pop() if len(words) == 1 else None


def _by_title(text: str, choices: Sequence[Choice]) -> Choice | None:
    compact = normalise(text)
    if not compact:
        return None
    exact = [c for c in choices if normalise(c.title) == compact]
    if len(exact) == 1:
        return exact[0]
    # The whole title inside a longer message ("好的，提交工单吧").
    inside = [c for c in choices if len(normalise(c.title)) >= 2 and normalise(c.title) in compact]
    return inside[0] if len(inside) == 1 else None


def _single(choices: Iterable[Choice], intent: str) -> Choice | None:
    matching = [c for c in choices if c.intent == intent]
    return matching[0] if len(matching) == 1 else None


def chosen(text: str, choices: Sequence[Choice], predicted: str | None = None) -> Choice | None:
    """The offered choice a typed ``text`` means, or None.

    In order: a button's title (alone or inside the message), a score where
    scores are offered, a leading yes or no where yes/no buttons are offered,
    and last the classifier's own reading (``predicted``) when it names one of
    the offered intents.
    """
    if not choices or not text.strip():
        return None
    by_title = _by_title(text, choices)
    if by_title is not None:
        return by_title
    if any(c.intent == RATE for c in choices):
        score = rating_in(text)
        if score is not None:
            rated = [c for c in choices if c.entities.get("csat") == str(score)]
            if rated:
                return rated[0]
    answer = polarity(text)
    if answer is not None:
        picked = _single(choices, answer)
        if picked is not None:
            return picked
    return _single(choices, predicted) if predicted else None
