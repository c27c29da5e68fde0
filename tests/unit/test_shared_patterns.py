"""The rules in ``support_core.patterns`` are the ones every part of the bot applies.

Three kinds of check: each user of a rule answers as the rule does (property
style, over generated input); no module keeps a copy of its own (a source scan
for the tell-tale pieces of each pattern); and lists written out elsewhere
(categories, escalation reasons) equal the shared ones.
"""

from __future__ import annotations

import ast
import itertools
import re
import secrets
import unicodedata
from functools import cache
from pathlib import Path

import base58
import bech32
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions import escalation
from actions import ticket_fields as fields
from addons.tokenizer import MixedTextTokenizer
from addons.wallet_entities import WalletEntityExtractor
from support_core import chains, patterns
from support_core.facts import find_facts, split_words
from support_core.language import detect_language
from tests.unit.action_helpers import make_tracker, user_turn, utter
from tests.unit.test_chains import checksummed_evm_address

ROOT = Path(__file__).resolve().parents[2]
# Where no copy of a shared rule may live.
SCANNED = ("actions", "addons", "support_core", "devtools", "bench", "handoff_service",
           "support_bot")
# Packages whose written-out lists of categories or reasons must equal the shared ones.
ALL_PACKAGES = SCANNED
SHARED = ROOT / "support_core" / "patterns.py"

PROPERTY = settings(max_examples=100, deadline=None, database=None)

emails = st.from_regex(patterns.EMAIL_RE, fullmatch=True)
texts = st.text(
    alphabet=st.sampled_from("ab.Z_-+%@ 1 9\n邮箱是，" + "xyz.example.com"), max_size=60
)


def han_chars() -> st.SearchStrategy[str]:
    """Single characters from every range of ``HAN_RANGES``."""
    ranges = re.findall(r"(.)-(.)", patterns.HAN_RANGES)
    assert len(ranges) == 4
    return st.one_of([st.integers(ord(low), ord(high)).map(chr) for low, high in ranges])


# --------------------------------------------------------------------------- e-mail


@PROPERTY
@given(st.one_of(emails, texts, emails.map(lambda e: f"  {e}\n"), emails.map(lambda e: e + "x")))
def test_the_ticket_form_accepts_what_the_shared_rule_accepts(text: str) -> None:
    assert fields.valid_email(text) == patterns.is_email(text)


@PROPERTY
@given(texts, st.lists(emails, max_size=2), texts)
def test_an_email_in_a_message_is_the_one_the_shared_rule_finds(
    before: str, addresses: list[str], after: str
) -> None:
    text = " ".join([before, *addresses, after])
    expected = [m.group() for m in patterns.EMAIL_IN_TEXT_RE.finditer(text)]
    assert fields.email_in(text) == (expected[0] if expected else None)
    (message,) = WalletEntityExtractor().process([Message(data={TEXT: text})])
    found = [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == "email"]
    assert found == expected


# --------------------------------------------------------------------------- Chinese script


@PROPERTY
@given(st.characters(max_codepoint=0x2FFFF))
@example("\u33ff")
@example("\u3400")
@example("\u4dbf")
@example("\u4dc0")  # a Yijing hexagram symbol, between extension A and the main block
@example("\u9fa5")
@example("\uf900")
@example("\ufad9")
@example("\U00020000")
@example("\U0002fa1d")
def test_a_han_character_is_a_cjk_ideograph(char: str) -> None:
    # Assigned characters up to the end of plane 2; plane 3 (Extension G on, historic
    # characters) is outside HAN_RANGES on purpose.
    if unicodedata.category(char) == "Cn":
        return
    name = unicodedata.name(char, "")
    ideograph = name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))
    assert patterns.is_han(char) == ideograph, (hex(ord(char)), name)


@PROPERTY
@given(st.lists(han_chars(), min_size=2, max_size=12))
def test_every_user_of_the_han_rule_reads_any_han_character_as_chinese(chars: list[str]) -> None:
    text = "".join(chars)
    assert patterns.count_han(text) == len(chars)
    assert detect_language(text) == "zh"
    # The fact matcher's tokenizer makes each Han character a token of its own.
    assert split_words(text)[0] == chars


# --------------------------------------------------------------------------- addresses


def tron_address(payload: bytes) -> str:
    return base58.b58encode_check(b"\x41" + payload).decode()


def bitcoin_addresses(payload: bytes) -> list[str]:
    legacy = [base58.b58encode_check(version + payload).decode() for version in (b"\0", b"\5")]
    segwit = bech32.encode("bc", 0, list(payload))
    assert segwit is not None
    return [*legacy, segwit, segwit.upper()]


@pytest.fixture(scope="module")
def nlu_tokenizer() -> MixedTextTokenizer:
    return MixedTextTokenizer(MixedTextTokenizer.get_default_config(), None, None)


@PROPERTY
@given(st.binary(min_size=20, max_size=20))
def test_every_valid_address_has_the_shared_shape_everywhere(
    nlu_tokenizer: MixedTextTokenizer, payload: bytes
) -> None:
    for address in [tron_address(payload), *bitcoin_addresses(payload)]:
        assert chains.check_address(address)  # valid, so every reader must see an address
        assert patterns.looks_like_address(address)
        assert [f.value for f in find_facts(f"地址 {address} 谢谢") if f.entity == "address"] == [
            address
        ]
        lemmas = [
            t.lemma for t in nlu_tokenizer.tokenize(Message(data={TEXT: address}), TEXT)
        ]
        assert lemmas == ["walletaddress"]


def test_evm_addresses_have_the_shared_shape_everywhere(
    nlu_tokenizer: MixedTextTokenizer,
) -> None:
    for address in [checksummed_evm_address() for _ in range(20)] + ["0x" + secrets.token_hex(20)]:
        assert chains.check_address(address).chain == "evm"
        assert patterns.looks_like_address(address)
        assert [f.value for f in find_facts(address) if f.entity == "address"] == [address]
        message = Message(data={TEXT: address})
        assert [t.lemma for t in nlu_tokenizer.tokenize(message, TEXT)] == ["walletaddress"]


@pytest.mark.parametrize(
    "value",
    [
        "0X" + "ab" * 20,
        "t" + "1" * 33,
        "bC1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "0x" + "ab" * 19,
    ],
)
def test_a_wrongly_cased_or_short_value_is_no_address_anywhere(
    nlu_tokenizer: MixedTextTokenizer, value: str
) -> None:
    assert not patterns.looks_like_address(value)
    assert [f for f in find_facts(value) if f.entity == "address"] == []
    message = Message(data={TEXT: value})
    assert "walletaddress" not in [t.lemma for t in nlu_tokenizer.tokenize(message, TEXT)]


# --------------------------------------------------------------------------- no copies


@cache
def _string_constants(package: str) -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path == SHARED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((path.relative_to(ROOT), node.lineno, node.value))
    return found


# The piece of each rule a copy would have to contain. For the Han range: its bounds as
# escapes in a raw string, a range starting at one, or U+9FFF alone (``ch <= "\u9fff"``);
# not 一 alone, which Chinese text is full of.
COPY_TELLS = {
    "han range": re.compile(r"\\u4e00|\\u3400|\\u9fff|^\u9fff$|[\u4e00\u3400]-"),
    "e-mail pattern": re.compile(r"\]\+@\[|\]\+@"),
    "address shape": re.compile(
        re.escape("1-9A-HJ-NP-Za-km-z") + "|" + re.escape("[0-9a-fA-F]{40}") + r"|bc1\["
    ),
}


@pytest.mark.parametrize("rule", sorted(COPY_TELLS))
def test_no_module_keeps_its_own_copy_of_a_shared_rule(rule: str) -> None:
    tell = COPY_TELLS[rule]
    copies = [
        f"{path}:{line}"
        for package in SCANNED
        for path, line, value in _string_constants(package)
        if tell.search(value)
    ]
    assert copies == [], f"{rule} copied instead of imported from support_core.patterns: {copies}"


# --------------------------------------------------------------------------- categories, reasons


def test_the_ticket_form_offers_the_shared_categories() -> None:
    assert fields.CATEGORIES == patterns.CATEGORIES
    assert list(fields.CATEGORY_LABELS) == list(patterns.CATEGORIES)
    assert set(fields.INTENT_CATEGORY.values()) <= set(patterns.CATEGORIES)
    for category in patterns.CATEGORIES:
        assert fields.category_from_text(category) == category


def test_the_actions_escalate_for_exactly_the_shared_reasons() -> None:
    intents = ["request_human", "account_compromised", "affirm", None]
    previous = [
        [], utter("utter_offer_ticket"), utter("utter_fallback_twice"), utter("utter_greet"),
    ]
    reasons = {
        escalation.escalation_reason(make_tracker([*before, *user_turn("人工", intent)]))
        for intent, before in itertools.product(intents, previous)
    }
    assert reasons == set(patterns.ESCALATION_REASONS)


def _written_out(name: str) -> list[tuple[Path, tuple[str, ...]]]:
    """Module-level ``NAME = ("a", "b", ...)`` literals anywhere in the project."""
    found = []
    for package in ALL_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == SHARED:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in tree.body:
                target = node.target if isinstance(node, ast.AnnAssign) else (
                    node.targets[0] if isinstance(node, ast.Assign) else None
                )
                if isinstance(target, ast.Name) and target.id == name and node.value is not None:
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue  # built from the shared one, or from something else
                    found.append((path.relative_to(ROOT), tuple(value)))
    return found


@pytest.mark.parametrize(
    ("name", "shared"),
    [("CATEGORIES", patterns.CATEGORIES), ("ESCALATION_REASONS", patterns.ESCALATION_REASONS)],
)
def test_every_written_out_list_equals_the_shared_one(name: str, shared: tuple[str, ...]) -> None:
    different = [(str(path), value) for path, value in _written_out(name) if value != shared]
    assert different == []


# --------------------------------------------------------------------------- the handoff service
#
# The service keeps its own copies where Python cannot import: the database enums
# (handoff_service.models and the migrations), the console's script. Their checks
# against support_core.patterns (e-mail, CATEGORIES, ESCALATION_REASONS, the Han
# ranges) belong here, written by the service's owner.
