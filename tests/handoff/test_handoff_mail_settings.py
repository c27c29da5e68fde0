"""E-mail settings, the texts of the e-mails, and the folder sender on its own."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from handoff_service.config import ConfigError, Settings, parse_mail_from
from handoff_service.mail import templates
from handoff_service.mail.compose import UnusableAddress, compose, message_id, recipient
from handoff_service.mail.folder import FolderSender
from handoff_service.mail.sending import SendFailed
from handoff_service.mail.smtp import SmtpSender
from handoff_service.mail.wiring import make_sender
from support_core.secret_guard import redact

AT = datetime(2025, 11, 25, 9, 5, tzinfo=timezone.utc)
URL = "https://wallet.example/chat/"

# ---------------------------------------------------------------- settings


def test_the_defaults_need_no_mail_server() -> None:
    settings = Settings.from_env({"HANDOFF_STATE_DIR": "/srv/handoff"})
    mail = settings.mail
    assert mail.smtp_host is None
    assert (mail.smtp_port, mail.smtp_security) == (587, "starttls")
    assert mail.mail_from == "support@localhost"
    assert mail.reply_delay_s == 600
    assert settings.mail_outbox_dir == Path("/srv/handoff/mail")
    assert settings.chat_public_url == "http://localhost:8000/widget/"
    assert isinstance(make_sender(settings), FolderSender)


def test_every_mail_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "SMTP_HOST": "smtp.example.com",
            "SMTP_PORT": "2525",
            "SMTP_USERNAME": "bot",
            "SMTP_PASSWORD": "s3cret",
            "SMTP_SECURITY": "tls",
            "MAIL_FROM": "钱包客服 <help@example.com>",
            "MAIL_OUTBOX_DIR": "/tmp/outbox",
            "EMAIL_REPLY_DELAY_S": "120",
            "CHAT_PUBLIC_URL": "https://wallet.example/support/",
        }
    )
    mail = settings.mail
    assert (mail.smtp_host, mail.smtp_port, mail.smtp_security) == ("smtp.example.com", 2525, "tls")
    assert (mail.smtp_username, mail.smtp_password) == ("bot", "s3cret")
    assert "s3cret" not in repr(mail)
    assert mail.reply_delay_s == 120
    assert settings.mail_outbox_dir == Path("/tmp/outbox")
    assert settings.chat_public_url == "https://wallet.example/support/"
    assert parse_mail_from(mail.mail_from).addr_spec == "help@example.com"
    sender = make_sender(settings)
    assert isinstance(sender, SmtpSender)
    assert (sender.host, sender.port, sender.security) == ("smtp.example.com", 2525, "tls")


def test_implicit_tls_defaults_to_its_own_port_and_the_chat_link_to_this_service() -> None:
    settings = Settings.from_env(
        {"SMTP_HOST": "smtp.example.com", "SMTP_SECURITY": "tls",
         "HANDOFF_HOST": "10.1.2.3", "HANDOFF_PORT": "8080"}
    )
    assert settings.mail.smtp_port == 465
    assert settings.chat_public_url == "http://10.1.2.3:8080/widget/"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTP_HOST": "smtp://mail.example.com"}, "SMTP_HOST"),
        ({"SMTP_HOST": "mail.example.com:25"}, "SMTP_PORT"),
        ({"SMTP_HOST": "a b"}, "SMTP_HOST"),
        ({"SMTP_HOST": "m.example.com", "SMTP_PORT": "0"}, "SMTP_PORT"),
        ({"SMTP_HOST": "m.example.com", "SMTP_PORT": "smtp"}, "SMTP_PORT"),
        ({"SMTP_HOST": "m.example.com", "SMTP_SECURITY": "ssl"}, "SMTP_SECURITY"),
        ({"SMTP_HOST": "m.example.com", "SMTP_USERNAME": "bot"}, "SMTP_PASSWORD"),
        ({"SMTP_HOST": "m.example.com", "SMTP_PASSWORD": "pw"}, "SMTP_USERNAME"),
        (
            {"SMTP_HOST": "m.example.com", "SMTP_USERNAME": "b", "SMTP_PASSWORD": "p",
             "SMTP_SECURITY": "none"},
            "unencrypted",
        ),
        ({"SMTP_PORT": "25"}, "SMTP_HOST is not"),
        ({"SMTP_USERNAME": "bot", "SMTP_PASSWORD": "pw"}, "SMTP_HOST is not"),
        ({"MAIL_FROM": "support"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@example.com, b@example.com"}, "MAIL_FROM"),
        ({"MAIL_FROM": "a@example.com\r\nBcc: x@example.com"}, "MAIL_FROM"),
        ({"EMAIL_REPLY_DELAY_S": "0"}, "EMAIL_REPLY_DELAY_S"),
        ({"EMAIL_REPLY_DELAY_S": "ten"}, "EMAIL_REPLY_DELAY_S"),
        ({"CHAT_PUBLIC_URL": "javascript:alert(1)"}, "CHAT_PUBLIC_URL"),
        ({"CHAT_PUBLIC_URL": "https://"}, "CHAT_PUBLIC_URL"),
        ({"CHAT_PUBLIC_URL": "https://x.example/a b"}, "CHAT_PUBLIC_URL"),
    ],
)
def test_unusable_mail_settings_are_refused_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


# ---------------------------------------------------------------- texts

REPLIES = [
    templates.Reply("alice", AT, "I checked your withdrawal.\nIt is on its way."),
    templates.Reply(None, AT, "第二条：已经到账了。"),
]


def _all_texts() -> list[templates.MailText]:
    return [
        text
        for language in ("en", "zh")
        for text in (
            templates.ticket_created(language, "T-000042", "Withdrawal not received", URL),
            templates.agent_replies(language, "T-000042", "提现没到账", REPLIES, URL),
        )
    ]


@pytest.mark.parametrize(
    "text", _all_texts(), ids=["en-created", "en-replies", "zh-created", "zh-replies"]
)
def test_every_email_has_the_reference_the_link_and_the_safety_reminder(
    text: templates.MailText,
) -> None:
    assert "T-000042" in text.subject and "T-000042" in text.body
    assert URL in text.body
    safety = ("never ask for your seed phrase", "绝不会索要您的助记词或私钥")
    assert any(sentence in text.body for sentence in safety)
    # The guard must not mistake the wording for a secret and mangle it.
    assert not redact(text.subject).found and not redact(text.body).found
    # Nothing the support guide does not say: no phone numbers, no fees.
    wording = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", text.body.replace(URL, ""))
    assert not re.search(r"\+?\d[\d ()-]{7,}\d", wording)
    assert not re.search(r"fee|费用|手续费", text.body, re.IGNORECASE)


def test_replies_are_quoted_with_name_and_time() -> None:
    english = templates.agent_replies("en", "T-000042", "x", REPLIES, URL).body
    quoted = "alice, 2025-11-25 09:05 UTC:\n    I checked your withdrawal.\n    It is on its way."
    assert quoted in english
    assert "Support, 2025-11-25 09:05 UTC:" in english
    chinese = templates.agent_replies("zh", "T-000042", "x", REPLIES, URL).body
    assert "客服，2025-11-25 09:05（UTC）：\n    第二条：已经到账了。" in chinese


def test_compose_redacts_and_sets_the_headers() -> None:
    key = "ab" * 32
    text = templates.MailText(f"About {key}", f"key: {key}\n")
    sender = parse_mail_from("Wallet Support <support@wallet.test>")
    message = compose(
        text, sender=sender, to=recipient("user@example.com"), language="en", at=AT,
        message_id=message_id(7, AT, sender),
    )
    raw = message.as_bytes(policy=policy.SMTP).decode()
    assert key not in raw
    assert message["Message-ID"] == f"<handoff-email-7-{int(AT.timestamp() * 1000)}@wallet.test>"
    assert message["Date"] == "Tue, 25 Nov 2025 09:05:00 +0000"


@pytest.mark.parametrize(
    "address", ["a,b@example.com", "user@", "two words@example.com", "", "用户@example.com"]
)
def test_an_address_that_is_not_exactly_one_mailbox_is_refused(address: str) -> None:
    with pytest.raises(UnusableAddress):
        recipient(address)


def test_an_internationalised_domain_is_written_in_idna() -> None:
    assert recipient("user@例子.中国").addr_spec == "user@xn--fsqu00a.xn--fiqs8s"


# ---------------------------------------------------------------- the folder sender


def _message(number: int) -> templates.MailText:
    return templates.ticket_created("zh", f"T-{number:06d}", "提现没到账", URL)


def test_the_folder_sender_writes_whole_private_files(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "mail"
    sender = FolderSender(folder)
    address = parse_mail_from("support@localhost")
    for number in (1, 2):
        message = compose(
            _message(number), sender=address, to=recipient("user@例子.中国"),
            language="zh", at=AT, message_id=message_id(number, AT, address),
        )
        asyncio.run(sender.send(message))
        # Sending the same e-mail again replaces its file.
        asyncio.run(sender.send(message))
    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"], "no temporary files are left"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for number, path in enumerate(files, start=1):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert parsed["Subject"] == f"我们已收到您的求助（工单 T-{number:06d}）"
        assert parsed["To"] == "user@xn--fsqu00a.xn--fiqs8s"
        assert "客服绝不会索要您的助记词或私钥" in parsed.get_content()


def test_a_folder_that_cannot_be_written_is_a_retryable_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    address = parse_mail_from("support@localhost")
    message = compose(
        _message(1), sender=address, to=recipient("u@example.com"), language="zh", at=AT,
        message_id=message_id(1, AT, address),
    )
    with pytest.raises(SendFailed) as failed:
        asyncio.run(FolderSender(blocker / "mail").send(message))
    assert not failed.value.permanent
    assert os.listdir(tmp_path) == ["file"]
