"""Unit tests for support_core.secret_guard (docs/design.md, "Secrets never stay").

Every secret used here is generated at test time: mnemonics with
``mnemonic.Mnemonic``, hex keys with ``secrets``, WIF and xprv strings built
from random bytes. Each shape is tried on several fresh secrets so that a
detection that works only for some word lists or characters shows up.
"""

from __future__ import annotations

import itertools
import re
import secrets
import unicodedata

import base58
import bech32
import pytest
from mnemonic import Mnemonic

from bench.secret_guard_precision import (
    MAX_FALSE_ALARM_PCT,
    MAX_MESSAGE_CHARS,
    SEED,
    ZH_CLAUSELETS,
    ZH_SHORT,
    Generator,
    GuardScore,
    adversarial_inputs,
    evaluate,
    generate,
    report,
)
from support_core.chinese_phrase import (
    MAX_GROUP,
    SEED_CONTEXT_RE,
    VALID_LENGTHS,
    checksum_ok,
    looks_random,
)
from support_core.patterns import HAN_RUN_RE, count_han
from support_core.secret_guard import (
    KEY_PLACEHOLDER,
    SEED_PLACEHOLDER,
    SEED_PLACEHOLDER_ZH,
    Redaction,
    SecretKind,
    SecretMatch,
    contains_placeholder,
    find_secrets,
    redact,
)

TRIES = 5  # fresh secrets per shape

HAN_LANGS = ("chinese_simplified", "chinese_traditional")
ALL_LANGS = (
    "english",
    "chinese_simplified",
    "chinese_traditional",
    "spanish",
    "french",
    "japanese",
)

ENGLISH_WORDS = frozenset(Mnemonic("english").wordlist)


# --------------------------------------------------------------------------- generators


def phrase(lang: str, strength: int = 128) -> list[str]:
    """A fresh BIP-39 phrase as a list of words (12 for 128 bits, 24 for 256), in NFC.

    ``Mnemonic.generate`` returns Spanish, French and Japanese words decomposed
    (accents and dakuten as combining marks); people type and paste composed
    text, so the composed form is the common case. The decomposed form is
    tested on its own below.

    Two kinds of Chinese phrase are out of reach of a rule by shape, and are
    drawn again so that the tests do not fail at random: one that holds a
    context word such as 种子 (one in 150,000 or so), and one whose characters
    happen to read as prose (about four in 100,000; ``bench.secret_guard_precision``
    measures the guard on every phrase drawn).
    """
    while True:
        words = unicodedata.normalize("NFC", Mnemonic(lang).generate(strength)).split()
        if lang not in HAN_LANGS:
            return words
        joined = "".join(words)
        if not SEED_CONTEXT_RE.search(joined) and looks_random([joined]):
            return words


def _wif_shaped_run(value: str) -> bool:
    """Whether ``value`` holds a run that has the shape of a WIF key on its own.

    A maximal run of Base58 characters (for hex, '0' is the only digit outside
    Base58) of 51 characters starting with 5 or 9, or of 52 starting with K, L
    or c, looks like a WIF key although it is only a slice of a longer token.
    """
    return any(
        (len(run) == 51 and run[0] in "59") or (len(run) == 52 and run[0] in "KLc")
        for run in re.split(r"[^1-9A-HJ-NP-Za-km-z]", value)
    )


def hex_key() -> str:
    """32 random bytes as hex, without the WIF-shaped runs tested on their own below."""
    while True:
        value = secrets.token_hex(32)
        if not _wif_shaped_run(value):
            return value


def wif(compressed: bool = True, version: int = 0x80) -> str:
    payload = bytes([version]) + secrets.token_bytes(32) + (b"\x01" if compressed else b"")
    return base58.b58encode_check(payload).decode()


def xprv() -> str:
    return base58.b58encode_check(bytes.fromhex("0488ade4") + secrets.token_bytes(74)).decode()


def evm_address() -> str:
    return "0x" + secrets.token_hex(20)


def tron_address() -> str:
    return base58.b58encode_check(b"\x41" + secrets.token_bytes(20)).decode()


def btc_legacy_address(version: int = 0x00) -> str:
    return base58.b58encode_check(bytes([version]) + secrets.token_bytes(20)).decode()


def btc_bech32_address(witver: int = 0, size: int = 20, *, wif_shaped: bool = False) -> str:
    """A random bech32 address; ``wif_shaped`` picks one with a WIF-shaped slice or none."""
    while True:
        address = bech32.encode("bc", witver, list(secrets.token_bytes(size)))
        assert address is not None
        if _wif_shaped_run(address) == wif_shaped:
            return address


# --------------------------------------------------------------------------- helpers


def without_placeholders(text: str) -> str:
    return (
        text.replace(SEED_PLACEHOLDER, " ")
        .replace(SEED_PLACEHOLDER_ZH, " ")
        .replace(KEY_PLACEHOLDER, " ")
    )


def remaining_words(text: str) -> set[str]:
    """Lower-cased words left in ``text`` once our own placeholders are taken out."""
    return {w.lower() for w in re.findall(r"[^\W\d_]+", without_placeholders(text))}


def assert_latin_phrase_gone(result: Redaction, words: list[str], context: str = "") -> None:
    """The placeholder is there and no phrase word is left (words of ``context`` aside)."""
    assert SEED_PLACEHOLDER in result.text
    leaked = remaining_words(result.text) & {w.lower() for w in words}
    leaked -= remaining_words(context)
    assert not leaked, f"phrase words left in {result.text!r}: {leaked}"


def assert_han_phrase_gone(result: Redaction, written: str) -> None:
    """A Chinese phrase leaves the Chinese placeholder, so the reply stays in Chinese."""
    assert SEED_PLACEHOLDER_ZH in result.text
    assert written not in result.text
    assert "".join(ch for ch in written if not ch.isspace()) not in result.text


def assert_untouched(text: str, **kwargs: bool) -> None:
    result = redact(text, **kwargs)
    assert result.text == text, f"redacted by mistake: {result.matches}"
    assert not result.found
    assert result.kinds == []
    assert find_secrets(text, **kwargs) == []


def context_words(sentence: str) -> list[str]:
    """Words of a test sentence; they must not be list words, or the test would be moot."""
    words = re.findall(r"[A-Za-z]+", sentence)
    assert not {w.lower() for w in words} & ENGLISH_WORDS, sentence
    return words


def numbered(words: list[str], style: str) -> str:
    return " ".join(f"{i}{style} {w}" for i, w in enumerate(words, 1))


def grouped(words: list[str], size: int, sep: str = " ") -> str:
    return sep.join("".join(words[i : i + size]) for i in range(0, len(words), size))


# --------------------------------------------------------------------------- placeholders / API


def test_placeholders_name_their_kind():
    assert SecretKind.SEED_PHRASE.placeholder == SEED_PLACEHOLDER == "[redacted seed phrase]"
    assert SecretKind.PRIVATE_KEY.placeholder == KEY_PLACEHOLDER == "[redacted private key]"
    assert SecretKind.SEED_PHRASE.value == "seed_phrase"
    assert SecretKind.PRIVATE_KEY.value == "private_key"


def test_empty_string():
    assert find_secrets("") == []
    result = redact("")
    assert result == Redaction("")
    assert result.text == ""
    assert not result.found
    assert result.kinds == []
    assert contains_placeholder("") is None


@pytest.mark.parametrize(
    "text",
    ["hello", "   ", "\n", "123", "你好", "?", "👍", "ok thanks"],
)
def test_trivial_messages_untouched(text):
    assert_untouched(text)


def test_redaction_metadata_for_phrase_and_key():
    words = phrase("english")
    key = wif()
    text = f"my words: {' '.join(words)} and my key {key}"
    result = redact(text)
    assert result.found
    assert result.kinds == ["private_key", "seed_phrase"]
    assert result.text.count(SEED_PLACEHOLDER) == 1
    assert result.text.count(KEY_PLACEHOLDER) == 1
    assert key not in result.text
    # "key" is a list word too; the one left is the sentence's own.
    assert_latin_phrase_gone(result, words, context="my words and my key")
    assert [m.kind for m in result.matches] == [SecretKind.SEED_PHRASE, SecretKind.PRIVATE_KEY]
    assert all(isinstance(m, SecretMatch) for m in result.matches)
    # The matches never carry the secret itself.
    for m in result.matches:
        assert key not in repr(m)
        assert " ".join(words) not in repr(m)


def test_kinds_are_distinct_and_sorted():
    text = f"{hex_key()} and {wif(False)} and {xprv()}"
    result = redact(text)
    assert len(result.matches) == 3
    assert result.kinds == ["private_key"]
    text = f"{' '.join(phrase('english'))}\n\n{' '.join(phrase('french'))}"
    result = redact(text)
    assert result.kinds == ["seed_phrase"]


def test_find_secrets_spans_cover_the_phrase_exactly():
    words = phrase("english")
    written = " ".join(words)
    text = f"Hi, here: {written} - pls reply"
    context_words("Hi here pls reply")
    matches = find_secrets(text)
    assert len(matches) == 1
    match = matches[0]
    assert match.kind is SecretKind.SEED_PHRASE
    assert text[match.start : match.end] == written
    assert redact(text).text == f"Hi, here: {SEED_PLACEHOLDER} - pls reply"


def test_find_secrets_is_ordered_and_non_overlapping():
    text = f"{wif()} then {' '.join(phrase('english'))} then {hex_key()} then {xprv()}"
    matches = find_secrets(text)
    assert len(matches) == 4
    assert [m.start for m in matches] == sorted(m.start for m in matches)
    for a, b in itertools.pairwise(matches):
        assert a.end <= b.start


def test_redaction_is_idempotent():
    text = (
        f"seed: {' '.join(phrase('english'))}; key {hex_key()}; "
        f"助记词 {' '.join(phrase('chinese_simplified'))}"
    )
    once = redact(text).text
    assert redact(once).text == once
    assert not redact(once).found


def test_contains_placeholder():
    assert contains_placeholder(f"my phrase is {SEED_PLACEHOLDER}") is SecretKind.SEED_PHRASE
    assert contains_placeholder(f"私钥 {KEY_PLACEHOLDER}") is SecretKind.PRIVATE_KEY
    assert contains_placeholder("I lost my seed phrase") is None
    assert contains_placeholder("[redacted]") is None
    both = f"{SEED_PLACEHOLDER} {KEY_PLACEHOLDER}"
    assert contains_placeholder(both) in (SecretKind.SEED_PHRASE, SecretKind.PRIVATE_KEY)


def test_contains_placeholder_round_trip():
    seed_text = redact(" ".join(phrase("english"))).text
    key_text = redact(f"private key {hex_key()}").text
    assert contains_placeholder(seed_text) is SecretKind.SEED_PHRASE
    assert contains_placeholder(key_text) is SecretKind.PRIVATE_KEY


# --------------------------------------------------------------------------- English phrases


@pytest.mark.parametrize("strength", [128, 256])
def test_english_phrase_spaced(strength):
    for _ in range(TRIES):
        words = phrase("english", strength)
        result = redact(" ".join(words))
        assert result.text == SEED_PLACEHOLDER
        assert result.kinds == ["seed_phrase"]


@pytest.mark.parametrize("style", [".", ")", "、", ":"])
@pytest.mark.parametrize("strength", [128, 256])
def test_english_phrase_numbered(style, strength):
    for _ in range(TRIES):
        words = phrase("english", strength)
        text = numbered(words, style)
        result = redact(text)
        assert_latin_phrase_gone(result, words)


def test_english_phrase_numbered_one_per_line():
    for _ in range(TRIES):
        words = phrase("english")
        text = "\n".join(f"{i}. {w}" for i, w in enumerate(words, 1))
        assert_latin_phrase_gone(redact(text), words)


@pytest.mark.parametrize("sep", [",", ", ", " , ", ";", "\n", "\r\n", "\t", "  ", " - ", " | "])
def test_english_phrase_other_separators(sep):
    for _ in range(TRIES):
        words = phrase("english")
        assert_latin_phrase_gone(redact(sep.join(words)), words)


@pytest.mark.parametrize("transform", [str.upper, str.title, str.capitalize])
def test_english_phrase_case_insensitive(transform):
    for _ in range(TRIES):
        words = phrase("english")
        text = transform(" ".join(words))
        assert_latin_phrase_gone(redact(text), words)


@pytest.mark.parametrize("strength", [128, 256])
def test_english_phrase_glued_together(strength):
    for _ in range(TRIES):
        words = phrase("english", strength)
        glued = "".join(words)
        result = redact(glued)
        assert result.text == SEED_PLACEHOLDER
        assert glued not in result.text


def test_english_phrase_glued_inside_a_sentence():
    for _ in range(TRIES):
        words = phrase("english")
        glued = "".join(words)
        text = f"Hi, my backup is {glued} - is it OK?"
        context_words("Hi my backup is it OK")
        result = redact(text)
        assert glued not in result.text
        assert result.text == f"Hi, my backup is {SEED_PLACEHOLDER} - is it OK?"


def test_english_phrase_glued_uppercase():
    # DESIGN: phrases are secrets "with or without separators", in any case.
    for _ in range(TRIES):
        glued = "".join(phrase("english")).upper()
        result = redact(f"my words {glued}")
        assert glued not in result.text
        assert result.text == f"my words {SEED_PLACEHOLDER}"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Support told me to paste my words here:", "Is my money OK?"),
        ("hey, my recovery words are", "thx"),
        ("Hi! Is it OK?", "Why does my USDT not show up"),
        ("我的助记词是", "请帮我看看"),
        ("(", ")"),
    ],
)
def test_english_phrase_embedded_in_sentence_keeps_the_sentence(before, after):
    kept = context_words(before) + context_words(after)
    for _ in range(TRIES):
        words = phrase("english")
        text = f"{before} {' '.join(words)} {after}"
        result = redact(text)
        assert result.text == f"{before} {SEED_PLACEHOLDER} {after}"
        assert_latin_phrase_gone(result, words)
        for word in kept:
            assert word in result.text


def test_two_phrases_in_one_message():
    first, second = phrase("english"), phrase("english", 256)
    text = f"my wallet: {' '.join(first)}\nmy new wallet: {' '.join(second)}"
    result = redact(text)
    assert result.text == f"my wallet: {SEED_PLACEHOLDER}\nmy new wallet: {SEED_PLACEHOLDER}"


def test_partial_phrase_of_eleven_words_is_not_a_phrase():
    # Below the 12-word minimum of BIP-39; the guard's rule is "12+ list words".
    words = phrase("english")[:11]
    text = "the words are " + " ".join(words) + " and a digit"
    assert redact(text).text == text


# --------------------------------------------------------------------------- other word lists


@pytest.mark.parametrize("lang", ["spanish", "french", "japanese"])
@pytest.mark.parametrize("strength", [128, 256])
def test_other_alphabetic_lists_spaced(lang, strength):
    for _ in range(TRIES):
        words = phrase(lang, strength)
        result = redact(" ".join(words))
        assert result.text == SEED_PLACEHOLDER, result.text


@pytest.mark.parametrize("lang", ["spanish", "french", "japanese"])
def test_other_alphabetic_lists_numbered_and_comma_separated(lang):
    for _ in range(TRIES):
        words = phrase(lang)
        for text in (numbered(words, "."), numbered(words, ")"), ", ".join(words)):
            result = redact(text)
            assert_latin_phrase_gone(result, words)


@pytest.mark.parametrize("lang", ["spanish", "french"])
def test_latin_lists_uppercase(lang):
    for _ in range(TRIES):
        words = phrase(lang)
        result = redact(" ".join(words).upper())
        assert result.text == SEED_PLACEHOLDER


@pytest.mark.parametrize("lang", ["spanish", "french", "japanese"])
def test_decomposed_unicode_phrase_is_redacted(lang):
    # The guard compares words in NFKD; a phrase in decomposed form (accents and
    # dakuten as combining marks, which is how python-mnemonic's generate() itself
    # returns them) is the same secret.
    for _ in range(TRIES):
        for form in ("NFD", "NFKD"):
            text = unicodedata.normalize(form, Mnemonic(lang).generate(128))
            result = redact(f"my words: {text}")
            assert result.text == f"my words: {SEED_PLACEHOLDER}", (form, text, result.text)


# --------------------------------------------------------------------------- Chinese phrases


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("strength", [128, 256])
@pytest.mark.parametrize("sep", [" ", "  ", ",", "，", "、", ", ", "，", "\n", "\u3000", " - "])
def test_chinese_phrase_separated(lang, strength, sep):
    for _ in range(TRIES):
        words = phrase(lang, strength)
        written = sep.join(words)
        result = redact(written)
        assert result.text == SEED_PLACEHOLDER_ZH, result.text
        assert_han_phrase_gone(result, written)


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("style", [".", ")", "、", "：", ". "])
def test_chinese_phrase_numbered(lang, style):
    for _ in range(TRIES):
        words = phrase(lang)
        written = " ".join(f"{i}{style}{w}" for i, w in enumerate(words, 1))
        result = redact(written)
        assert_han_phrase_gone(result, written)
        assert not set("".join(words)) & set(without_placeholders(result.text))


@pytest.mark.parametrize("lang", HAN_LANGS)
def test_chinese_phrase_numbered_one_per_line(lang):
    for _ in range(TRIES):
        words = phrase(lang)
        written = "\n".join(f"{i}. {w}" for i, w in enumerate(words, 1))
        result = redact(written)
        assert_han_phrase_gone(result, written)
        assert not set("".join(words)) & set(without_placeholders(result.text))


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("strength", [128, 256])
@pytest.mark.parametrize("size", [3, 4])
@pytest.mark.parametrize("sep", [" ", "，", "\n", "-"])
def test_chinese_phrase_grouped(lang, strength, size, sep):
    for _ in range(TRIES):
        words = phrase(lang, strength)
        written = grouped(words, size, sep)
        result = redact(written)
        assert result.text == SEED_PLACEHOLDER_ZH, (written, result.text)


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("strength", [128, 256])
def test_chinese_phrase_glued_as_whole_message(lang, strength):
    for _ in range(TRIES):
        written = "".join(phrase(lang, strength))
        for text in (written, f" {written} ", f"{written}。", f"{written}\n"):
            result = redact(text)
            assert_han_phrase_gone(result, written)


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize(
    "template",
    [
        "我的助记词是{}",
        "助记词：{}",
        "助记词 {}",
        "这是我钱包的助记词{}",
        "恢复短语{}",
        "恢复短语：{}，请帮我看看",
        "我的助记词是{}，请帮我看看钱去哪了",
        "seed phrase{}",
        "seed phrase: {}",
        "my seed phrase is {} pls check",
        "助記詞：{}",
    ],
)
def test_chinese_phrase_glued_after_context_word(lang, template):
    for _ in range(TRIES):
        written = "".join(phrase(lang))
        result = redact(template.format(written))
        assert_han_phrase_gone(result, written)


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize(
    "template",
    [
        "{}是我的助记词",
        "{}这是我的助记词",
        "助记词{}帮我看看",
        "我的助记词是{}请帮我看看钱去哪了",
        "{} 是我的助记词",
    ],
)
def test_chinese_phrase_glued_with_context_words_around(lang, template):
    # Typed with no punctuation, the phrase is glued to the words after it.
    for _ in range(TRIES):
        written = "".join(phrase(lang))
        result = redact(template.format(written))
        assert_han_phrase_gone(result, written)


@pytest.mark.parametrize("lang", HAN_LANGS)
def test_chinese_24_word_phrase_glued_after_context_word(lang):
    for _ in range(TRIES):
        written = "".join(phrase(lang, 256))
        result = redact(f"我的助记词是：{written}")
        assert result.text == f"我的助记词是：{SEED_PLACEHOLDER_ZH}"


@pytest.mark.parametrize("lang", HAN_LANGS)
def test_chinese_phrase_spaced_inside_a_sentence_keeps_the_sentence(lang):
    for _ in range(TRIES):
        written = " ".join(phrase(lang))
        text = f"客服让我发助记词：{written} 。然后我的USDT就没了"
        result = redact(text)
        assert_han_phrase_gone(result, written)
        assert result.text.startswith("客服让我发助记词")
        assert result.text.endswith("然后我的USDT就没了")


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize(
    "template",
    [
        "{}，谢谢",
        "{} 谢谢",
        "你好，{}",
        "帮我看看：{}",
        "助记词：{}，请帮我看看",
    ],
)
def test_chinese_phrase_separated_next_to_chinese_words(lang, template):
    # A separated phrase stays a phrase when a Chinese word sits before or after
    # it across a comma, a colon or a blank.
    for _ in range(TRIES):
        written = " ".join(phrase(lang))
        text = template.format(written)
        result = redact(text)
        assert_han_phrase_gone(result, written)


EVERYDAY_CHINESE = [
    "我昨天晚上在钱包里往交易所提了五百个USDT到现在还没到账怎么办",
    "你好我想问一下为什么我的钱包里面的余额显示不出来了是不是系统出问题了",
    "我从交易所提币到钱包已经过了两个小时了还是没有收到请帮我看一下是什么原因",
    "我在手机上下载了你们的钱包但是打开以后一直转圈进不去页面请问怎么解决",
    "请问转账的时候手续费为什么这么高有没有便宜一点的网络可以选择",
    "我的朋友说他给我转了一笔钱但是我这边什么都没有看到是不是地址填错了",
    "今天早上我想把币换成别的币结果一直失败我已经试了好几次了",
    "我想知道如果我换了新手机以后要怎么把原来的钱包导入进来",
    "你们的客服什么时候上班我有一个很着急的问题需要马上处理",
    "我的币被转走了我没有给任何人看过我的助记词这是怎么回事",
    "有人冒充客服让我把助记词发给他，我发了，现在钱没了怎么办",
    "助记词是什么意思，我需要把它写下来吗，放在哪里比较安全",
    "我忘记了助记词但是手机上的钱包还能打开我现在要怎么备份",
    "我在用錢包的時候發現餘額不對了請問是什麼原因造成的",
]


@pytest.mark.parametrize("text", EVERYDAY_CHINESE)
def test_everyday_chinese_prose_is_not_redacted(text):
    assert_untouched(text)


SHORT_CLAUSE_CHINESE = [
    "我要提币，一直失败，怎么回事",
    "我要提币 一直失败 怎么回事",
    "提币没到，已经三天，怎么处理，急急急",
    "你好客服，我的钱包，打不开了，怎么办呢",
    "我想换币，一直报错，是不是网络问题",
]


@pytest.mark.parametrize("text", SHORT_CLAUSE_CHINESE)
def test_chinese_prose_in_short_clauses_is_not_redacted(text):
    # Everyday Chinese written as 3-4 character clauses between commas or
    # spaces; DESIGN: ordinary prose must not be taken for a phrase.
    assert_untouched(text)


# --------------------------------------------------------------------------- English prose

EVERYDAY_ENGLISH = [
    "Hi, I withdrew 500 USDT from Binance to my wallet yesterday and it still has not "
    "arrived. The exchange says it was sent on TRC20. Can you check what happened?",
    "I can't open the app after the latest update, it just shows a white screen. I tried "
    "reinstalling it twice and restarting my phone but nothing works. I'm worried about my "
    "funds because I have a lot of ETH in there and I need to send some to my friend today.",
    "Someone contacted me on Telegram saying they were from your support team and asked me "
    "to verify my wallet by connecting it to a website. I clicked the link but didn't enter "
    "anything. Is my wallet still safe, or should I move my coins to a new one right now?",
    "Why is the gas fee so high? I only wanted to swap a small amount of USDC to ETH and the "
    "app asked me for almost twenty dollars. Is there a cheaper network I can use, or can I "
    "wait until later when fees are lower? Please explain how the fee is calculated.",
    "My transaction has been pending for six hours. I sent it with a low fee by mistake. "
    "Can I cancel it or speed it up somehow? The receiver is waiting and I really need this "
    "to go through before the end of the day because it is a payment for rent.",
    "please help me my money is gone i did not send it to anyone and i never shared my "
    "recovery phrase with anybody so how could this happen what should i do now is there any "
    "way to get it back or to freeze the address that took it",
    "I lost my phone. I still have my 12 words written on paper. How do I restore my wallet "
    "on a new device and will my tokens and NFTs appear again automatically?",
    "hello",
    "thanks, that worked!",
    "Can you tell me what a seed phrase is and why I should never share it?",
]


@pytest.mark.parametrize("text", EVERYDAY_ENGLISH)
def test_everyday_english_is_not_redacted(text):
    assert_untouched(text)


def test_long_english_messages_really_are_long():
    assert sum(len(t.split()) >= 40 for t in EVERYDAY_ENGLISH) >= 4


# --------------------------------------------------------------------------- 64-hex strings


@pytest.mark.parametrize(
    "template",
    [
        "txid {}",
        "TxID: {}",
        "TXID：{}",
        "tx hash {}",
        "Tx Hash: {}",
        "transaction hash is {}",
        "hash: {}",
        "here is the hash {}",
        "交易哈希：{}",
        "交易哈希是{}",
        "哈希 {}",
        "{} is the tx hash",
        "my withdrawal is stuck, txid {} please check",
        "提币一直没到账，交易哈希 {} 帮忙查一下",
    ],
)
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_hex_labelled_as_hash_is_kept(template, prefix):
    for _ in range(TRIES):
        text = template.format(prefix + hex_key())
        assert_untouched(text)


@pytest.mark.parametrize(
    "template",
    [
        "private key {}",
        "my private key is {}",
        "Private Key: {}",
        "私钥：{}",
        "这是我的私钥{}",
        "私钥 {} 帮我看看",
        "{} 是我的私钥",
        "key: {}",
    ],
)
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_hex_labelled_as_key_is_redacted(template, prefix):
    for _ in range(TRIES):
        key = prefix + hex_key()
        text = template.format(key)
        result = redact(text)
        assert result.text == template.format(KEY_PLACEHOLDER)
        assert result.kinds == ["private_key"]
        assert key[-64:] not in result.text


@pytest.mark.parametrize("expecting", [False, True])
def test_hex_labelled_as_key_is_redacted_even_when_a_hash_was_asked_for(expecting):
    key = hex_key()
    result = redact(f"private key {key}", expecting_tx_hash=expecting)
    assert result.text == f"private key {KEY_PLACEHOLDER}"


@pytest.mark.parametrize("template", ["{}", " {} ", "{}\n", "here: {}", "帮我看看这个 {}"])
def test_unlabelled_hex_is_redacted(template):
    for _ in range(TRIES):
        key = hex_key()
        result = redact(template.format(key))
        assert result.text == template.format(KEY_PLACEHOLDER)
        assert key not in result.text
        assert result.kinds == ["private_key"]


@pytest.mark.parametrize("template", ["{}", "0x{}", "{}\n", "here: {}", "这个 {}"])
def test_unlabelled_hex_is_kept_when_a_tx_hash_was_asked_for(template):
    for _ in range(TRIES):
        assert_untouched(template.format(hex_key()), expecting_tx_hash=True)


def test_uppercase_hex_key_is_redacted():
    key = hex_key().upper()
    assert redact(key).text == KEY_PLACEHOLDER


def test_hex_of_other_lengths_is_not_a_key():
    assert_untouched("code " + secrets.token_hex(16))
    assert_untouched(secrets.token_hex(20))  # 40 hex, like an address without 0x
    assert_untouched(secrets.token_hex(33))  # 66 hex (a public key size), not 64


def test_tx_hash_next_to_the_word_wifi_is_kept():
    # "wif" (the key format) must not match inside "wifi".
    for _ in range(TRIES):
        text = f"我用wifi转的，交易哈希：{hex_key()}"
        assert_untouched(text)
        text = f"my wifi dropped during the transfer, tx hash {hex_key()}"
        assert_untouched(text)


def wif_shaped_hex() -> str:
    """A random 64-hex string that happens to hold a WIF-shaped run (about 1 in 300)."""
    while True:
        value = secrets.token_hex(32)
        if _wif_shaped_run(value):
            return value


@pytest.mark.parametrize("template", ["txid {}", "交易哈希：{}", "tx hash 0x{}"])
def test_labelled_tx_hash_is_kept_whole_even_when_part_of_it_looks_like_wif(template):
    # The WIF pattern must not match a slice of a longer hex string (the '0' that
    # ends the slice is outside Base58 but is still part of the same token).
    for _ in range(TRIES):
        text = template.format(wif_shaped_hex())
        assert_untouched(text)


def test_tx_hash_with_wif_shaped_run_is_kept_when_a_tx_hash_was_asked_for():
    for _ in range(TRIES):
        assert_untouched(wif_shaped_hex(), expecting_tx_hash=True)


def test_bech32_address_is_kept_whole_even_when_part_of_it_looks_like_wif():
    # 62-character bech32 addresses (P2WSH, taproot) contain '0' and 'l', which
    # are outside Base58; about 1 in 4,000 holds a WIF-shaped slice.
    for witver in (0, 1):
        address = btc_bech32_address(witver, 32, wif_shaped=True)
        assert_untouched(f"send it to {address}")


def test_hex_helpers_agree_with_the_wif_shape():
    assert _wif_shaped_run("5" + "1" * 50 + "0" + "a" * 12)
    assert _wif_shaped_run("0" * 5 + "c" + "f" * 51 + "0" * 7)
    assert not _wif_shaped_run("5" + "1" * 51 + "0" + "a" * 11)
    assert not _wif_shaped_run("a" * 64)
    assert _wif_shaped_run("bc1l" + "9" * 51 + "0q")
    assert not _wif_shaped_run("bc1l" + "9" * 52 + "0q")


# --------------------------------------------------------------------------- not secrets


def test_evm_addresses_pass_intact():
    for _ in range(TRIES):
        address = evm_address()
        assert_untouched(address)
        assert_untouched(f"I sent 100 USDT to {address} on ERC20")
        assert_untouched(f"收款地址 {address.upper().replace('0X', '0x')}")


def test_tron_addresses_pass_intact():
    for _ in range(TRIES):
        address = tron_address()
        assert address.startswith("T") and len(address) == 34
        assert_untouched(address)
        assert_untouched(f"提币地址是{address}，网络选的TRC20")


@pytest.mark.parametrize(("witver", "size"), [(0, 20), (0, 32), (1, 32)])
def test_bitcoin_bech32_addresses_pass_intact(witver, size):
    for _ in range(TRIES):
        address = btc_bech32_address(witver, size)
        assert address.startswith("bc1")
        assert_untouched(address)
        assert_untouched(f"send it to {address} please")


@pytest.mark.parametrize("version", [0x00, 0x05])
def test_bitcoin_legacy_addresses_pass_intact(version):
    for _ in range(TRIES):
        address = btc_legacy_address(version)
        assert_untouched(f"my BTC address {address}")


@pytest.mark.parametrize(
    "text",
    [
        "订单号 2024052112345678901",
        "order #20240521123456789012345",
        "My order number is 1234567890123456 and it still shows processing",
        "订单编号：98765432109876543210，金额 2000 USDT",
        "call me at +86 138 0013 8000",
        "amount 1234567890.12345678",
    ],
)
def test_order_numbers_and_numbers_pass_intact(text):
    assert_untouched(text)


def test_solana_style_signature_is_not_a_wif():
    # 88 base58 characters: longer than any WIF; must not be cut into a WIF match.
    signature = base58.b58encode(secrets.token_bytes(64)).decode()
    assert_untouched(f"signature {signature}")


# --------------------------------------------------------------------------- WIF / xprv


@pytest.mark.parametrize("compressed", [True, False])
@pytest.mark.parametrize("version", [0x80, 0xEF])
def test_wif_keys_are_redacted(compressed, version):
    for _ in range(TRIES):
        key = wif(compressed, version)
        assert len(key) == (52 if compressed else 51)
        for template in ("{}", "my key is {} help", "私钥：{}", "{}\n是不是被盗了"):
            text = template.format(key)
            result = redact(text)
            assert result.text == template.format(KEY_PLACEHOLDER), text
            assert key not in result.text
            assert result.kinds == ["private_key"]


def test_wif_key_with_a_typo_is_still_redacted():
    key = wif()
    typo = key[:-1] + ("2" if key[-1] != "2" else "3")
    assert redact(f"key {typo}").text == f"key {KEY_PLACEHOLDER}"


def test_xprv_is_redacted():
    for _ in range(TRIES):
        key = xprv()
        assert key.startswith("xprv")
        for template in ("{}", "extended private key: {} ok?", "这个是{}"):
            text = template.format(key)
            result = redact(text)
            assert result.text == template.format(KEY_PLACEHOLDER)
            assert key not in result.text
            assert result.kinds == ["private_key"]


def test_xpub_is_not_redacted():
    xpub = base58.b58encode_check(bytes.fromhex("0488b21e") + secrets.token_bytes(74)).decode()
    assert xpub.startswith("xpub")
    assert_untouched(f"my xpub {xpub}")


# --------------------------------------------------------------------------- mixed messages


def test_phrase_and_tx_hash_in_one_message():
    for _ in range(TRIES):
        words = phrase("english")
        tx_hash = hex_key()
        before = f"The txid of the theft is {tx_hash} and this is what I typed into that site "
        before += "when they asked: "
        text = before + " ".join(words)
        result = redact(text)
        assert result.text == before + SEED_PLACEHOLDER
        assert_latin_phrase_gone(result, words, context=before)
        assert result.kinds == ["seed_phrase"]


def test_chinese_phrase_and_tx_hash_in_one_message():
    for _ in range(TRIES):
        written = " ".join(phrase("chinese_simplified"))
        tx_hash = hex_key()
        text = f"交易哈希：{tx_hash}\n我之前在一个网站上输入过助记词：{written}"
        result = redact(text)
        assert tx_hash in result.text
        assert_han_phrase_gone(result, written)
        assert result.kinds == ["seed_phrase"]


def test_phrase_then_labelled_hash_later_in_message():
    for _ in range(TRIES):
        words = phrase("english")
        tx_hash = "0x" + hex_key()
        after = "\n\nThose were my words. Afterwards my funds were gone, the explorer shows "
        after += f"tx hash {tx_hash}"
        context_words("Those were my words Afterwards")
        text = " ".join(words) + after
        result = redact(text)
        assert result.text == SEED_PLACEHOLDER + after
        assert_latin_phrase_gone(result, words, context=after)


def test_everything_at_once():
    words = phrase("english", 256)
    zh_words = phrase("chinese_traditional")
    tx_hash = hex_key()
    address = tron_address()
    keys = [wif(True), wif(False), xprv()]
    text = (
        f"tx hash {tx_hash}\n"
        f"to {address}\n"
        f"words {' '.join(words)}\n"
        f"助記詞 {'，'.join(zh_words)}\n"
        f"wif {keys[0]} / {keys[1]}\n"
        f"xprv {keys[2]}\n"
        f"order 20240521000012345"
    )
    result = redact(text)
    assert tx_hash in result.text
    assert address in result.text
    assert "order 20240521000012345" in result.text
    for key in keys:
        assert key not in result.text
    assert f"words {SEED_PLACEHOLDER}\n" in result.text
    assert "，".join(zh_words) not in result.text
    assert result.kinds == ["private_key", "seed_phrase"]
    assert result.text.count(KEY_PLACEHOLDER) == 3
    assert result.text.count(SEED_PLACEHOLDER) == 1
    assert result.text.count(SEED_PLACEHOLDER_ZH) == 1


@pytest.mark.parametrize("lang", ALL_LANGS)
@pytest.mark.parametrize("strength", [128, 256])
def test_every_language_as_generated_is_redacted(lang, strength):
    for _ in range(TRIES):
        written = Mnemonic(lang).generate(strength)
        result = redact(written)
        expected = SEED_PLACEHOLDER_ZH if lang.startswith("chinese") else SEED_PLACEHOLDER
        assert result.text == expected, (lang, written, result.text)
        assert result.kinds == ["seed_phrase"]


# --------------------------------------------------------------------------- explorer URLs

EXPLORER_URLS = [
    "https://etherscan.io/tx/0x{}",
    "https://bscscan.com/tx/0x{}",
    "https://polygonscan.com/tx/0x{}",
    "https://arbiscan.io/tx/0x{}",
    "https://www.oklink.com/eth/tx/0x{}",
    "https://tronscan.org/#/transaction/{}",
    "https://mempool.space/tx/{}",
    "https://blockstream.info/tx/{}",
    "https://blockchair.com/bitcoin/transaction/{}",
    "https://solscan.io/tx/{}",
    "https://etherscan.io/block/0x{}",
    "https://some-new-explorer.example/hash/{}",
    "https://etherscan.io/tx/0x{}#eventlog",
    "https://bscscan.com/tx/{}?utm_source=app",
    "https://blockchair.com/search?q={}",
    "http://localhost:8080/tx/{}",
    "etherscan.io/tx/0x{}",
    "tronscan.org/#/transaction/{}",
]


@pytest.mark.parametrize("url", EXPLORER_URLS)
@pytest.mark.parametrize(
    "template",
    [
        "{}",
        "check this {} still pending",
        "the explorer says success ({}) but nothing arrived",
        "帮我看看这个 {}",
        "链接：{}，为什么还没到账",
        "浏览器显示成功了{}但是我没收到",
    ],
)
def test_hash_in_an_explorer_url_is_kept(url, template):
    for _ in range(TRIES):
        text = template.format(url.format(hex_key()))
        assert_untouched(text)
        assert_untouched(text, expecting_tx_hash=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://wallet.example/import?privateKey={}",
        "https://wallet.example/import?pk=0x{}",
        "https://drainer.example/#/key/{}",
        "https://site.example/?secret={}&ref=1",
    ],
)
def test_hex_in_a_url_parameter_named_like_a_key_is_redacted(url):
    for _ in range(TRIES):
        key = hex_key()
        text = f"this site asked me for {url.format(key)}"
        result = redact(text)
        assert key not in result.text
        assert result.kinds == ["private_key"]


def test_key_next_to_an_explorer_url_is_still_redacted():
    for _ in range(TRIES):
        tx_hash, key = hex_key(), hex_key()
        text = f"https://etherscan.io/tx/0x{tx_hash} 我的私钥：{key}"
        result = redact(text)
        assert result.text == f"https://etherscan.io/tx/0x{tx_hash} 我的私钥：{KEY_PLACEHOLDER}"


# --------------------------------------------------------------------------- hash context


@pytest.mark.parametrize(
    "template",
    [
        "this is the hash, not my private key: {}",
        "It's the transaction hash (not my private key): {}",
        "not a private key, just the tx hash: {}",
        "tx hash (NOT the key) {}",
        "txid={}",
        "hash: {}",
        "hash={}",
        "tx hash: {} (my private key was never shared)",
        "交易哈希（不是私钥）：{}",
        "这是交易哈希，不是私钥：{}",
        "不是私钥，是交易哈希：{}",
        "这个是哈希值不是私钥 {}",
        "交易哈希（并非私钥）{}",
        "{} 是交易哈希，不是我的私钥",
    ],
)
@pytest.mark.parametrize("prefix", ["", "0x"])
def test_explicit_hash_context_keeps_the_hash(template, prefix):
    for _ in range(TRIES):
        assert_untouched(template.format(prefix + hex_key()))


@pytest.mark.parametrize(
    "template",
    [
        "I checked the tx hash on the explorer and it failed. My private key is {}",
        "the hash of my withdrawal is in the app; my private key is {}",
        "交易哈希我在浏览器上查过了，显示失败。我的私钥：{}",
        "交易哈希没有用，私钥：{}",
        "this is my key, not the hash: {}",
        "这是私钥不是哈希：{}",
        "私钥 {} 交易哈希我也不知道",
        "txid 查不到，我的私钥是{}",
    ],
)
@pytest.mark.parametrize("expecting", [False, True])
def test_key_context_is_redacted_even_with_a_hash_word_further_off(template, expecting):
    for _ in range(TRIES):
        key = ("0x" if expecting else "") + hex_key()
        result = redact(template.format(key), expecting_tx_hash=expecting)
        assert result.text == template.format(KEY_PLACEHOLDER)
        assert result.kinds == ["private_key"]


@pytest.mark.parametrize(
    "template", ["not my private key: {}", "这不是我的私钥：{}", "{} (isn't a key)"]
)
def test_a_negated_key_label_names_nothing(template):
    # "not my private key" is no key label; with no other label the value is
    # unlabelled: a key, unless the bot has just asked for the hash.
    for _ in range(TRIES):
        key = hex_key()
        assert redact(template.format(key)).text == template.format(KEY_PLACEHOLDER)
        assert_untouched(template.format(key), expecting_tx_hash=True)


# --------------------------------------------------------------------------- Chinese groups


def written_in_groups(chars: list[str], sizes: tuple[int, ...], sep: str) -> str:
    """``chars`` in groups whose sizes cycle through ``sizes``."""
    groups, i = [], 0
    for size in itertools.cycle(sizes):
        if i >= len(chars):
            break
        groups.append("".join(chars[i : i + size]))
        i += size
    return sep.join(groups)


def assert_phrase_covered(text: str, start: int, end: int) -> list[SecretMatch]:
    """Every Chinese character of ``text[start:end]`` lies inside a match."""
    matches = find_secrets(text)
    left = [
        i for i in range(start, end)
        if HAN_RUN_RE.match(text[i]) and not any(m.start <= i < m.end for m in matches)
    ]
    assert not left, f"{len(left)} phrase characters left in {text!r}: {matches}"
    assert {m.kind for m in matches} == {SecretKind.SEED_PHRASE}
    assert SEED_PLACEHOLDER_ZH in redact(text).text
    return matches


GROUPINGS = [(3,), (4,), (3, 4), (4, 4, 3), (2, 3, 4, 5, 6), (6,)]
# Two groups of six glued to prose, with no word such as 助记词 nearby, are not
# told from two clauses of prose: the glued cases are written in three or more.
GLUED_GROUPINGS = GROUPINGS[:-1]
GROUP_SEPARATORS = [" ", "\u3000", "，", "、", "\n", ", "]


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("strength", [128, 160, 192, 224, 256])
@pytest.mark.parametrize("sizes", GROUPINGS)
def test_chinese_phrase_in_groups_alone(lang, strength, sizes):
    for sep in GROUP_SEPARATORS:
        written = written_in_groups(phrase(lang, strength), sizes, sep)
        result = redact(written)
        assert result.text == SEED_PLACEHOLDER_ZH, (sizes, written, result.text)


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("strength", [128, 256])
@pytest.mark.parametrize("sizes", GLUED_GROUPINGS)
@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("这是我的助记词：", "然后我转不出来了，请帮我看看"),  # glued after, context word
        ("昨天晚上我转不出来了", "，谢谢你们帮我看看"),  # glued before, no context word
        ("昨天晚上我转不出来了", "然后我的币不见了。请帮我看看"),  # glued on both sides
        ("恢复短语是", "是不是被盗了？请帮我看看"),
        ("我的助记词\n", "\n为什么余额是零。"),
    ],
)
def test_chinese_phrase_in_groups_glued_to_prose(lang, strength, sizes, before, after):
    for _ in range(2):
        for sep in (" ", "\u3000", "、"):
            written = written_in_groups(phrase(lang, strength), sizes, sep)
            start, end = len(before), len(before) + len(written)
            text = before + written + after
            matches = assert_phrase_covered(text, start, end)
            # Where a glued end stops is a guess: now and then it takes a
            # group's worth of the prose next to the phrase, never more.
            taken_before = count_han(text[min(m.start for m in matches) : start])
            taken_after = count_han(text[end : max(m.end for m in matches)])
            assert taken_before <= MAX_GROUP and taken_after <= MAX_GROUP, redact(text).text


def test_the_example_from_the_design_is_caught():
    for lang in HAN_LANGS:
        for _ in range(TRIES):
            chars = phrase(lang)
            written = written_in_groups(chars, (4,), " ")
            text = f"…这是我的助记词：{written}然后我转不出来了"
            assert_phrase_covered(text, text.index(written), text.index(written) + len(written))
            assert redact(text).text.startswith("…这是我的助记词：[已隐藏的助记词]")


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize(
    "style", ["{i}.{c}", "{i}、{c}", "{i}. {c}", "({i}){c}", "{i}){c}"]
)
@pytest.mark.parametrize(("before", "after"), [("助记词：", "然后我转不出来了"), ("", "，谢谢")])
def test_chinese_phrase_numbered_glued_to_prose(lang, style, before, after):
    for _ in range(TRIES):
        chars = phrase(lang)
        written = " ".join(style.format(i=i, c=c) for i, c in enumerate(chars, 1))
        text = before + written + after
        assert_phrase_covered(text, len(before), len(before) + len(written))


@pytest.mark.parametrize("lang", HAN_LANGS)
@pytest.mark.parametrize("sep", [" ", "，", "\n"])
def test_chinese_phrase_one_by_one_glued_to_prose_on_both_sides(lang, sep):
    for _ in range(TRIES):
        chars = phrase(lang)
        written = sep.join(chars)
        text = f"我转不出来了{written}然后我的币不见了"
        assert_phrase_covered(text, 6, 6 + len(written))


def test_chinese_phrase_spaced_before_a_sentence_keeps_the_sentence_whole():
    # The phrase "a b … l" is followed by "。然后"; one window in sixteen of "b … l 然"
    # passes the checksum too, and must not take "然" from "然后".
    for lang in HAN_LANGS:
        for _ in range(4 * TRIES):
            written = " ".join(phrase(lang))
            for after in (" 。然后我的USDT就没了", "，然后呢", "。请问怎么办"):
                text = f"助记词：{written}{after}"
                assert redact(text).text == f"助记词：{SEED_PLACEHOLDER_ZH}{after}"


@pytest.mark.parametrize("lang", HAN_LANGS)
def test_chinese_phrase_in_groups_with_a_typo_is_still_caught(lang):
    # No checksum then: the shape (groups of four that are no words) decides.
    for _ in range(TRIES):
        chars = phrase(lang, 256)
        chars[5] = "的" if chars[5] != "的" else "一"
        written = written_in_groups(chars, (4,), " ")
        text = f"我转不出来了{written}，谢谢"
        assert_phrase_covered(text, 6, 6 + len(written))


def test_checksum_matches_the_mnemonic_package():
    for lang in HAN_LANGS:
        mnemo = Mnemonic(lang)
        other = Mnemonic(HAN_LANGS[1] if lang == HAN_LANGS[0] else HAN_LANGS[0])
        for strength in (128, 160, 192, 224, 256):
            for _ in range(TRIES):
                words = mnemo.generate(strength).split()
                assert checksum_ok("".join(words))
                words[3] = secrets.choice(mnemo.wordlist)
                # The guard accepts a phrase of either list.
                expected = mnemo.check(" ".join(words)) or (
                    set(words) <= set(other.wordlist) and other.check(" ".join(words))
                )
                assert checksum_ok("".join(words)) == expected


# --------------------------------------------------------------------------- Chinese prose, lists

CHINESE_LISTS = [
    "一帆风顺，万事如意，心想事成，身体健康",
    "祝大家新年快乐：恭喜发财、年年有余、步步高升、大吉大利、平安喜乐、阖家欢乐",
    "守株待兔 亡羊补牢 对牛弹琴 井底之蛙 画蛇添足 自相矛盾",
    "胸有成竹\n卧薪尝胆\n破釜沉舟\n望梅止渴\n画龙点睛\n狐假虎威",
    "恭喜發財，年年有餘，步步高昇，大吉大利，一帆風順，萬事如意",
    "首页 行情 交易 资产 我的 设置 钱包 转账 收款 兑换",
    "1.打开钱包 2.点击资产 3.选择币种 4.点击提币 5.输入地址 6.确认转账",
    "步骤：打开钱包、点击提币、输入地址、输入数量、确认转账、等待确认",
    "歷史記錄 地址簿 安全中心 幫助中心 聯繫客服 語言設置 網絡切換 添加代幣",
    "转错了 被骗了 充不进去 钱没了 等了好久 求助 有人吗",
    "麻烦了，等了好久，求助，被盗了吗，钱没了，充不进去，转错了，闪退了，有人吗",
    "提币失败 到账很慢 客服不回 怎么回事 急急急",
]


@pytest.mark.parametrize("text", CHINESE_LISTS)
def test_chinese_idioms_and_short_phrase_lists_are_not_redacted(text):
    assert_untouched(text)


SEED_TALK_CHINESE = [
    "我的助记词丢了怎么办，钱包里的币还在吗，我换了新手机以后原来的钱包打不开了",
    "客服让我提供助记词所以刚才那个方法不行所以我对这个不太懂后来打开就是白屏",
    "忘记助记词了还能找回吗 然后我有两个钱包 所以合约地址是从官网复制的所以我用的是安卓手机",
    "助記詞是什麼意思 其實麻煩儘快處理一下結果我不知道自己授權過什麼 但是打開就是白屏",
    "我抄的助记词好像少了一个字 另外对方说没收到 提示滑点过大，网络连接失败？",
]


@pytest.mark.parametrize("text", SEED_TALK_CHINESE)
def test_chinese_prose_about_the_seed_phrase_is_not_redacted(text):
    assert_untouched(text)


@pytest.mark.parametrize(
    "text",
    [
        "I tried: restart, reinstall, clear cache, update the app, switch network, add token",
        "Menu items that crash: send / receive / swap / bridge / stake / settings / history",
        "Things I did so far:\n- backup\n- dark mode\n- language\n- address book",
    ],
)
def test_lists_of_english_words_are_not_redacted(text):
    assert_untouched(text)


# --------------------------------------------------------------------------- benchmark


def test_the_benchmark_at_small_size_meets_its_goals():
    # The generator of bench.secret_guard_precision, at a size `make test` can afford.
    secret_cases, lookalike_cases = generate(size=300, seed=SEED)
    assert len(secret_cases) == len(lookalike_cases) == 300
    assert all(case.secret for case in secret_cases)
    assert not any(case.secret for case in lookalike_cases)
    outcome = evaluate(secret_cases, lookalike_cases)
    assert outcome.leaks == [], [(case.family, m) for case, m in outcome.leaks]
    assert outcome.false_alarm_pct <= MAX_FALSE_ALARM_PCT, [
        (case.family, case.text) for case, _ in outcome.false_alarms
    ]
    assert outcome.ok


def test_the_benchmark_set_is_the_same_for_the_same_seed():
    first, second = generate(size=40, seed=7), generate(size=40, seed=7)
    assert [c.text for c in first[0] + first[1]] == [c.text for c in second[0] + second[1]]
    assert generate(size=40, seed=8)[0] != first[0]


def test_the_benchmark_report_never_prints_a_whole_secret(capsys):
    secret_cases, lookalike_cases = generate(size=60, seed=3)
    # Pretend the guard missed everything, to see how failures are shown.
    outcome = GuardScore(
        len(secret_cases), len(lookalike_cases),
        leaks=[(case, []) for case in secret_cases],
        false_alarms=[(case, []) for case in lookalike_cases],
    )
    report(outcome, secret_cases, lookalike_cases, 0.0)
    printed = capsys.readouterr().out
    assert "secret_guard leaks: 60 / 60" in printed
    assert "secret_guard false alarms: 100.00 % (60 / 60)" in printed
    for case in secret_cases:
        whole = case.text[case.secret[0][0] : case.secret[-1][1]]
        assert whole not in printed
        for start, end in case.secret:
            if end - start >= 8:  # a key, or a phrase typed without blanks
                assert case.text[start:end] not in printed
    assert not outcome.ok


# --------------------------------------------------------------------------- adversarial messages

# Messages of the longest length the chat accepts, built to make the guard work
# hardest (bench.secret_guard_precision times them). The guard caps its work per
# message and redacts what it has no time left to check: however a message is
# built, nothing in it that is a phrase may come through.
ADVERSARIAL = dict(adversarial_inputs(SEED))
RANDOM_HAN_SHAPES = [
    "grouped Han", "Han in groups of 3", "single Han", "Han in groups of 2",
    "Han in groups of 1-6", "Han in groups of 5-6", "traditional and simplified Han",
    "long and short Han tokens",
]


def test_the_adversarial_messages_are_as_long_as_the_chat_allows():
    assert set(RANDOM_HAN_SHAPES) <= set(ADVERSARIAL)
    assert all(len(text) == MAX_MESSAGE_CHARS for text in ADVERSARIAL.values())
    assert adversarial_inputs(SEED) == adversarial_inputs(SEED)


def put_in(text: str, secret: str, at: float) -> tuple[str, int, int]:
    """``text`` with ``secret`` (blanks around) over the characters at share ``at`` of it.

    Returns the new text and where the secret stands in it.
    """
    start = min(int(len(text) * at), len(text) - len(secret) - 2)
    text = text[:start] + " " + secret + " " + text[start + len(secret) + 2 :]
    return text, start + 1, start + 1 + len(secret)


def assert_covered(text: str, spans: list[tuple[int, int]]) -> None:
    """Every character of each span but blanks lies inside a match."""
    matches = find_secrets(text)
    for start, end in spans:
        left = [
            i for i in range(start, end)
            if not text[i].isspace() and not any(m.start <= i < m.end for m in matches)
        ]
        assert not left, f"{len(left)} characters of {text[start:end]!r} left"


@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_phrases_inside_an_adversarial_message_are_redacted(shape):
    # A Chinese phrase a third of the way in, an English one at the very end,
    # where the guard's budget for the message is long spent.
    han = written_in_groups(phrase("chinese_simplified", 256), (4,), " ")
    english = " ".join(phrase("english", 256))
    text, han_start, han_end = put_in(ADVERSARIAL[shape], han, 0.3)
    text, english_start, english_end = put_in(text, english, 1.0)
    assert len(text) == MAX_MESSAGE_CHARS
    assert_covered(text, [(han_start, han_end), (english_start, english_end)])


@pytest.mark.parametrize(
    ("shape", "sizes"),
    [
        ("single Han", (1,)),
        ("Han in groups of 2", (2,)),
        ("Han in groups of 1-6", (2, 3, 4, 5, 6)),
        ("Han in groups of 5-6", (5, 6)),
        ("grouped Han after 助记词", (2, 3, 4, 5, 6)),
        ("glued Han after 助记词", (24,)),
        ("Han runs between letters", (1,)),
        ("deeply numbered Han", (3,)),
    ],
)
def test_a_phrase_written_like_the_blob_around_it_is_redacted_at_its_end(shape, sizes):
    for lang in HAN_LANGS:
        written = written_in_groups(phrase(lang, 256), sizes, " ")
        text, start, end = put_in(ADVERSARIAL[shape], written, 1.0)
        assert_covered(text, [(start, end)])


def aligned_phrases(text: str, sep: str) -> list[tuple[int, int]]:
    """Stretches of whole groups of ``text`` that are phrases: three or more groups of at
    most six characters, of a phrase's length, passing the checksum, not reading as words."""
    groups = [(m.start(), m.group()) for m in re.finditer(f"[^{sep}]+", text)]
    found = []
    for i in range(len(groups)):
        chars = 0
        for j in range(i, len(groups)):
            if len(groups[j][1]) > MAX_GROUP or chars >= max(VALID_LENGTHS):
                break
            chars += len(groups[j][1])
            pieces = [group for _, group in groups[i : j + 1]]
            if j - i >= 2 and chars in VALID_LENGTHS and checksum_ok("".join(pieces)):
                if looks_random(pieces):
                    found.append((groups[i][0], groups[j][0] + len(groups[j][1])))
    return found


@pytest.mark.parametrize("shape", RANDOM_HAN_SHAPES)
def test_no_phrase_of_a_random_han_blob_comes_through(shape):
    # Thousands of list characters in groups: by chance, dozens of stretches of
    # them are valid phrases. The guard runs out of budget on such a message;
    # every one of them must be redacted all the same.
    text = ADVERSARIAL[shape]
    sep = "，" if "，" in text else " "
    phrases = aligned_phrases(text, sep)
    if shape in ("grouped Han", "Han in groups of 3", "single Han", "Han in groups of 2"):
        assert len(phrases) > 20  # the test is not moot
    assert_covered(text, phrases)


def test_an_adversarial_message_of_bip39_words_is_redacted_whole():
    result = redact(ADVERSARIAL["BIP-39 words"])
    assert SEED_PLACEHOLDER in result.text
    assert len(remaining_words(result.text) & ENGLISH_WORDS) < 3  # a word cut at the end


def test_an_adversarial_message_of_hex_keeps_hashes_and_drops_keys():
    bare = redact(ADVERSARIAL["64-hex"]).text
    assert not re.search(r"[0-9a-f]{64}", bare)
    assert_untouched(ADVERSARIAL["64-hex in explorer URLs"])
    labelled = redact(ADVERSARIAL["64-hex labelled"]).text
    assert not re.search(r"(?<!不是)私钥 [0-9a-f]{64}", labelled)
    assert re.search(r"txid [0-9a-f]{64}", labelled)


@pytest.mark.parametrize("kind", ["prose", "prose about the phrase", "clauses", "menu items"])
def test_long_chinese_messages_are_not_redacted(kind):
    # As long as the chat allows: the guard's budget is ample for ordinary text.
    generator = Generator(SEED)
    make = {
        "prose": lambda: generator.zh_prose(9),
        "prose about the phrase": lambda: generator.zh_prose(9, seed_talk=True),
        "clauses": lambda: " ".join(generator.pick(ZH_CLAUSELETS) for _ in range(10)),
        "menu items": lambda: "、".join(generator.pick(ZH_SHORT) for _ in range(10)),
    }[kind]
    text = ""
    while len(text) < MAX_MESSAGE_CHARS:
        text += make() + "。"
    assert_untouched(text[:MAX_MESSAGE_CHARS])
