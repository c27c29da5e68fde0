"""Migration 0007 (the agents' workspace) up and down, SQLite and PostgreSQL, keeping every row."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from handoff_service.cli import main
from handoff_service.config import Settings
from handoff_service.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    migration_connection,
    upgrade,
)
from handoff_service.models import AgentRole
from handoff_service.services import HandoffService
from tests.handoff.helpers import ticket_payload

BEFORE = "0006_attachments"


def _columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_the_workspace_migration_goes_up_and_down_keeping_every_row(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(Settings(database_url=database_url))
    try:
        with migration_connection(engine) as conn:
            command.upgrade(alembic_config(conn), BEFORE)
        with make_session_factory(engine)() as session:
            # The models know the new columns: write the old rows in SQL.
            session.execute(
                text(
                    "INSERT INTO agents (name, token_hash, created_at, active)"
                    " VALUES ('old', :hash, '2026-01-01 00:00:00', :yes)"
                ),
                {"hash": "a" * 64, "yes": True},
            )
            session.commit()

        assert upgrade(engine) == head_revision() == "0007_workspace"
        assert {"role", "console_language", "last_seen_at"} <= _columns(engine, "agents")
        assert "seen_by_agent_at" in _columns(engine, "messages")
        tables = set(inspect(engine).get_table_names())
        assert {"ticket_notes", "ticket_tags", "canned_replies"} <= tables
        with make_session_factory(engine)() as session:
            service = HandoffService(session)
            (old,) = service.agents()
            # Every agent that existed is a plain agent.
            assert old.role is AgentRole.AGENT and old.console_language is None
            admin, _token = service.add_agent("root", "admin")
            ticket, _ = service.create_ticket(ticket_payload(), None)
            service.add_note(ticket.ref, admin, "kept for agents")
            service.set_tags(ticket.ref, admin, ["vip"])
        # The roles and languages are checked by the database too.
        for bad in ("role = 'boss'", "console_language = 'fr'"):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(text(f"UPDATE agents SET {bad}"))
        monkeypatch.setenv("HANDOFF_DATABASE_URL", database_url)
        assert main(["db", "check"]) == 0
        assert "newest revision 0007_workspace" in capsys.readouterr().out

        with migration_connection(engine) as conn:
            command.downgrade(alembic_config(conn), BEFORE)
        assert current_revision(engine) == BEFORE
        assert "role" not in _columns(engine, "agents")
        assert "seen_by_agent_at" not in _columns(engine, "messages")
        assert "ticket_notes" not in set(inspect(engine).get_table_names())
        assert main(["db", "check"]) == 1
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM agents ORDER BY id")).scalars().all()
            lines = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
            assigned = conn.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        assert (names, lines, assigned) == (["old", "root"], 1, 1)
        # The partial index of unmailed replies kept its condition through the rebuild.
        indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("messages")}
        options = indexes["ix_messages_unmailed_replies"]["dialect_options"]
        assert options.get("sqlite_where") is not None or options.get("postgresql_where")

        assert upgrade(engine) == head_revision()
        with make_session_factory(engine)() as session:
            roles = {a.name: a.role for a in HandoffService(session).agents()}
        # The role was dropped with the downgrade: root is an agent again.
        assert roles == {"old": AgentRole.AGENT, "root": AgentRole.AGENT}
    finally:
        engine.dispose()
