"""The words the fact matcher knows: asset and network names, time words, error cues.

Plain tables, so that teaching the bot a new coin, network or way of saying
"yesterday" is a one-line change here. Keys are lower case; values are what
the agent sees (the asset ``"USDT"``, the network ``"TRON"``).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- assets, networks

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

# --------------------------------------------------------------------------- times

ZH_DAY_PARTS: tuple[str, ...] = (
    "早上", "早晨", "清晨", "上午", "中午", "下午", "傍晚", "晚上", "晚间", "夜里", "夜间",
    "凌晨", "半夜", "深夜", "午夜",
)
# Time words of fixed spelling, found by the PhraseMatcher.
TIME_WORDS: tuple[str, ...] = (
    "今天", "昨天", "前天", "大前天", "今日", "昨日", "今早", "今晚", "昨晚", "昨夜", "今儿",
    "昨儿", "刚才", "刚刚", "上周", "上星期", "上礼拜", "上个星期", "上个礼拜", "上个月",
    "前几天", *ZH_DAY_PARTS,
    "yesterday", "today", "tonight", "last night", "this morning", "this afternoon",
    "this evening", "the day before yesterday", "earlier today", "last week", "last month",
    "just now", "a moment ago", "moments ago", "a while ago",
    # parts of the day that need a day beside them (see time_spans)
    "morning", "afternoon", "evening", "night", "noon", "in the morning",
    "in the afternoon", "in the evening", "at night", "at noon", "earlier",
)
EN_WEEKDAYS: list[str] = "monday tuesday wednesday thursday friday saturday sunday".split()
EN_MONTHS: list[str] = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
).split()
EN_NUMBER_WORDS: list[str] = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty a an several few"
).split()
EN_UNITS: list[str] = (
    "second seconds sec secs minute minutes min mins m hour hours hr hrs h "
    "day days d week weeks wk wks month months"
).split()

# --------------------------------------------------------------------------- error messages

QUOTES: tuple[tuple[str, str], ...] = (
    ("“", "”"), ('"', '"'), ("「", "」"), ("『", "』"), ("‘", "’"), ("'", "'"), ("＂", "＂"),
)
# Words after which the app's message follows: 提示“余额不足”, error: insufficient funds.
ERROR_KEYWORDS: tuple[str, ...] = (
    "提示", "报错", "显示", "says", "said", "shows", "showed", "error", "error message",
)
# A person saying something is not the app showing an error.
PEOPLE: frozenset[str] = frozenset(
    """i you u he she we they someone somebody friend support agent agents guy person people
    everyone who mom dad brother sister colleague customer staff service admin""".split()
)
