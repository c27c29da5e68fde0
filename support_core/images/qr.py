"""Decode every QR code in an image with OpenCV.

A wallet's "export private key" screen often shows the key as a QR code and
nothing else, so a QR code is read like text and its payload screened. OpenCV's
detector misses codes whose modules are only a pixel or two wide, so a small
image is tried again at twice its size; a large one is scaled down first, which
also bounds the time a hostile image can cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

# Sides, in pixels: above MAX the image is scaled down first; below SMALL an
# image without a code found is tried again at UPSCALE times its size.
MAX_SIDE = 2000
SMALL_SIDE = 1200
UPSCALE = 2.0


def decode_qr(image: Image.Image) -> list[str]:
    """The payloads of the QR codes found in ``image``, each once, in the order found."""
    import cv2
    import numpy as np

    grey = np.asarray(image.convert("L"))
    side = max(grey.shape)
    if side > MAX_SIDE:
        scale = MAX_SIDE / side
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _decode(grey)
    if not found and max(grey.shape) < SMALL_SIDE:
        bigger = cv2.resize(grey, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        found = _decode(bigger)
    return found


def _decode(grey: np.ndarray) -> list[str]:
    import cv2

    # Detectors per call: OpenCV's detector objects are not documented as thread-safe.
    # The classic detector first; the ArUco-based one (OpenCV 4.8+) finds codes whose
    # modules a scaled screenshot made uneven, where the classic one finds nothing.
    detectors = [cv2.QRCodeDetector()]
    if hasattr(cv2, "QRCodeDetectorAruco"):
        detectors.append(cv2.QRCodeDetectorAruco())
    for detector in detectors:
        payloads: list[str] = []
        try:
            ok, decoded, _points, _codes = detector.detectAndDecodeMulti(grey)
        except cv2.error:
            ok, decoded = False, ()
        if ok:
            payloads.extend(p for p in decoded if p)
        if not payloads:
            # The multi-code search misses some single codes that the plain one reads.
            try:
                single, _points, _code = detector.detectAndDecode(grey)
            except cv2.error:
                single = ""
            if single:
                payloads.append(single)
        if payloads:
            return list(dict.fromkeys(payloads))
    return []
