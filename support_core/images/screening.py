"""Screen an uploaded image for wallet secrets before anything of it is stored.

``screen_image`` normalises the upload (``normalize``), reads its text (``ocr``)
and its QR codes (``qr``), and refuses it when any of them shows a recovery
phrase or a private key (64-hex, WIF, xprv). A refused image is never returned,
so it cannot be written anywhere; an accepted one comes back re-encoded without
metadata, with its text redacted by the secret guard (a transaction hash stays
readable, so facts can be taken from it).

The secret guard (``support_core.secret_guard``) was written for typed text.
OCR output differs in three ways, each handled here:

* characters are misread or dropped ("immen$e", "c1ock", a missing word, blanks
  lost: "sealizardtwo"), so a phrase is also recognised *tolerantly*: 11 of 12
  (22 of 24) consecutive BIP-39 words, at most one of them off by one letter,
  ten exact ones in a row, or nine list words each after its own number;
  Chinese phrases by their layout, ten or more single list characters standing
  alone in the rows of a grid or a numbered list (eight in a numbered grid or
  under a title naming a seed phrase);
  a tall capture (a scrolling screenshot) is read in tiles so its letters stay
  legible;
* a long key wraps onto the next line of the screen, so wrapped pieces are
  joined again, and hex and Base58 keys misread by a confusable character
  (O for 0, l for 1) are repaired before the guard looks at them;
* a QR code has no words around it: a payload that is only 64 hex digits (with
  or without 0x) is what "export private key" screens show, so it is a key; an
  address, a payment URI (``ethereum:``, ``bitcoin:``) or an explorer URL is not.

Nothing here logs the text or the QR payloads: only decisions, kinds and timings.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from PIL import Image

from support_core.chinese_phrase import HAN_LISTS, SEED_CONTEXT_RE
from support_core.images.normalize import (
    ImageLimits,
    NormalizedImage,
    normalize_with_pixels,
)
from support_core.images.ocr import OcrEngine, OcrUnavailable, engine_from_env
from support_core.images.qr import decode_qr
from support_core.patterns import HAN_RUN_RE
from support_core.secret_guard import SecretKind, find_secrets, redact

log = logging.getLogger(__name__)

# OCR works on a copy whose longer side is brought into this range: huge images
# cost time without adding legible text, tiny ones have letters too small to read.
OCR_MAX_SIDE = 1600
OCR_MIN_SIDE = 1280
OCR_MAX_UPSCALE = 2.5
# Taller than TALL_RATIO times its width, an image is read in tiles of TILE_RATIO
# times the width, TILE_OVERLAP of the width overlapping, at most MAX_TILES of them.
TALL_RATIO = 2.4
TILE_RATIO = 1.6
TILE_OVERLAP = 0.15
TILE_MIN_WIDTH = 720
TILE_MAX_WIDTH = 1000
MAX_TILES = 8

# Tolerant phrase check: windows of consecutive words and how many must be list
# words (exactly, and with at most one letter wrong). Ten list words in a row,
# all exact, are a phrase too: a crop or the OCR lost the others (prose cannot
# string ten together: its small words, "the", "to", "my", are not in the list).
_WINDOWS = ((12, 10, 11), (24, 20, 22), (10, 10, 10))
# Chinese: single list characters standing alone in phrase-shaped rows.
MIN_HAN_CELLS = 10
MIN_HAN_CELLS_SHAPED = 8

SEED = SecretKind.SEED_PHRASE.value
KEY = SecretKind.PRIVATE_KEY.value


class ScreeningFailed(RuntimeError):
    """The image could not be read (the OCR engine failed): it must not be stored."""

    code = "screening_failed"


@dataclass(frozen=True)
class Screening:
    """The verdict on one image.

    ``kinds``: the secret kinds found (``seed_phrase``, ``private_key``, as in
    ``support_core.secret_guard``). ``text``: OCR lines and QR payloads, redacted,
    for an accepted image (empty when refused). ``image``: the re-encoded image,
    ``None`` when refused.
    """

    accepted: bool
    kinds: tuple[str, ...]
    text: str
    image: NormalizedImage | None
    seconds: float


def screen_image(
    data: bytes, *, limits: ImageLimits | None = None, engine: OcrEngine | None = None
) -> Screening:
    """Normalise ``data``, read its text and QR codes, and refuse it if it shows a secret.

    ``limits`` default to ``ImageLimits.from_env()``, ``engine`` to
    ``ocr.engine_from_env()``. Raises ``ImageTooLarge`` or ``UnsupportedImage``
    (from ``normalize``) for an upload that is not a usable image,
    ``ocr.OcrUnavailable`` when the engine is not installed, and
    ``ScreeningFailed`` when reading fails: in every case nothing may be stored.
    Blocking (OCR takes about a second): call it from a worker thread.
    """
    started = time.perf_counter()
    limits = limits if limits is not None else ImageLimits.from_env()
    engine = engine if engine is not None else engine_from_env()
    image, pixels = normalize_with_pixels(data, limits)
    normalized_s = time.perf_counter() - started
    try:
        lines = read_text(engine, pixels)
        ocr_s = time.perf_counter() - started - normalized_s
        payloads = decode_qr(_on_white(pixels))
    except OcrUnavailable:
        raise
    except Exception as error:
        log.warning("image screening failed: %s", type(error).__name__)
        raise ScreeningFailed(f"the image could not be read ({type(error).__name__})") from None
    kinds = secret_kinds(lines, payloads)
    seconds = time.perf_counter() - started
    log.info(
        "image screened: accepted=%s kinds=%s lines=%d qr=%d normalize_s=%.3f ocr_s=%.3f "
        "total_s=%.3f engine=%s",
        not kinds, ",".join(kinds) or "-", len(lines), len(payloads), normalized_s, ocr_s,
        seconds, engine.name,
    )
    if kinds:
        return Screening(False, kinds, "", None, seconds)
    # Wrapped hashes and sentences joined again, so a transaction hash can be read.
    text = redact("\n".join([repair_ocr_text(join_soft_wraps(lines)), *payloads])).text
    return Screening(True, (), text, image, seconds)


def read_text(engine: OcrEngine, pixels: Image.Image) -> list[str]:
    """The OCR lines of the image; a tall one (a scrolling capture) read in tiles.

    Scaled down as a whole, a long screenshot's letters would become too small
    to read, so it is cut into overlapping tiles of a readable scale; lines the
    overlap repeats at the start of a tile are dropped.
    """
    lines: list[str] = []
    for tile in ocr_tiles(pixels):
        tile_lines = engine.read(tile)
        for overlap in range(min(len(lines), len(tile_lines), 6), 0, -1):
            if lines[-overlap:] == tile_lines[:overlap]:
                tile_lines = tile_lines[overlap:]
                break
        lines.extend(tile_lines)
    return lines


def ocr_tiles(pixels: Image.Image) -> list[Image.Image]:
    """The image as OCR should see it: one scaled copy, or tiles of a tall image."""
    flat = _on_white(pixels)
    width, height = flat.size
    if height <= TALL_RATIO * width:
        return [ocr_copy(flat)]
    scale = min(1.0, TILE_MAX_WIDTH / width)
    if width * scale < TILE_MIN_WIDTH:
        scale = min(OCR_MAX_UPSCALE, TILE_MIN_WIDTH / width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    overlap = TILE_OVERLAP * size[0]
    # Even tiles, as many as TILE_RATIO asks for but at most MAX_TILES (then taller
    # ones, which the engine scales down: bounded work for an extreme image).
    count = min(MAX_TILES, math.ceil((size[1] - overlap) / (TILE_RATIO * size[0] - overlap)))
    tile_height = (size[1] + (count - 1) * overlap) / count
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    scaled = flat.resize(size, resample) if scale != 1.0 else flat
    return [
        scaled.crop((0, round(i * (tile_height - overlap)), size[0],
                     min(size[1], round(i * (tile_height - overlap) + tile_height))))
        for i in range(count)
    ]


def ocr_copy(pixels: Image.Image) -> Image.Image:
    """The image on white, scaled so its longer side lies in [OCR_MIN_SIDE, OCR_MAX_SIDE]."""
    flat = _on_white(pixels)
    side = max(flat.size)
    if side > OCR_MAX_SIDE:
        scale = OCR_MAX_SIDE / side
    elif side < OCR_MIN_SIDE:
        scale = min(OCR_MAX_UPSCALE, OCR_MIN_SIDE / side)
    else:
        return flat
    size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
    return flat.resize(size, resample)


def _on_white(pixels: Image.Image) -> Image.Image:
    if pixels.mode != "RGBA":
        return pixels.convert("RGB")
    background = Image.new("RGB", pixels.size, (255, 255, 255))
    background.paste(pixels, mask=pixels.getchannel("A"))
    return background


def secret_kinds(lines: Sequence[str], qr_payloads: Sequence[str] = ()) -> tuple[str, ...]:
    """The secret kinds in OCR ``lines`` and QR payloads, sorted (empty: nothing found)."""
    kinds: set[str] = set()
    # A hash the screen also shows as an explorer link in a QR code is that hash,
    # even where OCR lost the label next to it.
    linked = {
        h.lower() for p in qr_payloads if "/" in p and not qr_payload_kinds(p)
        for h in _HEX64_IN_RE.findall(p)
    }
    prose = join_soft_wraps(lines)
    text = "\n".join(prose)
    repaired = repair_ocr_text(prose, loose=True)
    for version in dict.fromkeys((text, repaired)):
        for match in find_secrets(version):
            value = version[match.start : match.end].lower().removeprefix("0x")
            if value not in linked:
                kinds.add(match.kind.value)
    if KEY not in kinds and _misread_base58_key(repaired):
        kinds.add(KEY)
    if SEED not in kinds and (english_phrase_tolerant(lines) or chinese_phrase_layout(lines)):
        kinds.add(SEED)
    for payload in qr_payloads:
        kinds |= qr_payload_kinds(payload)
    return tuple(sorted(kinds))


_ENDS_IN_PROSE_RE = re.compile(f"{HAN_RUN_RE.pattern[:-1]}{{4,}}$")


def join_soft_wraps(lines: Sequence[str]) -> list[str]:
    """Chinese sentences the screen wrapped onto the next line, joined again.

    Read as separate lines, the pieces of a wrapped sentence look like groups of
    a phrase to the guard ("我到底该" / "找谁。"). A line that ends in a run of four
    or more Chinese characters and a next line that starts with one are a
    sentence wrapped; the rows of a phrase grid hold single characters, so they
    are never joined.
    """
    joined: list[str] = []
    for raw in lines:
        line = raw.strip()
        if joined and line and HAN_RUN_RE.match(line) and _ENDS_IN_PROSE_RE.search(joined[-1]):
            joined[-1] += line
        else:
            joined.append(line)
    return joined


# --------------------------------------------------------------------------- QR payloads

_BARE_HEX_KEY_RE = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
_HEX64_IN_RE = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?([0-9a-fA-F]{64})(?![0-9A-Za-z])")


def qr_payload_kinds(payload: str) -> set[str]:
    """The secret kinds a QR payload holds: the guard's, and a bare 64-hex is a key."""
    value = payload.strip()
    kinds = {m.kind.value for m in find_secrets(value)}
    if _BARE_HEX_KEY_RE.fullmatch(value):
        kinds.add(KEY)
    if english_phrase_tolerant([value]):
        kinds.add(SEED)
    return kinds


# --------------------------------------------------------------------------- repairs

# Characters OCR puts in place of hex digits (and of Base58 ones, below).
_HEX_CONFUSABLE = str.maketrans({
    "O": "0", "o": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1", "!": "1",
    "S": "5", "s": "5", "G": "6", "g": "9", "q": "9", "Z": "2", "z": "2", "T": "7",
})
_HEXISH_RE = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9A-Za-z|!]{60,68}(?![0-9A-Za-z])")
_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_MAX_HEX_REPAIRS = 4
# A piece long enough to be the first part of a wrapped key or hash.
_WRAPPED_HEAD_RE = re.compile(r"(?:^|\s)((?:0[xX])?[0-9A-Za-z]{8,})$")
_WRAPPED_TAIL_RE = re.compile(r"^[0-9A-Za-z]{4,}$")


def repair_ocr_text(lines: Sequence[str], *, loose: bool = False) -> str:
    """OCR lines joined, with wrapped long strings joined again and misread hex repaired.

    A line that is a single long alphanumeric token right after a line ending in
    one continues it (keys and hashes wrap on narrow screens). A 64-character
    token that becomes 64 hex digits after replacing at most four confusable
    characters is taken to be those digits. ``loose`` (for detection only, never
    for text that is kept): a 62-66 character token that is 64 hex digits give
    or take two that OCR added or lost stands for a 64-hex value, so the guard
    judges it by its label like any other.
    """
    joined: list[str] = []
    for raw in lines:
        line = _unspaced(raw.strip()) if loose else raw.strip()
        head = _WRAPPED_HEAD_RE.search(joined[-1]) if joined else None
        if head and _looks_coded(head.group(1)) and _WRAPPED_TAIL_RE.match(line) \
                and _looks_coded(line):
            joined[-1] += line
        else:
            joined.append(line)
    repair = _repair_hex_loose if loose else _repair_hex
    return "\n".join(_HEXISH_RE.sub(repair, line) for line in joined)


def _unspaced(line: str) -> str:
    """A line of code-like pieces with blanks OCR put inside one long key, joined.

    "ymlyGxKCNty6amFVg8rJyj j YB99mZQTZz6pWq" is one piece of an xprv; a line
    with any ordinary word in it ("Tx hash 0x…") is left as it is.
    """
    pieces = line.split()
    if len(pieces) < 2 or not all(_ALNUM_RE.fullmatch(p) for p in pieces):
        return line
    if sum(len(p) for p in pieces) < 24:
        return line
    if any(_looks_coded(p) for p in pieces) and not any(
        len(p) > 3 and _word_like(p) for p in pieces
    ):
        return "".join(pieces)
    return line


def _word_like(piece: str) -> bool:
    """Letters only, cased as words are ("hash", "Copy", "USDT"; not "XQDkpwULj")."""
    return piece.isalpha() and (
        piece.islower() or piece.isupper() or piece[1:].islower()
    )


def _looks_coded(token: str) -> bool:
    """Digits among letters, or both cases inside: a key, hash or address, not a word."""
    return any(c.isdigit() for c in token) or (
        len(token) >= 16 and not token[1:].islower() and not token.isupper()
    )


def _repair_hex(match: re.Match[str]) -> str:
    token = match.group()
    prefix, body = (token[:2], token[2:]) if token[:2] in ("0x", "0X") else ("", token)
    if len(body) != 64:
        return token
    fixed = body.translate(_HEX_CONFUSABLE)
    changed = sum(1 for a, b in zip(body, fixed, strict=True) if a != b)
    if changed <= _MAX_HEX_REPAIRS and _HEX_RE.fullmatch(fixed):
        return prefix + fixed
    return token


def _repair_hex_loose(match: re.Match[str]) -> str:
    repaired = _repair_hex(match)
    if repaired != match.group() or _HEX_RE.fullmatch(repaired.removeprefix("0x")):
        return repaired
    token = match.group()
    prefix, body = (token[:2], token[2:]) if token[:2] in ("0x", "0X") else ("", token)
    fixed = body.translate(_HEX_CONFUSABLE)
    hex_digits = [c for c in fixed if c in _HEX_DIGITS]
    changed = sum(1 for a, b in zip(body, fixed, strict=True) if a != b)
    foreign = len(fixed) - len(hex_digits)
    if 62 <= len(hex_digits) <= 66 and changed + foreign <= _MAX_HEX_REPAIRS:
        return prefix + "".join((hex_digits + ["0"] * 2)[:64])
    return token


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_BASE58_SET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
_WIFISH_RE = re.compile(r"(?<![0-9A-Za-z])[5KLc9][0-9A-Za-z]{50,51}(?![0-9A-Za-z])")
_XPRVISH_RE = re.compile(r"(?<![0-9A-Za-z])[xyzYZtuvUV]p[rn]v[0-9A-Za-z]{100,112}(?![0-9A-Za-z])")


def _misread_base58_key(text: str) -> bool:
    """A WIF or xprv key with up to three characters misread outside the Base58 alphabet."""
    for regex in (_WIFISH_RE, _XPRVISH_RE):
        for m in regex.finditer(text):
            token = m.group()
            foreign = sum(1 for c in token if c not in _BASE58_SET)
            # Mostly letters and digits of both cases, as a key is; a word is not.
            if foreign <= 3 and any(c.isdigit() for c in token) and not token.isalpha():
                return True
    return False


# --------------------------------------------------------------------------- phrases


@cache
def _english_words() -> frozenset[str]:
    from mnemonic import Mnemonic

    return frozenset(Mnemonic("english").wordlist)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@cache
def _english_near() -> frozenset[str]:
    """Every list word with one letter deleted (symmetric-delete lookup, one edit away)."""
    return frozenset(d for w in _english_words() for d in _deletions(w))


def _near_list_word(token: str) -> bool:
    """Whether ``token`` is one letter off a list word (changed, missing or extra)."""
    if len(token) < 4:
        return False
    words = _english_words()
    if token in _english_near():  # one letter missing
        return True
    return any(d in words or d in _english_near() for d in _deletions(token))


_LETTER_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "5": "s", "$": "s", "|": "l", "!": "l"})
_RAW_TOKEN_RE = re.compile(r"[^\s,;:()\[\]{}<>/\\#*\"'“”‘’·•、，。：；]+")
_NUMBERING_RE = re.compile(r"^\d{1,2}[.)、]?")
_ALNUM_RE = re.compile(r"[0-9A-Za-z]+")


def _english_tokens(lines: Sequence[str]) -> list[str]:
    """Word tokens of the phrase-shaped lines, numbering and marks dropped, letters repaired.

    A phrase is shown numbered, or several words to a row (grid, chips,
    paragraph). A row of one unnumbered word is a label or a menu item (a
    desktop sidebar's "Activity" between two rows of a grid): it is left out.
    """
    words = _english_words()
    rows = []
    for line in lines:
        line_tokens = _line_tokens(line)
        numbered = any(_NUMBERING_RE.match(raw) for raw in _RAW_TOKEN_RE.findall(line))
        listed = sum(1 for token in line_tokens if token in words)
        rows.append((line_tokens, numbered, listed >= 2, listed == len(line_tokens) == 1))
    tokens: list[str] = []
    for i, (line_tokens, numbered, several, one_word) in enumerate(rows):
        # A lone list word between numbered rows is an item whose number OCR lost.
        beside = any(rows[j][1] for j in (i - 1, i + 1) if 0 <= j < len(rows))
        if numbered or several or (one_word and beside):
            tokens.extend(line_tokens)
    return tokens


def _line_tokens(line: str) -> list[str]:
    tokens: list[str] = []
    if line:
        for raw in _RAW_TOKEN_RE.findall(line):
            body = _NUMBERING_RE.sub("", raw).strip(".-_")
            if not body or not any(c.isalpha() for c in body):
                continue  # a number, a box border, a stray mark
            if len(body) >= 12 and _ALNUM_RE.fullmatch(body) and not body.isalpha():
                continue  # a key, a hash or an address: its letters are no words
            fixed = body.translate(_LETTER_CONFUSABLE).lower()
            # OCR glues a cell's number to the next word: "produce6" + "immense".
            for part in re.split(r"\d+", fixed):
                if part:
                    tokens.extend(_segmented(part))
    return tokens


def _segmented(token: str) -> list[str]:
    """A token of list words glued together (OCR drops blanks) cut into them, else itself.

    List words are 3 to 8 letters long; "sealizardtwo" becomes "sea", "lizard",
    "two", while "backupyourphrase" stays whole ("your" is no list word).
    """
    words = _english_words()
    if len(token) < 6 or token in words or not token.isalpha():
        return [token]
    best: list[int | None] = [None] * (len(token) + 1)  # where the last word starts
    best[0] = 0
    for end in range(3, len(token) + 1):
        for size in range(3, min(8, end) + 1):
            start = end - size
            if best[start] is not None and token[start:end] in words:
                best[end] = start
                break
    if best[-1] is None:
        return [token]
    pieces: list[str] = []
    end = len(token)
    while end > 0:
        start = best[end]
        assert start is not None
        pieces.append(token[start:end])
        end = start
    return pieces[::-1]


_NUMBERED_WORD_RE = re.compile(r"(?<![\d.,])(\d{1,2})[.)、]?[ \t]*([A-Za-z]{3,8})(?![A-Za-z])")
# A numbered list of list words, one word to a number: partly cropped or misread
# phrases still show this many of them.
MIN_NUMBERED_WORDS = 9


def _numbered_list_words(lines: Sequence[str]) -> bool:
    """At least ``MIN_NUMBERED_WORDS`` list words each right after its own number (1-24)."""
    words = _english_words()
    numbers = set()
    for line in lines:
        for m in _NUMBERED_WORD_RE.finditer(line):
            if 1 <= int(m.group(1)) <= 24 and m.group(2).lower() in words:
                numbers.add(int(m.group(1)))
    return len(numbers) >= MIN_NUMBERED_WORDS


def english_phrase_tolerant(lines: Sequence[str]) -> bool:
    """Whether the lines hold 11 of 12 (22 of 24) consecutive English list words.

    At most one word in a window may be one letter off (OCR misreads); the
    others must be list words exactly; ten exact list words in a row also count.
    Prose never comes close: its small words (the, a, to, is) are not in the
    list. A numbered list of list words, one to a number, needs only nine of
    them (a crop may cut the rest).
    """
    if _numbered_list_words(lines):
        return True
    tokens = _english_tokens(lines)
    if len(tokens) < min(total for _, _, total in _WINDOWS):
        return False
    words = _english_words()
    exact = [t in words for t in tokens]
    near = [not e and _near_list_word(t) for t, e in zip(tokens, exact, strict=True)]
    for size, min_exact, min_total in _WINDOWS:
        size = min(size, len(tokens))
        if size < min_total:
            continue
        for start in range(len(tokens) - size + 1):
            n_exact = sum(exact[start : start + size])
            n_near = sum(near[start : start + size])
            if n_exact >= min_exact and n_exact + n_near >= min_total:
                return True
    return False


@cache
def _han_words() -> frozenset[str]:
    from mnemonic import Mnemonic

    return frozenset(w for language in HAN_LISTS for w in Mnemonic(language).wordlist)


def chinese_phrase_layout(lines: Sequence[str]) -> bool:
    """Whether the lines show a Chinese phrase laid out as a grid or a numbered list.

    Counted are Chinese list characters standing alone (no other Chinese
    character next to them) in rows that hold nothing else but numbers and
    marks; at least ``MIN_HAN_CELLS`` of them, laid out as a grid (three rows
    or more with two cells or more) or numbered (half of them after a number).
    The OCR may misread or lose a cell or two of the twelve; prose, menus and
    labels are runs of several characters and never count.
    """
    words = _han_words()
    cells = 0
    grid_rows = 0
    numbered = 0
    for line in lines:
        runs = list(HAN_RUN_RE.finditer(line))
        if not runs or any(len(r.group()) > 2 for r in runs):
            continue
        rest = HAN_RUN_RE.sub(" ", line)
        if sum(c.isalpha() for c in rest) > 2:
            continue  # words in Latin letters: a label, not a row of cells
        singles = [r for r in runs if len(r.group()) == 1 and r.group() in words]
        if not singles:
            continue
        cells += len(singles)
        grid_rows += len(singles) >= 2
        numbered += sum(1 for r in singles if re.search(r"\d[.)、:]?\s*$", line[: r.start()]))
    context = _talks_about_seed(lines)
    gridded = grid_rows >= 3
    listed = numbered * 2 >= cells
    if cells >= MIN_HAN_CELLS:
        return gridded or listed or context
    # Fewer legible cells (a crop, a cell OCR lost) under a title that names a seed
    # phrase (助记词), or in a numbered grid, the shape no menu or prose has.
    return cells >= MIN_HAN_CELLS_SHAPED and (context or (gridded and listed))


def _talks_about_seed(lines: Sequence[str]) -> bool:
    return any(SEED_CONTEXT_RE.search(line) for line in lines)
