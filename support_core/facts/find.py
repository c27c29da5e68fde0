"""``find_facts``: the wallet facts in a message, as the NLU and the actions use them."""

from __future__ import annotations

from dataclasses import dataclass

from support_core.facts.matcher import match_facts

ENTITIES: tuple[str, ...] = (
    "asset", "network", "amount", "tx_hash", "address", "time", "error_message",
)


@dataclass(frozen=True)
class Fact:
    """One fact found in a message: entity name, normalised value, and span."""

    entity: str
    value: str
    start: int
    end: int


def find_facts(text: str) -> list[Fact]:
    """All facts in ``text``, ordered by position.

    Kinds do not overlap (the longest match wins), except that an amount's
    asset is also reported on its own, a name that is both an asset and a
    network ("TON", "bitcoin") is reported as both, and an error message may
    contain other facts. ``text[f.start:f.end]`` is always the surface matched.
    """
    return [Fact(*span) for span in match_facts(text)]
