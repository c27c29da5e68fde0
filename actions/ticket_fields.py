"""Rules for the ticket form's fields, as plain functions shared by the form and the actions.

Which problem needs which fields, how a category is named, what makes a
description specific enough for an agent to act on (the support guide: not
"钱包坏了" but which function, which asset, how much, when).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from support_core.facts import find_facts, normalise_time
from support_core.patterns import CATEGORIES, EMAIL_IN_TEXT_RE, count_han, is_email

CATEGORY_LABELS = {
    "account": ("账户问题", "Account"),
    "assets": ("资产问题", "Assets"),
    "trading": ("交易问题", "Trading"),
    "technical": ("技术支持", "Technical support"),
    "security": ("安全", "Security"),
    "policy": ("规则与申诉", "Rules and appeals"),
}

# The contract's ticket category for each problem intent.
INTENT_CATEGORY = {
    "login_failed": "account",
    "password_reset": "account",
    "account_locked": "account",
    "balance_mismatch": "assets",
    "transaction_missing": "assets",
    "deposit_not_received": "assets",
    "withdrawal_failed": "assets",
    "transaction_pending": "technical",
    "trade_dispute": "trading",
    "transfer_failed": "technical",
    "swap_failed": "technical",
    "staking_issue": "technical",
    "app_malfunction": "technical",
    "account_compromised": "security",
    "phishing_report": "security",
    "verify_official_channel": "security",
    "fee_inquiry": "policy",
    "policy_inquiry": "policy",
    "file_appeal": "policy",
}

# Short problem names used to suggest a ticket title.
INTENT_TITLES = {
    "login_failed": ("无法登录", "Cannot log in"),
    "password_reset": ("找回密码失败", "Password reset not working"),
    "account_locked": ("账户被锁定", "Account locked"),
    "balance_mismatch": ("余额不符", "Balance does not match"),
    "transaction_missing": ("交易记录缺失", "Transaction missing from history"),
    "deposit_not_received": ("充值未到账", "Deposit not received"),
    "withdrawal_failed": ("提币失败", "Withdrawal failed"),
    "transaction_pending": ("交易一直未确认", "Transaction stuck pending"),
    "trade_dispute": ("交易纠纷", "Trade dispute"),
    "transfer_failed": ("转账失败", "Transfer failed"),
    "swap_failed": ("兑换失败", "Swap failed"),
    "staking_issue": ("质押问题", "Staking problem"),
    "app_malfunction": ("App 故障", "App malfunction"),
    "account_compromised": ("资产被盗（紧急）", "Funds stolen (urgent)"),
    "phishing_report": ("举报钓鱼/诈骗", "Phishing report"),
    "verify_official_channel": ("核实官方渠道", "Verify an official channel"),
    "fee_inquiry": ("手续费疑问", "Question about fees"),
    "policy_inquiry": ("规则咨询", "Question about rules"),
    "file_appeal": ("申诉", "Appeal"),
}

PROBLEM_INTENTS = frozenset(INTENT_CATEGORY)

_NEEDS_TX_HASH = frozenset({
    "deposit_not_received", "withdrawal_failed", "transaction_pending", "transfer_failed",
    "swap_failed", "transaction_missing", "account_compromised", "trade_dispute",
})
_NEEDS_ADDRESS = frozenset({
    "deposit_not_received", "withdrawal_failed", "transfer_failed", "balance_mismatch",
    "transaction_missing", "account_compromised", "staking_issue",
})
_CATEGORY_NEEDS = {"assets": (True, True), "security": (False, True), "technical": (True, False)}
# Problems where an agent needs to know how much moved (or went missing).
_NEEDS_AMOUNT = frozenset({
    "deposit_not_received", "withdrawal_failed", "transfer_failed", "transaction_pending",
    "transaction_missing", "balance_mismatch", "account_compromised", "swap_failed",
    "trade_dispute",
})
_AMOUNT_CATEGORIES = frozenset({"assets", "security", "trading"})
# Problems whose evidence is what the screen showed (an error, a wrong balance, a
# phishing page) and whose form asks no hash (the hash question offers a
# screenshot already).
_NEEDS_SCREENSHOT = frozenset({
    "login_failed", "password_reset", "account_locked", "app_malfunction",
    "balance_mismatch", "staking_issue", "phishing_report", "verify_official_channel",
})
_SCREENSHOT_CATEGORIES = frozenset({"account"})

SKIPPED = "skipped"
_SKIP_WORDS = re.compile(
    r"^\s*(skip|no|none|n/?a|nope|don'?t have( one)?|i don'?t know|跳过|没有|无|不知道|不清楚|"
    r"不记得|略过|不用|没|不需要|暂无)\s*[.。!！]*\s*$",
    re.IGNORECASE,
)
_UNKNOWN_TIME = re.compile(
    r"(不记得|不清楚|忘了|记不清|不确定|don'?t remember|not sure|no idea|unknown|forgot)",
    re.IGNORECASE,
)
_FUNCTION_WORDS = re.compile(
    r"(提币|提现|充值|转账|兑换|闪兑|质押|赎回|登录|登陆|密码|验证码|余额|记录|交易|订单|授权|"
    r"闪退|报错|卡住|白屏|地址|手续费|gas|withdraw|deposit|transfer|send|swap|stak|unstak|"
    r"login|log in|password|code|balance|history|order|trade|approval|crash|error|freez|"
    r"stuck|pending|address|fee|bridge|p2p|nft|reward)",
    re.IGNORECASE,
)
_TIME_WORDS = re.compile(
    r"(昨天|今天|前天|上周|周[一二三四五六日天]|星期|早上|上午|中午|下午|晚上|凌晨|\d+\s*[点时号日月]|"
    r"[一二三四五六七八九十两]+\s*[点个]|小时|分钟|刚才|刚刚|yesterday|today|tonight|last\s+\w+|"
    r"this\s+morning|ago|\d{1,2}:\d{2}|\d{4}-\d{1,2}-\d{1,2}|\d+\s*(am|pm)|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|hours?|minutes?|days?)",
    re.IGNORECASE,
)
# Checked in this order: "邮箱地址" is the e-mail, not the wallet address.
_FIELD_WORDS = {
    "ticket_email": r"(邮箱|邮件|電郵|郵箱|(?<![A-Za-z])e-?mail(?![A-Za-z]))",
    "ticket_tx_hash": r"(哈希|交易号|(?<![A-Za-z])(hash|txid|tx\s*id)(?![A-Za-z]))",
    "ticket_wallet_address": r"(地址|(?<![A-Za-z])address(?![A-Za-z]))",
    "ticket_category": r"(类别|分类|类型|類別|(?<![A-Za-z])category(?![A-Za-z]))",
    "ticket_title": r"(标题|標題|(?<![A-Za-z])(title|subject)(?![A-Za-z]))",
    "ticket_description": r"(描述|说明|(?<![A-Za-z])(description|details?)(?![A-Za-z]))",
    "ticket_amount": r"(金额|數額|数额|多少钱|(?<![A-Za-z])amount(?![A-Za-z]))",
    "ticket_occurred_at": (
        r"(时间|日期|几点|什么时候|時間|(?<![A-Za-z])(when|time|date)(?![A-Za-z]))"
    ),
}


def category_for(intent: str | None) -> str | None:
    """The ticket category of a problem intent (None for chit-chat)."""
    return INTENT_CATEGORY.get(intent or "")


def category_from_text(text: str) -> str | None:
    """A category the user named in words ("资产问题", "security") or by its code."""
    lowered = text.strip().lower()
    if lowered in CATEGORIES:
        return lowered
    # Theft and scams are security whatever else is named ("资产被盗" is not an asset question).
    for word in ("被盗", "盗", "钓鱼", "诈骗", "hack", "stolen", "phish", "scam"):
        if word in lowered:
            return "security"
    for code, (zh, en) in CATEGORY_LABELS.items():
        if zh[:2] in text or en.lower() in lowered:
            return code
    extra = {"申诉": "policy", "规则": "policy", "手续费": "policy", "appeal": "policy",
             "rule": "policy", "tech": "technical", "bug": "technical", "登录": "account",
             "login": "account", "提币": "assets", "充值": "assets", "asset": "assets",
             "trade": "trading"}
    for word, code in extra.items():
        if word in lowered:
            return code
    return None


def needs_tx_hash(intent: str | None, category: str | None) -> bool:
    """Whether this problem needs the transaction hash."""
    if intent in PROBLEM_INTENTS:
        return intent in _NEEDS_TX_HASH
    return _CATEGORY_NEEDS.get(category or "", (False, False))[0]


def needs_amount(intent: str | None, category: str | None) -> bool:
    """Whether this problem needs the amount involved."""
    if intent in PROBLEM_INTENTS:
        return intent in _NEEDS_AMOUNT
    return category in _AMOUNT_CATEGORIES


def needs_screenshot(intent: str | None, category: str | None) -> bool:
    """Whether the form asks for a screenshot of the error (never beside the hash question)."""
    if needs_tx_hash(intent, category):
        return False
    if intent in PROBLEM_INTENTS:
        return intent in _NEEDS_SCREENSHOT
    return category in _SCREENSHOT_CATEGORIES


def amount_in(text: str) -> str | None:
    """The first amount written in ``text`` ("500 USDT", "0.5 ETH"), as the matcher reads it."""
    for fact in find_facts(text):
        if fact.entity == "amount":
            return fact.value
    return None


def needs_address(intent: str | None, category: str | None) -> bool:
    """Whether this problem needs the wallet address."""
    if intent in PROBLEM_INTENTS:
        return intent in _NEEDS_ADDRESS
    return _CATEGORY_NEEDS.get(category or "", (False, False))[1]


def is_skip(text: str) -> bool:
    """The user has no value for an optional field ("skip", "没有")."""
    return bool(_SKIP_WORDS.match(text or ""))


def is_unknown_time(text: str) -> bool:
    """The user does not remember when it happened."""
    return bool(_UNKNOWN_TIME.search(text or ""))


def looks_like_time(text: str) -> bool:
    """The text names a moment or a date."""
    return bool(_TIME_WORDS.search(text or "")) or any(
        f.entity == "time" for f in find_facts(text or "")
    )


def valid_email(text: str) -> bool:
    """A plausible e-mail address (the service is the final judge)."""
    return is_email(text)


def email_in(text: str) -> str | None:
    """The first e-mail address inside a longer message."""
    match = EMAIL_IN_TEXT_RE.search(text or "")
    return match.group() if match else None


def specificity_signals(text: str) -> set[str]:
    """What concrete details a description has: function, asset/amount, time, reference."""
    signals: set[str] = set()
    if _FUNCTION_WORDS.search(text):
        signals.add("function")
    if _TIME_WORDS.search(text):
        signals.add("time")
    for fact in find_facts(text):
        if fact.entity in ("asset", "amount", "network"):
            signals.add("asset")
        elif fact.entity in ("tx_hash", "address"):
            signals.add("reference")
        elif fact.entity == "time":
            signals.add("time")
        elif fact.entity == "error_message":
            signals.add("error")
    if re.search(r"\d", text) and "asset" not in signals and re.search(r"(元|块|个|u\b|\$)", text):
        signals.add("asset")
    return signals


def is_specific(text: str) -> bool:
    """An agent can act on it: long enough and with two kinds of concrete detail."""
    cleaned = (text or "").strip()
    han = count_han(cleaned)
    words = len(re.findall(r"[A-Za-z]+", cleaned))
    long_enough = han >= 8 or words >= 6 or (han >= 4 and words >= 2)
    return long_enough and len(specificity_signals(cleaned)) >= 2


def field_named_in(text: str) -> str | None:
    """Which ticket field the user wants to correct, if the message names one."""
    for slot, pattern in _FIELD_WORDS.items():
        if re.search(pattern, text or "", re.IGNORECASE):
            return slot
    return None


def suggested_title(intent: str | None, facts: dict[str, list[str]], language: str) -> str | None:
    """A short, clear title from the problem and the facts, e.g. 'USDT 提币失败（TRON）'."""
    names = INTENT_TITLES.get(intent or "")
    if names is None:
        return None
    name = names[0] if language == "zh" else names[1]
    asset = (facts.get("asset") or [None])[0]
    network = (facts.get("network") or [None])[0]
    title = f"{asset} {name}" if asset else name
    if network:
        title += f"（{network}）" if language == "zh" else f" ({network})"
    return title


def iso_time(text: str | None, language: str) -> str | None:
    """The moment the user named, as ISO 8601, so agents can sort and compare."""
    if not text or text == SKIPPED:
        return None
    # The widget does not send a timezone; Chinese-speaking users are read in
    # China time, others in UTC. The text as written travels with it.
    zone = ZoneInfo("Asia/Shanghai") if language == "zh" else timezone.utc
    moment = normalise_time(text, language, datetime.now(zone))
    return moment.isoformat() if moment else None
