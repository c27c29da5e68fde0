"""``support-bot outbox list`` and ``retry``: the action server's undelivered entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.outbox import MESSAGE, RATING, TICKET, Outbox, flush
from support_bot.cli import EXIT_ERROR, EXIT_OK, main
from tests.unit.action_helpers import FakeHandoffClient, rejected

USER_TEXT = "我的 USDT 提币 500 还没到账"


@pytest.fixture()
def outbox(tmp_path: Path) -> Outbox:
    """An outbox with one dead letter (conv-1's ticket) and two pending entries."""
    box = Outbox(tmp_path / "state" / "outbox.db")
    box.put(TICKET, "conv-1:m1", "conv-1", {"title": USER_TEXT, "description": USER_TEXT})
    box.put(MESSAGE, "conv-2:m7", "conv-2", {"text": USER_TEXT, "external_id": "m7"})
    box.put(RATING, "conv-3:rating:T-000004", "conv-3", {"score": 5})
    client = FakeHandoffClient(
        create_errors=[rejected(USER_TEXT, error_code="validation_failed", field="occurred_at")],
    )
    flush(box, client, now=1_700_000_000.0)  # the ticket is refused, the others go out
    box.put(MESSAGE, "conv-2:m8", "conv-2", {"text": USER_TEXT, "external_id": "m8"})
    box.put(RATING, "conv-3:rating:T-000005", "conv-3", {"score": 2})
    box.note_failure("conv-3:rating:T-000005", "503 from /api/conversations/conv-3/rating",
                     now=1_700_000_000.0)
    return box


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_dead_letters_and_pending_without_text(
    outbox: Outbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "outbox", "list", "--path", str(outbox.path))
    assert code == EXIT_OK
    dead, pending = out.split("pending: ")
    assert dead.startswith("dead letters: 1\n")
    assert "conv-1:m1" in dead and "ticket" in dead
    assert "422 validation_failed (field occurred_at)" in dead
    assert "2023-11-14T22:13:20Z" in dead
    assert pending.startswith("2\n")
    for key in ("conv-2:m8", "conv-3:rating:T-000005"):
        assert key in pending
    assert "503 from /api/conversations/conv-3/rating" in pending
    assert "KEY" in out and "ATTEMPTS" in out and "LAST ERROR" in out
    assert USER_TEXT not in out and "USDT" not in out


def test_retry_one_key_moves_it_back(outbox: Outbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "outbox", "retry", "conv-1:m1", "--path", str(outbox.path))
    assert code == EXIT_OK
    assert "moved conv-1:m1 back to the queue" in out
    assert outbox.dead_letters() == []
    [entry] = outbox.pending("conv-1")
    assert (entry.key, entry.attempts, entry.next_attempt_at) == ("conv-1:m1", 0, 0)
    assert entry.payload["title"] == USER_TEXT


def test_retry_all_uses_outbox_path(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox.put_dead_letter(MESSAGE, "conv-9:m1", "conv-9", {"text": "x"}, 404, "not_found")
    monkeypatch.setenv("OUTBOX_PATH", str(outbox.path))
    code, out, _ = run(capsys, "outbox", "retry", "--all")
    assert code == EXIT_OK
    assert "moved 2 dead letter(s) back to the queue" in out
    assert outbox.dead_letters() == []
    code, out, _ = run(capsys, "outbox", "list")
    assert out.startswith("dead letters: 0\n")


def test_relative_outbox_path_is_taken_from_the_project(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OUTBOX_PATH", raising=False)
    project_dir = outbox.path.parent.parent  # <tmp>/state/outbox.db: the default place
    code, out, _ = run(capsys, "outbox", "list", "--project-dir", str(project_dir))
    assert code == EXIT_OK
    assert "conv-1:m1" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("retry", "no-such-key"), "no dead letter with key no-such-key"),
        (("retry", "conv-2:m8"), "no dead letter with key conv-2:m8"),  # pending, not dead
        (("retry",), "give either a KEY or --all"),
        (("retry", "conv-1:m1", "--all"), "give either a KEY or --all"),
    ],
)
def test_retry_mistakes_are_errors_that_change_nothing(
    outbox: Outbox, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "outbox", *argv, "--path", str(outbox.path))
    assert code == EXIT_ERROR
    assert message in err
    assert [d.key for d in outbox.dead_letters()] == ["conv-1:m1"]


def test_a_missing_outbox_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nowhere" / "outbox.db"
    code, _, err = run(capsys, "outbox", "list", "--path", str(path))
    assert code == EXIT_ERROR
    assert "no outbox at" in err
    assert not path.exists() and not path.parent.exists()
