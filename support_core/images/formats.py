"""Which image type a file holds, told from its first bytes only.

The name and the Content-Type of an upload are chosen by the sender, so neither
is trusted: a PNG called ``x.jpg`` is a PNG, and an SVG or a GIF called
``x.png`` is refused. Three types are accepted, the ones phones and desktops
save screenshots as.
"""

from __future__ import annotations

from enum import Enum


class UnsupportedImage(ValueError):
    """The bytes are not an image this service accepts (type, truncated, corrupt, too big).

    ``code`` is the stable machine-readable reason for API responses; the message
    is for logs and never contains the image's content.
    """

    code = "unsupported_image"


class ImageFormat(str, Enum):
    """An accepted image type, with its MIME type and Pillow's name for it."""

    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def mime_type(self) -> str:
        """The MIME type to serve the image with."""
        return f"image/{self.value}"

    @property
    def pillow_format(self) -> str:
        """Pillow's format name, to open the bytes with that decoder only."""
        return self.value.upper()

    @property
    def extension(self) -> str:
        """The file extension to store the image under."""
        return "jpg" if self is ImageFormat.JPEG else self.value


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# The shortest file each decoder could possibly read: anything shorter is not worth opening.
_MIN_BYTES = 16


def sniff(data: bytes) -> ImageFormat:
    """The type of the image in ``data``, from its magic bytes; ``UnsupportedImage`` otherwise.

    Only the signature is checked; whether the rest decodes is
    ``support_core.images.normalize``'s job.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UnsupportedImage("image data must be bytes")
    head = bytes(data[:16])
    if len(data) >= _MIN_BYTES:
        if head.startswith(_PNG_MAGIC):
            return ImageFormat.PNG
        if head.startswith(_JPEG_MAGIC):
            return ImageFormat.JPEG
        # RIFF container: 'RIFF', 4 bytes of length, then the form type.
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return ImageFormat.WEBP
    raise UnsupportedImage("not a PNG, JPEG or WebP image")
