"""Screening uploaded images for the service: one OCR engine per process, bounded work.

The rules live in :mod:`support_core.images.screening` (shared with the
benchmark); this module owns the service's side: the engine is loaded on the
first upload (never at import or start-up), at most a few images are read at
once so a burst of uploads cannot starve the API's worker threads, and every
outcome that is not an accepted image becomes an :class:`ImageRejected`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from handoff_service.errors import ImageRejected
from support_core.images.formats import UnsupportedImage, sniff
from support_core.images.normalize import ImageLimits, ImageTooLarge
from support_core.images.ocr import OcrUnavailable
from support_core.images.screening import ScreeningFailed, screen_image

logger = logging.getLogger(__name__)

# OCR is CPU-bound; more at once than cores only makes each one slower.
MAX_CONCURRENT_SCREENINGS = 2

KIND_WORDS = {
    "seed_phrase": "a recovery phrase",
    "private_key": "a private key",
}


@dataclass(frozen=True)
class AcceptedImage:
    """An image that passed: re-encoded bytes, thumbnail, and the text read from it."""

    data: bytes
    mime: str
    thumbnail: bytes
    thumbnail_mime: str
    width: int
    height: int
    sha256: str
    text: str


def describe_kinds(kinds: tuple[str, ...]) -> str:
    """Plain words for the kinds of secret an image showed."""
    words = [KIND_WORDS.get(kind, kind.replace("_", " ")) for kind in kinds]
    return " and ".join(words) if words else "a secret"


class ImageScreener:
    """Screens images with the configured OCR engine, loaded once on first use."""

    def __init__(self, max_bytes: int) -> None:
        """Accept images of at most ``max_bytes``."""
        self.limits = ImageLimits(max_bytes=max_bytes)
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_SCREENINGS)

    def _ocr_engine(self) -> Any:
        with self._engine_lock:
            if self._engine is None:
                from support_core.images.ocr import engine_from_env

                self._engine = engine_from_env()
            return self._engine

    def screen(self, data: bytes) -> AcceptedImage:
        """Read ``data`` and return it re-encoded, or refuse it.

        Blocking (OCR): call it from a worker thread.

        Raises:
            ImageRejected: too large, not a supported image, or it shows a secret.
        """
        if len(data) > self.limits.max_bytes:
            raise ImageRejected(
                "image_too_large", f"the image is over {self.limits.max_bytes} bytes"
            )
        try:
            # Cheap checks first: no OCR engine is loaded for what is not an image.
            sniff(data)
        except UnsupportedImage as exc:
            raise ImageRejected("unsupported_image", str(exc)) from None
        with self._slots:
            try:
                result = screen_image(data, limits=self.limits, engine=self._ocr_engine())
            except OcrUnavailable:
                # A deployment without its OCR engine refuses every image, loudly in
                # the log, rather than keep images nobody has read.
                logger.exception("no OCR engine: images cannot be screened")
                raise ImageRejected(
                    "screening_failed", "images cannot be checked just now; retry later"
                ) from None
            except ImageTooLarge as exc:
                raise ImageRejected("image_too_large", str(exc)) from None
            except UnsupportedImage as exc:
                raise ImageRejected("unsupported_image", str(exc)) from None
            except ScreeningFailed:
                # Never stored unread: the client may send it again.
                logger.exception("an image could not be screened")
                raise ImageRejected(
                    "screening_failed", "the image could not be checked just now; retry"
                ) from None
        if not result.accepted or result.image is None:
            kinds = tuple(result.kinds)
            logger.info("refused an image showing %s", ",".join(kinds) or "a secret")
            raise ImageRejected(
                "image_refused",
                f"the image shows {describe_kinds(kinds)}; it was not kept",
                kinds,
            )
        image = result.image
        return AcceptedImage(
            data=image.data,
            mime=image.mime_type,
            thumbnail=image.thumbnail,
            thumbnail_mime=image.thumbnail_mime_type,
            width=image.width,
            height=image.height,
            sha256=image.sha256,
            text=result.text,
        )
