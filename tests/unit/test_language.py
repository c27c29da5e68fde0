"""Unit tests for support_core.language.detect_language."""

from __future__ import annotations

import secrets

import base58
import bech32
import pytest

from support_core.language import detect_language
from support_core.secret_guard import KEY_PLACEHOLDER, SEED_PLACEHOLDER, SEED_PLACEHOLDER_ZH


def tx_hash() -> str:
    return secrets.token_hex(32)


def evm_address() -> str:
    return "0x" + secrets.token_hex(20)


def tron_address() -> str:
    return base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def btc_address() -> str:
    address = bech32.encode("bc", 0, list(secrets.token_bytes(20)))
    assert address is not None
    return address


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "我的币没到账",
        "提币失败了怎么办",
        "我昨天晚上在钱包里往交易所提了五百个USDT到现在还没到账怎么办",
        "怎么备份助记词？",
        "转人工",
        "谢谢！",
        "好的",
        "钱包打不开了，一直闪退",
    ],
)
def test_chinese(text):
    assert detect_language(text) == "zh"


@pytest.mark.parametrize(
    "text",
    [
        "我的錢包無法提幣",
        "轉帳一直沒有到賬，請幫我查一下",
        "助記詞要怎麼備份？",
        "請問手續費是多少",
    ],
)
def test_traditional_chinese(text):
    assert detect_language(text) == "zh"


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "hi",
        "My withdrawal has not arrived yet",
        "How do I back up my recovery phrase?",
        "thanks, that worked!",
        "I can't open the app",
        "talk to a human please",
        "yes please, open a ticket",
        "no, it still hasn't arrived",
    ],
)
def test_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        # Values typed in answer to the bot's questions are no language of their own.
        "li.wei@example.com",
        "Li.Wei+support@mail.example.org",
        "https://etherscan.io/tx/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        "tronscan.org/#/transaction/abc123",
        "www.okx.com/help",
        "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL",
        "500 USDT",
        "2026-11-20 14:30",
        "👍",
        # A bare yes, no or thanks answers the question in any language.
        "yes",
        "no",
        "OK",
        "thanks",
    ],
)
def test_values_and_short_replies_have_no_language(text):
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "我的邮箱是 li.wei@example.com",
        "链接是 https://example.com/tx/abc，打不开",
        "看okx.com上说的",
    ],
)
def test_chinese_around_values_stays_chinese(text):
    assert detect_language(text) == "zh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("USDT提币一直pending", "zh"),
        ("my withdrawal 失败了", "zh"),
        ("what does 助记词 mean", "en"),
        ("what does 助记词 mean?", "en"),
        ("我的app打不开", "zh"),
        ("gas fee太高了", "zh"),
        ("我用OKX提的USDT，走的TRC20，还没到", "zh"),
        ("swap的时候显示failed", "zh"),
        ("I sent USDT via 波场 but it never arrived", "en"),
        ("How do I say 转账 in English", "en"),
        ("钱包里的ETH不见了", "zh"),
        ("NFT在哪里看", "zh"),
        ("我的wallet打不开", "zh"),
    ],
)
def test_mixed(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "👍",
        "😭😭😭",
        "🙏🏻",
        "123",
        "1,200.50",
        "2024-05-21 13:45",
        "???",
        "...",
        "!!",
        "+86 138 0013 8000",
    ],
)
def test_no_clue_gives_none(text):
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "text",
    ["USDT", "ETH", "USDT ETH BTC", "usdt", "TRC20", "erc20", "OK", "ok", "okay", "OKX", "KYC"],
)
def test_tickers_and_jargon_only_give_none(text):
    assert detect_language(text) is None


def test_bare_tx_hash_gives_none():
    # The docstring: None for "emoji, numbers, a bare hash".
    for _ in range(5):
        assert detect_language(tx_hash()) is None
        assert detect_language("0x" + tx_hash()) is None


@pytest.mark.parametrize("make", [evm_address, tron_address, btc_address])
def test_bare_address_gives_none(make):
    for _ in range(5):
        assert detect_language(make()) is None


def test_chinese_message_with_a_tx_hash_stays_chinese():
    for _ in range(5):
        assert detect_language(f"交易哈希是 {tx_hash()}") == "zh"
        assert detect_language(f"帮我查一下这笔 0x{tx_hash()}") == "zh"


@pytest.mark.parametrize("make", [evm_address, tron_address, btc_address])
def test_chinese_message_with_an_address_stays_chinese(make):
    for _ in range(5):
        assert detect_language(f"我往 {make()} 转了钱没到") == "zh"


def test_english_message_with_a_tx_hash_stays_english():
    for _ in range(5):
        assert detect_language(f"my tx hash is {tx_hash()}") == "en"


@pytest.mark.parametrize("placeholder", [SEED_PLACEHOLDER, KEY_PLACEHOLDER])
def test_placeholder_alone_gives_none(placeholder):
    assert detect_language(placeholder) is None
    assert detect_language(f"{placeholder} {placeholder}") is None


@pytest.mark.parametrize("placeholder", [SEED_PLACEHOLDER, KEY_PLACEHOLDER])
def test_placeholder_does_not_make_chinese_english(placeholder):
    assert detect_language(f"我的助记词是 {placeholder}") == "zh"
    assert detect_language(f"{placeholder} 这个对吗") == "zh"
    assert detect_language(f"这个 {placeholder} 是我的私钥吗") == "zh"


def test_chinese_placeholder_counts_as_chinese():
    assert detect_language(SEED_PLACEHOLDER_ZH) == "zh"


@pytest.mark.parametrize("placeholder", [SEED_PLACEHOLDER, KEY_PLACEHOLDER])
def test_placeholder_in_english(placeholder):
    assert detect_language(f"my phrase is {placeholder}") == "en"
    assert detect_language(f"{placeholder} is this right?") == "en"


def test_capitalised_english():
    assert detect_language("Hello There") == "en"
    assert detect_language("Withdrawal Failed") == "en"


@pytest.mark.parametrize("text", ["PEPE", "SHIB", "AVAX", "WBTC", "ADA", "LINK", "PEPE SHIB"])
def test_other_tickers_in_capitals_give_none(text):
    # Tickers of the assets the bot knows (support_core.facts.ASSETS) say
    # nothing about the language; the code means to skip words in capitals
    # (``not w.isupper()``) but tests it after lower-casing every word.
    assert detect_language(text) is None
