"""Canned replies: the admins' routes (SQLite and PostgreSQL), the CLI, and the file shipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from handoff_service.cli import DEFAULT_CANNED_REPLIES, main, read_canned_file
from handoff_service.validation import parse_canned_reply
from tests.handoff.helpers import Workspace

REPLY = {"shortcut": "need-txid", "language": "en", "title": "Ask for the TxID", "text": "Hash?"}


def test_admins_write_canned_replies_and_every_agent_reads_them(workspace: Workspace) -> None:
    created = workspace.admin("POST", "/api/canned-replies", json=REPLY)
    assert created.status_code == 201, created.text
    reply = created.json()
    assert {k: reply[k] for k in REPLY} == REPLY and reply["updated_by"] == "root"
    zh = {**REPLY, "language": "zh", "title": "索取哈希", "text": "请提供交易哈希"}
    assert workspace.admin("POST", "/api/canned-replies", json=zh).status_code == 201

    everything = workspace.agent("alice", "GET", "/api/canned-replies").json()["replies"]
    assert [(r["language"], r["shortcut"]) for r in everything] == [
        ("en", "need-txid"),
        ("zh", "need-txid"),
    ]
    only_zh = workspace.agent("alice", "GET", "/api/canned-replies", params={"language": "zh"})
    assert [r["text"] for r in only_zh.json()["replies"]] == ["请提供交易哈希"]
    bad = workspace.agent("alice", "GET", "/api/canned-replies", params={"language": "fr"})
    assert bad.status_code == 422 and bad.json()["field"] == "language"

    path = f"/api/canned-replies/{reply['id']}"
    changed = workspace.admin("PUT", path, json={**REPLY, "text": "Could you send the TxID?"})
    assert changed.status_code == 200 and changed.json()["text"] == "Could you send the TxID?"
    assert workspace.admin("DELETE", path).status_code == 204
    assert workspace.admin("DELETE", path).status_code == 404
    assert workspace.admin("PUT", path, json=REPLY).status_code == 404
    left = workspace.agent("bob", "GET", "/api/canned-replies").json()["replies"]
    assert [r["language"] for r in left] == ["zh"]


def test_a_shortcut_is_unique_per_language(workspace: Workspace) -> None:
    first = workspace.admin("POST", "/api/canned-replies", json=REPLY).json()
    taken = workspace.admin("POST", "/api/canned-replies", json=REPLY)
    assert taken.status_code == 409 and taken.json()["error"] == "shortcut_taken"
    other = workspace.admin("POST", "/api/canned-replies", json={**REPLY, "shortcut": "greeting"})
    clash = workspace.admin("PUT", f"/api/canned-replies/{other.json()['id']}", json=REPLY)
    assert clash.status_code == 409 and clash.json()["error"] == "shortcut_taken"
    # The failed rename changed nothing.
    listed = workspace.admin("GET", "/api/canned-replies").json()["replies"]
    assert sorted(r["shortcut"] for r in listed) == ["greeting", "need-txid"]
    assert first["id"] in [r["id"] for r in listed]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shortcut": "x"}, "shortcut"),
        ({"shortcut": "Need-TxID"}, "shortcut"),
        ({"shortcut": "a b"}, "shortcut"),
        ({"shortcut": "a" * 33}, "shortcut"),
        ({"shortcut": "'; drop"}, "shortcut"),
        ({"shortcut": None}, "shortcut"),
        ({"language": "fr"}, "language"),
        ({"language": None}, "language"),
        ({"title": ""}, "title"),
        ({"title": "t" * 121}, "title"),
        ({"text": ""}, "text"),
        ({"text": "x" * 4001}, "text"),
        ({"text": ["a"]}, "text"),
    ],
)
def test_bad_canned_replies_are_refused(
    workspace: Workspace, change: dict[str, object], field: str
) -> None:
    refused = workspace.admin("POST", "/api/canned-replies", json={**REPLY, **change})
    assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


@pytest.mark.parametrize("reply_id", ["0", "-3", "abc", "1e3", "9" * 20, "%00"])
def test_malformed_canned_reply_ids(workspace: Workspace, reply_id: str) -> None:
    assert workspace.admin("DELETE", f"/api/canned-replies/{reply_id}").status_code == 422
    assert workspace.admin("PUT", f"/api/canned-replies/{reply_id}", json=REPLY).status_code == 422


def test_markup_and_emoji_are_kept_as_text(workspace: Workspace) -> None:
    text = '<b>不要</b> 分享助记词 🙏 & "quotes"'
    created = workspace.admin("POST", "/api/canned-replies", json={**REPLY, "text": text})
    assert created.json()["text"] == text


# ---------------------------------------------------------------- the command line


def _cli(monkeypatch: pytest.MonkeyPatch, engine: Engine, *args: str) -> int:
    monkeypatch.setenv("HANDOFF_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return main(list(args))


def test_import_adds_what_is_missing_and_never_overwrites(
    migrated_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert _cli(monkeypatch, migrated_engine, "canned", "import") == 0
    shipped = len(read_canned_file(DEFAULT_CANNED_REPLIES))
    assert f"{shipped} canned replies added, 0 already there" in capsys.readouterr().out
    # Twice is harmless: that is how `make run` and the test stacks use it.
    assert _cli(monkeypatch, migrated_engine, "canned", "import", str(DEFAULT_CANNED_REPLIES)) == 0
    assert f"0 canned replies added, {shipped} already there" in capsys.readouterr().out

    mine = tmp_path / "mine.yml"
    mine.write_text(
        yaml.safe_dump(
            {
                "replies": [
                    {"shortcut": "greeting", "language": "en", "title": "x", "text": "changed"},
                    {"shortcut": "refund", "language": "en", "title": "Refund", "text": "..."},
                ]
            }
        ),
        encoding="utf-8",
    )
    assert _cli(monkeypatch, migrated_engine, "canned", "import", str(mine)) == 0
    assert "1 canned replies added, 1 already there" in capsys.readouterr().out
    assert _cli(monkeypatch, migrated_engine, "canned", "list", "--language", "en") == 0
    listed = capsys.readouterr().out
    assert "en\trefund\tRefund\t" in listed and "changed" not in listed
    assert "zh\t" not in listed

    assert _cli(monkeypatch, migrated_engine, "canned", "remove", "refund", "--language", "en") == 0
    assert _cli(monkeypatch, migrated_engine, "canned", "remove", "refund", "--language", "en") == 1
    assert "no canned reply" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _cli(monkeypatch, migrated_engine, "canned", "remove", "greeting")


@pytest.mark.parametrize(
    "content",
    [
        "replies: [",
        "just text",
        "replies: {a: 1}",
        "replies:\n  - shortcut: X Y\n    language: en\n    title: t\n    text: t\n",
        "replies:\n  - [1, 2]\n",
        "replies:\n  - {shortcut: ab, language: en, title: t, text: t}\n"
        "  - {shortcut: ab, language: en, title: u, text: u}\n",
    ],
)
def test_a_bad_import_file_changes_nothing(
    migrated_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        content + "  - {shortcut: fine, language: en, title: t, text: t}\n"
        if content.endswith("\n")
        else content,
        encoding="utf-8",
    )
    assert _cli(monkeypatch, migrated_engine, "canned", "import", str(bad)) == 1
    assert "error:" in capsys.readouterr().err
    assert _cli(monkeypatch, migrated_engine, "canned", "list") == 0
    assert "no canned replies" in capsys.readouterr().out
    assert _cli(monkeypatch, migrated_engine, "canned", "import", str(tmp_path / "none")) == 1


def test_the_shipped_replies_are_valid_bilingual_and_invent_no_facts() -> None:
    entries = read_canned_file(DEFAULT_CANNED_REPLIES)
    drafts = [parse_canned_reply(entry) for entry in entries]
    by_language: dict[str, set[str]] = {}
    for draft in drafts:
        by_language.setdefault(draft.language.value, set()).add(draft.shortcut)
        # No numbers (fees, limits, phone numbers), links, e-mail or wallet addresses.
        assert not re.search(r"[0-9]|https?://|www\.|@|0x", draft.text), draft.shortcut
    assert set(by_language) == {"zh", "en"}
    assert by_language["zh"] == by_language["en"]
    assert 8 <= len(by_language["zh"]) <= 14
    # Whatever else it says, the set tells users never to hand over their secrets.
    texts = " ".join(d.text for d in drafts)
    assert "助记词" in texts and "recovery phrase" in texts
