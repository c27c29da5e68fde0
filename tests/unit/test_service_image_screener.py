"""Unit tests for handoff_service.image_screening: every refusal is an ImageRejected."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from handoff_service.errors import ImageRejected
from handoff_service.image_screening import ImageScreener, describe_kinds
from support_core.images import ocr


def _png(width: int = 40, height: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture()
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment whose configured OCR engine does not exist."""
    monkeypatch.setenv(ocr.ENGINE_ENV, "no-such-engine")


def test_without_an_ocr_engine_an_image_is_refused_as_not_screened(no_engine: None) -> None:
    with pytest.raises(ImageRejected) as caught:
        ImageScreener(max_bytes=1_000_000).screen(_png())
    assert caught.value.code == "screening_failed"


def test_what_is_not_an_image_is_refused_before_any_engine_is_loaded(no_engine: None) -> None:
    screener = ImageScreener(max_bytes=1_000_000)
    for data in (b"", b"GIF89a" + bytes(40), b"%PDF-1.7\n", "图片".encode()):
        with pytest.raises(ImageRejected) as caught:
            screener.screen(data)
        assert caught.value.code == "unsupported_image"


def test_an_image_over_the_byte_limit_is_refused_unread(no_engine: None) -> None:
    data = _png()
    with pytest.raises(ImageRejected) as caught:
        ImageScreener(max_bytes=len(data) - 1).screen(data)
    assert caught.value.code == "image_too_large"


def test_refusals_name_what_the_image_showed_in_plain_words() -> None:
    assert describe_kinds(("private_key", "seed_phrase")) == "a private key and a recovery phrase"
    assert describe_kinds(()) == "a secret"
