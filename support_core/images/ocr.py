"""Read the text of a screenshot, Chinese and English, as lines in reading order.

Two engines behind one protocol (``OcrEngine``):

* ``RapidOcrEngine``: PaddleOCR's PP-OCRv4 models run by ONNX Runtime, from the
  PyPI package ``rapidocr_onnxruntime`` (the models ship inside its wheel, so
  nothing is downloaded at run time).
* ``TesseractEngine``: Debian's ``tesseract-ocr`` with the ``chi_sim`` and
  ``eng`` language data, run as a command per image.

Engines load nothing until their first use, and one engine may be shared by
threads (the handoff service screens uploads in worker threads).

Both return *boxes* (a piece of text and where it is); ``reading_order`` turns
boxes into lines: top to bottom, boxes that sit on the same row joined with a
space from left to right, so a 3 x 4 grid of numbered words reads row by row.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from support_core.patterns import HAN_RE

if TYPE_CHECKING:
    from PIL import Image

ENGINE_ENV = "IMAGE_OCR_ENGINE"
RAPIDOCR = "rapidocr"
TESSERACT = "tesseract"
ENGINES = (RAPIDOCR, TESSERACT)
# Chosen with bench.screenshot_screening: on the same generated set RapidOCR catches
# every secret; Tesseract misses most Chinese phrases (single characters in a grid).
DEFAULT_ENGINE = RAPIDOCR


class OcrUnavailable(RuntimeError):
    """The OCR engine asked for is not installed (or unknown)."""


@dataclass(frozen=True)
class OcrBox:
    """A piece of recognised text and its box, in pixels of the image given to the engine."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        """The box's height (at least one pixel)."""
        return max(1.0, self.bottom - self.top)

    @property
    def width(self) -> float:
        """The box's width (at least one pixel)."""
        return max(1.0, self.right - self.left)


class OcrEngine(Protocol):
    """What screening needs from an OCR engine."""

    name: str

    def read_boxes(self, image: Image.Image) -> list[OcrBox]:
        """Every piece of text found in ``image`` with its box, in no particular order."""
        ...

    def read(self, image: Image.Image) -> list[str]:
        """The text of ``image`` as lines in reading order."""
        ...


def reading_order(boxes: Sequence[OcrBox]) -> list[list[OcrBox]]:
    """Boxes grouped into rows, top to bottom, each row left to right.

    A box joins the row it overlaps vertically by at least half of the smaller
    height; a row is compared by its median box so one tall box does not swallow
    the rows next to it.
    """
    rows: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        placed = False
        for row in reversed(rows[-3:]):  # only the last few rows can still be reached
            top = sorted(b.top for b in row)[len(row) // 2]
            bottom = sorted(b.bottom for b in row)[len(row) // 2]
            overlap = min(bottom, box.bottom) - max(top, box.top)
            if overlap >= 0.5 * min(bottom - top, box.height):
                row.append(box)
                placed = True
                break
        if not placed:
            rows.append([box])
    for row in rows:
        row.sort(key=lambda b: b.left)
    return rows


def lines_of(boxes: Sequence[OcrBox]) -> list[str]:
    """The text of ``boxes`` as lines in reading order (see ``reading_order``)."""
    lines = []
    for row in reading_order(boxes):
        line = " ".join(b.text.strip() for b in row if b.text.strip())
        if line:
            lines.append(line)
    return lines


def split_vertical(box: OcrBox) -> list[OcrBox]:
    """A tall box cut into one box per character, top to bottom.

    The detector takes a column of single characters (a Chinese phrase in a grid
    without numbers) for one line of vertical text. Screenshots hold no vertical
    text, so each character goes back to its own row, where reading order puts it.
    """
    chars = [c for c in box.text if not c.isspace()]
    if len(chars) < 2 or box.height < 1.5 * box.width:
        return [box]
    step = box.height / len(chars)
    return [
        OcrBox(c, box.left, box.top + i * step, box.right, box.top + (i + 1) * step)
        for i, c in enumerate(chars)
    ]


class _LazyEngine:
    """Loads its model once, on first use, under a lock."""

    name = "base"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:
        raise NotImplementedError

    def _model_loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def read_boxes(self, image: Image.Image) -> list[OcrBox]:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, image: Image.Image) -> list[str]:
        """The text of ``image`` as lines in reading order."""
        return lines_of(self.read_boxes(image))


class RapidOcrEngine(_LazyEngine):
    """PP-OCRv4 (Chinese and English in one model) through ``rapidocr_onnxruntime``.

    ``det_side`` is the length the detector scales the image's longer side to;
    ``threads`` the ONNX Runtime threads per inference.
    """

    name = RAPIDOCR

    def __init__(self, *, det_side: int = 1600, threads: int = 1, min_score: float = 0.3) -> None:
        super().__init__()
        self.det_side = det_side
        self.threads = threads
        self.min_score = min_score
        # The library keeps per-call settings on the shared object: one call at a time.
        self._call_lock = threading.Lock()

    def _load(self) -> Any:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as error:
            raise OcrUnavailable(_missing(RAPIDOCR)) from error
        return RapidOCR(
            # The image is already scaled by screening; the detector scales the longer
            # side to det_side (limit_type max) instead of blowing the shorter one up.
            det_limit_side_len=self.det_side,
            det_limit_type="max",
            max_side_len=max(2000, self.det_side),
            # Screenshots are never upside down: the angle classifier is wasted time.
            use_cls=False,
            text_score=self.min_score,
            intra_op_num_threads=self.threads,
            inter_op_num_threads=1,
        )

    def read_boxes(self, image: Image.Image) -> list[OcrBox]:
        """Every piece of text found in ``image`` with its box."""
        import numpy as np

        model = self._model_loaded()
        pixels = np.asarray(image.convert("RGB"))[:, :, ::-1]  # the library expects BGR
        with self._call_lock:
            result, _ = model(np.ascontiguousarray(pixels), use_cls=False)
        boxes: list[OcrBox] = []
        for points, text, _score in result or []:
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            box = OcrBox(str(text), min(xs), min(ys), max(xs), max(ys))
            boxes.extend(split_vertical(box))
        return boxes


class TesseractEngine(_LazyEngine):
    """Debian's Tesseract 5 (``chi_sim+eng``), one command per image.

    Words come back one by one with their boxes; words on one line are joined
    into a box again, without a blank between Chinese characters (Tesseract
    reports each as a word of its own) and split where a wide gap says they sit
    in different cells of the screen.
    """

    name = TESSERACT

    def __init__(
        self, *, languages: str = "chi_sim+eng", psm: int = 11, command: str = "tesseract",
        threads: int = 1, timeout_s: float = 60.0,
    ) -> None:
        super().__init__()
        self.languages = languages
        self.psm = psm
        self.command = command
        self.threads = threads
        self.timeout_s = timeout_s

    def _load(self) -> Any:
        path = shutil.which(self.command)
        if path is None:
            raise OcrUnavailable(_missing(TESSERACT))
        result = subprocess.run(
            [path, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
        have = set(result.stdout.split())
        lacking = [lang for lang in self.languages.split("+") if lang not in have]
        if lacking:
            raise OcrUnavailable(
                f"tesseract has no language data for {', '.join(lacking)}: "
                "install tesseract-ocr-chi-sim and tesseract-ocr-eng (scripts/bootstrap.sh)"
            )
        return path

    def read_boxes(self, image: Image.Image) -> list[OcrBox]:
        """Every piece of text found in ``image`` with its box."""
        command = self._model_loaded()
        png = io.BytesIO()
        image.convert("L").save(png, "PNG", compress_level=1)
        # OpenMP threads: two processes of two threads each thrash a two-core machine.
        env = {**os.environ, "OMP_THREAD_LIMIT": str(self.threads)}
        result = subprocess.run(
            [command, "stdin", "stdout", "-l", self.languages, "--psm", str(self.psm), "tsv"],
            input=png.getvalue(), capture_output=True, timeout=self.timeout_s, env=env,
            check=False,
        )
        if result.returncode != 0:
            # Never the image or its text in the message: the exit status is enough.
            raise RuntimeError(f"tesseract failed with exit status {result.returncode}")
        return _tesseract_boxes(result.stdout.decode("utf-8", "replace"))


def _tesseract_boxes(tsv: str) -> list[OcrBox]:
    """Words of Tesseract's TSV output joined into boxes, line by line."""
    lines: dict[tuple[str, str, str], list[OcrBox]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].strip()
        if not text:
            continue
        left, top, width, height = (float(v) for v in cells[6:10])
        lines.setdefault((cells[2], cells[3], cells[4]), []).append(
            OcrBox(text, left, top, left + width, top + height)
        )
    boxes = []
    for words in lines.values():
        words.sort(key=lambda b: b.left)
        line_height = sorted(w.height for w in words)[len(words) // 2]
        current = words[0]
        for word in words[1:]:
            gap = word.left - current.right
            if gap > 1.5 * line_height:
                boxes.append(current)
                current = word
                continue
            glue = (
                HAN_RE.match(word.text[0]) and HAN_RE.match(current.text[-1])
                and gap < 0.6 * line_height
            )
            current = OcrBox(
                current.text + ("" if glue else " ") + word.text,
                current.left, min(current.top, word.top), word.right,
                max(current.bottom, word.bottom),
            )
        boxes.append(current)
    return boxes


def _missing(name: str) -> str:
    if name == RAPIDOCR:
        return (
            "OCR engine 'rapidocr' is not installed: pip install rapidocr_onnxruntime "
            "(it is in pyproject.toml; run scripts/bootstrap.sh)"
        )
    return (
        "OCR engine 'tesseract' is not installed: apt-get install tesseract-ocr "
        "tesseract-ocr-chi-sim tesseract-ocr-eng (scripts/bootstrap.sh does it as root)"
    )


def make_engine(name: str) -> OcrEngine:
    """A new engine by name (``rapidocr`` or ``tesseract``); ``OcrUnavailable`` if missing.

    Only checks that the engine is installed; its models load on first use.
    """
    if name == RAPIDOCR:
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            raise OcrUnavailable(_missing(RAPIDOCR))
        return RapidOcrEngine()
    if name == TESSERACT:
        engine = TesseractEngine()
        engine._model_loaded()  # the command and its language data: a quick check
        return engine
    raise OcrUnavailable(f"unknown OCR engine {name!r}: choose one of {', '.join(ENGINES)}")


def warm_up(engine: OcrEngine) -> float:
    """Load the engine's model now, before anything is timed; returns the seconds it took."""
    from PIL import Image

    started = time.perf_counter()
    engine.read(Image.new("RGB", (64, 32), (255, 255, 255)))
    return time.perf_counter() - started


@functools.cache
def _shared_engine(name: str) -> OcrEngine:
    return make_engine(name)


def engine_from_env(environ: Mapping[str, str] | None = None) -> OcrEngine:
    """The engine ``IMAGE_OCR_ENGINE`` names (default ``DEFAULT_ENGINE``), shared per process.

    Raises ``OcrUnavailable`` with what to install when the engine is missing.
    """
    env = os.environ if environ is None else environ
    name = (env.get(ENGINE_ENV) or DEFAULT_ENGINE).strip().lower()
    return _shared_engine(name)
