"""Unit tests for support_core.facts.find_facts."""

from __future__ import annotations

import secrets

import base58
import bech32
import pytest

from support_core.facts import ASSETS, NETWORKS, Fact, find_facts
from support_core.patterns import is_han


def tx_hash() -> str:
    return secrets.token_hex(32)


def evm_address() -> str:
    return "0x" + secrets.token_hex(20)


def tron_address() -> str:
    return base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def btc_legacy_address(version: int = 0x00) -> str:
    return base58.b58encode_check(bytes([version]) + secrets.token_bytes(20)).decode()


def btc_bech32_address(witver: int = 0, size: int = 20) -> str:
    address = bech32.encode("bc", witver, list(secrets.token_bytes(size)))
    assert address is not None
    return address


def values(text: str, entity: str) -> list[str]:
    return [f.value for f in find_facts(text) if f.entity == entity]


def entities(text: str) -> set[str]:
    return {f.entity for f in find_facts(text)}


# --------------------------------------------------------------------------- structure


def test_empty_and_plain_text_have_no_facts():
    assert find_facts("") == []
    assert find_facts("hello, I need help") == []
    assert find_facts("你好，我需要帮助") == []


def test_facts_carry_their_span_and_are_ordered():
    text = "我往TRC20转了 5000 USDT"
    facts = find_facts(text)
    assert all(isinstance(f, Fact) for f in facts)
    assert [f.start for f in facts] == sorted(f.start for f in facts)
    by_entity = {f.entity: f for f in facts}
    assert text[by_entity["network"].start : by_entity["network"].end] == "TRC20"
    assert text[by_entity["amount"].start : by_entity["amount"].end] == "5000 USDT"
    assert text[by_entity["asset"].start : by_entity["asset"].end] == "USDT"


def test_no_overlap_between_kinds_except_the_asset_inside_its_amount():
    text = f"sent 0.5 ETH on ERC20 to {evm_address()} tx {tx_hash()}"
    facts = [f for f in find_facts(text) if f.entity != "asset"]
    for a in facts:
        for b in facts:
            if a is not b:
                assert a.end <= b.start or b.end <= a.start, (a, b)


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "amount", "asset"),
    [
        ("两千u", "2000 USDT", "USDT"),
        ("我转了两千u还没到", "2000 USDT", "USDT"),
        ("5000 USDT", "5000 USDT", "USDT"),
        ("5000USDT", "5000 USDT", "USDT"),
        ("1,200.50 usdc", "1200.5 USDC", "USDC"),
        ("0.5 ETH", "0.5 ETH", "ETH"),
        ("0.5eth", "0.5 ETH", "ETH"),
        ("3w USDT", "30000 USDT", "USDT"),
        ("3W u", "30000 USDT", "USDT"),
        ("2k usdt", "2000 USDT", "USDT"),
        ("1.5k USDT", "1500 USDT", "USDT"),
        ("5千u", "5000 USDT", "USDT"),
        ("5万 USDT", "50000 USDT", "USDT"),
        ("五百个USDT", "500 USDT", "USDT"),
        ("提了五百个USDT到现在还没到", "500 USDT", "USDT"),
        ("一万五千u", "15000 USDT", "USDT"),
        ("两千五百u", "2500 USDT", "USDT"),
        ("十万u", "100000 USDT", "USDT"),
        ("三个ETH", "3 ETH", "ETH"),
        ("十个 BTC", "10 BTC", "BTC"),
        ("100 个 TRX", "100 TRX", "TRX"),
        ("0.01 BTC", "0.01 BTC", "BTC"),
        ("200 比特币", "200 BTC", "BTC"),
        ("50个泰达币", "50 USDT", "USDT"),
        ("1000 DOGE", "1000 DOGE", "DOGE"),
        ("I sent 10 SOL", "10 SOL", "SOL"),
        ("我转了10个TON", "10 TON", "TON"),
    ],
)
def test_amounts(text, amount, asset):
    assert values(text, "amount") == [amount]
    assert asset in values(text, "asset")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1234567 USDT", "1234567 USDT"),
        ("12345.678 USDT", "12345.678 USDT"),
        ("0.123456789 ETH", "0.123456789 ETH"),
        ("100万u", "1000000 USDT"),
        ("三千万u", "30000000 USDT"),
        ("2,500,000 usdt", "2500000 USDT"),
        ("1,000,000 PEPE", "1000000 PEPE"),
    ],
)
def test_amounts_keep_every_digit(text, amount):
    # The amount goes into the ticket: "1.23457e+06" or a rounded "12345.7" is
    # not what the user sent.
    assert values(text, "amount") == [amount]


def test_several_amounts():
    text = "我先转了 100 USDT，又转了 0.5 ETH"
    assert values(text, "amount") == ["100 USDT", "0.5 ETH"]
    assert values(text, "asset") == ["USDT", "ETH"]


def test_asset_inside_amount_is_reported_once():
    facts = find_facts("5000 USDT")
    assert [f.entity for f in facts].count("asset") == 1


@pytest.mark.parametrize(
    "text",
    [
        "I waited 3 hours",
        "100 units",
        "2024年5月21日",
        "我等了三天",
        "订单号 20240521123456",
    ],
)
def test_numbers_without_an_asset_are_not_amounts(text):
    assert values(text, "amount") == []


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("TRC20", "TRON"),
        ("走的TRC20", "TRON"),
        ("trc-20", "TRON"),
        ("ERC-20", "Ethereum"),
        ("ERC20", "Ethereum"),
        ("erc20网络", "Ethereum"),
        ("波场", "TRON"),
        ("我用波场转的", "TRON"),
        ("波场链", "TRON"),
        ("Arbitrum", "Arbitrum"),
        ("I bridged to arbitrum", "Arbitrum"),
        ("arb链", "Arbitrum"),
        ("BEP20", "BNB Chain"),
        ("bep-20", "BNB Chain"),
        ("BSC", "BNB Chain"),
        ("币安链", "BNB Chain"),
        ("Polygon", "Polygon"),
        ("马蹄链", "Polygon"),
        ("Optimism", "Optimism"),
        ("Solana", "Solana"),
        ("sol链", "Solana"),
        ("on Base", "Base"),
        ("BASE", "Base"),
        ("X Layer", "X Layer"),
        ("闪电网络", "Lightning"),
        ("zkSync", "zkSync"),
    ],
)
def test_networks(text, network):
    assert values(text, "network") == [network]


def test_network_and_amount_in_one_message():
    text = "我从交易所走TRC20提了两千u到钱包"
    assert values(text, "network") == ["TRON"]
    assert values(text, "amount") == ["2000 USDT"]


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("I sent USDT on Arbitrum mainnet", "Arbitrum"),
        ("USDT on TRON mainnet", "TRON"),
        ("Polygon mainnet", "Polygon"),
    ],
)
def test_mainnet_after_another_network_is_not_ethereum(text, network):
    assert values(text, "network") == [network]


# --------------------------------------------------------------------------- assets


@pytest.mark.parametrize(
    ("text", "asset"),
    [
        ("my USDT is missing", "USDT"),
        ("usdt没到账", "USDT"),
        ("比特币", "BTC"),
        ("比特幣", "BTC"),
        ("大饼跌了", "BTC"),
        ("以太坊", "ETH"),
        ("以太币", "ETH"),
        ("泰达币", "USDT"),
        ("狗狗币", "DOGE"),
        ("莱特币", "LTC"),
        ("bitcoin", "BTC"),
        ("tether", "USDT"),
        ("WBTC", "WBTC"),
        ("stETH", "stETH"),
        ("LINK", "LINK"),
        ("DOT", "DOT"),
        ("OP", "OP"),
        ("TON", "TON"),
        ("UNI", "UNI"),
        ("ADA", "ADA"),
    ],
)
def test_assets(text, asset):
    assert values(text, "asset") == [asset]


def test_tron_coin_in_chinese_is_an_asset():
    # 波场币 is TRX (ASSETS); the network name 波场 inside it must not win.
    assert values("我的波场币没到账", "asset") == ["TRX"]


def test_every_chinese_asset_name_is_found():
    missing = [
        name
        for name, ticker in ASSETS.items()
        if any(is_han(ch) for ch in name)
        and ticker not in values(f"我的{name}没到账", "asset")
    ]
    assert missing == []


def test_every_network_key_is_found():
    missing = [
        key
        for key, network in NETWORKS.items()
        if network not in values(f"sent via {key.upper()} yesterday", "network")
    ]
    assert missing == []


@pytest.mark.parametrize(
    "text",
    [
        "I clicked a phishing link",
        "I clicked the link in the email",
        "can you link my account",
        "there is a red dot on the icon",
        "dot dot dot",
        "an op ed",
        "the op said",
        "a ton of fees",
        "tons of errors",
        "the base fee is high",
        "base layer",
        "uni students",
        "sol y sombra",
        "pol",
        "ada lovelace",
        "I have a u盘",
        "u r the best",
    ],
)
def test_ambiguous_words_in_lower_case_are_not_assets(text):
    assert values(text, "asset") == []
    assert values(text, "network") == []


@pytest.mark.parametrize(
    "text",
    [
        "我点了一个link，钱包里的钱就没了",
        "I clicked 2 link and my wallet was drained",
        "收到了一个link让我验证钱包",
    ],
)
def test_ambiguous_words_after_a_number_are_not_assets(text):
    # A count of links is not an amount of LINK.
    assert values(text, "asset") == []
    assert values(text, "amount") == []


# --------------------------------------------------------------------------- tx hash / addresses


def test_tx_hash():
    for _ in range(5):
        value = tx_hash()
        assert values(f"txid {value}", "tx_hash") == [value]
        assert values(f"交易哈希：0x{value}，帮我查一下", "tx_hash") == ["0x" + value]
        assert values(value.upper(), "tx_hash") == [value.upper()]


def test_tx_hash_is_not_also_an_address():
    value = tx_hash()
    assert entities(f"hash {value}") == {"tx_hash"}


def test_evm_address():
    for _ in range(5):
        address = evm_address()
        text = f"我往 {address} 转了 100 USDT"
        assert values(text, "address") == [address]
        assert values(text, "tx_hash") == []


def test_tron_address():
    for _ in range(5):
        address = tron_address()
        text = f"提币地址{address}，网络TRC20"
        assert values(text, "address") == [address]
        assert values(text, "network") == ["TRON"]


@pytest.mark.parametrize(("witver", "size"), [(0, 20), (0, 32), (1, 32)])
def test_btc_bech32_address(witver, size):
    for _ in range(5):
        address = btc_bech32_address(witver, size)
        assert values(f"send to {address} please", "address") == [address]


@pytest.mark.parametrize("version", [0x00, 0x05])
def test_btc_legacy_address(version):
    for _ in range(5):
        address = btc_legacy_address(version)
        assert values(f"my BTC address {address}", "address") == [address]


def test_hash_and_two_addresses_together():
    value, sender, receiver = tx_hash(), evm_address(), tron_address()
    text = f"from {sender} to {receiver}, tx {value}"
    assert values(text, "tx_hash") == [value]
    assert values(text, "address") == [sender, receiver]


def test_address_is_not_read_as_an_amount_or_asset():
    for _ in range(5):
        address = tron_address()
        assert entities(address) == {"address"}
