"""Screenshots at the handoff service, over real HTTP, on SQLite and PostgreSQL.

Real OCR, real Pillow: what is kept (re-encoded, metadata stripped, linked to
the ticket and its transcript line), what is refused before anything is
written (a recovery phrase, a key, not an image, too large, too many), who may
see what, replays, concurrent uploads, retention and deletion.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from mnemonic import Mnemonic
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from handoff_service.models import Attachment, AttachmentBlob
from handoff_service.services import HandoffService
from tests.handoff.helpers import Api, FakeNotifier, start_api

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
CID = "conv-1"
OCR_TIMEOUT = 180


def _png(lines: list[str], size: tuple[int, int] = (900, 500), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 30)
    for row, line in enumerate(lines):
        draw.text((30, 30 + row * 50), line, fill="black", font=font)
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x8825] = {2: (48.0, 51.0, 29.0)}  # GPS latitude
        image.save(out, "JPEG", exif=data.tobytes())
    else:
        image.save(out, "PNG")
    return out.getvalue()


def tx_screenshot() -> bytes:
    """An innocent transaction-details screen with a hash in it."""
    tx = "0x" + secrets.token_hex(32)
    return _png(["Withdrawal failed", "Amount: 120 USDT", "TxID:", tx[:34], tx[34:]])


def phrase_screenshot() -> bytes:
    """A backup screen: a generated 12-word phrase as a numbered 3x4 grid."""
    words = Mnemonic("english").generate(128).split()
    rows = [
        "   ".join(f"{i * 4 + j + 1}. {words[i * 4 + j]}" for j in range(4)) for i in range(3)
    ]
    return _png(["Back up your recovery phrase", *rows], size=(1100, 400))


@pytest.fixture
def both(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The service on SQLite (file store) and on PostgreSQL (database store)."""
    store = "database" if database_url.startswith("postgresql") else "files"
    notifier = FakeNotifier()
    server, agents = start_api(
        database_url, notifier, state_dir=tmp_path, attachment_store=store,
        attachments_per_day=5,
    )
    with requests.Session() as http:
        yield Api(server, agents, http, notifier)
    server.stop()


def upload(
    api: Api, data: bytes, message_id: str | None = None, cid: str = CID
) -> requests.Response:
    headers = {"X-Message-Id": message_id} if message_id else {}
    # OCR on a loaded 2-core machine, with other uploads queued: seconds, not milliseconds.
    return api.bot("POST", f"/api/conversations/{cid}/attachments", data=data, headers=headers,
                   timeout=OCR_TIMEOUT)


def _rows(api: Api) -> int:
    with api.server.app.ctx.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Attachment)).scalar_one())


def test_a_transaction_screenshot_is_kept_and_goes_with_the_ticket(both: Api) -> None:
    sent = upload(both, tx_screenshot(), "m1")
    assert sent.status_code == 201, sent.text
    image = sent.json()["attachment"]
    assert image["id"].startswith("att_") and image["mime"] == "image/png"
    assert "USDT" in image["text"]
    # The bot opens the ticket later; the image and its transcript line go with it.
    ticket = both.new_ticket(transcript=[
        {"author": "user", "text": "my withdrawal failed"},
        {"author": "user", "text": "[screenshot]", "attachment_id": image["id"]},
    ])
    full = both.agent("alice", "GET", f"/api/tickets/{ticket['ref']}").json()
    assert [a["id"] for a in full["attachments"]] == [image["id"]]
    line = next(m for m in full["messages"] if m["text"] == "[screenshot]")
    assert line["attachment"]["id"] == image["id"]
    got = both.agent("alice", "GET", full["attachments"][0]["url"])
    assert got.status_code == 200
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("inline; filename=")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(got.content)).size == (900, 500)
    thumb = both.agent("alice", "GET", full["attachments"][0]["thumbnail_url"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 320


def test_a_recovery_phrase_screenshot_is_refused_and_nothing_is_written(both: Api) -> None:
    refused = upload(both, phrase_screenshot(), "m2")
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "image_refused" and body["kinds"] == ["seed_phrase"]
    assert _rows(both) == 0
    with both.server.app.ctx.sessions() as session:
        assert session.execute(select(func.count()).select_from(AttachmentBlob)).scalar_one() == 0
    files = list((both.server.app.ctx.settings.state_dir / "attachments").rglob("*"))
    assert [f for f in files if f.is_file()] == []


def test_metadata_is_stripped(both: Api) -> None:
    sent = upload(both, _png(["Error 500", "Please try again"], exif=True))
    assert sent.status_code == 201, sent.text
    ticket = both.new_ticket()
    full = both.agent("alice", "GET", f"/api/tickets/{ticket['ref']}").json()
    stored = both.agent("alice", "GET", full["attachments"][0]["url"]).content
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert not image.getexif() and b"PhoneMaker" not in stored


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"hello, this is text", 415, "unsupported_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 415, "unsupported_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415,
         "unsupported_image"),
        (b"GIF89a" + b"\x00" * 100, 415, "unsupported_image"),
        (b"", 415, "unsupported_image"),
    ],
    ids=["text", "truncated-png", "svg", "gif", "empty"],
)
def test_what_is_not_an_image_is_refused(both: Api, data: bytes, status: int, code: str) -> None:
    refused = upload(both, data)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"] == code
    assert _rows(both) == 0


def test_too_large_and_too_many(both: Api) -> None:
    limit = both.server.app.ctx.settings.attachment_max_bytes
    big = upload(both, b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(limit))
    assert big.status_code == 413 and big.json()["error"] == "image_too_large"
    for n in range(5):
        assert upload(both, tx_screenshot(), f"q{n}").status_code == 201
    sixth = upload(both, tx_screenshot(), "q5")
    assert sixth.status_code == 409 and sixth.json()["error"] == "too_many_images"
    # A retry of an upload that was kept is not a new image.
    assert upload(both, tx_screenshot(), "q1").status_code == 200


def test_a_replayed_upload_is_the_same_image(both: Api) -> None:
    data = tx_screenshot()
    first = upload(both, data, "same").json()["attachment"]
    again = upload(both, data, "same")
    assert again.status_code == 200 and again.json()["attachment"]["id"] == first["id"]
    assert _rows(both) == 1


def test_concurrent_uploads_keep_each_image_once(both: Api) -> None:
    images = [tx_screenshot() for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(
            lambda pair: upload(both, pair[1], f"c{pair[0] % 4}").status_code,
            enumerate(images + images),
        ))
    assert sorted(results) == [200] * 4 + [201] * 4 or results.count(201) == 4
    assert _rows(both) == 4


def test_during_a_handoff_the_image_is_a_transcript_line_at_once(both: Api) -> None:
    ticket = both.new_ticket()
    sent = upload(both, tx_screenshot(), "live1")
    assert sent.status_code == 201
    messages = both.agent("alice", "GET", f"/api/tickets/{ticket['ref']}/messages").json()
    line = messages["messages"][-1]
    assert line["author"] == "user" and line["attachment"]["id"] == sent.json()["attachment"]["id"]
    # The bot's relay of the same turn (same message id) adds nothing.
    relayed = both.bot("POST", f"/api/conversations/{CID}/user-messages",
                       json={"text": "[screenshot]", "external_id": "live1"})
    assert relayed.status_code == 200


def test_who_may_see_an_image(both: Api) -> None:
    image = upload(both, tx_screenshot(), "w1").json()["attachment"]
    path = f"/api/conversations/{CID}/attachments/{image['id']}"
    assert both.bot("GET", path).status_code == 200
    # Another conversation, a made-up id, no token, an agent before any ticket holds it.
    assert both.bot("GET", f"/api/conversations/other/attachments/{image['id']}").status_code == 404
    made_up = f"/api/conversations/{CID}/attachments/att_{'x' * 24}"
    assert both.bot("GET", made_up).status_code == 404
    assert both.call("GET", path, None).status_code == 401
    assert both.agent("alice", "GET", f"/api/attachments/{image['id']}").status_code == 404
    assert both.agent("alice", "GET", "/api/attachments/../../etc/passwd").status_code == 404
    assert both.agent("alice", "GET", path).status_code == 403


def test_an_agent_sends_an_image_screened_the_same_way(both: Api) -> None:
    ticket = both.new_ticket()
    ref = ticket["ref"]
    assert both.agent("alice", "POST", f"/api/tickets/{ref}/claim").status_code == 200
    path = f"/api/tickets/{ref}/attachments"
    refused = both.agent("alice", "POST", path, data=phrase_screenshot(), timeout=OCR_TIMEOUT)
    assert refused.status_code == 422 and refused.json()["kinds"] == ["seed_phrase"]
    kept = both.agent("alice", "POST", path, data=tx_screenshot(), timeout=OCR_TIMEOUT)
    assert kept.status_code == 201, kept.text
    image_id = kept.json()["attachment"]["id"]
    # Not visible to the chat until it is sent.
    assert both.bot("GET", f"/api/conversations/{CID}/attachments/{image_id}").status_code == 404
    # Bob may not send Alice's image; an image-only reply is allowed.
    assert both.agent("bob", "POST", f"/api/tickets/{ref}/messages",
                      json={"text": "x", "attachment_id": image_id}).status_code in (409, 422)
    reply = both.agent("alice", "POST", f"/api/tickets/{ref}/messages",
                       json={"text": "", "attachment_id": image_id})
    assert reply.status_code == 201, reply.text
    assert reply.json()["attachment"]["id"] == image_id
    again = both.agent("alice", "POST", f"/api/tickets/{ref}/messages",
                       json={"text": "again", "attachment_id": image_id})
    assert again.status_code == 422 and again.json()["field"] == "attachment_id"
    # The bot fetches the reply to deliver it, with the image's id, and the chat may see it.
    message_id = reply.json()["id"]
    fetched = both.bot("GET", f"/api/conversations/{CID}/messages/{message_id}").json()
    assert fetched["attachment"]["id"] == image_id
    assert both.bot("GET", f"/api/conversations/{CID}/attachments/{image_id}").status_code == 200


def test_retention_and_deleting_a_ticket_delete_the_bytes(both: Api, tmp_path: Path) -> None:
    app = both.server.app
    first = upload(both, tx_screenshot(), "r1").json()["attachment"]
    ticket = both.new_ticket()
    with app.ctx.sessions() as session:
        use_cases = HandoffService(session)
        assert use_cases.delete_ticket(ticket["ref"], app.ctx.attachment_store) == 1
    assert _rows(both) == 0
    with app.ctx.sessions() as session:
        assert app.ctx.attachment_store.get(session, first["id"], False) is None
    upload(both, tx_screenshot(), "r2")
    with app.ctx.sessions() as session:
        later = HandoffService(session, lambda: app.ctx.clock() + timedelta(days=91))
        assert later.expire_attachments(timedelta(days=90), app.ctx.attachment_store, 100) == 1
    assert _rows(both) == 0
    files = [f for f in (tmp_path / "attachments").rglob("*") if f.is_file()]
    assert files == []
