"""The answers keep a user who is already talking to support here.

This chat is support: any answer can lead to a ticket for a human agent right here (the
user says "人工"/"human", or accepts the ticket offered after self-help). So no response
may send the user off to "contact support via Me → Help Center" or to "submit a ticket"
somewhere else; the next step is "tell me and I'll open a ticket for a human agent right
here". Naming the Help Center as the place to READ rules, fee schedules or announcements
is fine, and so is "only trust channels listed in the app or on okx.com".

Every text of every variation of every response in domain/*.yml is checked, sentence by
sentence, in both languages, including the text of custom payloads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"

ZH_CONDITION = [{"type": "slot", "name": "language", "value": "zh"}]

# Responses allowed to name the Help Center next to support or tickets, because pointing to
# the official place is their purpose. Keep this list short: a self-help answer never
# belongs here (its next step is a ticket in this chat).
ALLOWED = {
    # The answer to "how do I contact support?": it says first that the user is talking to
    # support here and gets a human agent by saying "人工"/"human", and only then lists
    # where the official channels are in the app (Me → Help Center, okx.com).
    "utter_contact_support",
    # This chat's ticket was refused by the ticket system, so the official in-app route is
    # the only way left to reach a human agent.
    "utter_ticket_refused",
    # No ticket in this chat yet: a ticket the user filed in the Help Center is followed
    # there, and the answer offers to open one here.
    "utter_no_ticket_yet",
}

HAN = re.compile(r"[\u4e00-\u9fff]")

# One sentence: split at line breaks and sentence ends (Chinese and English).
SENTENCE_END = re.compile(r"\n|(?<=[。！？!?])|(?<=\.)\s+")

# Each rule: (what it catches, a pattern the sentence must match, a pattern that clears it).
Rule = tuple[str, re.Pattern[str], re.Pattern[str] | None]

RULES: list[Rule] = [
    (
        "sends the user to the Help Center for support or a ticket",
        re.compile(r"帮助中心.*(联系|提交|工单|客服)|(联系|提交|工单|客服).*帮助中心"),
        None,
    ),
    (
        "sends the user to the Help Center for support or a ticket",
        re.compile(
            r"(?i)help cent(er|re).*(contact|ticket|support)"
            r"|(contact|ticket|support).*help cent(er|re)"
        ),
        None,
    ),
    (
        "tells the user to contact support, as if this chat were not support",
        re.compile(r"联系(官方|人工|官方人工)?客服"),
        None,
    ),
    (
        "tells the user to contact support, as if this chat were not support",
        re.compile(
            r"(?i)\b(contact|reach)\s+(the\s+)?(official\s+)?support\b"
            r"|\b(report|send|write)\s+(it|this)\s+to\s+(the\s+)?(official\s+)?support\b"
        ),
        None,
    ),
    (
        "tells the user to submit a ticket themselves instead of opening one here",
        re.compile(r"(提交|发起)(一个)?(申诉)?工单|工单举报"),
        re.compile(r"这里|帮您|为您|我来|我会|要不要我"),
    ),
    (
        "tells the user to submit a ticket themselves instead of opening one here",
        re.compile(r"(?i)\b(submit|open|file|raise|create)s?\s+(a\s+|an\s+|the\s+)?ticket\b"),
        re.compile(r"\bI\b|\bme\b|\bhere\b"),  # "I'll open a ticket ... right here"
    ),
]


def elsewhere(text: str) -> list[str]:
    """Every sentence of ``text`` that sends the user elsewhere for support, with why."""
    found = []
    for sentence in SENTENCE_END.split(text):
        for why, pattern, cleared_by in RULES:
            if pattern.search(sentence) and not (cleared_by and cleared_by.search(sentence)):
                found.append(f"{why}: {sentence.strip()!r}")
                break
    return found


def _texts(variation: dict[str, Any]) -> list[str]:
    """The text of a variation and every ``text`` inside its custom payload."""
    texts = [variation["text"]] if isinstance(variation.get("text"), str) else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(variation.get("custom"))
    return texts


def _language(variation: dict[str, Any]) -> str:
    condition = variation.get("condition")
    if condition == ZH_CONDITION:
        return "zh"
    return "en" if not condition else f"unexpected condition {condition!r}"


def load_responses(folder: Path = DOMAIN_DIR) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Every response of the folder: name -> (file name, variations)."""
    responses: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for path in sorted(folder.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (content.get("responses") or {}).items():
            responses[name] = (path.name, variations)
    return responses


RESPONSES = load_responses()

CASES = [
    pytest.param(name, language, text, id=f"{file}::{name}::{language}")
    for name, (file, variations) in RESPONSES.items()
    for variation in variations
    for language in [_language(variation)]
    for text in _texts(variation)
]


def test_the_domain_has_responses() -> None:
    assert len(RESPONSES) > 20
    assert len(CASES) >= 2 * len(RESPONSES)


@pytest.mark.parametrize(("name", "language", "text"), CASES)
def test_no_response_sends_the_user_elsewhere_for_support(
    name: str, language: str, text: str
) -> None:
    if name in ALLOWED:
        pytest.skip("allowed: its purpose is to point to official channels")
    assert elsewhere(text) == [], f"{name} ({language}) should offer a ticket here instead"


def test_every_allowed_name_is_a_response() -> None:
    assert ALLOWED <= set(RESPONSES)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_contact_support_answer_starts_with_a_human_agent_here(language: str) -> None:
    _, variations = RESPONSES["utter_contact_support"]
    (text,) = [t for v in variations if _language(v) == language for t in _texts(v)]
    first_two_lines = "\n".join(text.splitlines()[:2])
    if language == "zh":
        assert "客服" in first_two_lines
        assert "“人工”" in first_two_lines
        assert "这里" in first_two_lines
    else:
        assert "support" in first_two_lines
        assert '"human"' in first_two_lines
        assert "here" in first_two_lines


@pytest.mark.parametrize(
    "sentence",
    [
        # Texts these answers used to have: each must be caught.
        "4. 仍不行时，准备好账号信息和报错截图，通过“我的”→“帮助中心”联系客服；"
        "助记词只在官方 App 里输入，不要发给任何人。",
        "4. If that doesn't work, contact support via Me → Help Center with your account "
        "details and a screenshot.",
        "4. 通过“我的”→“帮助中心”提交工单，分类选“账户问题”，附上账号、锁定时间和提示截图。",
        '4. Submit a ticket via Me → Help Center, category "Account", with your account, '
        "the time of the lock and a screenshot of the message.",
        "5. 长时间没有变化，准备好 TxID、时间、币种、金额和网络联系客服。",
        "5. If nothing changes for a long time, contact support with the TxID, time, asset, "
        "amount and network.",
        "5. 如果发现不是您本人发起的转出，请立即当作被盗处理并联系官方客服。",
        "5. If you see a send you didn't make, treat it as theft and contact official support "
        "right away.",
        "4. 规则调整会通过官方公告发布；有具体疑问可以提交工单，分类选“规则与申诉”。",
        'For a specific question, submit a ticket with the category "Rules and appeals".',
        "3. 我看不到实时系统状态；如果公告里没有相关信息而问题一直存在，可以联系客服反馈。",
        "If there's no announcement and the problem continues, please report it to support.",
        "4. 拿不准时先不要互动，通过 App 内“帮助中心”联系客服核实。",
        "4. When in doubt, don't interact. Check with support through the Help Center in the app.",
        "4. 保存链接、账号和聊天截图，通过“我的”→“帮助中心”提交工单举报，分类选“安全”。",
        "1. Go to Me → Help Center → Submit a Ticket and choose the category "
        '"Rules and appeals".',
        "Here's how to reach official support:",
    ],
)
def test_an_old_sentence_is_caught(sentence: str) -> None:
    assert elsewhere(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        # The next step here, and the Help Center as a place to read official information.
        "如果还是不行，告诉我，我可以直接在这里帮您提交工单给人工客服。",
        "If it still doesn't work, tell me and I'll open a ticket for a human agent right here.",
        "要不要我帮您提交工单给人工客服？",
        "Shall I open a ticket for a human agent?",
        "4. 最新的收费标准请查看 App 内“帮助中心”或官方公告。",
        "4. For current fee schedules, see the Help Center in the app or the official "
        "announcements.",
        "1. Me → Help Center has the rule descriptions and FAQs.",
        "1. 只相信欧意钱包 App 内或官网 okx.com 上列出的客服入口和社交账号。",
        "5. Never put your seed phrase or private key in a ticket.",
    ],
)
def test_a_next_step_here_or_official_reading_is_not_caught(sentence: str) -> None:
    assert elsewhere(sentence) == []


@pytest.mark.parametrize(("name", "file"), [(n, f) for n, (f, _) in RESPONSES.items()])
def test_every_response_has_a_zh_and_an_en_variation(name: str, file: str) -> None:
    _, variations = RESPONSES[name]
    languages = sorted(_language(v) for v in variations)
    assert languages == ["en", "zh"], f"{file}: {name} has {languages}"
    for variation in variations:
        texts = _texts(variation)
        assert texts, f"{file}: {name} has a variation without text"
        chinese = [bool(HAN.search(t)) for t in texts]
        if _language(variation) == "zh":
            assert all(chinese), f"{file}: {name}'s zh variation is not in Chinese"
        else:
            assert not any(chinese), f"{file}: {name}'s en variation contains Chinese"
