"""Find the wallet facts a support agent needs in a user's message.

Assets, networks, amounts, transaction hashes and addresses, found by rules
(no learned model): they feed the NLU entities and the problem summary.
Secrets are removed before any text reaches this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

_ASSET_ALT = "|".join(sorted((re.escape(k) for k in ASSETS if k != "u"), key=len, reverse=True))
_NETWORK_ALT = "|".join(sorted((re.escape(k) for k in NETWORKS), key=len, reverse=True))
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_NUMBER = r"[一二两三四五六七八九十百千万]+"

_NO_WORD_BEFORE = r"(?<![A-Za-z0-9])"
_NO_WORD_AFTER = r"(?![A-Za-z0-9])"

_ASSET_RE = re.compile(_NO_WORD_BEFORE + f"({_ASSET_ALT})" + _NO_WORD_AFTER, re.IGNORECASE)
_NETWORK_RE = re.compile(_NO_WORD_BEFORE + f"({_NETWORK_ALT})" + _NO_WORD_AFTER, re.IGNORECASE)
_AMOUNT_RE = re.compile(
    _NO_WORD_BEFORE
    + rf"(?P<number>{_NUMBER}|{_CN_NUMBER})\s*(?P<scale>[kKwW万千]?)\s*(?:个\s*)?"
    + rf"(?P<asset>{_ASSET_ALT}|u)"
    + _NO_WORD_AFTER,
    re.IGNORECASE,
)
_TX_HASH_RE = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_EVM_ADDRESS_RE = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_TRON_ADDRESS_RE = re.compile(r"(?<![0-9A-Za-z])T[1-9A-HJ-NP-Za-km-z]{33}(?![0-9A-Za-z])")
_BTC_ADDRESS_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|bc1[02-9ac-hj-np-z]{11,71})(?![0-9A-Za-z])",
    re.IGNORECASE,
)

# Tickers that are also everyday English words count only when written in capitals.
_AMBIGUOUS = frozenset({"op", "dot", "link", "uni", "ton", "sol", "pol", "arb", "ada", "base", "u"})


def _plausible(word: str) -> bool:
    return word.lower() not in _AMBIGUOUS or word.isupper() or word == "Base"


_CN_DIGITS = dict(zip("一二两三四五六七八九", (1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))


@dataclass(frozen=True)
class Fact:
    """One fact found in a message: entity name, normalised value, and span."""

    entity: str
    value: str
    start: int
    end: int


def _cn_to_number(text: str) -> float | None:
    total, section, current = 0, 0, 0
    units = {"十": 10, "百": 100, "千": 1000}
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in units:
            section += (current or 1) * units[ch]
            current = 0
        elif ch == "万":
            total += (section + current) * 10000
            section, current = 0, 0
        else:
            return None
    return float(total + section + current)


def _amount_value(number: str, scale: str) -> str | None:
    if re.fullmatch(_CN_NUMBER, number):
        value = _cn_to_number(number)
    else:
        value = float(number.replace(",", ""))
    if value is None:
        return None
    value *= {"k": 1e3, "K": 1e3, "w": 1e4, "W": 1e4, "万": 1e4, "千": 1e3}.get(scale, 1)
    return f"{value:g}" if value < 1e15 else None


def find_facts(text: str) -> list[Fact]:
    """All facts in ``text``, ordered by position, without overlaps between kinds."""
    facts: list[Fact] = []
    taken: list[tuple[int, int]] = []

    def add(entity: str, value: str, start: int, end: int) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        facts.append(Fact(entity, value, start, end))

    for m in _TX_HASH_RE.finditer(text):
        add("tx_hash", m.group(), m.start(), m.end())
    for regex in (_EVM_ADDRESS_RE, _TRON_ADDRESS_RE, _BTC_ADDRESS_RE):
        for m in regex.finditer(text):
            add("address", m.group(), m.start(), m.end())
    for m in _AMOUNT_RE.finditer(text):
        value = _amount_value(m.group("number"), m.group("scale"))
        if value is None:
            continue
        asset = ASSETS.get(m.group("asset").lower(), m.group("asset").upper())
        add("amount", f"{value} {asset}", m.start(), m.end())
        asset_start = m.start("asset")
        facts.append(Fact("asset", asset, asset_start, m.end("asset")))
    for m in _NETWORK_RE.finditer(text):
        if not _plausible(m.group(1)):
            continue
        add("network", NETWORKS[m.group(1).lower()], m.start(), m.end())
    for m in _ASSET_RE.finditer(text):
        if not _plausible(m.group(1)):
            continue
        add("asset", ASSETS[m.group(1).lower()], m.start(), m.end())
    facts.sort(key=lambda f: (f.start, f.entity))
    return facts
