"""The words of the e-mails, in Chinese and English: short, calm, nothing the guide does not say.

Every e-mail ends with the safety reminder the support guide gives everywhere:
support never asks for the seed phrase or the private key. Texts here are
plain; :mod:`handoff_service.mail.compose` redacts secrets and adds headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

ZH = "zh"
EN = "en"


@dataclass(frozen=True)
class Reply:
    """One agent reply as an e-mail quotes it."""

    author_name: str | None
    at: datetime
    text: str


@dataclass(frozen=True)
class MailText:
    """The subject and plain-text body of one e-mail."""

    subject: str
    body: str


_SAFETY = {
    ZH: "安全提醒：客服绝不会索要您的助记词或私钥，请不要把它们告诉任何人。",
    EN: (
        "Stay safe: support staff will never ask for your seed phrase (recovery phrase) "
        "or private key. Please never share them with anyone."
    ),
}
_SIGNATURE = {ZH: "客服团队", EN: "Support team"}
_AGENT = {ZH: "客服", EN: "Support"}


def _lang(language: str) -> str:
    # Anything but Chinese gets English, the service's second language.
    return ZH if language == ZH else EN


def _quoted_title(lang: str, title: str) -> str:
    return f"“{title}”" if lang == ZH else f'"{title}"'


def _time(lang: str, at: datetime) -> str:
    stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    return f"{stamp}（UTC）" if lang == ZH else f"{stamp} UTC"


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines() or [""])


def ticket_created(language: str, ref: str, title: str, chat_url: str) -> MailText:
    """The confirmation of a new ticket: reference, title, what happens next, the chat link."""
    lang = _lang(language)
    if lang == ZH:
        subject = f"我们已收到您的求助（工单 {ref}）"
        paragraphs = [
            "您好：",
            f"我们已收到您的求助，工单编号 {ref}：\n{_quoted_title(lang, title)}",
            "接下来，人工客服会尽快查看，并在聊天窗口中回复您。"
            "如果客服回复时您不在聊天窗口，我们也会把回复发送到这个邮箱。",
            f"如需补充信息或查看进展，请回到聊天窗口：\n{chat_url}",
            f"请保留工单编号 {ref}，方便日后查询。",
            _SAFETY[lang],
            f"如需回复，请通过聊天窗口，不要直接回复本邮件。\n{_SIGNATURE[lang]}",
        ]
    else:
        subject = f"We've received your request (ticket {ref})"
        paragraphs = [
            "Hello,",
            f"We've received your request and opened ticket {ref}:\n{_quoted_title(lang, title)}",
            "What happens next: a member of our support team will look at it as soon as "
            "possible and reply to you in the chat. If you're not in the chat when they "
            "reply, we'll also send their answer to this e-mail address.",
            f"To add details or see how it's going, go back to the chat:\n{chat_url}",
            f"Please keep your ticket number, {ref}, for reference.",
            _SAFETY[lang],
            f"To reply, please use the chat rather than this e-mail.\n{_SIGNATURE[lang]}",
        ]
    return MailText(subject, "\n\n".join(paragraphs) + "\n")


def agent_replies(
    language: str, ref: str, title: str, replies: Sequence[Reply], chat_url: str
) -> MailText:
    """Agent replies the user has not seen in the chat, oldest first, with the chat link."""
    lang = _lang(language)
    quoted = "\n\n".join(
        f"{reply.author_name or _AGENT[lang]}{'，' if lang == ZH else ', '}"
        f"{_time(lang, reply.at)}{'：' if lang == ZH else ':'}\n{_indented(reply.text)}"
        for reply in replies
    )
    if lang == ZH:
        subject = f"您的工单 {ref} 有新回复"
        paragraphs = [
            "您好：",
            f"客服回复了您的工单 {ref}（{_quoted_title(lang, title)}），内容如下：",
            quoted,
            f"如需回复或继续咨询，请回到聊天窗口：\n{chat_url}",
            _SAFETY[lang],
            _SIGNATURE[lang],
        ]
    else:
        noun = "reply" if len(replies) == 1 else "replies"
        subject = f"New {noun} to your ticket {ref}"
        paragraphs = [
            "Hello,",
            f"Our support team has replied to your ticket {ref} "
            f"({_quoted_title(lang, title)}):",
            quoted,
            f"To answer or ask a follow-up question, please go back to the chat:\n{chat_url}",
            _SAFETY[lang],
            _SIGNATURE[lang],
        ]
    return MailText(subject, "\n\n".join(paragraphs) + "\n")
