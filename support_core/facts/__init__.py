"""Find the wallet facts a support agent needs in a user's message.

Assets, networks, amounts, transaction hashes, addresses, times and quoted
error messages, found by spaCy rule-based matching (a blank pipeline, no
learned model) in Chinese, English and mixed text. They feed the NLU entities
and the problem summary. Secrets are removed before any text reaches here.

Normalised values: amount ``"500 USDT"`` (every digit kept, no exponent), asset
``"USDT"``, network ``"TRON"``; tx_hash, address, time and error_message as the
user wrote them (``normalise_time`` reads a time).

The modules, in the order a message goes through them:

* ``vocabulary``: the words known (assets, networks, time words, error cues).
* ``tokens``: the tokenizer (one token per Han character) and token offsets.
* ``token_patterns``: building blocks of the ``Matcher``'s token patterns.
* ``numbers``: Chinese and Arabic numbers, scales, amounts.
* ``time_spans``: where a message names a time.
* ``error_messages``: quoted or reported error messages.
* ``spans``: the result type and which of overlapping matches is kept.
* ``matcher``: the spaCy pipeline that puts these together (built on first use).
* ``find``: ``find_facts``, the entry point.
* ``times``: the moment a time fact refers to.
"""

from __future__ import annotations

from support_core.facts.find import ENTITIES, Fact, find_facts
from support_core.facts.matcher import FactMatcher, get_fact_matcher, match_facts
from support_core.facts.numbers import cn_to_int, format_amount
from support_core.facts.spans import FactSpan
from support_core.facts.times import normalise_time
from support_core.facts.tokens import HanCharTokenizer, split_words
from support_core.facts.vocabulary import (
    AMBIGUOUS_ASSETS,
    AMBIGUOUS_NETWORKS,
    ASSETS,
    COUNTABLE_ASSETS,
    NETWORKS,
    TIME_WORDS,
)

__all__ = [
    "AMBIGUOUS_ASSETS",
    "AMBIGUOUS_NETWORKS",
    "ASSETS",
    "COUNTABLE_ASSETS",
    "ENTITIES",
    "NETWORKS",
    "TIME_WORDS",
    "Fact",
    "FactMatcher",
    "FactSpan",
    "HanCharTokenizer",
    "cn_to_int",
    "find_facts",
    "format_amount",
    "get_fact_matcher",
    "match_facts",
    "normalise_time",
    "split_words",
]
