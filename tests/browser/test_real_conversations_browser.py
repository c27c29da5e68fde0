"""Conversations as users type them, in the widget, and what the agent then sees.

Every answer is typed, never clicked: the offered choice in the user's own
words, an e-mail address in a Chinese conversation, a theft in a hurry, a
block-explorer link as the transaction hash. The console shows the urgent
ticket at once with its SLA target, one coherent problem, and the transcript as
the user wrote it.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from devtools.stack import Stack
from tests.browser.pages import Ui

pytestmark = pytest.mark.integration

REF = re.compile(r"T-\d{6,}")
# Agents must see an urgent ticket within a second of the user's message.
URGENT_VISIBLE_MS = 1000


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """The session's shared stack (Rasa, action server, handoff service)."""
    return handoff_stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> tuple[str, str]:
    name = f"Dana{secrets.token_hex(2)}"
    return name, live.add_agent(name)


def _ref_in(text: str) -> str:
    match = REF.search(text)
    assert match, f"no ticket reference in {text!r}"
    return match.group()


def test_a_chinese_user_types_every_answer_and_keeps_chinese(
    ui: Ui, live: Stack, agent: tuple[str, str]
) -> None:
    name, token = agent
    widget = ui.widget(locale="zh-CN")
    widget.step("我从钱包提币到交易所，一直没到账", "解决您的问题了吗")
    widget.step("没有", "提交工单给人工客服")
    # The button's own words, typed: the ticket form starts, no FAQ about tickets.
    widget.step("好的, 提交工单", "我来帮您提交工单")
    widget.step("好的", "具体描述")
    widget.step("今天下午2点从钱包提币80 USDT到交易所，链上成功但交易所没到账", "什么时候")
    widget.step("今天下午2点", "交易哈希")
    widget.step("跳过", "钱包地址")
    widget.step("跳过", "邮箱")
    # An e-mail address has no language: the summary stays Chinese.
    widget.step("li.wei@example.com", "确认提交吗")
    # The summary arrives as several bubbles (one per paragraph).
    summary = " ".join(widget.texts("bot")[-12:])
    assert "金额：80 USDT" in summary and "充值未到账" not in summary
    widget.step("提交", "工单已提交", author="system")
    ref = _ref_in(widget.last_text("system"))

    console = ui.console("console", token, name)
    console.open(ref)
    expect(console.field("language")).to_contain_text("zh")
    expect(console.field("amount")).to_contain_text("80 USDT")
    expect(console.field("problem")).to_contain_text("withdrawal failed")
    expect(console.page.locator("#summary-card")).not_to_contain_text("deposit not received")


def test_stolen_funds_reach_the_console_before_any_question(
    ui: Ui, live: Stack, agent: tuple[str, str]
) -> None:
    name, token = agent
    console = ui.console("console", token, name)
    widget = ui.widget()
    widget.step("someone stole my funds, I think I clicked a phishing link",
                "I've opened urgent ticket")
    ref = _ref_in(" ".join(widget.texts("bot")))
    # The safety steps came first, and the user is not sent to look for support.
    assert "Revoke" in " ".join(widget.texts("bot"))
    assert "Help Center" not in " ".join(widget.texts("bot"))
    item = console.queue_item(ref)
    expect(item).to_be_visible(timeout=URGENT_VISIBLE_MS)
    expect(item.locator("[data-testid=sla-due]")).to_be_visible()
    console.open(ref)
    expect(console.field("priority")).to_have_text("urgent")

    # The details the bot collects land on the ticket the agent already has open.
    widget.step(
        "After I connected to a fake airdrop site, 1500 USDT left my wallet at 10 pm",
        "When did it happen",
    )
    expect(console.field("description")).to_contain_text("fake airdrop", timeout=5000)
    widget.step("yesterday at 10 pm", "transaction hash")
    tx_hash = "0x" + secrets.token_hex(32)
    link = f"https://etherscan.io/tx/{tx_hash}"
    # A block-explorer link is a hash, never a key: not masked, not redacted.
    widget.step(link, "wallet address")
    expect(widget.user_message(link)).to_have_count(1)
    expect(widget.page.locator("[data-testid=secret-mask]")).to_have_count(0)
    expect(console.field("tx_hash")).to_contain_text(tx_hash, timeout=5000)
    expect(console.line("user", link)).to_have_count(1)


def test_the_agent_reads_the_hash_answer_as_the_user_typed_it(
    ui: Ui, live: Stack, agent: tuple[str, str], tmp_path: Path
) -> None:
    name, token = agent
    widget = ui.widget()
    bare = secrets.token_hex(32)
    widget.step("I want a human", "Which kind of problem")
    widget.step("assets", "title")
    widget.step("USDC transfer failed on Arbitrum", "Please describe the problem")
    widget.step("Sent 40 USDC on Arbitrum yesterday, it failed but the fee was taken",
                "When did it happen")
    widget.step("yesterday", "transaction hash")
    widget.wait_for_answer(widget.say(bare))
    # The address is asked where the problem the description names needs one.
    if "wallet address" in widget.last_text("bot"):
        widget.step("skip", "e-mail")
    widget.step("skip", "Please check the ticket")
    widget.step("Submit", "has been submitted", author="system")
    ref = _ref_in(widget.last_text("system"))

    console = ui.console("console", token, name)
    console.open(ref)
    expect(console.line("user", bare)).to_have_count(1)
    expect(console.page.locator("[data-testid=transcript-line]")).not_to_contain_text(
        ["redacted private key"]
    )
    expect(console.page.locator("[data-testid=transcript-line][data-author=system]").first
           ).to_be_visible()
