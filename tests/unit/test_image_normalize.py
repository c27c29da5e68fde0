"""Unit tests for support_core.images.formats and .normalize (real Pillow, no OCR).

Uploads are judged by their bytes only; whatever is kept is a fresh encoding
without metadata; hostile files (bombs, truncated, other types) are refused
cheaply with ``UnsupportedImage`` and nothing else.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from support_core.images.formats import ImageFormat, UnsupportedImage, sniff
from support_core.images.normalize import (
    THUMBNAIL_SIDE,
    ImageLimits,
    ImageTooLarge,
    normalize,
)

LIMITS = ImageLimits()
GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _image(size: tuple[int, int] = (60, 30), mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, (255, 255, 255) if mode == "RGB" else 255)
    # Left half red: shows which way the picture was turned.
    image.paste((255, 0, 0) if mode == "RGB" else 0, (0, 0, size[0] // 2, size[1]))
    return image


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif


def _png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def _png_with_size(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header declares ``width`` x ``height`` pixels."""
    data = bytearray(_encode(_image((8, 8)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


# --------------------------------------------------------------------------- sniffing


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PNG", ImageFormat.PNG), ("JPEG", ImageFormat.JPEG), ("WEBP", ImageFormat.WEBP)],
)
def test_sniff_tells_the_three_types_by_their_bytes(fmt: str, expected: ImageFormat) -> None:
    assert sniff(_encode(_image(), fmt)) is expected


def test_a_png_named_jpg_is_a_png_because_only_the_bytes_count() -> None:
    # The API never sees a file name: a PNG uploaded as "photo.jpg" is kept as a PNG.
    result = normalize(_encode(_image(), "PNG"), LIMITS)
    assert result.format is ImageFormat.PNG
    assert result.mime_type == "image/png"
    assert result.data.startswith(b"\x89PNG")


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("screenshot.png", _encode(_image(), "PNG"))
    return out.getvalue()


NOT_ACCEPTED = {
    "text file": b"Hello, this is not an image at all, just some text.\n" * 3,
    "empty": b"",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
           b'height="10"><rect width="10" height="10"/></svg>',
    "gif": _encode(_image(), "GIF"),
    "bmp": _encode(_image(), "BMP"),
    "tiff": _encode(_image(), "TIFF"),
    "zip": _zip(),
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    "html": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
}


@pytest.mark.parametrize("name", sorted(NOT_ACCEPTED))
def test_other_files_are_refused_as_unsupported(name: str) -> None:
    with pytest.raises(UnsupportedImage) as refused:
        normalize(NOT_ACCEPTED[name], LIMITS)
    assert refused.value.code == "unsupported_image"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_image_is_refused(fmt: str) -> None:
    data = _encode(_image((200, 200)).effect_spread(5), fmt)
    with pytest.raises(UnsupportedImage):
        normalize(data[: len(data) // 2], LIMITS)


def test_a_png_with_a_broken_checksum_is_refused() -> None:
    data = bytearray(_encode(_image(), "PNG"))
    data[40] ^= 0xFF  # inside the first IDAT chunk
    with pytest.raises(UnsupportedImage):
        normalize(bytes(data), LIMITS)


def test_magic_bytes_followed_by_garbage_are_refused() -> None:
    for magic in (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBPVP8 "):
        with pytest.raises(UnsupportedImage):
            normalize(magic + b"\x00garbage" * 20, LIMITS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=256))
def test_sniff_raises_nothing_but_unsupported_image(data: bytes) -> None:
    try:
        assert sniff(data) in ImageFormat
    except UnsupportedImage:
        pass


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x10\x00\x00\x00WEBPVP8L"]),
    st.binary(min_size=8, max_size=512),
)
def test_normalize_of_random_bodies_raises_nothing_but_unsupported_image(
    magic: bytes, body: bytes
) -> None:
    with pytest.raises(UnsupportedImage):
        normalize(magic + body, LIMITS)


# --------------------------------------------------------------------------- limits


def test_the_size_limit_is_checked_first() -> None:
    limits = ImageLimits(max_bytes=1024)
    # Not even an image: the byte count alone refuses it, before anything is parsed.
    with pytest.raises(ImageTooLarge) as refused:
        normalize(b"\x00" * 1025, limits)
    assert refused.value.code == "image_too_large"
    assert normalize(_encode(_image((8, 8)), "PNG"), limits).width == 8


@pytest.mark.parametrize(
    ("width", "height"),
    [(8_000, 8_000), (60_000, 60_000)],  # 64 megapixels (192 MB decoded); 3.6 gigapixels
)
def test_a_decompression_bomb_is_refused_without_decoding_it(width: int, height: int) -> None:
    bomb = _png_with_size(width, height)
    assert len(bomb) < 200
    # Pillow counts the pixel buffers it creates (C memory, which tracemalloc cannot see).
    images_before = Image.core.get_stats()["new_count"]
    tracemalloc.start()
    try:
        with pytest.raises(UnsupportedImage) as refused:
            normalize(bomb, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "pixel" in str(refused.value)
    assert Image.core.get_stats()["new_count"] == images_before
    assert peak < 5 * 1024 * 1024


def test_the_pixel_limit_is_ours_not_pillows_global() -> None:
    assert Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > 10_000
    with pytest.raises(UnsupportedImage):
        normalize(_encode(_image((200, 100)), "PNG"), ImageLimits(max_pixels=10_000))
    assert normalize(_encode(_image((100, 100)), "PNG"), ImageLimits(max_pixels=10_000))


def test_limits_from_the_environment() -> None:
    limits = ImageLimits.from_env(
        "ATTACHMENT", {"ATTACHMENT_MAX_BYTES": "2048", "ATTACHMENT_MAX_PIXELS": "1000000"}
    )
    assert limits == ImageLimits(max_bytes=2048, max_pixels=1_000_000)
    assert ImageLimits.from_env("ATTACHMENT", {}) == ImageLimits()
    for bad in ("lots", "-1", "0"):
        with pytest.raises(ValueError, match="ATTACHMENT_MAX_BYTES"):
            ImageLimits.from_env("ATTACHMENT", {"ATTACHMENT_MAX_BYTES": bad})


# --------------------------------------------------------------------------- re-encoding


def test_jpeg_exif_and_gps_are_stripped_and_the_orientation_applied() -> None:
    # Orientation 6: the camera was turned, the viewer rotates the picture 90° clockwise.
    data = _encode(_image((60, 30)), "JPEG", exif=_exif_with_gps(orientation=6), quality=95)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    result = normalize(data, LIMITS)
    assert result.format is ImageFormat.JPEG
    kept = Image.open(io.BytesIO(result.data))
    assert not kept.getexif()
    assert "exif" not in kept.info and "icc_profile" not in kept.info
    assert b"Exif" not in result.data and b"PhoneMaker" not in result.data
    assert (result.width, result.height) == kept.size == (30, 60)
    # The red half, left before turning, is now on top.
    assert kept.convert("RGB").getpixel((15, 5))[0] > 200
    assert kept.convert("RGB").getpixel((15, 55))[1] > 200


def test_png_text_chunks_icc_and_exif_are_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home, 48.85N 2.29E")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    srgb = Image.core.__dict__.get("srgb_icc")  # absent: an arbitrary profile is enough
    icc = srgb or _encode_icc()
    data = _encode(_image(), "PNG", pnginfo=info, exif=_exif_with_gps(), icc_profile=icc)
    assert {b"tEXt", b"iTXt", b"eXIf", b"iCCP"} <= set(_png_chunks(data))
    result = normalize(data, LIMITS)
    assert set(_png_chunks(result.data)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert b"48.85N" not in result.data and b"xmpmeta" not in result.data


def _encode_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_webp_metadata_is_stripped_and_it_stays_webp() -> None:
    data = _encode(_image(), "WEBP", exif=_exif_with_gps(), xmp=b"<x:xmpmeta>here</x:xmpmeta>")
    assert b"EXIF" in data and b"XMP " in data
    result = normalize(data, LIMITS)
    assert result.format is ImageFormat.WEBP
    assert b"EXIF" not in result.data and b"XMP " not in result.data
    assert not Image.open(io.BytesIO(result.data)).getexif()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_an_animation_keeps_its_first_frame_only(fmt: str) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "green", "blue")]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    kept = Image.open(io.BytesIO(normalize(data, LIMITS).data))
    assert getattr(kept, "n_frames", 1) == 1
    assert kept.convert("RGB").getpixel((10, 10))[0] > 200


def test_transparent_png_keeps_alpha_and_jpeg_is_quality_90_rgb() -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 255, 0))
    result = normalize(_encode(rgba, "PNG"), LIMITS)
    assert Image.open(io.BytesIO(result.data)).mode == "RGBA"
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))
    kept = Image.open(io.BytesIO(normalize(_encode(cmyk, "JPEG"), LIMITS).data))
    assert kept.mode == "RGB"


def test_thumbnail_and_digest() -> None:
    import hashlib

    result = normalize(_encode(_image((1200, 600)), "PNG"), LIMITS)
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    thumb = Image.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG" and result.thumbnail_mime_type == "image/jpeg"
    assert max(thumb.size) == THUMBNAIL_SIDE and thumb.size == (320, 160)
    small = normalize(_encode(_image((100, 50)), "PNG"), LIMITS)
    assert Image.open(io.BytesIO(small.thumbnail)).size == (100, 50)
