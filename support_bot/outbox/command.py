"""``support-bot outbox``: what the action server could not deliver, and sending it again.

Only keys, kinds, conversation ids, attempts and errors are shown: the
payloads hold what users wrote and never leave the store. The outbox is the
action servers' shared database when ``OUTBOX_URL`` is set, else a SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from actions.outbox import DEFAULT_PATH, OUTBOX_PATH_ENV, OUTBOX_URL_ENV, Outbox
from support_bot.common.errors import StoreMissing, UsageError
from support_bot.common.project import Project

Say = Callable[[str], None]


def outbox_location(explicit: str | None, project: Project) -> Path | str:
    """Where the outbox is: ``--path``, else ``$OUTBOX_URL`` (returned as text), else
    ``$OUTBOX_PATH``, else ``state/outbox.db`` (relative paths: to the project)."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    url = os.environ.get(OUTBOX_URL_ENV, "").strip()
    if url:
        return url
    return project.path(os.environ.get(OUTBOX_PATH_ENV) or DEFAULT_PATH)


def open_outbox(where: Path | str) -> Outbox:
    """The outbox in the file ``where`` or at the URL ``where``; refuses to create one."""
    try:
        outbox = Outbox(where) if isinstance(where, Path) else Outbox(url=where)
    except (ValueError, sa.exc.ArgumentError) as error:
        raise UsageError(str(error)) from error
    try:
        present = outbox.exists()
    except sa.exc.SQLAlchemyError as error:
        # The error's kind only: its text may hold the server's address details.
        reason = type(getattr(error, "orig", None) or error).__name__
        raise StoreMissing(f"cannot open the outbox at {outbox.location} ({reason})") from error
    if not present:
        raise StoreMissing(
            f"no outbox at {outbox.location} (set --path, {OUTBOX_URL_ENV} or {OUTBOX_PATH_ENV})"
        )
    return outbox


def _shown(value: object) -> str:
    """One table cell: control characters cannot reach the terminal."""
    text = "" if value is None else str(value)
    return "".join(char if char.isprintable() else "?" for char in text)


def _when(timestamp: float) -> str:
    if not timestamp:
        return "now"
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(header: Sequence[str], rows: list[Sequence[object]], say: Say) -> None:
    cells = [[_shown(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        say("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def run_list(where: Path | str, say: Say) -> int:
    """Print the dead letters and the pending entries; return how many dead letters there are."""
    outbox = open_outbox(where)
    dead = outbox.dead_letters()
    pending = outbox.pending()
    say(f"dead letters: {len(dead)}")
    if dead:
        _table(
            ("KEY", "KIND", "CONVERSATION", "ATTEMPTS", "LAST ERROR", "FAILED AT"),
            [
                (d.key, d.kind, d.conversation_id, d.attempts, d.last_error, _when(d.failed_at))
                for d in dead
            ],
            say,
        )
    say(f"pending: {len(pending)}")
    if pending:
        _table(
            ("KEY", "KIND", "CONVERSATION", "ATTEMPTS", "LAST ERROR", "NEXT ATTEMPT"),
            [
                (e.key, e.kind, e.conversation_id, e.attempts, e.last_error or "-",
                 _when(e.next_attempt_at))
                for e in pending
            ],
            say,
        )
    return len(dead)


def run_retry(where: Path | str, key: str | None, every: bool, say: Say) -> int:
    """Move one dead letter (or all) back to the queue; return how many moved."""
    if every == (key is not None):
        raise UsageError("give either a KEY or --all")
    outbox = open_outbox(where)
    if every:
        moved = outbox.retry_all()
        say(f"moved {moved} dead letter(s) back to the queue")
        return moved
    assert key is not None
    if not outbox.retry(key):
        raise UsageError(f"no dead letter with key {_shown(key)}")
    say(f"moved {_shown(key)} back to the queue")
    return 1
