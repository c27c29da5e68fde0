"""Conversations as users type them, through the real Rasa, action server and service.

Every offered choice is typed in words instead of clicked; values (an e-mail, a
hash) never switch the conversation's language; stolen funds reach the agents'
queue before any question; the transcript shows what the user really sent.
"""

from __future__ import annotations

import secrets
import time

import pytest

from devtools.stack import Stack
from tests.conftest import new_sender
from tests.integration.rest_chat import texts, ticket, tickets_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent(handoff_stack: Stack) -> str:
    return handoff_stack.add_agent(f"casey-{secrets.token_hex(3)}")


def _only_ticket(stack: Stack, token: str, conversation_id: str) -> dict:
    [found] = tickets_of(stack, token, conversation_id)
    return ticket(stack, token, found["ref"])


def _answer_form(
    stack: Stack, sender: str, first_reply: str, answers: dict[str, str], done: tuple[str, ...]
) -> str:
    """Answer each question by its words until a reply contains one of ``done``."""
    text, last = first_reply, first_reply
    for _ in range(14):
        if any(marker in text for marker in done):
            return text
        # The question is the bot's last message of the turn.
        question = next((q for q in answers if q in last), None)
        assert question, f"unexpected question: {text}"
        reply = stack.send(sender, answers[question])
        text, last = texts(reply), texts(reply[-1:])
    raise AssertionError(f"the form never finished: {text}")


# ------------------------------------------------------------- answers in context


@pytest.mark.parametrize(
    ("problem", "no", "yes_to_ticket", "intro"),
    [
        ("USDT 提币到交易所一直没到账", "没有", "好的, 提交工单", "我来帮您提交工单"),
        ("USDT 提币到交易所一直没到账", "没有解决", "好的，麻烦帮我提交", "我来帮您提交工单"),
        ("my USDT withdrawal to an exchange never arrived", "No",
         "yes please, open a ticket", "I'll open a ticket"),
        ("my USDT withdrawal to an exchange never arrived", "no, still missing",
         "Yes, open a ticket", "I'll open a ticket"),
    ],
)
def test_typed_answers_to_the_bots_questions_are_taken_as_the_buttons(
    handoff_stack: Stack, problem: str, no: str, yes_to_ticket: str, intro: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, problem)
    offer = texts(handoff_stack.send(sender, no))
    assert "工单" in offer or "ticket" in offer
    started = texts(handoff_stack.send(sender, yes_to_ticket))
    assert intro in started, started
    # Not the "how to write a good ticket" answer, nor "anything else?".
    assert "还有什么" not in started and "anything else" not in started.lower()


@pytest.mark.parametrize(
    ("problem", "solved", "glad"),
    [("充值一直没到账", "是的，解决了", "太好了"), ("my deposit hasn't arrived", "Yes, it's solved",
                                                  "glad")],
)
def test_typing_the_solved_button_ends_politely(
    handoff_stack: Stack, problem: str, solved: str, glad: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, problem)
    assert glad in texts(handoff_stack.send(sender, solved))


@pytest.mark.parametrize(
    ("problem", "decline", "expected"),
    [("充值一直没到账", "没有", "不用了"), ("my deposit hasn't arrived", "No", "No thanks")],
)
def test_typing_the_decline_button_declines_the_ticket(
    handoff_stack: Stack, problem: str, decline: str, expected: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, problem)
    handoff_stack.send(sender, decline)
    reply = texts(handoff_stack.send(sender, expected))
    # No ticket form, and no sending the user off to look for support elsewhere.
    assert "帮助中心" not in reply and "Help Center" not in reply
    assert "人工" in reply or "human" in reply


def test_a_real_question_at_the_offer_still_gets_its_answer(handoff_stack: Stack) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "my deposit hasn't arrived")
    handoff_stack.send(sender, "No")
    reply = texts(handoff_stack.send(sender, "how long does a ticket usually take?"))
    # An answer to the question, not the ticket form's first question.
    assert reply.strip() and "Just a few questions" not in reply
    assert "Which kind of problem" not in reply


# ------------------------------------------------------------- language that sticks


def test_a_chinese_user_who_types_an_email_keeps_chinese(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "昨天晚上提了 80 USDT 到交易所，一直没到账")
    first = texts(handoff_stack.send(sender, "没有"))
    assert "工单" in first
    text = texts(handoff_stack.send(sender, "好的，提交工单"))
    summary = _answer_form(handoff_stack, sender, text, {
        "标题": "好的",
        "具体描述": "昨天晚上9点提了80 USDT到交易所，显示成功但一直没到账",
        "什么时候": "昨天晚上9点",
        "交易哈希": "跳过",
        "钱包地址": "跳过",
        "邮箱": "li.wei@example.com",
    }, ("确认提交吗", "Submit it?"))
    assert "确认提交吗" in summary and "li.wei@example.com" in summary
    created = texts(handoff_stack.send(sender, "提交"))
    assert "T-" in created and "工单" in created
    assert _only_ticket(handoff_stack, agent, sender)["language"] == "zh"
    assert handoff_stack.tracker(sender)["slots"]["language"] == "zh"


def test_a_real_english_sentence_still_switches_the_language(handoff_stack: Stack) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "你好")
    reply = texts(handoff_stack.send(sender, "sorry, can we speak English? my deposit is missing"))
    assert handoff_stack.tracker(sender)["slots"]["language"] == "en", reply


# ------------------------------------------------------------- the theft emergency


@pytest.mark.parametrize(
    ("message", "opened", "answers", "done"),
    [
        (
            "I clicked a phishing link and my funds are gone",
            "I've opened urgent ticket",
            {
                "describe": "After clicking the link, 1500 USDT left my wallet to an unknown "
                            "address at about 10 pm",
                "When": "last night around 10 pm",
                "How much": "1500 USDT",
                "wallet address": "skip",
                "transaction hash": "skip",
                "e-mail": "skip",
                "title": "yes",
            },
            "Submit it?",
        ),
        (
            "钱包里的币全被转走了，我之前点过一个钓鱼链接",
            "我已为您提交加急工单",
            {
                "具体描述": "昨晚点了一个空投链接后，钱包里的2000 USDT被转到一个陌生地址",
                "什么时候": "昨天晚上10点",
                "金额": "2000 USDT",
                "钱包地址": "跳过",
                "交易哈希": "跳过",
                "邮箱": "跳过",
                "标题": "好的",
            },
            "确认提交吗",
        ),
    ],
)
def test_stolen_funds_reach_the_queue_before_any_question(
    handoff_stack: Stack, agent: str, message: str, opened: str, answers: dict[str, str],
    done: str,
) -> None:
    sender = new_sender()
    first = texts(handoff_stack.send(sender, message))
    visible_at = time.monotonic()
    assert opened in first, first
    assert "did this solve" not in first.lower() and "解决您的问题了吗" not in first
    # The safety steps come first, and nothing sends the user to look for support.
    assert "帮助中心" not in first and "Help Center" not in first
    ticket = _only_ticket(handoff_stack, agent, sender)
    assert time.monotonic() - visible_at < 1.0
    assert ticket["priority"] == "urgent" and ticket["status"] == "open"
    assert ticket.get("sla_due_at")
    summary = _answer_form(handoff_stack, sender, first, answers, (done,))
    assert done in summary
    # Each answer was added to the ticket while the user typed it.
    ticket = _only_ticket(handoff_stack, agent, sender)
    assert ticket["amount"] in ("1500 USDT", "2000 USDT")
    finished = texts(handoff_stack.send(sender, "Submit" if done == "Submit it?" else "提交"))
    assert ticket["ref"] in finished
    assert len(tickets_of(handoff_stack, agent, sender)) == 1


def test_cancelling_the_questions_keeps_the_urgent_ticket(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "someone stole my funds, I think I clicked a phishing link")
    ticket = _only_ticket(handoff_stack, agent, sender)
    reply = texts(handoff_stack.send(sender, "cancel"))
    assert ticket["ref"] in reply and "stays open" in reply
    assert _only_ticket(handoff_stack, agent, sender)["status"] == "open"


# ------------------------------------------------------------- a true transcript


def test_a_hash_given_as_the_answer_stays_a_hash_in_the_transcript(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    bare_hash = secrets.token_hex(32)
    text = texts(handoff_stack.send(sender, "I want to talk to a human"))
    _answer_form(handoff_stack, sender, text, {
        "Which kind of problem": "assets",
        "title": "USDC transfer failed on Arbitrum",
        "describe": "Sent 40 USDC on Arbitrum yesterday, it shows failed and fee was taken",
        "When": "yesterday",
        "How much": "40 USDC",
        "transaction hash": bare_hash,
        "wallet address": "skip",
        "e-mail": "skip",
    }, ("Submit it?",))
    assert "T-" in texts(handoff_stack.send(sender, "Submit"))
    ticket = _only_ticket(handoff_stack, agent, sender)
    assert ticket["tx_hash"] == bare_hash
    lines = [m["text"] for m in ticket["messages"] if m["author"] == "user"]
    assert bare_hash in lines
    assert not any("redacted" in line for line in lines)


# ------------------------------------------------------------- a coherent summary


def test_a_withdrawal_stays_a_withdrawal_and_the_amount_can_be_changed(
    handoff_stack: Stack, agent: str
) -> None:
    sender = new_sender()
    handoff_stack.send(sender, "我从钱包提币 300 USDT 到交易所，三个小时了还没到")
    handoff_stack.send(sender, "没有")
    text = texts(handoff_stack.send(sender, "好的，提交工单"))
    assert "充值" not in text
    summary = _answer_form(handoff_stack, sender, text, {
        "标题": "好的",
        "具体描述": "下午2点从钱包提币300 USDT到交易所，链上显示成功，交易所没到账",
        "什么时候": "今天下午2点",
        "交易哈希": "跳过",
        "钱包地址": "跳过",
        "邮箱": "跳过",
    }, ("确认提交吗",))
    assert "金额：300 USDT" in summary and "提币" in summary and "充值未到账" not in summary
    which = texts(handoff_stack.send(sender, "修改"))
    assert "金额" in which
    asked = texts(handoff_stack.send(sender, "金额"))
    assert "金额" in asked
    summary = texts(handoff_stack.send(sender, "350 USDT"))
    assert "金额：350 USDT" in summary
    handoff_stack.send(sender, "提交")
    ticket = _only_ticket(handoff_stack, agent, sender)
    assert ticket["amount"] == "350 USDT"
    assert ticket["summary"]["problem"] == "withdrawal_failed"
    assert ticket["summary"]["self_help_given"] == ["utter_faq_withdrawal_failed"]
    assert "充值" not in ticket["title"]
