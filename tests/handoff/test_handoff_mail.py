"""E-mail to users end to end: outbox rows, the dispatcher, and a real SMTP server (aiosmtpd).

The clock is fake: "ten minutes later" is a call, not a wait.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from mnemonic import Mnemonic
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from devtools.mailbox import ReceivedMail, SmtpSink
from handoff_service.config import Settings, parse_mail_from
from handoff_service.db import make_engine, make_session_factory, upgrade
from handoff_service.mail import outbox
from handoff_service.mail.dispatcher import EmailDispatcher, EmailDispatchSettings
from handoff_service.mail.scheduling import REPLY_MAX_AGE, schedule_reply_emails
from handoff_service.mail.seen import mark_seen
from handoff_service.mail.smtp import SmtpSender
from handoff_service.models import Author, Message, OutgoingEmail, Ticket
from handoff_service.services import HandoffService
from tests.handoff.helpers import FakeClock, ticket_payload

CHAT_URL = "https://wallet.example/support/chat/"
MAIL_FROM = "Wallet Support <support@wallet.test>"
DELAY_S = 600
MAX_BACKOFF_S = 900
SAFETY_EN = "support staff will never ask for your seed phrase (recovery phrase) or private key"


@dataclass
class Desk:
    """The service on one database with a fake clock, and dispatchers to send with."""

    sessions: sessionmaker
    clock: FakeClock

    def open_ticket(self, idempotency_key: str | None = None, **overrides: Any) -> Ticket:
        with self.sessions() as session:
            ticket, _created = HandoffService(session, self.clock).create_ticket(
                ticket_payload(**overrides), idempotency_key
            )
            return ticket

    def add_agent(self, name: str = "alice") -> None:
        with self.sessions() as session:
            HandoffService(session, self.clock).add_agent(name)

    def reply(self, ticket: Ticket, text: str, agent: str = "alice") -> int:
        with self.sessions() as session:
            service = HandoffService(session, self.clock)
            (person,) = [a for a in service.agents() if a.name == agent]
            service.claim(ticket.ref, person)
            return int(service.add_agent_message(ticket.ref, person, text).id)

    def store_raw_reply(self, ticket: Ticket, text: str) -> int:
        """A reply written straight to the table, as if stored before a guard rule existed."""
        with self.sessions() as session:
            message = Message(
                ticket_id=ticket.id, author=Author.AGENT, author_name="alice",
                text=text, created_at=self.clock(),
            )
            session.add(message)
            session.commit()
            return int(message.id)

    def store_raw_contact_email(self, ticket: Ticket, address: str) -> None:
        """An address written straight to the ticket, as if stored before the e-mail rule."""
        with self.sessions() as session:
            row = session.get(Ticket, ticket.id)
            assert row is not None
            row.contact_email = address
            session.commit()

    def dispatcher(self, port: int, security: str = "none", **timing: Any) -> EmailDispatcher:
        settings = EmailDispatchSettings(
            reply_delay_s=DELAY_S, max_backoff_s=MAX_BACKOFF_S, **timing
        )
        return EmailDispatcher(
            self.sessions,
            SmtpSender("127.0.0.1", port, security=security, timeout=5),
            self.clock,
            mail_from=parse_mail_from(MAIL_FROM),
            chat_url=CHAT_URL,
            settings=settings,
        )

    def emails(self) -> list[OutgoingEmail]:
        with self.sessions() as session:
            return list(session.execute(select(OutgoingEmail).order_by(OutgoingEmail.id)).scalars())

    def message(self, message_id: int) -> Message:
        with self.sessions() as session:
            found = session.get(Message, message_id)
            assert found is not None
            return found

    def mail_audit(self, ticket: Ticket) -> list[tuple[str, str, Any]]:
        with self.sessions() as session:
            trail = HandoffService(session).audit_trail(ticket.ref)
        return [event for event in trail if event[1].startswith("email_")]


def send(dispatcher: EmailDispatcher) -> int:
    """One dispatcher round; the number of e-mails that went out."""
    return asyncio.run(dispatcher.run_once())


@pytest.fixture
def desk(migrated_engine: Engine, clock: FakeClock) -> Desk:
    """The service on a migrated database (SQLite and PostgreSQL), agent alice."""
    desk = Desk(make_session_factory(migrated_engine), clock)
    desk.add_agent()
    return desk


# ---------------------------------------------------------------- the confirmation


def test_a_new_ticket_is_confirmed_by_email_once(desk: Desk, smtp_server: SmtpSink) -> None:
    ticket = desk.open_ticket("key-1")
    # A replay of the request and a second escalation of the open conversation
    # return the same ticket and queue nothing more.
    assert desk.open_ticket("key-1").id == ticket.id
    assert desk.open_ticket().id == ticket.id
    assert [(e.kind, e.ticket_id) for e in desk.emails()] == [("ticket_created", ticket.id)]

    dispatcher = desk.dispatcher(smtp_server.port)
    assert send(dispatcher) == 1
    assert send(dispatcher) == 0

    (mail,) = smtp_server.received
    message = mail.message
    assert mail.mail_from == "support@wallet.test"
    assert mail.rcpt_tos == ("user@example.com",)
    assert message["To"] == "user@example.com"
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == f"We've received your request (ticket {ticket.ref})"
    assert message["Date"] and message["Message-ID"]
    assert message["Content-Language"] == "en"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    text = mail.text
    assert ticket.ref in text
    assert '"USDT withdrawal not received"' in text
    assert CHAT_URL in text
    assert SAFETY_EN in text
    (sent,) = desk.emails()
    assert sent.sent_at == desk.clock() and sent.attempts == 1 and sent.last_error is None
    assert desk.mail_audit(ticket) == [
        ("system", "email_sent", {"kind": "ticket_created", "attempts": 1})
    ]


def test_the_email_speaks_the_ticket_language(desk: Desk, smtp_server: SmtpSink) -> None:
    ticket = desk.open_ticket(language="zh", title="USDT 提现一直没到账")
    dispatcher = desk.dispatcher(smtp_server.port)
    desk.reply(ticket, "您好，我已经在查这笔提现了，请稍等。")
    desk.clock.advance(DELAY_S)
    assert send(dispatcher) == 2

    # Sent side by side in one round: they may arrive in either order.
    by_subject = {mail.message["Subject"].split(" ")[0]: mail for mail in smtp_server.received}
    confirmation, replies = by_subject["我们已收到您的求助（工单"], by_subject["您的工单"]
    assert confirmation.message["Subject"] == f"我们已收到您的求助（工单 {ticket.ref}）"
    assert confirmation.message["Content-Language"] == "zh-CN"
    assert "“USDT 提现一直没到账”" in confirmation.text
    assert "客服绝不会索要您的助记词或私钥" in confirmation.text
    assert CHAT_URL in confirmation.text
    assert replies.message["Subject"] == f"您的工单 {ticket.ref} 有新回复"
    assert "alice，2025-11-25 09:00（UTC）：" in replies.text
    assert "您好，我已经在查这笔提现了，请稍等。" in replies.text
    assert "客服绝不会索要您的助记词或私钥" in replies.text
    assert CHAT_URL in replies.text


# ---------------------------------------------------------------- agent replies


def _confirmed(desk: Desk, smtp_server: SmtpSink, **overrides: Any) -> tuple[Ticket, Any]:
    """A ticket whose confirmation went out; the server's inbox is emptied."""
    ticket = desk.open_ticket(**overrides)
    dispatcher = desk.dispatcher(smtp_server.port)
    assert send(dispatcher) == 1
    smtp_server.received.clear()
    return ticket, dispatcher


def test_a_reply_seen_within_the_delay_is_not_emailed(desk: Desk, smtp_server: SmtpSink) -> None:
    ticket, dispatcher = _confirmed(desk, smtp_server)
    reply = desk.reply(ticket, "On it.")
    desk.clock.advance(60)
    with desk.sessions() as session:
        assert mark_seen(session, "conv-1", [reply], desk.clock()) == 1
    desk.clock.advance(DELAY_S * 3)
    assert send(dispatcher) == 0
    assert smtp_server.received == []
    assert [e.kind for e in desk.emails()] == ["ticket_created"]
    assert desk.message(reply).seen_at is not None
    assert desk.message(reply).emailed_at is None


def test_unseen_replies_share_one_email_and_a_later_reply_gets_its_own(
    desk: Desk, smtp_server: SmtpSink
) -> None:
    ticket, dispatcher = _confirmed(desk, smtp_server)
    first = desk.reply(ticket, "I have checked your withdrawal.")
    desk.clock.advance(30)
    second = desk.reply(ticket, "It is confirmed on TRON now.")
    desk.clock.advance(DELAY_S - 31)
    assert send(dispatcher) == 0, "no reply has waited the whole delay yet"
    desk.clock.advance(1)
    # The first reply is due; the second, unseen too, comes along in the same e-mail.
    assert send(dispatcher) == 1
    (both,) = smtp_server.received
    assert both.message["Subject"] == f"New replies to your ticket {ticket.ref}"
    text = both.text
    assert text.index("I have checked your withdrawal.") < text.index("It is confirmed on TRON")
    assert text.count("alice, 2025-11-25 09:00 UTC:") == 2
    assert CHAT_URL in text and SAFETY_EN in text

    desk.clock.advance(120)
    third = desk.reply(ticket, "Is there anything else I can help with?")
    desk.clock.advance(DELAY_S)
    assert send(dispatcher) == 1
    assert send(dispatcher) == 0
    later = smtp_server.received[1]
    assert later.message["Subject"] == f"New reply to your ticket {ticket.ref}"
    assert "Is there anything else I can help with?" in later.text
    assert "I have checked" not in later.text and "confirmed on TRON" not in later.text
    assert [(e.kind, e.message_ids) for e in desk.emails()] == [
        ("ticket_created", None),
        ("agent_replies", [first, second]),
        ("agent_replies", [third]),
    ]
    assert all(desk.message(m).emailed_at is not None for m in (first, second, third))
    assert [d["kind"] for _, action, d in desk.mail_audit(ticket) if action == "email_sent"] == [
        "ticket_created", "agent_replies", "agent_replies",
    ]


def test_no_email_carries_a_seed_phrase_or_a_private_key(
    desk: Desk, smtp_server: SmtpSink
) -> None:
    phrase = Mnemonic("english").generate(strength=128)
    key = secrets.token_hex(32)
    assert len(phrase.split()) == 12
    ticket, dispatcher = _confirmed(desk, smtp_server)
    # Typed by an agent (the service redacts it on the way in) and stored raw
    # (as before a guard rule existed): the e-mail redacts again on the way out.
    desk.reply(ticket, f"Please send me your words {phrase} and the key {key} to verify.")
    desk.store_raw_reply(ticket, f"Your wallet: {phrase}\nkey {key}")
    desk.clock.advance(DELAY_S)
    assert send(dispatcher) == 1

    (mail,) = smtp_server.received
    raw = mail.raw.decode("utf-8", "replace")
    unfolded = raw.replace("=\r\n", "").replace("=\n", "")
    for secret in (phrase, key, key.upper()):
        assert secret not in mail.text
        assert secret not in unfolded
        assert secret not in mail.message["Subject"]
    assert " ".join(phrase.split()[:6]) not in mail.text
    assert "[redacted seed phrase]" in mail.text
    assert "[redacted private key]" in mail.text


def test_a_ticket_without_a_contact_email_gets_no_email(desk: Desk, smtp_server: SmtpSink) -> None:
    ticket = desk.open_ticket(contact_email=None)
    reply = desk.reply(ticket, "On it.")
    desk.clock.advance(DELAY_S * 3)
    dispatcher = desk.dispatcher(smtp_server.port)
    assert send(dispatcher) == 0
    assert desk.emails() == []
    assert smtp_server.received == []
    assert desk.message(reply).emailed_at is None


def test_replies_older_than_the_email_window_are_left_alone(
    desk: Desk, smtp_server: SmtpSink
) -> None:
    # E.g. after the service was down for days: no e-mail with long-settled answers.
    ticket, dispatcher = _confirmed(desk, smtp_server)
    desk.reply(ticket, "On it.")
    desk.clock.advance((REPLY_MAX_AGE + timedelta(hours=1)).total_seconds())
    assert send(dispatcher) == 0
    assert smtp_server.received == []


# ---------------------------------------------------------------- failures


def test_a_mail_server_outage_delays_the_email_and_loses_none(desk: Desk) -> None:
    server = SmtpSink()  # not started: connections are refused
    dispatcher = desk.dispatcher(server.port)
    ticket = desk.open_ticket()
    assert send(dispatcher) == 0
    (row,) = desk.emails()
    assert (row.attempts, row.sent_at, row.failed_at) == (1, None, None)
    assert row.last_error is not None and "cannot connect to the SMTP server" in row.last_error
    assert row.next_attempt_at > desk.clock()
    assert send(dispatcher) == 0
    assert desk.emails()[0].attempts == 1, "it waits out its pause"

    server.start()
    try:
        # Back, but busy: a temporary refusal is retried too.
        server.refuse_data = "451 4.3.0 Try again later"
        desk.clock.advance(MAX_BACKOFF_S)
        assert send(dispatcher) == 0
        assert desk.emails()[0].last_error == "SMTP 451: message refused"
        server.refuse_data = None
        desk.clock.advance(MAX_BACKOFF_S)
        assert send(dispatcher) == 1
    finally:
        server.stop()
    (row,) = desk.emails()
    assert (row.attempts, row.failed_at, row.last_error) == (3, None, None)
    assert row.sent_at == desk.clock()
    assert len(server.received) == 1
    assert ticket.ref in server.received[0].message["Subject"]
    assert desk.mail_audit(ticket) == [
        ("system", "email_sent", {"kind": "ticket_created", "attempts": 3})
    ]


def test_a_permanent_refusal_is_given_up_and_audited(desk: Desk, smtp_server: SmtpSink) -> None:
    smtp_server.refuse_rcpt = "550 5.1.1 <user@example.com>: Recipient address rejected"
    ticket = desk.open_ticket()
    dispatcher = desk.dispatcher(smtp_server.port)
    assert send(dispatcher) == 0
    (row,) = desk.emails()
    assert row.failed_at == desk.clock() and row.sent_at is None
    # The server's words repeat the address; only the code is kept.
    assert row.last_error == "SMTP 550: recipient refused"
    desk.clock.advance(86400)
    assert send(dispatcher) == 0
    assert smtp_server.rcpt_attempts == 1, "never tried again"
    trail = desk.mail_audit(ticket)
    assert trail == [("system", "email_failed", {"kind": "ticket_created", "attempts": 1})]
    assert "example.com" not in json.dumps(trail)


def test_an_address_the_mail_system_cannot_carry_is_given_up(
    desk: Desk, smtp_server: SmtpSink
) -> None:
    # The service no longer stores such an address; an older ticket may hold one.
    ticket = desk.open_ticket()
    desk.store_raw_contact_email(ticket, "用户@example.com")
    assert send(desk.dispatcher(smtp_server.port)) == 0
    (row,) = desk.emails()
    assert row.failed_at is not None
    assert row.last_error == "the contact e-mail has non-ASCII characters before the @"
    assert smtp_server.rcpt_attempts == 0
    assert desk.mail_audit(ticket) == [
        ("system", "email_failed", {"kind": "ticket_created", "attempts": 1})
    ]


def test_an_email_still_failing_after_days_is_given_up(desk: Desk) -> None:
    server = SmtpSink()  # never started
    dispatcher = desk.dispatcher(server.port, give_up_after_s=3600)
    ticket = desk.open_ticket()
    assert send(dispatcher) == 0
    desk.clock.advance(3600)
    assert send(dispatcher) == 0
    (row,) = desk.emails()
    assert row.failed_at is not None and row.attempts == 2
    assert row.last_error is not None and row.last_error.startswith("still failing: ")
    assert desk.mail_audit(ticket) == [
        ("system", "email_failed", {"kind": "ticket_created", "attempts": 2})
    ]


def test_starttls_is_demanded_never_skipped(desk: Desk, smtp_server: SmtpSink) -> None:
    # This server offers no STARTTLS: nothing may travel in the clear instead.
    desk.open_ticket()
    dispatcher = desk.dispatcher(smtp_server.port, security="starttls")
    assert send(dispatcher) == 0
    assert smtp_server.received == [] and smtp_server.rcpt_attempts == 0
    (row,) = desk.emails()
    assert row.failed_at is None, "a configuration problem is retried, not given up"
    assert row.last_error is not None and "STARTTLS" in row.last_error


def test_a_wake_during_a_round_is_not_lost(desk: Desk) -> None:
    # An e-mail committed while a round runs must not wait for the next poll.
    class Dispatcher(EmailDispatcher):
        rounds = 0

        async def run_once(self) -> int:
            self.rounds += 1
            if self.rounds == 1:
                self.wake()  # as the commit of a new ticket does, from any thread
                await asyncio.sleep(0.05)
            return 0

    dispatcher = Dispatcher(
        desk.sessions, SmtpSender("127.0.0.1", 9), desk.clock,
        mail_from=parse_mail_from(MAIL_FROM), chat_url=CHAT_URL,
        settings=EmailDispatchSettings(poll_interval_s=60),
    )

    async def run() -> int:
        dispatcher.start()
        await asyncio.sleep(0.5)
        await dispatcher.stop()
        return dispatcher.rounds

    assert asyncio.run(run()) == 2


# ---------------------------------------------------------------- several processes


@pytest.fixture
def two_processes(database_url: str) -> Iterator[list[sessionmaker]]:
    """Two engines (two processes' pools) on one migrated database."""
    engines = [make_engine(Settings(database_url=database_url)) for _ in range(2)]
    upgrade(engines[0])
    yield [make_session_factory(engine) for engine in engines]
    for engine in engines:
        engine.dispose()


def test_two_dispatchers_on_one_database_send_each_email_once(
    two_processes: list[sessionmaker], clock: FakeClock, smtp_server: SmtpSink
) -> None:
    desk = Desk(two_processes[0], clock)
    desk.add_agent()
    tickets = [desk.open_ticket(conversation_id=f"c-{i}") for i in range(8)]
    for ticket in tickets:
        desk.reply(ticket, f"First answer on {ticket.ref}.")
        desk.reply(ticket, f"Second answer on {ticket.ref}.")
    clock.advance(DELAY_S)
    dispatchers = [
        Desk(sessions, clock).dispatcher(smtp_server.port, batch=3) for sessions in two_processes
    ]

    async def race() -> int:
        total = 0
        for _ in range(12):
            total += sum(await asyncio.gather(*(d.run_once() for d in dispatchers)))
        return total

    assert asyncio.run(race()) == 16
    received: list[ReceivedMail] = smtp_server.received
    assert len(received) == 16
    assert len({mail.message["Message-ID"] for mail in received}) == 16
    for ticket in tickets:
        mine = [mail for mail in received if ticket.ref in mail.message["Subject"]]
        assert sorted(m.message["Subject"].split(" ")[0] for m in mine) == ["New", "We've"]
        (replies,) = [m for m in mine if m.message["Subject"].startswith("New replies")]
        assert f"First answer on {ticket.ref}." in replies.text
        assert f"Second answer on {ticket.ref}." in replies.text
    assert all(e.sent_at is not None and e.attempts == 1 for e in desk.emails())


def test_a_reply_is_scheduled_once_when_two_processes_look_at_the_same_moment(
    two_processes: list[sessionmaker], clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = Desk(two_processes[0], clock)
    desk.add_agent()
    ticket = desk.open_ticket()
    reply = desk.reply(ticket, "On it.")
    clock.advance(DELAY_S)
    delay = timedelta(seconds=DELAY_S)
    stamp = outbox.stamp_emailed
    other: list[int] = []

    def other_process_first(session: Any, ids: Any, now: Any) -> int:
        # The first process has found the reply; the second one schedules now, in between.
        monkeypatch.setattr(outbox, "stamp_emailed", stamp)
        with two_processes[1]() as second:
            other.append(schedule_reply_emails(second, clock(), delay))
        return stamp(session, ids, now)

    monkeypatch.setattr(outbox, "stamp_emailed", other_process_first)
    with two_processes[0]() as first:
        queued = schedule_reply_emails(first, clock(), delay)
    assert queued + other[0] == 1
    assert [(e.kind, e.message_ids) for e in desk.emails()] == [
        ("ticket_created", None), ("agent_replies", [reply]),
    ]

