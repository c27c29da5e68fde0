"""Find the wallet facts a support agent needs in a user's message.

Assets, networks, amounts, transaction hashes, addresses, times and quoted
error messages, found by spaCy rule-based matching (``support_core.fact_matcher``:
a blank pipeline, no learned model) in Chinese, English and mixed text. They
feed the NLU entities and the problem summary. Secrets are removed before any
text reaches this module.

Normalised values: amount ``"500 USDT"`` (every digit kept, no exponent), asset
``"USDT"``, network ``"TRON"``; tx_hash, address, time and error_message as the
user wrote them (``fact_matcher.normalise_time`` reads a time).
"""

from __future__ import annotations

from dataclasses import dataclass

from support_core.fact_matcher import match_facts

ASSETS: dict[str, str] = {
    "btc": "BTC", "bitcoin": "BTC", "比特币": "BTC", "比特幣": "BTC", "大饼": "BTC",
    "eth": "ETH", "ether": "ETH", "ethereum": "ETH", "etherium": "ETH", "以太坊": "ETH",
    "以太币": "ETH", "姨太": "ETH",
    "usdt": "USDT", "tether": "USDT", "泰达币": "USDT", "u": "USDT",
    "usdc": "USDC", "trx": "TRX", "波场币": "TRX", "sol": "SOL", "bnb": "BNB", "okb": "OKB",
    "matic": "MATIC", "pol": "POL", "arb": "ARB", "op": "OP", "ton": "TON", "doge": "DOGE",
    "狗狗币": "DOGE", "ltc": "LTC", "莱特币": "LTC", "xrp": "XRP", "dai": "DAI", "pepe": "PEPE",
    "shib": "SHIB", "ada": "ADA", "dot": "DOT", "avax": "AVAX", "link": "LINK", "uni": "UNI",
    "steth": "stETH", "weth": "WETH", "wbtc": "WBTC",
}

NETWORKS: dict[str, str] = {
    "erc20": "Ethereum", "erc-20": "Ethereum", "ethereum": "Ethereum", "以太坊主网": "Ethereum",
    "eth链": "Ethereum", "以太坊链": "Ethereum", "mainnet": "Ethereum",
    "trc20": "TRON", "trc-20": "TRON", "tron": "TRON", "波场": "TRON", "波场链": "TRON",
    "bep20": "BNB Chain", "bep-20": "BNB Chain", "bsc": "BNB Chain", "bnb chain": "BNB Chain",
    "币安链": "BNB Chain", "bnb smart chain": "BNB Chain",
    "polygon": "Polygon", "马蹄链": "Polygon", "arbitrum": "Arbitrum", "arb链": "Arbitrum",
    "optimism": "Optimism", "solana": "Solana", "sol链": "Solana", "base": "Base",
    "x layer": "X Layer", "xlayer": "X Layer", "okc": "OKTC", "oktc": "OKTC",
    "avalanche": "Avalanche", "avax c-chain": "Avalanche", "ton": "TON", "bitcoin": "Bitcoin",
    "btc链": "Bitcoin", "lightning": "Lightning", "闪电网络": "Lightning", "zksync": "zkSync",
    "linea": "Linea", "scroll": "Scroll", "aptos": "Aptos", "sui": "Sui",
}

# Tickers that are also everyday English words: alone they count only in capitals
# ("I clicked a phishing link"), after a number they make an amount ("两千u", "10 sol").
AMBIGUOUS_ASSETS: frozenset[str] = frozenset(
    {"op", "dot", "link", "uni", "ton", "sol", "pol", "arb", "ada", "base", "u"}
)
# Ambiguous words that are also things people count: "2 link" is two links, not LINK.
COUNTABLE_ASSETS: frozenset[str] = frozenset({"op", "dot", "link", "uni", "ton", "base"})
# Network names that are everyday words count in capitals or title case ("on Base").
AMBIGUOUS_NETWORKS: frozenset[str] = frozenset({"base", "ton", "scroll", "lightning"})

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
