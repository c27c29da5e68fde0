"""Decode an uploaded image under limits and re-encode it without any metadata.

What is stored is never the sender's file but a fresh encoding of its pixels:
EXIF (GPS position, device, time), ICC and XMP blocks and PNG text chunks are
all dropped, the EXIF orientation is applied to the pixels first so the picture
still stands the right way up, and an animation keeps its first frame only.

Order of the checks, cheapest first, so a hostile file costs little:

1. the byte size (``ImageTooLarge``);
2. the type from the magic bytes (``formats.sniff``), and Pillow may then use
   that one decoder only;
3. the pixel count from the header, before any pixel is decoded: a small file
   can declare a huge canvas (a decompression bomb). Pillow's own guard
   (``Image.MAX_IMAGE_PIXELS``) is process-wide and may be changed by anyone, so
   the limit is checked here;
4. ``verify()`` (checksums, structure), then a fresh open and a full ``load()``:
   a truncated or corrupt file fails here.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from support_core.images.formats import ImageFormat, UnsupportedImage, sniff

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 90
THUMBNAIL_QUALITY = 80
WEBP_QUALITY = 90


class ImageTooLarge(ValueError):
    """The upload is larger than ``ImageLimits.max_bytes``."""

    code = "image_too_large"


@dataclass(frozen=True)
class ImageLimits:
    """How large an upload may be, in bytes and in decoded pixels."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError("image limits must be positive")

    @classmethod
    def from_env(
        cls, prefix: str = "ATTACHMENT", environ: Mapping[str, str] | None = None
    ) -> ImageLimits:
        """Limits from ``{prefix}_MAX_BYTES`` and ``{prefix}_MAX_PIXELS``; unset means default.

        A value that is not a positive integer raises ``ValueError`` naming the
        variable, so a typo stops the service at start instead of lifting a limit.
        """
        env = os.environ if environ is None else environ
        values = {}
        for field_name, default in (
            ("max_bytes", DEFAULT_MAX_BYTES), ("max_pixels", DEFAULT_MAX_PIXELS)
        ):
            name = f"{prefix}_{field_name.upper()}"
            raw = (env.get(name) or "").strip()
            try:
                value = int(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a positive integer, not {raw!r}") from None
            if value <= 0:
                raise ValueError(f"{name} must be a positive integer, not {raw!r}")
            values[field_name] = value
        return cls(**values)


@dataclass(frozen=True)
class NormalizedImage:
    """The re-encoded image (no metadata), its thumbnail and its digest."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumbnail_mime_type: str

    @property
    def mime_type(self) -> str:
        """The MIME type of ``data``."""
        return self.format.mime_type


def normalize(data: bytes, limits: ImageLimits) -> NormalizedImage:
    """Check ``data`` against ``limits``, decode it and re-encode it without metadata.

    Raises ``ImageTooLarge`` (more bytes than allowed) or ``UnsupportedImage``
    (not PNG/JPEG/WebP, truncated, corrupt, or more pixels than allowed).
    """
    return normalize_with_pixels(data, limits)[0]


def normalize_with_pixels(
    data: bytes, limits: ImageLimits
) -> tuple[NormalizedImage, Image.Image]:
    """``normalize``, and the decoded, upright pixels (RGB or RGBA) for screening."""
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"image of {len(data)} bytes exceeds {limits.max_bytes} bytes")
    kind = sniff(data)
    pixels = _decode(bytes(data), kind, limits)
    encoded = _encode(pixels, kind)
    thumbnail = _thumbnail(pixels)
    image = NormalizedImage(
        data=encoded,
        format=kind,
        width=pixels.width,
        height=pixels.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        thumbnail=thumbnail,
        thumbnail_mime_type="image/jpeg",
    )
    return image, pixels


# Every error a decoder may raise on a hostile or broken file; all mean "unsupported".
_DECODE_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
    struct.error,
)


def _open(data: bytes, kind: ImageFormat) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=(kind.pillow_format,))


def _decode(data: bytes, kind: ImageFormat, limits: ImageLimits) -> Image.Image:
    try:
        with _open(data, kind) as probe:
            # Header only so far: no pixel has been decoded yet.
            width, height = probe.size
            if width <= 0 or height <= 0:
                raise UnsupportedImage("image has no pixels")
            if width * height > limits.max_pixels:
                raise UnsupportedImage(
                    f"image of {width}x{height} pixels exceeds {limits.max_pixels} pixels"
                )
            probe.verify()
        # verify() leaves the file unusable; decode from a fresh open.
        with _open(data, kind) as image:
            if image.size != (width, height):
                raise UnsupportedImage("image header changed between reads")
            image.seek(0)  # an animation keeps its first frame only
            image.load()
            upright = _upright(image)
    except UnsupportedImage:
        raise
    except Image.DecompressionBombError:
        # Pillow's own, process-wide guard fired first (a header far beyond any limit).
        raise UnsupportedImage("image exceeds the pixel limit") from None
    except _DECODE_ERRORS as error:
        raise UnsupportedImage(f"image cannot be decoded ({type(error).__name__})") from None
    if upright.width * upright.height > limits.max_pixels:
        raise UnsupportedImage("image exceeds the pixel limit")
    return upright


def _upright(image: Image.Image) -> Image.Image:
    """The pixels in sRGB, turned as EXIF says, in RGB or RGBA, with no metadata attached."""
    icc = image.info.get("icc_profile")
    turned = ImageOps.exif_transpose(image) or image
    has_alpha = turned.mode in ("RGBA", "LA", "PA") or (
        turned.mode == "P" and "transparency" in turned.info
    )
    if turned.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale PNG: scale to 8 bits rather than clip.
        turned = turned.point(lambda value: value / 256).convert("L")
    converted = turned.convert("RGBA" if has_alpha else "RGB")
    if icc:
        converted = _to_srgb(converted, icc)
    # A fresh image from the raw pixels carries no info, EXIF, ICC, XMP or text of the file.
    return Image.frombytes(converted.mode, converted.size, converted.tobytes())


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Colours converted to sRGB, so that dropping the profile keeps them (Display P3 phones)."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(image, source, target, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken or exotic profile: keep the pixels as they are, without it.
        return image
    return converted if converted is not None else image


def _encode(pixels: Image.Image, kind: ImageFormat) -> bytes:
    out = io.BytesIO()
    if kind is ImageFormat.PNG:
        pixels.save(out, "PNG", compress_level=6)
    elif kind is ImageFormat.JPEG:
        _flatten(pixels).save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        pixels.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def _flatten(pixels: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no alpha channel."""
    if pixels.mode != "RGBA":
        return pixels
    background = Image.new("RGB", pixels.size, (255, 255, 255))
    background.paste(pixels, mask=pixels.getchannel("A"))
    return background


def _thumbnail(pixels: Image.Image) -> bytes:
    thumb = _flatten(pixels).copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()
