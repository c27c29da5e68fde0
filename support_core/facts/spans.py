"""Facts as character spans, and which of several overlapping matches is kept."""

from __future__ import annotations

from typing import NamedTuple


class FactSpan(NamedTuple):
    """A fact as matched: entity, normalised value, and character span in the text."""

    entity: str
    value: str
    start: int
    end: int


# Overlaps between kinds: the longest match wins, ties go to the first kind here.
_PRIORITY = {"tx_hash": 0, "address": 1, "amount": 2, "time": 3, "network": 4, "asset": 5}


def non_overlapping(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest spans first, each kept only if it overlaps none kept before."""
    kept: list[tuple[int, int]] = []
    for a, b in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
        if all(b <= x or y <= a for x, y in kept):
            kept.append((a, b))
    return kept


def longest_first(facts: list[FactSpan]) -> list[FactSpan]:
    """``non_overlapping`` for facts: the longest facts that do not overlap."""
    kept: list[FactSpan] = []
    for fact in sorted(facts, key=lambda f: (f.start - f.end, f.start)):
        if all(fact.end <= k.start or k.end <= fact.start for k in kept):
            kept.append(fact)
    return kept


def resolve(candidates: list[tuple[FactSpan, FactSpan | None]]) -> list[FactSpan]:
    """Longest match wins; an amount brings its asset, a network keeps a same-span asset.

    Each candidate is a fact and the fact that comes with it if it is kept (an
    amount's asset), or ``None``.
    """
    ordered = sorted(
        candidates,
        key=lambda c: (c[0].start - c[0].end, _PRIORITY[c[0].entity], c[0].start),
    )
    kept: list[FactSpan] = []
    taken: list[FactSpan] = []
    for fact, inner in ordered:
        clash = [t for t in taken if fact.start < t.end and t.start < fact.end]
        if clash:
            # "TON", "bitcoin": both the network and the asset of that name.
            same = all(
                fact.entity == "asset" and t.entity == "network"
                and (t.start, t.end) == (fact.start, fact.end)
                for t in clash
            )
            if not same or any(k.entity == "asset" and k[2:] == fact[2:] for k in kept):
                continue
            kept.append(fact)
            continue
        kept.append(fact)
        taken.append(fact)
        if inner is not None:
            kept.append(inner)
    return kept
