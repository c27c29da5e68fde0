"""spaCy rule-based matching of wallet facts in Chinese, English and mixed chat text.

A blank multilingual pipeline (``spacy.blank("xx")``, no downloaded model) with
the ``HanCharTokenizer`` (``tokens``). On top of it a ``PhraseMatcher``
(attribute ``LOWER``) finds asset and network names and time words
(``vocabulary``), and a ``Matcher`` with token patterns finds amounts,
transaction hashes, addresses, times (``time_spans``) and error messages
(``error_messages``). Overlaps between kinds are settled by length, the
longest match wins (``spans.resolve``); an asset keeps its place inside the
amount it belongs to.

Nothing is built at import time: the pipeline is made on first use and cached
(``get_fact_matcher``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from support_core.facts import vocabulary
from support_core.facts.error_messages import (
    error_after,
    keyword_patterns,
    quote_patterns,
    quoted_errors,
)
from support_core.facts.numbers import SCALES, amount_facts, parse_number
from support_core.facts.spans import FactSpan, longest_first, resolve
from support_core.facts.time_spans import time_facts, time_patterns
from support_core.facts.token_patterns import NUM_CN, Pattern, product
from support_core.facts.tokens import HanCharTokenizer, MessageTokens, split_words
from support_core.patterns import ADDRESS_PATTERN, HAN_RE

if TYPE_CHECKING:
    from spacy.tokens import Doc

# An EVM transaction hash (0x + 64 hex) or a bare one (Bitcoin, TRON, ...).
_TX_HASH_PATTERN = r"^(?:0[xX])?[0-9a-fA-F]{64}$"
_U_WORDS = frozenset("盘盾型形字")  # U盘 (USB drive), U盾 (USB key), U型
_NOT_AFTER_AMOUNT = frozenset("个次笔天号点分秒小时年月日周块元多%％/-xX")

Candidates = list[tuple[FactSpan, FactSpan | None]]


class FactMatcher:
    """Finds wallet facts with a blank spaCy pipeline, a PhraseMatcher and a Matcher."""

    def __init__(
        self,
        assets: Mapping[str, str],
        networks: Mapping[str, str],
        ambiguous_assets: Collection[str] = (),
        countable_assets: Collection[str] = (),
        ambiguous_networks: Collection[str] = (),
    ) -> None:
        """Build the pipeline and its matchers.

        ``assets`` and ``networks`` map lower-case names (any language) to the
        normalised value. ``ambiguous_assets`` are tickers that are also
        ordinary words: alone they count only in capitals; ``countable_assets``
        (``link``, ``dot``...) are ambiguous words that in lower case do not even
        make an amount ("2 link" counts links). ``ambiguous_networks`` count in
        capitals or title case ("Base").
        """
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.ambiguous_assets = frozenset(ambiguous_assets)
        self.countable_assets = frozenset(countable_assets)
        self.ambiguous_networks = frozenset(ambiguous_networks)
        self.nlp = spacy.blank("xx")
        glued = frozenset(k for k in assets if k.isascii() and k.isalpha())
        self.tokenizer = HanCharTokenizer(self.nlp.vocab, glued)
        self.nlp.tokenizer = self.tokenizer
        strings = self.nlp.vocab.strings

        self.phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._phrase_keys: dict[int, tuple[str, str]] = {}
        for entity, names in (("asset", assets), ("network", networks)):
            by_value: dict[str, list[str]] = {}
            for name, value in names.items():
                by_value.setdefault(value, []).append(name)
            for value, group in by_value.items():
                key = f"{entity}:{value}"
                self.phrases.add(key, [self.nlp.make_doc(name) for name in group])
                self._phrase_keys[strings.add(key)] = (entity, value)

        self.phrases.add("time", [self.nlp.make_doc(word) for word in vocabulary.TIME_WORDS])
        self._phrase_keys[strings.add("time")] = ("time", "")

        self.matcher = Matcher(self.nlp.vocab)
        asset: Pattern = [
            {"ENT_TYPE": "ASSET", "ENT_IOB": "B"},
            {"ENT_TYPE": "ASSET", "ENT_IOB": "I", "OP": "*"},
        ]
        number: list[Pattern] = [
            [{"LIKE_NUM": True}, {"LOWER": {"IN": list(SCALES)}, "OP": "?"}],
            NUM_CN,
        ]
        # "500  USDT", "500　USDT" (ideographic space): whitespace tokens, but not a new line.
        gap = {"ORTH": {"IN": [" ", "  ", "\t", "\u3000", "\u3000\u3000"]}, "OP": "?"}
        unit: Pattern = [gap, {"ORTH": "个", "OP": "?"}, gap]
        self.matcher.add("AMOUNT", product(number, [unit], [asset]), greedy="LONGEST")
        self.matcher.add(
            "AMOUNT_AFTER",
            product([asset], [[{"ORTH": {"IN": [":", "："]}, "OP": "?"}]], number),
            greedy="LONGEST",
        )
        # One REGEX predicate per kind: each is a Python call for every token.
        self.matcher.add("TX_HASH", [[{"TEXT": {"REGEX": _TX_HASH_PATTERN}}]])
        self.matcher.add("ADDRESS", [[{"TEXT": {"REGEX": ADDRESS_PATTERN}}]])
        self.matcher.add("TIME", time_patterns(), greedy="LONGEST")
        for pattern in quote_patterns():
            self.matcher.add("QUOTE", [pattern])
        self._error_keys: dict[int, int] = {}
        for keyword_len, patterns in keyword_patterns():
            label = f"AFTER_{keyword_len}"
            self._error_keys[strings.add(label)] = keyword_len
            self.matcher.add(label, patterns, greedy="LONGEST")
        self._labels = {
            name: strings.add(name)
            for name in ("AMOUNT", "AMOUNT_AFTER", "TX_HASH", "ADDRESS", "TIME", "QUOTE")
        }

    # ------------------------------------------------------------------ matching

    def make_doc(self, text: str) -> Doc:
        """The text as a spaCy ``Doc`` made by the fact matcher's tokenizer."""
        return self.nlp.make_doc(text)

    def match(self, text: str) -> list[FactSpan]:
        """All facts in ``text``, ordered by position (see the module docstring)."""
        if not text or text.isspace():
            return []
        from spacy.tokens import Doc, Span

        # The tokenizer's own steps, keeping the words for offsets without touching the Doc.
        words, spaces = split_words(text, self.tokenizer.glued_units)
        doc = Doc(self.nlp.vocab, words=words, spaces=spaces)
        m = MessageTokens(text, words, spaces)
        candidates: Candidates = []
        time_parts: list[tuple[int, int]] = []
        asset_spans: dict[int, tuple[int, str]] = {}  # start token -> (end token, value)
        network_hits: list[tuple[int, int, str]] = []
        kept_until = 0
        for match_id, start, end in sorted(self.phrases(doc), key=lambda h: (h[1], -h[2])):
            entity, value = self._phrase_keys[match_id]
            if entity == "time":
                time_parts.append((start, end))
            elif entity == "asset":
                if start < kept_until:
                    continue  # inside a longer name already kept
                surface = m.surface(start, end)
                if surface.lower() in self.countable_assets and not surface.isupper():
                    continue
                asset_spans[start] = (end, value)
                kept_until = end
                if self._plausible_asset(m, start, end):
                    candidates.append((m.fact("asset", value, start, end), None))
            else:
                network_hits.append((start, end, value))
        self._add_networks(m, network_hits, candidates)
        if asset_spans:
            doc.ents = [Span(doc, s, e, label="ASSET") for s, (e, _) in asset_spans.items()]

        quotes: list[tuple[int, int]] = []
        errors: list[FactSpan] = []
        labels = self._labels
        for match_id, start, end in self.matcher(doc):
            if match_id == labels["AMOUNT"]:
                self._add_amount(m, start, end, asset_spans, candidates)
            elif match_id == labels["AMOUNT_AFTER"]:
                self._add_amount_after(m, start, end, asset_spans, candidates)
            elif match_id == labels["TX_HASH"]:
                candidates.append((m.fact("tx_hash", words[start], start, end), None))
            elif match_id == labels["ADDRESS"]:
                if not words[start].isdigit():  # an order number is no address
                    candidates.append((m.fact("address", words[start], start, end), None))
            elif match_id == labels["TIME"]:
                time_parts.append((start, end))
            elif match_id == labels["QUOTE"]:
                quotes.append((start, end))
            else:
                fact = error_after(m, start, end, self._error_keys[match_id])
                if fact:
                    errors.append(fact)
        if time_parts:
            candidates.extend((fact, None) for fact in time_facts(m, time_parts))
        if quotes:
            errors.extend(quoted_errors(m, quotes))

        kept = resolve(candidates)
        if errors:
            kept.extend(longest_first(errors))
        kept.sort(key=lambda f: (f.start, f.entity))
        return kept

    def _plausible_asset(self, m: MessageTokens, start: int, end: int) -> bool:
        surface = m.surface(start, end)
        lower = surface.lower()
        if lower not in self.ambiguous_assets:
            return True
        if not surface.isupper():
            return False
        if lower == "u":  # 我的U没了 yes; "can U help", U盘, U盾 no
            words = m.words
            if end < len(words) and words[end] in _U_WORDS:
                return False
            near = [words[i] for i in (start - 1, end) if 0 <= i < len(words)]
            return any(HAN_RE.match(t) for t in near)
        return True

    def _add_networks(
        self, m: MessageTokens, hits: list[tuple[int, int, str]], candidates: Candidates
    ) -> None:
        kept: list[tuple[int, int, str]] = []
        for start, end, value in hits:
            lower = m.surface(start, end).lower()
            if lower == "mainnet" and kept and kept[-1][1] == start:
                # "Arbitrum mainnet" is Arbitrum, not Ethereum.
                kept[-1] = (kept[-1][0], end, kept[-1][2])
                continue
            if lower in self.ambiguous_networks:
                surface = m.surface(start, end)
                if not (surface.isupper() or surface.istitle()):
                    continue
            kept.append((start, end, value))
        candidates.extend((m.fact("network", v, s, e), None) for s, e, v in kept)

    def _add_amount(
        self,
        m: MessageTokens,
        start: int,
        end: int,
        asset_spans: dict[int, tuple[int, str]],
        candidates: Candidates,
    ) -> None:
        if start > 0 and m.words[start - 1] in ("/", "-", "."):
            return  # 1/2 ETH, v1-2 ETH: the number is part of something else
        asset_start = next(i for i in range(start + 1, end) if i in asset_spans)
        found = amount_facts(
            m, start, asset_start, asset_start, end, asset_spans[asset_start][1]
        )
        if found:
            candidates.append(found)

    def _add_amount_after(
        self,
        m: MessageTokens,
        start: int,
        end: int,
        asset_spans: dict[int, tuple[int, str]],
        candidates: Candidates,
    ) -> None:
        """"USDT 500": only when the number belongs to nothing else."""
        words = m.words
        asset_end, value = asset_spans[start]
        if not self._plausible_asset(m, start, asset_end) or words[start].lower() == "u":
            return
        if start > 0 and parse_number(words[start - 1]) is not None:
            return  # "500 USDT" read the other way round
        number_start = asset_end
        if words[number_start] in (":", "："):
            number_start += 1
        if end < len(words):
            after = words[end]
            if end in asset_spans or after[0].isdigit() or after in _NOT_AFTER_AMOUNT:
                return  # "USDT 500 TRX", "USDT 3个", "USDT 3笔", "USDT 500 600", "USDT 5%"
        found = amount_facts(m, number_start, end, start, asset_end, value)
        if found:
            candidates.append(found)


@lru_cache(maxsize=1)
def get_fact_matcher() -> FactMatcher:
    """The shared matcher, built on first use from the tables in ``vocabulary``."""
    return FactMatcher(
        vocabulary.ASSETS,
        vocabulary.NETWORKS,
        ambiguous_assets=vocabulary.AMBIGUOUS_ASSETS,
        countable_assets=vocabulary.COUNTABLE_ASSETS,
        ambiguous_networks=vocabulary.AMBIGUOUS_NETWORKS,
    )


def match_facts(text: str) -> list[FactSpan]:
    """All wallet facts in ``text`` (see ``FactMatcher.match``)."""
    return get_fact_matcher().match(text)
