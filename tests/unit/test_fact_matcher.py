"""Unit tests for support_core.facts: spaCy rule-based wallet facts, zh, en and mixed."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from support_core.facts import (
    ASSETS,
    NETWORKS,
    Fact,
    FactSpan,
    cn_to_int,
    find_facts,
    format_amount,
    get_fact_matcher,
    match_facts,
    normalise_time,
    split_words,
)
from support_core.facts import matcher as fact_matcher

ROOT = Path(__file__).resolve().parents[2]

TX_HASH = "e8d44050873dba865aa7c170ab4cce64d90839a34dcfd6cf71d14e0205443b1b"
EVM_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
TRON_ADDRESS = "T9yED5xMV5ARV98BexN97aLZ1UUq7eKSxm"
BTC_LEGACY = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
BTC_P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
BTC_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"

# A Wednesday afternoon.
NOW = datetime(2026, 11, 25, 15, 0)


def facts_of(text: str, entity: str) -> list[str]:
    return [f.value for f in find_facts(text) if f.entity == entity]


def surfaces_of(text: str, entity: str) -> list[str]:
    return [text[f.start : f.end] for f in find_facts(text) if f.entity == entity]


# --------------------------------------------------------------------------- tokenizer


def rebuild(words: list[str], spaces: list[bool]) -> str:
    return "".join(w + (" " if s else "") for w, s in zip(words, spaces, strict=True))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("比特币", ["比", "特", "币"]),
        ("转了500USDT", ["转", "了", "500", "USDT"]),
        ("0.5eth", ["0.5", "eth"]),
        ("1,200.50 usdc", ["1,200.50", "usdc"]),
        ("2kusdt", ["2", "k", "usdt"]),
        ("3W u", ["3", "W", "u"]),
        ("9pm", ["9", "pm"]),
        ("TRC20网络", ["TRC20", "网", "络"]),
        ("erc-20", ["erc", "-", "20"]),
        ("hash:0xabc123", ["hash", ":", "0xabc123"]),
        ("12,345678", ["12", ",", "345678"]),
        ("end 500.", ["end", "500", "."]),
        ("提示“余额不足”", ["提", "示", "“", "余", "额", "不", "足", "”"]),
    ],
)
def test_split_words(text, words):
    got, spaces = split_words(text, glued_units={"usdt", "u", "eth"})
    assert got == words
    assert rebuild(got, spaces) == text


def test_hashes_and_addresses_are_single_tokens():
    for value in (TX_HASH, "0x" + TX_HASH, EVM_ADDRESS, TRON_ADDRESS, BTC_LEGACY, BTC_BECH32):
        words, _ = split_words(f"地址{value}，谢谢")
        assert value in words


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "  leading and trailing  ",
        "a\nb",
        "a \n b",
        "tabs\tand\u3000ideographic space",
        "500  USDT\n\n昨天 晚上",
        "emoji 🙂🙂 and 表情😀",
        "mixed中文English混合123abc",
    ],
)
def test_doc_text_is_the_original_text(text):
    doc = get_fact_matcher().make_doc(text)
    assert doc.text == text
    for token in doc:
        assert text[token.idx : token.idx + len(token.text)] == token.text


def test_doc_text_round_trips_random_text():
    rng = random.Random(7)
    alphabet = "ab AB 01,.:；、。我们钱包 \n\t\u3000“”'\"xX0T1"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        doc = get_fact_matcher().make_doc(text)
        assert doc.text == text


def test_phrase_names_use_the_same_tokenizer():
    doc = get_fact_matcher().make_doc("比特币")
    assert len(doc) == 3


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("五", 5),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("五百", 500),
        ("两千", 2000),
        ("两千五", 2500),
        ("两千五百", 2500),
        ("两千零五", 2005),
        ("三万", 30000),
        ("三万五", 35000),
        ("一万五千", 15000),
        ("三千万", 30_000_000),
        ("二〇二六", 2026),
        ("万", 10000),
    ],
)
def test_cn_to_int(text, value):
    assert cn_to_int(text) == value


def test_cn_to_int_rejects_other_text():
    assert cn_to_int("") is None
    assert cn_to_int("五个") is None
    assert cn_to_int("12") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1200.50"), "1200.5"),
        (Decimal("2000000"), "2000000"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0"), "0"),
    ],
)
def test_format_amount(value, text):
    assert format_amount(value) == text


# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "amount", "surface"),
    [
        # Chinese
        ("两千u", "2000 USDT", "两千u"),
        ("我转了三万u还没到", "30000 USDT", "三万u"),
        ("五百个USDT", "500 USDT", "五百个USDT"),
        ("两千五百 USDT", "2500 USDT", "两千五百 USDT"),
        ("1.5万u", "15000 USDT", "1.5万u"),
        ("5千u", "5000 USDT", "5千u"),
        ("200 比特币", "200 BTC", "200 比特币"),
        ("50个泰达币", "50 USDT", "50个泰达币"),
        ("我转了5个sol", "5 SOL", "5个sol"),
        ("500　USDT", "500 USDT", "500　USDT"),
        # English
        ("I sent 500 USDT", "500 USDT", "500 USDT"),
        ("withdrew 0.5eth", "0.5 ETH", "0.5eth"),
        ("1,200.50 usdc", "1200.5 USDC", "1,200.50 usdc"),
        ("2k usdt", "2000 USDT", "2k usdt"),
        ("3W u", "30000 USDT", "3W u"),
        ("sent 10 sol", "10 SOL", "10 sol"),
        ("5 TON", "5 TON", "5 TON"),
        ("1234567 USDT", "1234567 USDT", "1234567 USDT"),
        ("500  USDT", "500 USDT", "500  USDT"),
        # Mixed
        ("转了500USDT到binance", "500 USDT", "500USDT"),
        ("我withdraw了 2kusdt", "2000 USDT", "2kusdt"),
        # Asset before the number, when nothing else claims the number
        ("USDT 500", "500 USDT", "USDT 500"),
        ("余额 USDT：500", "500 USDT", "USDT：500"),
    ],
)
def test_amounts(text, amount, surface):
    assert facts_of(text, "amount") == [amount]
    assert surfaces_of(text, "amount") == [surface]
    # The asset inside the amount is reported too, once.
    assert facts_of(text, "asset") == [amount.split()[1]]


@pytest.mark.parametrize(
    "text",
    [
        "USDT 3笔",  # three transfers
        "USDT 3天",
        "ton 5",  # lower-case "ton" is a word
        "U 500",
        "I clicked 2 link",
        "我点了一个link",
        "I waited 3 hours",
        "100 units",
        "$500",
        "500\nUSDT",
    ],
)
def test_not_amounts(text):
    assert facts_of(text, "amount") == []


def test_number_between_two_assets_belongs_to_the_one_after():
    assert facts_of("USDT 500 TRX", "amount") == ["500 TRX"]


def test_several_amounts_in_order():
    text = "先转了 100 USDT，又转了两千u，最后 0.5 ETH"
    assert facts_of(text, "amount") == ["100 USDT", "2000 USDT", "0.5 ETH"]


# --------------------------------------------------------------------------- assets / networks


@pytest.mark.parametrize(
    ("text", "asset"),
    [
        ("我的比特币没了", "BTC"),
        ("以太坊转错了", "ETH"),
        ("my USDT is gone", "USDT"),
        ("usdt没到账", "USDT"),
        ("LINK", "LINK"),
        ("stETH", "stETH"),
        ("我的U不见了", "USDT"),
    ],
)
def test_assets(text, asset):
    assert facts_of(text, "asset") == [asset]


@pytest.mark.parametrize(
    "text",
    ["a phishing link", "dot dot dot", "a ton of fees", "u r the best", "can U help", "U盘坏了"],
)
def test_ambiguous_words_are_not_assets(text):
    assert facts_of(text, "asset") == []


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("走的TRC20", "TRON"),
        ("用波场链转的", "TRON"),
        ("erc-20", "Ethereum"),
        ("BNB Chain", "BNB Chain"),
        ("sent on Base", "Base"),
        ("bridged via arbitrum", "Arbitrum"),
        ("I sent USDT on Arbitrum mainnet", "Arbitrum"),
        ("ETH mainnet", "Ethereum"),
        ("X Layer", "X Layer"),
        ("闪电网络", "Lightning"),
    ],
)
def test_networks(text, network):
    assert facts_of(text, "network") == [network]


def test_longest_name_wins():
    # 以太坊链 (network) contains 以太坊 (asset); 波场币 (asset) contains 波场 (network).
    assert facts_of("走以太坊链", "network") == ["Ethereum"]
    assert facts_of("走以太坊链", "asset") == []
    assert facts_of("波场币", "asset") == ["TRX"]
    assert facts_of("波场币", "network") == []


def test_a_name_of_both_kinds_is_both():
    assert facts_of("TON", "asset") == ["TON"]
    assert facts_of("TON", "network") == ["TON"]
    assert facts_of("bitcoin", "asset") == ["BTC"]
    assert facts_of("bitcoin", "network") == ["Bitcoin"]


def test_every_dictionary_name_is_found():
    for name, value in ASSETS.items():
        if name != "u":
            assert value in facts_of(f"我的 {name.upper()} 没了", "asset"), name
    for name, value in NETWORKS.items():
        assert value in facts_of(f"走的 {name.upper()} 网络", "network"), name


# --------------------------------------------------------------------------- hashes / addresses


@pytest.mark.parametrize(
    "text",
    [
        f"交易哈希：{TX_HASH}，帮我查一下",
        f"txid 0x{TX_HASH}",
        f"hash={TX_HASH.upper()}",
        f"TxID:{TX_HASH}还没确认",
    ],
)
def test_tx_hash(text):
    (value,) = facts_of(text, "tx_hash")
    assert value.lower().removeprefix("0x") == TX_HASH
    assert surfaces_of(text, "tx_hash") == [value]
    assert facts_of(text, "address") == []


@pytest.mark.parametrize(
    "address", [EVM_ADDRESS, TRON_ADDRESS, BTC_LEGACY, BTC_P2SH, BTC_BECH32, BTC_BECH32.upper()]
)
def test_addresses(address):
    for text in (f"提币地址{address}，还没到", f"send to {address} please", address):
        assert facts_of(text, "address") == [address]
        assert {f.entity for f in find_facts(text)} == {"address"}


@pytest.mark.parametrize(
    "text",
    [
        "订单号 20240521123456",
        "order 1111111111111111111111111111",  # base58 digits only: an order number
        "0x1234",
        "T123",
        TX_HASH[:63],
        "0x" + EVM_ADDRESS[2:] + "ab",
    ],
)
def test_not_hashes_or_addresses(text):
    assert facts_of(text, "tx_hash") == []
    assert facts_of(text, "address") == []


# --------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("text", "surface"),
    [
        # Chinese
        ("昨天晚上9点转的", "昨天晚上9点"),
        ("我昨天 晚上 9点转的", "昨天 晚上 9点"),
        ("今天上午10:30提的币", "今天上午10:30"),
        ("前天下午提的币", "前天下午"),
        ("大前天就转了", "大前天"),
        ("上周三下午3点", "上周三下午3点"),
        ("这周一下午", "这周一下午"),
        ("星期五晚上", "星期五晚上"),
        ("11月20日下午3点半", "11月20日下午3点半"),
        ("2026年11月20日", "2026年11月20日"),
        ("20号晚上8点多", "20号晚上8点多"),
        ("凌晨两点", "凌晨两点"),
        ("九点半左右", "九点半"),
        ("三个小时前提的", "三个小时前"),
        ("三个多小时前", "三个多小时前"),
        ("一个半小时前", "一个半小时前"),
        ("半小时前", "半小时前"),
        ("10分钟前", "10分钟前"),
        ("十分钟以前", "十分钟以前"),
        ("两天前", "两天前"),
        ("刚才转的", "刚才"),
        ("晚上转的", "晚上"),
        # English
        ("yesterday", "yesterday"),
        ("I sent it last night", "last night"),
        ("this morning", "this morning"),
        ("3 hours ago", "3 hours ago"),
        ("an hour ago", "an hour ago"),
        ("half an hour ago", "half an hour ago"),
        ("a few minutes ago", "a few minutes ago"),
        ("sent at 9 pm", "at 9 pm"),
        ("around 9:30 p.m.", "around 9:30 p.m."),
        ("yesterday at 9 pm", "yesterday at 9 pm"),
        ("on Monday", "on Monday"),
        ("last Friday evening", "last Friday evening"),
        ("2026-11-20", "2026-11-20"),
        ("20 Nov", "20 Nov"),
        ("on the 20th of November, 2026", "on the 20th of November, 2026"),
        ("Nov 20, 2026", "Nov 20, 2026"),
        ("11/20 14:30", "11/20 14:30"),
        ("just now", "just now"),
        # Mixed
        ("昨天9pm转的USDT", "昨天9pm"),
        ("yesterday 晚上9点 sent", "yesterday 晚上9点"),
    ],
)
def test_times(text, surface):
    assert facts_of(text, "time") == [surface]
    assert surfaces_of(text, "time") == [surface]


@pytest.mark.parametrize(
    "text",
    [
        "我等了三个小时",
        "I waited 3 hours",
        "差一点就转错了",
        "有一点担心",
        "第一点，第二点",
        "一周一次",
        "晚上好",
        "good evening",
        "good night",
        "99:99",
        "32号",
        "13月5日",
        "5 min",
        "may I ask something",
    ],
)
def test_not_times(text):
    assert facts_of(text, "time") == []


def test_separate_times_stay_separate():
    text = "昨天晚上转的，今天早上还没到"
    assert facts_of(text, "time") == ["昨天晚上", "今天早上"]


# --------------------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("页面显示“网络错误，请稍后再试”", "网络错误，请稍后再试"),
        ("提示「余额不足」", "余额不足"),
        ("弹窗『交易失败』", "交易失败"),
        ("显示余额不足怎么办", "余额不足"),
        ("一直报错说签名失败", "签名失败"),
        ("它提示：余额不足。", "余额不足"),
        ("提币的时候报错 insufficient gas", "insufficient gas"),
        ("it says 'insufficient balance' but I have money", "insufficient balance"),
        ("The app shows \"Transaction failed\"", "Transaction failed"),
        ("error: nonce too low", "nonce too low"),
        ("Error message: execution reverted", "execution reverted"),
        ("the app says: transaction failed, what should I do", "transaction failed"),
        ("MetaMask shows insufficient funds for gas", "insufficient funds for gas"),
    ],
)
def test_error_messages(text, message):
    assert facts_of(text, "error_message") == [message]
    assert surfaces_of(text, "error_message") == [message]


@pytest.mark.parametrize(
    "text",
    [
        "my friend said he sent it",
        "support said to wait",
        "it shows up as pending",
        # A status is no error, quoted or after a cue: an agent must not read
        # "Error shown: 已完成".
        "it shows ‘pending’ for hours",
        "显示‘已完成’但没到账",
        "提币记录显示“已完成”，可是交易所没收到",
        "显示「处理中」",
        "状态：审核中",
        "the app shows \"Completed\" but nothing arrived",
        "it says 'success!' but my balance is the same",
        "status: confirmed",
        "I don't know what's going on, it's been hours",
        "我的资产不显示了",
        "余额没有显示",
        "报错了",
        "根据提示操作了还是不行",
    ],
)
def test_not_error_messages(text):
    assert facts_of(text, "error_message") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("显示“交易失败”", "交易失败"),
        ("状态显示 failed", "failed"),
        ("it says 'pending withdrawal limit exceeded'", "pending withdrawal limit exceeded"),
    ],
)
def test_an_error_that_only_mentions_a_status_word_is_still_an_error(text, message):
    assert facts_of(text, "error_message") == [message]


def test_error_message_may_contain_other_facts():
    text = "报错：转账 500 USDT 失败"
    assert facts_of(text, "error_message") == ["转账 500 USDT 失败"]
    assert facts_of(text, "amount") == ["500 USDT"]


# --------------------------------------------------------------------------- whole messages


MESSAGES = [
    f"昨天晚上9点从交易所走TRC20提了两千u到{TRON_ADDRESS}，一直没到账，显示“处理中”",
    f"I sent 0.5 ETH on ERC20 to {EVM_ADDRESS} 3 hours ago, txid 0x{TX_HASH}",
    f"USDT提币一直pending，都三个小时了，hash是{TX_HASH}",
    "转了 1,200.50 USDC 到 Arbitrum，app says: insufficient gas",
    f"上周三下午往 {BTC_BECH32} 转了 0.01 BTC，error: fee too low",
    "今天上午10:30用波场转了5000 USDT，提示「地址无效」",
]


@pytest.mark.parametrize("text", MESSAGES)
def test_offsets_point_at_the_surface(text):
    facts = find_facts(text)
    assert facts
    for fact in facts:
        surface = text[fact.start : fact.end]
        assert surface
        assert surface == surface.strip()
        if fact.entity in ("tx_hash", "address", "time", "error_message"):
            assert surface == fact.value
        elif fact.entity == "asset":
            assert surface.lower() in ASSETS
        elif fact.entity == "network":
            assert surface.lower().removesuffix(" mainnet") in NETWORKS
        else:
            assert fact.value.split()[1] in {f.value for f in facts if f.entity == "asset"}
    assert [f.start for f in facts] == sorted(f.start for f in facts)


def test_a_whole_chinese_message():
    facts = {(f.entity, f.value) for f in find_facts(MESSAGES[0])}
    assert facts == {
        ("time", "昨天晚上9点"),
        ("network", "TRON"),
        ("amount", "2000 USDT"),
        ("asset", "USDT"),
        ("address", TRON_ADDRESS),
        # "处理中" is the withdrawal's status, not an error it showed.
    }


def test_a_whole_english_message():
    facts = {(f.entity, f.value) for f in find_facts(MESSAGES[1])}
    assert facts == {
        ("amount", "0.5 ETH"),
        ("asset", "ETH"),
        ("network", "Ethereum"),
        ("address", EVM_ADDRESS),
        ("time", "3 hours ago"),
        ("tx_hash", "0x" + TX_HASH),
    }


def test_kinds_do_not_overlap_except_assets_and_error_messages():
    for text in MESSAGES:
        facts = [f for f in find_facts(text) if f.entity not in ("asset", "error_message")]
        for a in facts:
            for b in facts:
                if a is not b:
                    assert a.end <= b.start or b.end <= a.start, (a, b)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I clicked a phishing link",
        "我想问一下怎么联系客服",
        "hello, I need help",
        "你好，我需要帮助",
        "Can you help me please?",
        "my wallet app keeps crashing when I open it",
        "我的钱包打不开了，一直闪退",
        "怎么修改登录密码",
        "I want to talk to a human",
        "请帮我转人工",
        "thanks, that solved it",
        "好的，谢谢",
        "there is a red dot on the icon",
        "sol y sombra",
        "I have a u盘",
    ],
)
def test_nothing_in_ordinary_prose(text):
    assert find_facts(text) == []


def test_match_facts_and_find_facts_agree():
    for text in MESSAGES:
        spans = match_facts(text)
        assert all(isinstance(s, FactSpan) for s in spans)
        assert find_facts(text) == [Fact(*s) for s in spans]


# --------------------------------------------------------------------------- normalise_time


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # Read by dateparser
        ("yesterday", "en", datetime(2026, 11, 24, 15, 0)),
        ("3 hours ago", "en", datetime(2026, 11, 25, 12, 0)),
        ("at 9 pm", "en", datetime(2026, 11, 24, 21, 0)),
        ("on Monday", "en", datetime(2026, 11, 23)),
        ("2026-11-20", "en", datetime(2026, 11, 20)),
        ("20 Nov", "en", datetime(2026, 11, 20)),
        ("11/20 14:30", "en", datetime(2026, 11, 20, 14, 30)),
        ("昨天", "zh", datetime(2026, 11, 24, 15, 0)),
        ("3小时前", "zh", datetime(2026, 11, 25, 12, 0)),
        ("今天上午10:30", "zh", datetime(2026, 11, 25, 10, 30)),
        # Read by our own rules
        ("昨天晚上9点", "zh", datetime(2026, 11, 24, 21, 0)),
        ("昨天 晚上 9点", "zh", datetime(2026, 11, 24, 21, 0)),
        ("昨天晚上", "zh", datetime(2026, 11, 24, 20, 0)),
        ("昨天下午3点20分", "zh", datetime(2026, 11, 24, 15, 20)),
        ("大前天", "zh", datetime(2026, 11, 22)),
        ("上周三", "zh", datetime(2026, 11, 18)),
        ("上周五晚上8点", "zh", datetime(2026, 11, 20, 20, 0)),
        ("11月20日", "zh", datetime(2026, 11, 20)),
        ("12月1日", "zh", datetime(2025, 12, 1)),  # not in the future
        ("20号晚上", "zh", datetime(2026, 11, 20, 20, 0)),
        ("三个小时前", "zh", datetime(2026, 11, 25, 12, 0)),
        ("三个多小时前", "zh", datetime(2026, 11, 25, 12, 0)),
        ("一个半小时前", "zh", datetime(2026, 11, 25, 13, 30)),
        ("十分钟前", "zh", datetime(2026, 11, 25, 14, 50)),
        ("两天前", "zh", datetime(2026, 11, 23, 15, 0)),
        ("刚才", "zh", NOW),
        ("九点半", "zh", datetime(2026, 11, 25, 9, 30)),
        ("晚上9点", "zh", datetime(2026, 11, 24, 21, 0)),  # not yet today: yesterday
        ("下午两点", "zh", datetime(2026, 11, 25, 14, 0)),
        ("中午1点", "zh", datetime(2026, 11, 25, 13, 0)),
        ("今晚8点", "zh", datetime(2026, 11, 25, 20, 0)),  # the day is named: kept
        ("凌晨2点", "zh", datetime(2026, 11, 25, 2, 0)),
        ("2024年5月21日", "zh", datetime(2024, 5, 21)),
        ("last night", "en", datetime(2026, 11, 24, 21, 0)),
        ("this morning", "en", datetime(2026, 11, 25, 9, 0)),
        ("yesterday evening", "en", datetime(2026, 11, 24, 19, 0)),
        ("half an hour ago", "en", datetime(2026, 11, 25, 14, 30)),
        ("last Friday evening", "en", datetime(2026, 11, 20, 19, 0)),
        ("昨天9pm", "zh", datetime(2026, 11, 24, 21, 0)),
    ],
)
def test_normalise_time(text, language, expected):
    assert normalise_time(text, language, NOW) == expected


def test_every_matched_time_can_be_read():
    texts = [
        "昨天晚上9点", "上周三下午3点", "11月20日下午3点半", "20号晚上8点多", "凌晨两点",
        "三个小时前", "刚才", "yesterday at 9 pm", "a few minutes ago", "Nov 20, 2026",
        "around 9:30 p.m.", "on the 20th of November, 2026",
    ]
    for text in texts:
        (surface,) = facts_of(text, "time")
        when = normalise_time(surface, None, NOW)
        assert when is not None, surface
        assert when <= NOW, surface


def test_normalise_time_keeps_the_time_zone():
    now = datetime(2026, 11, 25, 15, 0, tzinfo=timezone(timedelta(hours=8)))
    for text in ("昨天晚上9点", "3 hours ago", "刚才"):
        result = normalise_time(text, "zh", now)
        assert result is not None
        assert result.utcoffset() == timedelta(hours=8)
    assert normalise_time("昨天晚上9点", "zh", now) == now.replace(day=24, hour=21)


def test_normalise_time_gives_up_on_what_is_no_time():
    assert normalise_time("", "zh", NOW) is None
    assert normalise_time("余额不足", "zh", NOW) is None
    assert normalise_time("hello", "en", NOW) is None


# --------------------------------------------------------------------------- build and cost


def test_nothing_is_built_at_import_time():
    code = (
        "import sys\n"
        "import support_core.facts, support_core.facts.matcher\n"
        "heavy = [m for m in ('spacy', 'dateparser') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert support_core.facts.matcher.get_fact_matcher.cache_info().currsize == 0\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_pipeline_is_built_once_and_reused():
    matcher = get_fact_matcher()
    misses = fact_matcher.get_fact_matcher.cache_info().misses
    for text in MESSAGES * 20:
        find_facts(text)
    assert get_fact_matcher() is matcher
    assert fact_matcher.get_fact_matcher.cache_info().misses == misses
    assert matcher.nlp.pipe_names == []  # a blank pipeline: no model, no component
    assert matcher.nlp.lang == "xx"
