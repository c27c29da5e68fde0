"""E-mail inside the running service: the ``seen`` route, the folder sender, ``mail list``."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from handoff_service.app import create_app
from handoff_service.cli import main
from handoff_service.config import Settings
from handoff_service.db import make_engine, make_session_factory, upgrade
from handoff_service.mail import outbox
from handoff_service.models import Message, OutgoingEmail
from handoff_service.services import HandoffService
from tests.handoff.helpers import FakeNotifier, ServedApp, live_server, ticket_payload

BOT_TOKEN = "bot-token-for-mail-tests"


class RecordingSender:
    """Keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


class Desk(ServedApp):
    """The served app with shortcuts for the bot and agent alice."""

    def bot(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.call(method, path, BOT_TOKEN, **kw)

    def alice(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.call(method, path, self.agents["alice"], **kw)

    def ticket_with_reply(self, conversation_id: str, text: str) -> tuple[str, int]:
        created = self.bot(
            "POST", "/api/tickets", json=ticket_payload(conversation_id=conversation_id)
        )
        assert created.status_code == 201, created.text
        ref = created.json()["ref"]
        assert self.alice("POST", f"/api/tickets/{ref}/claim").status_code == 200
        reply = self.alice("POST", f"/api/tickets/{ref}/messages", json={"text": text})
        assert reply.status_code == 201, reply.text
        return ref, int(reply.json()["id"])

    def seen(self, conversation_id: str, body: Any, **kw: Any) -> requests.Response:
        return self.bot("POST", f"/api/conversations/{conversation_id}/seen", json=body, **kw)


@pytest.fixture
def desk(sqlite_file_url: str) -> Iterator[Desk]:
    """The service with agent alice and an e-mail sender that only records."""
    app = create_app(
        Settings(database_url=sqlite_file_url, bot_token=BOT_TOKEN),
        FakeNotifier(),
        mail_sender=RecordingSender(),
    )
    upgrade(app.ctx.engine)
    with app.ctx.sessions() as session:
        token = HandoffService(session).add_agent("alice")[1]
    with live_server(app) as server, requests.Session() as http:
        yield Desk(server, {"alice": token}, http)


def _seen_at(desk: Desk, message_id: int) -> datetime | None:
    with desk.server.app.ctx.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.seen_at  # type: ignore[no-any-return]


# ---------------------------------------------------------------- POST .../seen


def test_seen_takes_the_bot_token_only(desk: Desk) -> None:
    _ref, reply = desk.ticket_with_reply("conv-1", "On it.")
    path = "/api/conversations/conv-1/seen"
    assert desk.call("POST", path, json={"message_ids": [reply]}).status_code == 401
    assert desk.call("POST", path, "wrong", json={"message_ids": [reply]}).status_code == 401
    refused = desk.alice("POST", path, json={"message_ids": [reply]})
    assert refused.status_code == 403
    assert _seen_at(desk, reply) is None


@pytest.mark.parametrize(
    "body",
    [
        {"message_ids": []},
        {"message_ids": ["1"]},
        {"message_ids": [1, "2"]},
        {"message_ids": [True]},
        {"message_ids": [0]},
        {"message_ids": [-3]},
        {"message_ids": [1.5]},
        {"message_ids": [2**31]},
        {"message_ids": list(range(1, 202))},
        {"message_ids": 7},
        {"message_ids": None},
        {},
    ],
)
def test_seen_refuses_malformed_ids_with_400(desk: Desk, body: dict[str, Any]) -> None:
    response = desk.seen("conv-1", body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error"] == "validation_failed"
    assert error["field"] == "message_ids"
    assert error["detail"]


def test_seen_refuses_a_body_that_is_not_an_object_or_a_bad_conversation_id(desk: Desk) -> None:
    assert desk.seen("conv-1", [1, 2]).status_code == 400
    not_json = desk.bot("POST", "/api/conversations/conv-1/seen", data=b"{nope")
    assert not_json.status_code == 400 and not_json.json()["error"] == "bad_json"
    bad_id = desk.seen("conv%201", {"message_ids": [1]})
    assert bad_id.status_code == 400 and bad_id.json()["field"] == "conversation_id"


def test_seen_marks_only_this_conversations_agent_replies_once(desk: Desk) -> None:
    _ref, mine = desk.ticket_with_reply("conv-1", "On it.")
    _other_ref, theirs = desk.ticket_with_reply("conv-2", "Looking into it.")
    relayed = desk.bot(
        "POST", "/api/conversations/conv-1/user-messages", json={"text": "thanks!"}
    )
    user_message = int(relayed.json()["id"])
    ids = [mine, theirs, user_message, 2**31 - 1, mine]

    first = desk.seen("conv-1", {"message_ids": ids})
    assert first.status_code == 200, first.text
    assert first.json() == {"seen": 1}
    stamped = _seen_at(desk, mine)
    assert stamped is not None
    assert _seen_at(desk, theirs) is None, "another conversation's reply is not touched"
    assert _seen_at(desk, user_message) is None

    again = desk.seen("conv-1", {"message_ids": ids})
    assert again.json() == {"seen": 0}
    assert _seen_at(desk, mine) == stamped, "the first time it was shown is kept"
    assert desk.seen("conv-2", {"message_ids": [theirs]}).json() == {"seen": 1}
    assert desk.seen("nobody", {"message_ids": [mine]}).json() == {"seen": 0}


def test_seen_takes_up_to_200_ids(desk: Desk) -> None:
    _ref, reply = desk.ticket_with_reply("conv-1", "On it.")
    ids = [reply, *range(reply + 1, reply + 200)]
    response = desk.seen("conv-1", {"message_ids": ids})
    assert response.status_code == 200 and response.json() == {"seen": 1}


# ---------------------------------------------------------------- the service's own sender


def test_without_smtp_host_each_email_is_a_private_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    settings = Settings.from_env(
        {
            "HANDOFF_DATABASE_URL": f"sqlite:///{state / 'handoff.db'}",
            "HANDOFF_BOT_TOKEN": BOT_TOKEN,
            "HANDOFF_STATE_DIR": str(state),
        }
    )
    assert settings.mail.smtp_host is None
    app = create_app(settings, FakeNotifier())
    upgrade(app.ctx.engine)
    folder = state / "mail"
    with live_server(app) as server:
        created = requests.post(
            f"{server.url}/api/tickets",
            json=ticket_payload(),
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            timeout=10,
        )
        assert created.status_code == 201
        # Sent right after the ticket's commit, not at the next poll.
        deadline = time.monotonic() + 5
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.02)
    (path,) = folder.iterdir()
    assert path.suffix == ".eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "user@example.com"
    assert message["From"] == "support@localhost"
    assert created.json()["ref"] in message["Subject"]
    body = message.get_content()
    assert "http://localhost:8000/widget/" in body
    assert created.json()["ref"] in body


# ---------------------------------------------------------------- handoff-service mail list


def test_mail_list_shows_states_and_never_an_address_or_a_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'handoff.db'}"
    engine = make_engine(Settings(database_url=url))
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime(2025, 11, 25, 9, 0, tzinfo=timezone.utc)
    with sessions() as session:
        service = HandoffService(session, lambda: now)
        tickets = [
            service.create_ticket(ticket_payload(conversation_id=f"c-{i}"))[0] for i in range(3)
        ]
        session.execute(
            OutgoingEmail.__table__.update()
            .where(OutgoingEmail.ticket_id == tickets[0].id)
            .values(sent_at=now, attempts=1)
        )
        session.execute(
            OutgoingEmail.__table__.update()
            .where(OutgoingEmail.ticket_id == tickets[1].id)
            .values(failed_at=now, attempts=1, last_error="SMTP 550: recipient refused")
        )
        session.execute(
            OutgoingEmail.__table__.update()
            .where(OutgoingEmail.ticket_id == tickets[2].id)
            .values(attempts=2, last_error="cannot connect to the SMTP server: refused")
        )
        session.commit()
        assert len(list(session.execute(select(OutgoingEmail)).scalars())) == 3
    engine.dispose()
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)

    assert main(["mail", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].split("\t") == ["id", "ticket", "kind", "attempts", "state", "last error"]
    rows = {line.split("\t")[1]: line.split("\t") for line in lines[1:]}
    assert rows[tickets[0].ref][2:] == ["ticket_created", "1", "sent", "-"]
    assert rows[tickets[1].ref][2:] == [
        "ticket_created", "1", "failed", "SMTP 550: recipient refused",
    ]
    assert rows[tickets[2].ref][4].startswith("pending (next try 2025-11-25 09:00:00 UTC)")
    assert "user@example.com" not in out and "USDT" not in out

    assert main(["mail", "list", "--state", outbox.FAILED]) == 0
    failed = capsys.readouterr().out.strip().splitlines()[1:]
    assert [line.split("\t")[1] for line in failed] == [tickets[1].ref]
