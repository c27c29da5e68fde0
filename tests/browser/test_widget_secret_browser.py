"""A seed phrase or private key pasted into the widget, in a real browser.

The channel removes the secret before Rasa sees the message and acknowledges
with the text it kept; the widget must then show only that text (the secret as
a grey chip) and must never write the secret to the browser's storage: not
while the acknowledgement is on its way, not while the message waits for the
connection, not after a reload. Ordinary messages, and a transaction hash given
where the bot asked for one, stay as typed.

Runs on the shared ``handoff_stack``. Every secret is generated for the test
(the ``mnemonic`` package, random bytes); none belongs to a wallet. The
acknowledgement is held back in the page (``WidgetPage.hold_acks``) so that the
storage can be read while the server has answered with words but not yet with
its acknowledgement.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import pytest
from mnemonic import Mnemonic
from playwright.sync_api import Locator, expect

from devtools.stack import Stack
from support_core.secret_guard import (
    KEY_PLACEHOLDER,
    SEED_PLACEHOLDER,
    SEED_PLACEHOLDER_ZH,
    redact,
)
from tests.browser.pages import (
    BOT_TIMEOUT_MS,
    HISTORY_KEY_PREFIX,
    LIVE_TIMEOUT_MS,
    ChatLog,
    Ui,
    WidgetPage,
)

pytestmark = pytest.mark.integration

CATEGORY = '/choose_category{"ticket_category": "assets"}'
WARNING = {"en-US": "We removed it and did not store it", "zh-CN": "我们已将其删除，没有保存"}
# What a chip reads in each language of the page, by the placeholder's kind.
CHIP = {
    "en-US": {
        "seed_phrase": "•••• hidden: recovery phrase",
        "private_key": "•••• hidden: private key",
    },
    "zh-CN": {"seed_phrase": "•••• 已隐藏助记词", "private_key": "•••• 已隐藏私钥"},
}
# The channel's placeholders, by kind (the widget shows each as a chip).
PLACEHOLDERS = {
    SEED_PLACEHOLDER: "seed_phrase",
    SEED_PLACEHOLDER_ZH: "seed_phrase",
    KEY_PLACEHOLDER: "private_key",
}


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


# ---------------------------------------------------------------- secrets


def _entropy() -> bytes:
    return secrets.token_bytes(16)


def english_phrase() -> str:
    """A fresh 12-word English BIP-39 phrase (valid checksum, no wallet behind it)."""
    return Mnemonic("english").to_mnemonic(_entropy())


def chinese_words() -> list[str]:
    """A fresh 12-character simplified Chinese BIP-39 phrase, one character per word."""
    return Mnemonic("chinese_simplified").to_mnemonic(_entropy()).split()


def private_key() -> str:
    """32 random bytes as 64 hex digits, the shape of a raw private key."""
    return secrets.token_hex(32)


def word_fragments(words: list[str]) -> list[str]:
    """The phrase and every run of three of its words, spaced and (for Chinese) glued.

    Single words are no evidence: the bot's own warning uses everyday words
    ("seed", "wallet", 的, 是) that are in the lists too.
    """
    fragments = {" ".join(words)}
    for i in range(len(words) - 2):
        fragments.add(" ".join(words[i : i + 3]))
        if all(len(word) == 1 for word in words):
            fragments.add("".join(words[i : i + 3]))
    return sorted(fragments)


def hex_fragments(key: str) -> list[str]:
    """The key and each quarter of it (16 hex digits never turn up by chance)."""
    return [key, *(key[i : i + 16] for i in range(0, 64, 16))]


@dataclass(frozen=True)
class Pasted:
    """One message with a secret in it, as a user of ``locale`` pastes it."""

    name: str
    locale: str
    text: str
    fragments: list[str]


def pasted(name: str) -> Pasted:
    """The message of case ``name``, freshly generated."""
    if name == "english-phrase":
        phrase = english_phrase()
        return Pasted(name, "en-US", f"here is my recovery phrase: {phrase}",
                      word_fragments(phrase.split()))
    if name == "chinese-phrase":
        words = chinese_words()
        return Pasted(name, "zh-CN", "这是我的助记词，请帮我看看：" + " ".join(words),
                      word_fragments(words))
    if name == "english-key":
        key = private_key()
        return Pasted(name, "en-US", f"my private key is {key}", hex_fragments(key))
    key = private_key()
    return Pasted(name, "zh-CN", f"我的私钥是 {key} 帮我看看钱包", hex_fragments(key))


# ---------------------------------------------------------------- helpers


def kept_text(text: str) -> str:
    """What the channel keeps of ``text``: the server's own redaction."""
    kept = redact(text).text
    assert kept != text and any(p in kept for p in PLACEHOLDERS), kept
    return kept


def shown_text(kept: str, locale: str) -> str:
    """``kept`` as the bubble reads: each placeholder as its chip."""
    for placeholder, kind in PLACEHOLDERS.items():
        kept = kept.replace(placeholder, CHIP[locale][kind])
    return kept


def leaks(text: str, fragments: list[str]) -> list[str]:
    """The fragments of a secret found in ``text``."""
    return [fragment for fragment in fragments if fragment in text]


def assert_not_stored(widget: WidgetPage, fragments: list[str]) -> None:
    """No key or value of localStorage or sessionStorage holds any part of the secret."""
    storage = widget.browser_storage()
    for area, values in storage.items():
        for key, value in values.items():
            found = leaks(key, fragments) + leaks(value or "", fragments)
            assert not found, f"{area}[{key!r}] holds {found}: {value!r}"


def stored_user_texts(widget: WidgetPage) -> list[str]:
    """The text of every user message in the stored logs."""
    texts: list[str] = []
    for key, value in widget.browser_storage()["localStorage"].items():
        if key.startswith(HISTORY_KEY_PREFIX):
            texts += [item["text"] for item in json.loads(value) if item["author"] == "user"]
    return texts


def last_message_id(widget: WidgetPage) -> str:
    """The message_id of the user's newest message (drawn when it is typed)."""
    value = widget.page.locator("[data-testid=msg][data-author=user]").last.get_attribute("data-id")
    assert value, "the user's message has no id"
    return value


def user_bubble(widget: WidgetPage, message_id: str) -> Locator:
    """The user's message the server knows as ``message_id``."""
    return widget.page.locator(f"[data-testid=msg][data-author=user][data-id='{message_id}']")


def expect_masked(bubble: Locator, fragments: list[str], chips: int = 1) -> None:
    """The bubble shows the chip and nothing of the secret."""
    expect(bubble).to_have_count(1, timeout=BOT_TIMEOUT_MS)
    expect(bubble.locator("[data-testid=secret-mask]")).to_have_count(chips)
    text = bubble.locator("[data-testid=msg-text]").text_content() or ""
    assert not leaks(text, fragments), text


def expect_log_clean(widget: WidgetPage, fragments: list[str]) -> None:
    """Nothing of the secret anywhere in the page's log."""
    text = widget.page.locator("#chat-log").text_content() or ""
    assert not leaks(text, fragments), text


def wait_held(widget: WidgetPage, count: int) -> None:
    """Wait until ``count`` acknowledgements are held back (the server has answered)."""
    widget.page.wait_for_function(
        "(count) => window.__heldAckCount && window.__heldAckCount() >= count",
        arg=count, timeout=BOT_TIMEOUT_MS,
    )


def forget_cached_logs(widget: WidgetPage) -> None:
    """Drop the stored logs, keeping the session: the next load rebuilds from the server."""
    widget.page.evaluate(
        """(prefix) => Object.keys(localStorage).filter((key) => key.startsWith(prefix))
               .forEach((key) => localStorage.removeItem(key))""",
        HISTORY_KEY_PREFIX,
    )


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize(
    "case", ["english-phrase", "chinese-phrase", "english-key", "chinese-key"]
)
def test_pasted_secret_is_masked_and_never_stored(ui: Ui, live: Stack, case: str) -> None:
    secret = pasted(case)
    kept = kept_text(secret.text)
    widget = ui.widget(locale=secret.locale)
    widget.hold_acks()

    before = widget.say(secret.text)
    message_id = last_message_id(widget)
    bubble = user_bubble(widget, message_id)
    # At once, before the server has said anything: masked here, nothing stored.
    expect_masked(bubble, secret.fragments)
    assert_not_stored(widget, secret.fragments)

    # The bot warns; the channel has answered but its acknowledgement is held back.
    widget.wait_for(before, "bot", WARNING[secret.locale])
    wait_held(widget, 1)
    expect(bubble).to_have_attribute("data-status", "sent")
    expect_masked(bubble, secret.fragments)
    assert_not_stored(widget, secret.fragments)  # also saved since: the bot's warning

    # The acknowledgement: the bubble shows the server's text, the log stores only that.
    assert widget.release_acks() == 1
    expect(bubble).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    expect(bubble.locator("[data-testid=msg-text]")).to_have_text(
        shown_text(kept, secret.locale)
    )
    expect_masked(bubble, secret.fragments)
    assert kept in stored_user_texts(widget)
    assert_not_stored(widget, secret.fragments)

    # Reloaded: the stored log, then history, show the masked text only.
    widget.reload()
    ChatLog(widget.page).expect_synced()
    expect_masked(user_bubble(widget, message_id), secret.fragments)
    expect_log_clean(widget, secret.fragments)
    assert_not_stored(widget, secret.fragments)

    # Rebuilt from the server's history alone (the cached log dropped): the same.
    forget_cached_logs(widget)
    widget.reload()
    ChatLog(widget.page).expect_synced()
    again = user_bubble(widget, message_id)
    expect_masked(again, secret.fragments)
    expect(again.locator("[data-testid=msg-text]")).to_have_text(shown_text(kept, secret.locale))
    widget.wait_for(0, "bot", WARNING[secret.locale], timeout=LIVE_TIMEOUT_MS)
    expect_log_clean(widget, secret.fragments)
    assert_not_stored(widget, secret.fragments)


def test_secret_typed_offline_is_kept_in_memory_only(ui: Ui, live: Stack) -> None:
    phrase = english_phrase()
    fragments = word_fragments(phrase.split())
    text = f"is this my seed phrase? {phrase}"
    ordinary = "my deposit of 20 USDT on TRC20 is missing"
    widget = ui.widget()
    context = widget.page.context

    context.set_offline(True)
    expect(widget.page.locator("#connection-state")).to_have_attribute(
        "data-state", "offline", timeout=LIVE_TIMEOUT_MS
    )
    widget.say(ordinary)
    widget.say(text)
    queued = widget.page.locator("[data-testid=msg][data-author=user][data-status=queued]")
    expect(queued).to_have_count(2)
    secret_bubble = queued.nth(1)
    secret_id = last_message_id(widget)
    # Masked at once; says it is not saved on the device; nothing of it stored.
    expect_masked(secret_bubble, fragments)
    expect(secret_bubble.locator(".msg__meta")).to_contain_text("Not saved on this device")
    assert_not_stored(widget, fragments)
    # The ordinary message is stored, as typed, to be sent after a reload too.
    assert ordinary in stored_user_texts(widget)
    expect(queued.nth(0).locator(".msg__meta")).to_have_text(
        "Will be sent when the connection is back"
    )

    context.set_offline(False)
    widget.wait_online()
    widget.expect_all_delivered()
    widget.wait_for(0, "bot", WARNING["en-US"])
    kept = kept_text(text)
    bubble = user_bubble(widget, secret_id)
    expect(bubble.locator("[data-testid=msg-text]")).to_have_text(shown_text(kept, "en-US"))
    expect_masked(bubble, fragments)
    assert stored_user_texts(widget) == [ordinary, kept]
    assert_not_stored(widget, fragments)


@pytest.mark.parametrize(
    ("locale", "ordinary"),
    [
        ("en-US", "my withdrawal of 50 USDT has not arrived"),
        ("zh-CN", "我的USDT提币一直没有到账，已经等了两个小时了"),
    ],
)
def test_ordinary_message_is_stored_at_once_as_typed(
    ui: Ui, live: Stack, locale: str, ordinary: str
) -> None:
    widget = ui.widget(locale=locale)
    widget.hold_acks()
    before = widget.say(ordinary)
    bubble = user_bubble(widget, last_message_id(widget))
    # Nothing secret-looking: stored at once, before the acknowledgement, as typed.
    assert stored_user_texts(widget) == [ordinary]
    expect(bubble.locator("[data-testid=msg-text]")).to_have_text(ordinary)
    widget.wait_for_answer(before)
    wait_held(widget, 1)
    assert widget.release_acks() == 1
    expect(bubble).to_have_attribute("data-status", "delivered", timeout=LIVE_TIMEOUT_MS)
    expect(bubble.locator("[data-testid=msg-text]")).to_have_text(ordinary)
    expect(widget.page.locator("[data-testid=secret-mask]")).to_have_count(0)
    assert stored_user_texts(widget) == [ordinary]


def test_transaction_hash_the_bot_asked_for_stays_as_typed(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    # The ticket form asks for the transaction hash: 64 hex digits are that hash.
    widget.step("I want a human", "Which kind of problem")
    widget.step(CATEGORY, "title", button=True)
    widget.step("USDT withdrawal to Binance not received", "Please describe the problem")
    widget.step(
        "Yesterday at 9pm I withdrew 50 USDT to Binance on TRC20. "
        "It shows success but never arrived.",
        "When did it happen",
    )
    widget.step("yesterday around 9 pm", "transaction hash")
    tx_hash = secrets.token_hex(32)
    before = widget.say(tx_hash)
    answer_id = last_message_id(widget)
    answer = user_bubble(widget, answer_id)
    # Shown as typed from the start (no mask for a hash the bot asked for) and after.
    expect(answer.locator("[data-testid=msg-text]")).to_have_text(tx_hash)
    expect(answer.locator("[data-testid=secret-mask]")).to_have_count(0)
    widget.wait_for(before, "bot", "wallet address")
    widget.expect_all_delivered()
    expect(answer.locator("[data-testid=msg-text]")).to_have_text(tx_hash)
    expect(widget.page.locator("[data-testid=secret-mask]")).to_have_count(0)
    assert tx_hash in stored_user_texts(widget)

    # After a reload, still as typed.
    widget.reload()
    ChatLog(widget.page).expect_synced()
    answer = user_bubble(widget, answer_id)
    expect(answer.locator("[data-testid=msg-text]")).to_have_text(tx_hash)
    expect(widget.page.locator("[data-testid=secret-mask]")).to_have_count(0)


def test_local_check_flags_every_shape_and_spares_ordinary_text(ui: Ui, live: Stack) -> None:
    """The widget's own check (secret_shapes.js): broad on secrets, quiet on everyday text."""
    widget = ui.widget()
    words = english_phrase().split()
    han = chinese_words()
    key = private_key()
    # Each must be kept from storage before the acknowledgement; True: also masked at once.
    secret_shapes = {
        " ".join(words): True,
        "seed: " + ", ".join(words): True,
        "\n".join(f"{i}. {word}" for i, word in enumerate(words, 1)): True,
        " ".join(word.capitalize() for word in words): True,
        "".join(words): False,
        "助记词：" + " ".join(han): True,
        "，".join(han): True,
        "\n".join(f"{i}、{char}" for i, char in enumerate(han, 1)): True,
        "我的助记词是" + "".join(han): False,
        " ".join("".join(han[i : i + 3]) for i in range(0, 12, 3)): False,
        "my private key is " + key: True,
        "0x" + key: True,
        key: True,
        "TxID " + key: False,
    }
    ordinary = [
        "my withdrawal of 50 USDT has not arrived",
        "hello",
        "I want a human",
        "我的USDT提币一直没有到账，已经等了两个小时了",
        "提币失败怎么办",
        "send to 0x52908400098527886E0F7030069857D2E4169EE7 please",
        "TRON address TJYeasTPa6gpEEfYqAoP5oyHjCzXe8JgUm, about 12.5 USDT, order 20240501123456",
    ]
    check = """(texts) => texts.map((text) => {
        const shapes = window.walletSupportSecretShapes;
        const spans = shapes.find(text, {});
        return [spans.length > 0, shapes.mask(text, spans) !== text];
    })"""
    results = widget.page.evaluate(check, [*secret_shapes, *ordinary])
    for (text, masked), (found, was_masked) in zip(
        [*secret_shapes.items(), *((text, False) for text in ordinary)], results, strict=True
    ):
        expected_found = text not in ordinary
        assert (found, was_masked) == (expected_found, masked), text
    # What is masked keeps nothing of the secret.
    masked = widget.page.evaluate(
        """(texts) => texts.map((text) => window.walletSupportSecretShapes.mask(
               text, window.walletSupportSecretShapes.find(text, {})))""",
        [text for text, sure in secret_shapes.items() if sure],
    )
    for text in masked:
        assert not leaks(text, word_fragments(words) + word_fragments(han) + hex_fragments(key))
