"""Made-up wallet screenshots, with and without secrets, drawn with Pillow from a seed.

Shared by ``bench.screenshot_screening`` and ``tests/unit/test_image_screening.py``.

Secret screens: recovery phrases (English and Chinese BIP-39 words, 12 or 24,
from the ``mnemonic`` package) as numbered grids of 2, 3 or 4 columns, numbered
lists, chips in boxes or a plain paragraph; private keys (64 hex with and
without 0x, on one or two lines), WIF and xprv keys; QR codes of keys and of
phrases (``qrcode`` package). Look-alikes: transaction details (hash, addresses,
amount, fee, status), receive screens with address QR codes, explorer-link QR
codes, error dialogs, chats and help pages in Chinese and English, asset and
settings lists.

Every secret is made up here: from the seeded generator by default, so that the
set and its figures repeat, or with ``fresh=True`` from ``secrets``. Themes
(light, dark), fonts, sizes, phone (1080 x 1920, some scaled down to 540 x 960)
and desktop sizes, and the encoding (PNG, JPEG of quality 70-92, WebP) vary.
"""

from __future__ import annotations

import functools
import io
import random
import secrets
import subprocess
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import base58
import bech32
import qrcode
from mnemonic import Mnemonic
from PIL import Image, ImageDraw, ImageFont

from bench.secret_guard_precision import EN_SENTENCES, ZH_CLAUSES, ZH_SHORT

SEED_PHRASE = "seed_phrase"
PRIVATE_KEY = "private_key"


class FontsMissing(RuntimeError):
    """No font for Latin or Chinese text: install the Debian font packages."""


@dataclass(frozen=True)
class Sample:
    """One generated screenshot: its bytes and what it shows.

    ``kind`` is the secret kind it shows (``None`` for a look-alike); ``facts``
    are strings an accepted image's text should contain (a transaction hash).
    """

    family: str
    data: bytes
    kind: str | None = None
    facts: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def secret(self) -> bool:
        """Whether the image shows a secret."""
        return self.kind is not None


# --------------------------------------------------------------------------- fonts

_LATIN = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
_LATIN_BOLD = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)
_MONO = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
)
_CJK = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
_CJK_BOLD = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",)
_INSTALL_HINT = (
    "install the fonts with scripts/bootstrap.sh (as root) or "
    "apt-get install fonts-dejavu-core fonts-wqy-microhei fonts-noto-cjk"
)


@dataclass(frozen=True)
class FontFile:
    """A font file and the face to use in it (collections hold several)."""

    path: str
    index: int = 0


def _fc_list(family: str) -> list[str]:
    try:
        out = subprocess.run(
            ["fc-list", family, "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())


def _face(path: str) -> FontFile:
    """The Simplified Chinese face of a CJK collection, the first face otherwise."""
    if not path.endswith(".ttc"):
        return FontFile(path)
    for index in range(10):
        try:
            name = " ".join(ImageFont.truetype(path, 12, index=index).getname())
        except OSError:
            break
        if "SC" in name.split() or "Micro Hei" in name:
            return FontFile(path, index)
    return FontFile(path)


@functools.cache
def fonts() -> dict[str, tuple[FontFile, ...]]:
    """The font files per role: latin, bold, mono, cjk, cjk_bold. ``FontsMissing`` if none."""
    found: dict[str, tuple[FontFile, ...]] = {}
    for role, known, family in (
        ("latin", _LATIN, "DejaVu Sans:style=Book"),
        ("bold", _LATIN_BOLD, "DejaVu Sans:style=Bold"),
        ("mono", _MONO, "DejaVu Sans Mono:style=Book"),
        ("cjk", _CJK, ":lang=zh-cn"),
        ("cjk_bold", _CJK_BOLD, ":lang=zh-cn:style=Bold"),
    ):
        paths = [p for p in known if Path(p).exists()] or _fc_list(family)[:2]
        found[role] = tuple(_face(p) for p in paths)
    if not found["latin"]:
        raise FontsMissing(f"no Latin font found; {_INSTALL_HINT}")
    if not found["cjk"]:
        raise FontsMissing(f"no Chinese font found; {_INSTALL_HINT}")
    found["bold"] = found["bold"] or found["latin"]
    found["mono"] = found["mono"] or found["latin"]
    found["cjk_bold"] = found["cjk_bold"] or found["cjk"]
    return found


@functools.cache
def _truetype(font: FontFile, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font.path, px, index=font.index)


# --------------------------------------------------------------------------- drawing


@dataclass(frozen=True)
class Theme:
    """Colours of a screen."""

    name: str
    bg: tuple[int, int, int]
    fg: tuple[int, int, int]
    muted: tuple[int, int, int]
    card: tuple[int, int, int]
    border: tuple[int, int, int]
    accent: tuple[int, int, int]


THEMES = (
    Theme("light", (246, 247, 249), (25, 28, 33), (110, 116, 128), (255, 255, 255),
          (214, 218, 226), (37, 99, 235)),
    Theme("dark", (18, 20, 24), (236, 238, 242), (150, 156, 168), (32, 35, 42),
          (62, 66, 76), (96, 165, 250)),
    Theme("warm", (250, 247, 240), (40, 34, 28), (120, 110, 98), (255, 253, 248),
          (226, 218, 204), (217, 119, 6)),
    Theme("navy", (15, 23, 42), (226, 232, 240), (148, 163, 184), (30, 41, 59),
          (51, 65, 85), (45, 212, 191)),
)


class Canvas:
    """A screen drawn in logical pixels, ``scale`` device pixels each.

    ``x0`` and ``width`` are the content column: a phone's whole width, or a
    column in the middle of a desktop window.
    """

    def __init__(
        self, size: tuple[int, int], scale: float, theme: Theme, chinese: bool,
        rng: random.Random, column: tuple[int, int] | None = None,
    ) -> None:
        self.scale = scale
        self.theme = theme
        self.chinese = chinese
        self.rng = rng
        self.size = size
        self.image = Image.new("RGB", (round(size[0] * scale), round(size[1] * scale)), theme.bg)
        self.draw = ImageDraw.Draw(self.image)
        self.x0, self.width = column or (0, size[0])
        faces = fonts()
        # One family per screen, as an app uses one.
        self.faces = {
            "text": rng.choice(faces["cjk"] if chinese else faces["latin"]),
            "bold": rng.choice(faces["cjk_bold"] if chinese else faces["bold"]),
            "mono": rng.choice(faces["mono"]),
            "cjk": rng.choice(faces["cjk"]),
        }

    def font(self, size: float, role: str = "text") -> ImageFont.FreeTypeFont:
        """The screen's font for ``role`` at ``size`` logical pixels."""
        return _truetype(self.faces[role], max(6, round(size * self.scale)))

    def _xy(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self.scale), round(y * self.scale)

    def text_width(self, text: str, size: float, role: str = "text") -> float:
        """Width of ``text`` in logical pixels."""
        return self.draw.textlength(text, font=self.font(size, role)) / self.scale

    def text(
        self, x: float, y: float, text: str, size: float, role: str = "text",
        color: tuple[int, int, int] | None = None,
    ) -> float:
        """Draw one line; return the y below it."""
        self.draw.text(self._xy(x, y), text, font=self.font(size, role),
                       fill=color or self.theme.fg)
        return y + size * 1.45

    def wrapped(
        self, x: float, y: float, text: str, size: float, width: float, role: str = "text",
        color: tuple[int, int, int] | None = None,
    ) -> float:
        """Draw ``text`` wrapped to ``width``; return the y below it."""
        for line in self.wrap(text, size, width, role):
            y = self.text(x, y, line, size, role, color)
        return y

    def wrap(self, text: str, size: float, width: float, role: str = "text") -> list[str]:
        """``text`` cut into lines no wider than ``width`` (at blanks, or anywhere in CJK)."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            units = paragraph.split(" ") if " " in paragraph else list(paragraph)
            glue = " " if " " in paragraph else ""
            for unit in units:
                candidate = f"{line}{glue}{unit}" if line else unit
                if self.text_width(candidate, size, role) <= width or not line:
                    line = candidate
                else:
                    lines.append(line)
                    line = unit
            lines.append(line)
        return lines

    def box(
        self, x0: float, y0: float, x1: float, y1: float, radius: float = 10,
        fill: tuple[int, int, int] | None = None, outline: tuple[int, int, int] | None = None,
    ) -> None:
        """A rounded rectangle in logical pixels."""
        self.draw.rounded_rectangle(
            (*self._xy(x0, y0), *self._xy(x1, y1)), radius=round(radius * self.scale),
            fill=fill, outline=outline, width=max(1, round(self.scale)),
        )

    def qr(self, payload: str, x: float, y: float, side: float) -> None:
        """A QR code of ``payload`` with its quiet zone, ``side`` logical pixels wide."""
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
        code.add_data(payload)
        code.make(fit=True)
        matrix = code.get_matrix()
        modules = len(matrix)
        tile = Image.new("L", (modules, modules), 255)
        tile.putdata([0 if dark else 255 for row in matrix for dark in row])
        px = round(side * self.scale)
        self.image.paste(tile.resize((px, px), Image.Resampling.NEAREST).convert("RGB"),
                         self._xy(x, y))

    def header(self, y: float, title: str, back: bool = True) -> float:
        """A top bar with a title (and a back arrow); return the y below it."""
        size = self.rng.choice((18, 20, 22))
        if back:
            self.text(self.x0 + 16, y, "<", size, "bold")
        w = self.text_width(title, size, "bold")
        self.text(self.x0 + (self.width - w) / 2, y, title, size, "bold")
        return y + size * 2.4

    def button(self, y: float, label: str) -> float:
        """A full-width button; return the y below it."""
        x0, x1 = self.x0 + 24, self.x0 + self.width - 24
        self.box(x0, y, x1, y + 48, 12, fill=self.theme.accent)
        w = self.text_width(label, 17, "bold")
        self.text((x0 + x1 - w) / 2, y + 13, label, 17, "bold", (255, 255, 255))
        return y + 64

    def status_bar(self) -> float:
        """A phone's status bar (time, battery); return the y below it."""
        self.text(self.x0 + 18, 10, f"{self.rng.randint(7, 23)}:{self.rng.randint(0, 59):02d}",
                  13, "bold")
        self.text(self.x0 + self.width - 70, 10, f"{self.rng.randint(12, 99)}%", 13)
        return 44.0


# --------------------------------------------------------------------------- text pools

EN_TITLES_PHRASE = (
    "Back up your recovery phrase", "Secret Recovery Phrase", "Your seed phrase",
    "Write down these words", "Backup mnemonic", "Wallet backup", "",
)
ZH_TITLES_PHRASE = ("备份助记词", "助记词", "请抄写助记词", "钱包备份", "备份钱包", "")
EN_WARNINGS = (
    "Write these words down in order and keep them somewhere safe. Anyone with them can "
    "take your funds.",
    "Never share your recovery phrase. Support will never ask for it.",
    "Do not take a screenshot. Store the words offline.",
)
ZH_WARNINGS = (
    "请按顺序抄写助记词，并妥善保管。任何人得到助记词都可以转走您的资产。",
    "请勿截图或通过网络传输助记词，客服不会索要助记词。",
    "助记词丢失将无法找回钱包，请离线保存。",
)
EN_KEY_TITLES = ("Export Private Key", "Private Key", "Show private key", "Account key")
ZH_KEY_TITLES = ("导出私钥", "私钥", "查看私钥", "账户私钥")
EN_KEY_WARNINGS = (
    "Never disclose this key. Anyone with your private key can steal any assets held in "
    "your account.",
    "Warning: keep it secret. We will never ask for it.",
)
ZH_KEY_WARNINGS = (
    "请勿泄露私钥，任何人得到私钥都可以转走您的全部资产。", "私钥仅用于备份，请勿分享给任何人。",
)

EN_SETTINGS = (
    "Wallet", "Network", "Security", "Language", "Currency", "Notifications", "Address book",
    "Connected sites", "Advanced", "About", "Help center", "Contact support", "Theme",
    "Privacy", "Backup", "Face ID", "Auto-lock", "Clear cache", "Version 3.12.0",
)
EN_ASSETS = ("ETH", "USDT", "USDC", "BTC", "TRX", "BNB", "MATIC", "ARB", "OP", "DAI")
ZH_ERRORS = (
    ("交易失败", "矿工费不足，请确保账户有足够的 ETH 支付网络费用。"),
    ("交易失败", "能量不足，请冻结 TRX 获取能量或保留足够的 TRX 作为手续费。"),
    ("转账失败", "余额不足。可用余额：0.0021 ETH"),
    ("网络错误", "连接节点超时，请检查网络后重试。错误码：-32000"),
)
EN_ERRORS = (
    ("Transaction failed", "Insufficient gas. Make sure you have enough ETH to pay the "
     "network fee."),
    ("Error", "insufficient funds for gas * price + value (code -32000)"),
    ("Transaction failed", "execution reverted: TransferHelper: TRANSFER_FROM_FAILED"),
    ("Swap failed", "Price impact too high. Try a smaller amount or increase slippage."),
    ("Network error", "Request timed out. Check your connection and try again."),
)
EN_HELP = (
    "How to back up your wallet",
    "Your recovery phrase is the only way to restore your wallet. Write it on paper and "
    "keep it offline. Never type it into a website and never send it to anyone, including "
    "our support team. If you lose it, nobody can recover your funds for you.",
)
ZH_HELP = (
    "如何备份钱包",
    "助记词是恢复钱包的唯一方式。请用纸笔抄写并离线保存，不要截图，不要发送给任何人，"
    "包括客服人员。一旦丢失，任何人都无法帮您找回资产。",
)


# --------------------------------------------------------------------------- the maker


class ScreenshotMaker:
    """Draws the screenshots from one seeded generator (secret bytes: see ``secret_bytes``)."""

    def __init__(self, seed: int, fresh: bool = False) -> None:
        self.rng = random.Random(seed)
        self.fresh = fresh

    # ----------------------------------------------------------------- values

    def secret_bytes(self, n: int) -> bytes:
        """Secret material: seeded by default, from ``secrets`` when ``fresh``."""
        return secrets.token_bytes(n) if self.fresh else self.rng.randbytes(n)

    def phrase(self, language: str = "english", words: int = 12) -> list[str]:
        """A valid BIP-39 phrase of ``words`` words."""
        entropy = self.secret_bytes(words * 4 // 3)
        text = Mnemonic(language).to_mnemonic(entropy)
        return unicodedata.normalize("NFC", text).split()

    def hex_key(self) -> str:
        """A made-up private key, 64 hex digits."""
        return self.secret_bytes(32).hex()

    def wif(self) -> str:
        """A made-up WIF key (compressed or not)."""
        suffix = b"\x01" if self.rng.random() < 0.7 else b""
        return base58.b58encode_check(b"\x80" + self.secret_bytes(32) + suffix).decode()

    def xprv(self) -> str:
        """A made-up extended private key (xprv, yprv or zprv)."""
        prefix = bytes.fromhex(self.rng.choice(("0488ade4", "049d7878", "04b2430c")))
        return base58.b58encode_check(prefix + self.secret_bytes(74)).decode()

    def evm(self) -> str:
        """A random EVM address (not a secret)."""
        return "0x" + self.rng.randbytes(20).hex()

    def tron(self) -> str:
        """A random TRON address."""
        return base58.b58encode_check(b"\x41" + self.rng.randbytes(20)).decode()

    def btc(self) -> str:
        """A random native-SegWit Bitcoin address."""
        address = bech32.encode("bc", 0, list(self.rng.randbytes(20)))
        assert address is not None
        return address

    def tx_hash(self) -> str:
        """A random transaction hash, 64 hex digits."""
        return self.rng.randbytes(32).hex()

    # ----------------------------------------------------------------- canvas

    def canvas(
        self, chinese: bool, *, device: str | None = None, theme: Theme | None = None,
        height: int = 960,
    ) -> Canvas:
        """A phone (540 logical pixels wide, at 1x or 2x) or desktop (1280 x 800) screen."""
        device = device or self.rng.choice(("phone", "phone", "phone-2x", "desktop"))
        theme = theme or self.rng.choice(THEMES)
        if device == "desktop":
            # Desktops at 1x, and at 2x as high-density screens save them.
            canvas = Canvas((1280, 800), self.rng.choice((1.0, 2.0)), theme, chinese, self.rng,
                            column=(370, 540))
            canvas.box(0, 0, 250, 800, 0, fill=theme.card)
            for i, item in enumerate(("资产", "交易", "设置") if chinese else
                                     ("Assets", "Activity", "Settings")):
                canvas.text(28, 40 + i * 44, item, 16, color=theme.muted)
            return canvas
        scale = 2.0 if device == "phone-2x" else self.rng.choice((1.0, 2.0))
        canvas = Canvas((540, height), scale, theme, chinese, self.rng)
        canvas.status_bar()
        return canvas

    def finish(
        self, canvas: Canvas, family: str, kind: str | None, facts: Sequence[str] = (),
        *, encoding: str | None = None, crop: bool = False, **details: str,
    ) -> Sample:
        """Scale a 2x phone down to 540 x 960 at times, crop at times, and encode."""
        image = canvas.image
        if canvas.scale == 2.0 and canvas.size[0] == 540 and self.rng.random() < 0.5:
            image = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
        if crop:
            # A user's crop: the middle of the screen only.
            top = round(image.height * self.rng.uniform(0.05, 0.15))
            image = image.crop((0, top, image.width, image.height - top))
        encoding = encoding or self.rng.choice(("png", "png", "jpeg", "jpeg", "webp"))
        out = io.BytesIO()
        if encoding == "jpeg":
            quality = self.rng.randint(70, 92)
            image.save(out, "JPEG", quality=quality)
            details["quality"] = str(quality)
        elif encoding == "webp":
            image.save(out, "WEBP", quality=85)
        else:
            image.save(out, "PNG")
        details.update(theme=canvas.theme.name, size=f"{image.width}x{image.height}",
                       encoding=encoding)
        return Sample(family, out.getvalue(), kind, tuple(facts), details)

    # ----------------------------------------------------------------- secrets

    def phrase_screen(
        self, *, language: str = "english", words: int = 12, layout: str | None = None,
        columns: int | None = None, device: str | None = None, theme: Theme | None = None,
        encoding: str | None = None, height: int = 960,
    ) -> Sample:
        """A recovery phrase: numbered grid, chips without numbers, numbered list, paragraph.

        A ``height`` above 960 makes a scrolling capture: help text, then the phrase.
        """
        chinese = language.startswith("chinese")
        phrase = self.phrase(language, words)
        layout = layout or self.rng.choice(("grid", "grid", "chips", "list", "paragraph"))
        if layout == "paragraph" and chinese:
            layout = "chips"
        columns = columns or self.rng.choice((2, 3, 3, 4) if layout != "list" else (1, 2))
        if layout == "list" and words == 24:
            columns = 2
        canvas = self.canvas(chinese, device=device, theme=theme, height=height)
        y = 50.0 if canvas.size[0] == 540 else 30.0
        title = self.rng.choice(ZH_TITLES_PHRASE if chinese else EN_TITLES_PHRASE)
        if title:
            y = canvas.header(y, title)
        while y < canvas.size[1] - 900:
            # A scrolling capture: the page's explanations above the phrase.
            help_title, body = ZH_HELP if chinese else EN_HELP
            y = canvas.text(canvas.x0 + 24, y, help_title, 19, "bold") + 6
            y = canvas.wrapped(canvas.x0 + 24, y, body, 16, canvas.width - 48) + 24
        if self.rng.random() < 0.6:
            warning = self.rng.choice(ZH_WARNINGS if chinese else EN_WARNINGS)
            y = canvas.wrapped(canvas.x0 + 24, y, warning, 14, canvas.width - 48,
                               color=canvas.theme.muted) + 12
        bottom = canvas.size[1] - 90
        x0, x1 = canvas.x0 + 20, canvas.x0 + canvas.width - 20
        if layout == "paragraph":
            size = self.rng.choice((17, 19, 21))
            lines = canvas.wrap(" ".join(phrase), size, x1 - x0 - 32)
            canvas.box(x0, y, x1, y + len(lines) * size * 1.6 + 28, 12,
                       fill=canvas.theme.card, outline=canvas.theme.border)
            yy = y + 14
            for line in lines:
                yy = canvas.text(x0 + 16, yy, line, size) + size * 0.15
        else:
            rows = -(-words // columns)
            cell_h = min(64.0, (bottom - y) / rows)
            cell_w = (x1 - x0) / columns
            size = min(self.rng.choice((15, 17, 19, 22)) * (1.15 if chinese else 1.0),
                       cell_h * 0.5, cell_w / (9 if not chinese else 3.5))
            numbered = layout in ("grid", "list") or self.rng.random() < 0.3
            down = layout == "list"  # a list runs down its column; a grid along its rows
            for i, word in enumerate(phrase):
                r, c = (i % rows, i // rows) if down else divmod(i, columns)
                cx, cy = x0 + c * cell_w, y + r * cell_h
                if layout in ("grid", "chips"):
                    canvas.box(cx + 4, cy + 4, cx + cell_w - 4, cy + cell_h - 4, 10,
                               fill=canvas.theme.card, outline=canvas.theme.border)
                tx = cx + 14
                ty = cy + (cell_h - size) / 2 - 2
                if numbered:
                    label = self.rng.choice((f"{i + 1}", f"{i + 1}.")) if layout == "grid" \
                        else f"{i + 1}."
                    canvas.text(tx, ty + size * 0.12, label, size * 0.8, color=canvas.theme.muted)
                    tx += canvas.text_width(f"{words}.", size * 0.8) + 8
                canvas.text(tx, ty, word, size)
        y = bottom + 10
        canvas.button(y, self.rng.choice(("我已抄写", "下一步")) if chinese else
                      self.rng.choice(("I've written it down", "Continue")))
        name = "zh" if chinese else "en"
        family = f"{name}-{words}-{layout}" + (f"-{columns}col" if layout != "paragraph" else "")
        if height > 960:
            family = f"long-{family}"
        return self.finish(canvas, family, SEED_PHRASE, encoding=encoding,
                           crop=self.rng.random() < 0.15)

    def key_screen(
        self, *, key_type: str | None = None, chinese: bool | None = None,
        device: str | None = None, encoding: str | None = None,
    ) -> Sample:
        """An "export private key" screen: 64-hex (with or without 0x), WIF or xprv."""
        key_type = key_type or self.rng.choice(("hex", "hex", "0xhex", "wif", "xprv"))
        chinese = self.rng.random() < 0.4 if chinese is None else chinese
        key = {"hex": self.hex_key, "0xhex": lambda: "0x" + self.hex_key(), "wif": self.wif,
               "xprv": self.xprv}[key_type]()
        canvas = self.canvas(chinese, device=device)
        y = canvas.header(50, self.rng.choice(ZH_KEY_TITLES if chinese else EN_KEY_TITLES))
        warning = self.rng.choice(ZH_KEY_WARNINGS if chinese else EN_KEY_WARNINGS)
        x0, x1 = canvas.x0 + 24, canvas.x0 + canvas.width - 24
        canvas.box(x0, y, x1, y + 70, 10, fill=(254, 226, 226) if canvas.theme.name != "dark"
                   else (69, 10, 10))
        canvas.wrapped(x0 + 12, y + 10, warning, 13, x1 - x0 - 24,
                       color=(185, 28, 28) if canvas.theme.name != "dark" else (254, 202, 202))
        y += 96
        if self.rng.random() < 0.6:
            label = "私钥" if chinese else self.rng.choice(("Private key", "Your private key"))
            if key_type == "wif":
                label += " (WIF)"
            y = canvas.text(x0, y, label, 15, color=canvas.theme.muted) + 4
        size = self.rng.choice((15, 17, 19))
        split = self.rng.random() < 0.5 or canvas.text_width(key, size, "mono") > x1 - x0 - 32
        if split:
            per_line = -(-len(key) // max(2, round(canvas.text_width(key, size, "mono")
                                                   / (x1 - x0 - 32) + 0.49)))
            pieces = [key[i : i + per_line] for i in range(0, len(key), per_line)]
        else:
            pieces = [key]
        canvas.box(x0, y, x1, y + len(pieces) * size * 1.6 + 28, 10, fill=canvas.theme.card,
                   outline=canvas.theme.border)
        yy = y + 14
        for piece in pieces:
            yy = canvas.text(x0 + 16, yy, piece, size, "mono") + size * 0.15
        y = yy + 40
        if self.rng.random() < 0.3:
            canvas.qr(key, canvas.x0 + canvas.width / 2 - 90, y, 180)
            y += 200
        canvas.button(min(y, canvas.size[1] - 80), "复制" if chinese else "Copy")
        family = f"key-{key_type}" + ("-split" if split else "")
        return self.finish(canvas, family, PRIVATE_KEY, encoding=encoding)

    def key_qr_screen(
        self, *, payload_type: str | None = None, device: str | None = None,
        encoding: str | None = None,
    ) -> Sample:
        """A QR code of a key or a phrase, with no key text on the screen."""
        payload_type = payload_type or self.rng.choice(
            ("hex", "0xhex", "wif", "xprv", "en-phrase", "zh-phrase"))
        chinese = payload_type == "zh-phrase" or self.rng.random() < 0.3
        payload = {
            "hex": self.hex_key, "0xhex": lambda: "0x" + self.hex_key(), "wif": self.wif,
            "xprv": self.xprv, "en-phrase": lambda: " ".join(self.phrase("english")),
            "zh-phrase": lambda: " ".join(self.phrase("chinese_simplified")),
        }[payload_type]()
        canvas = self.canvas(chinese, device=device)
        title = self.rng.choice(("私钥二维码", "导出私钥", "备份二维码") if chinese else
                                ("Private key QR", "Export account", "Scan to import"))
        y = canvas.header(50, title)
        side = self.rng.choice((200, 240, 280))
        canvas.qr(payload, canvas.x0 + (canvas.width - side) / 2, y + 20, side)
        y += side + 50
        note = "请勿将此二维码展示给他人" if chinese else "Do not show this code to anyone."
        canvas.wrapped(canvas.x0 + 24, y, note, 14, canvas.width - 48, color=canvas.theme.muted)
        kind = SEED_PHRASE if payload_type.endswith("phrase") else PRIVATE_KEY
        return self.finish(canvas, f"qr-{payload_type}", kind, encoding=encoding)

    # ----------------------------------------------------------------- look-alikes

    def tx_detail(
        self, *, chinese: bool | None = None, chain: str | None = None, wrap: bool | None = None,
        tx_hash: str | None = None, device: str | None = None, encoding: str | None = None,
        theme: Theme | None = None, hash_size: float | None = None,
    ) -> Sample:
        """A transaction's details: status, amount, addresses, fee, the labelled hash."""
        chinese = self.rng.random() < 0.5 if chinese is None else chinese
        chain = chain or self.rng.choice(("evm", "evm", "tron", "btc"))
        digest = tx_hash or self.tx_hash()
        shown = "0x" + digest if chain == "evm" else digest
        address = {"evm": self.evm, "tron": self.tron, "btc": self.btc}[chain]
        asset = {"evm": self.rng.choice(("ETH", "USDT", "USDC")), "tron": "USDT",
                 "btc": "BTC"}[chain]
        canvas = self.canvas(chinese, device=device, theme=theme)
        y = canvas.header(50, "交易详情" if chinese else "Transaction details")
        status = self.rng.choice((("已完成", "Completed"), ("成功", "Success"),
                                  ("失败", "Failed"), ("确认中", "Pending")))
        amount = f"{self.rng.choice(('-', '+'))}{self.rng.uniform(0.001, 5000):,.4f} {asset}"
        w = canvas.text_width(amount, 28, "bold")
        y = canvas.text(canvas.x0 + (canvas.width - w) / 2, y, amount, 28, "bold")
        st = status[0] if chinese else status[1]
        w = canvas.text_width(st, 16)
        y = canvas.text(canvas.x0 + (canvas.width - w) / 2, y + 4, st, 16,
                        color=(22, 163, 74) if status[1] in ("Completed", "Success")
                        else (220, 38, 38)) + 16
        x0, x1 = canvas.x0 + 24, canvas.x0 + canvas.width - 24
        fee_asset = {"evm": "ETH", "tron": "TRX", "btc": "BTC"}[chain]
        fee = f"{self.rng.uniform(0.00001, 0.01):.6f} {fee_asset}"
        labels = (
            ("发送方", "接收方", "网络费", "区块高度", "时间")
            if chinese else ("From", "To", "Network fee", "Block", "Date")
        )
        values = (address(), address(), fee, f"{self.rng.randint(10**6, 3 * 10**7):,}",
                  f"2024-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d} "
                  f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}:"
                  f"{self.rng.randint(0, 59):02d}")
        size = 15
        for label, value in zip(labels, values, strict=True):
            canvas.text(x0, y, label, size, color=canvas.theme.muted)
            vsize = size if canvas.text_width(value, size) < (x1 - x0) * 0.68 else 12
            if canvas.text_width(value, vsize) > (x1 - x0) * 0.68:
                half = len(value) // 2
                canvas.text(x1 - canvas.text_width(value[:half], vsize), y, value[:half], vsize)
                y += vsize * 1.4
                canvas.text(x1 - canvas.text_width(value[half:], vsize), y, value[half:], vsize)
            else:
                canvas.text(x1 - canvas.text_width(value, vsize), y, value, vsize)
            y += 36
        label = self.rng.choice(("交易哈希", "交易ID", "交易号", "哈希") if chinese else
                                ("Transaction hash", "Tx hash", "TxID", "Hash",
                                 "Transaction ID"))
        y = canvas.text(x0, y + 4, label, size, color=canvas.theme.muted) + 2
        hsize = hash_size or self.rng.choice((13, 14, 15))
        wrap = (self.rng.random() < 0.7 if wrap is None else wrap) or \
            canvas.text_width(shown, hsize, "mono") > x1 - x0
        pieces = [shown[: len(shown) // 2], shown[len(shown) // 2 :]] if wrap else [shown]
        for piece in pieces:
            y = canvas.text(x0, y, piece, hsize, "mono")
        y += 24
        link = "在区块浏览器中查看" if chinese else "View on block explorer"
        canvas.text(x0, y, link, 15, color=canvas.theme.accent)
        family = f"tx-{'zh' if chinese else 'en'}-{chain}" + ("-wrapped" if wrap else "")
        return self.finish(canvas, family, None, facts=(shown,), encoding=encoding)

    def receive_screen(self, *, payload_type: str | None = None,
                       encoding: str | None = None) -> Sample:
        """A receive screen: an address QR (plain, payment URI) and the address below it."""
        chinese = self.rng.random() < 0.5
        payload_type = payload_type or self.rng.choice(
            ("evm", "eth-uri", "tron", "btc", "btc-uri"))
        chain = payload_type.split("-")[0].replace("eth", "evm")
        address = {"evm": self.evm, "tron": self.tron, "btc": self.btc}[chain]()
        payload = {
            "eth-uri": f"ethereum:{address}@1?value={self.rng.randint(1, 9)}e16",
            "btc-uri": f"bitcoin:{address}?amount=0.0{self.rng.randint(1, 9)}",
        }.get(payload_type, address)
        asset = {"evm": "ETH", "tron": "USDT (TRC20)", "btc": "BTC"}[chain]
        canvas = self.canvas(chinese)
        y = canvas.header(50, f"收款 {asset}" if chinese else f"Receive {asset}")
        side = self.rng.choice((220, 260))
        canvas.box(canvas.x0 + (canvas.width - side) / 2 - 16, y, canvas.x0 +
                   (canvas.width + side) / 2 + 16, y + side + 32, 16, fill=(255, 255, 255))
        canvas.qr(payload, canvas.x0 + (canvas.width - side) / 2, y + 16, side)
        y += side + 56
        y = canvas.text(canvas.x0 + 24, y, "钱包地址" if chinese else "Your address", 14,
                        color=canvas.theme.muted)
        y = canvas.wrapped(canvas.x0 + 24, y, address, 16, canvas.width - 48, "mono") + 16
        note = (f"仅支持 {asset} 转入，转入其他资产将无法找回" if chinese else
                f"Only send {asset} to this address. Other assets may be lost.")
        y = canvas.wrapped(canvas.x0 + 24, y, note, 13, canvas.width - 48,
                           color=canvas.theme.muted) + 20
        canvas.button(y, "复制地址" if chinese else "Copy address")
        return self.finish(canvas, f"receive-{payload_type}", None, encoding=encoding)

    def explorer_qr_screen(self) -> Sample:
        """A "share transaction" screen: a QR code of the explorer link and the labelled hash."""
        chinese = self.rng.random() < 0.5
        digest = self.tx_hash()
        url = self.rng.choice((f"https://etherscan.io/tx/0x{digest}",
                               f"https://tronscan.org/#/transaction/{digest}",
                               f"https://mempool.space/tx/{digest}"))
        canvas = self.canvas(chinese)
        y = canvas.header(50, "分享交易" if chinese else "Share transaction")
        canvas.qr(url, canvas.x0 + canvas.width / 2 - 120, y + 10, 240)
        y += 280
        y = canvas.text(canvas.x0 + 24, y, "交易哈希" if chinese else "Transaction hash", 14,
                        color=canvas.theme.muted)
        canvas.text(canvas.x0 + 24, y, digest[:32], 14, "mono")
        canvas.text(canvas.x0 + 24, y + 20, digest[32:], 14, "mono")
        return self.finish(canvas, "explorer-qr", None, facts=())

    def error_dialog(self) -> Sample:
        """An error dialog over a dimmed screen."""
        chinese = self.rng.random() < 0.5
        title, message = self.rng.choice(ZH_ERRORS if chinese else EN_ERRORS)
        canvas = self.canvas(chinese)
        y = canvas.header(50, "发送" if chinese else "Send")
        for label in (("收款地址", "数量", "网络费") if chinese else ("To", "Amount", "Fee")):
            y = canvas.text(canvas.x0 + 24, y, label, 15, color=canvas.theme.muted) + 40
        # The dialog dims the screen behind it.
        canvas.image.paste(Image.blend(canvas.image, Image.new("RGB", canvas.image.size), 0.55))
        x0, x1 = canvas.x0 + 50, canvas.x0 + canvas.width - 50
        y = 330.0
        lines = canvas.wrap(message, 15, x1 - x0 - 40)
        canvas.box(x0, y, x1, y + 150 + len(lines) * 22, 16, fill=canvas.theme.card)
        w = canvas.text_width(title, 19, "bold")
        yy = canvas.text((x0 + x1 - w) / 2, y + 24, title, 19, "bold") + 8
        for line in lines:
            yy = canvas.text(x0 + 20, yy, line, 15, color=canvas.theme.muted)
        label = "确定" if chinese else "OK"
        w = canvas.text_width(label, 17, "bold")
        canvas.text((x0 + x1 - w) / 2, yy + 30, label, 17, "bold", canvas.theme.accent)
        return self.finish(canvas, f"error-{'zh' if chinese else 'en'}", None)

    def chat_screen(self, *, chinese: bool | None = None, height: int = 960) -> Sample:
        """A support chat: bubbles of prose (a scrolling capture when ``height`` > 960)."""
        chinese = self.rng.random() < 0.5 if chinese is None else chinese
        canvas = self.canvas(chinese, device="phone" if height > 960 else None, height=height)
        y = canvas.header(50, "在线客服" if chinese else "Support chat")
        while y < canvas.size[1] - 160:
            mine = self.rng.random() < 0.5
            if chinese:
                text = "，".join(self.rng.sample(ZH_CLAUSES, self.rng.randint(1, 3))) + "。"
            else:
                text = " ".join(self.rng.sample(EN_SENTENCES, self.rng.randint(1, 2)))
            lines = canvas.wrap(text, 15, canvas.width * 0.62)
            bw = max(canvas.text_width(line, 15) for line in lines) + 28
            bx = canvas.x0 + canvas.width - 16 - bw if mine else canvas.x0 + 16
            bh = len(lines) * 22 + 20
            canvas.box(bx, y, bx + bw, y + bh, 14,
                       fill=canvas.theme.accent if mine else canvas.theme.card)
            yy = y + 10
            for line in lines:
                yy = canvas.text(bx + 14, yy, line, 15,
                                 color=(255, 255, 255) if mine else canvas.theme.fg)
            y += bh + 14
        family = f"chat-{'zh' if chinese else 'en'}" + ("-long" if height > 960 else "")
        return self.finish(canvas, family, None)

    def help_screen(self) -> Sample:
        """A help page about backing up (talks about recovery phrases, shows none)."""
        chinese = self.rng.random() < 0.5
        title, body = ZH_HELP if chinese else EN_HELP
        canvas = self.canvas(chinese)
        y = canvas.header(50, "帮助中心" if chinese else "Help center")
        y = canvas.text(canvas.x0 + 24, y, title, 20, "bold") + 10
        canvas.wrapped(canvas.x0 + 24, y, body, 16, canvas.width - 48)
        return self.finish(canvas, f"help-{'zh' if chinese else 'en'}", None)

    def list_screen(self) -> Sample:
        """An asset list or a settings list, Chinese or English."""
        chinese = self.rng.random() < 0.5
        settings = self.rng.random() < 0.5
        canvas = self.canvas(chinese)
        y = canvas.header(50, ("设置" if settings else "资产") if chinese else
                          ("Settings" if settings else "Assets"), back=False)
        x0, x1 = canvas.x0 + 24, canvas.x0 + canvas.width - 24
        if settings:
            items = self.rng.sample(ZH_SHORT if chinese else EN_SETTINGS, 12)
            for item in items:
                canvas.text(x0, y, item, 17)
                canvas.text(x1 - 12, y, ">", 17, color=canvas.theme.muted)
                y += 52
        else:
            for asset in self.rng.sample(EN_ASSETS, 8):
                balance = f"{self.rng.uniform(0, 20000):,.4f}"
                value = f"${self.rng.uniform(0, 50000):,.2f}" if not chinese else \
                    f"¥{self.rng.uniform(0, 300000):,.2f}"
                canvas.text(x0, y, asset, 18, "bold")
                canvas.text(x1 - canvas.text_width(balance, 17), y, balance, 17)
                canvas.text(x1 - canvas.text_width(value, 13), y + 24, value, 13,
                            color=canvas.theme.muted)
                y += 70
        return self.finish(canvas, f"{'settings' if settings else 'assets'}-"
                           f"{'zh' if chinese else 'en'}", None)


# --------------------------------------------------------------------------- the set


def _secret_makers(maker: ScreenshotMaker) -> list[tuple[str, Callable[[], Sample]]]:
    def phrase(language: str, words: int, layout: str, columns: int | None = None):
        return lambda: maker.phrase_screen(language=language, words=words, layout=layout,
                                           columns=columns)

    return [
        ("en-12-grid", phrase("english", 12, "grid")),
        ("en-24-grid", phrase("english", 24, "grid")),
        ("en-12-chips", phrase("english", 12, "chips")),
        ("en-12-list", phrase("english", 12, "list")),
        ("en-24-list", phrase("english", 24, "list")),
        ("en-12-paragraph", phrase("english", 12, "paragraph")),
        ("zh-12-grid", phrase("chinese_simplified", 12, "grid")),
        ("zh-24-grid", phrase("chinese_simplified", 24, "grid")),
        ("zh-12-chips", phrase("chinese_simplified", 12, "chips")),
        ("zh-12-list", phrase("chinese_simplified", 12, "list")),
        ("zh-tw-12-grid", phrase("chinese_traditional", 12, "grid")),
        ("key-hex", lambda: maker.key_screen(key_type="hex")),
        ("key-0xhex", lambda: maker.key_screen(key_type="0xhex")),
        ("key-wif", lambda: maker.key_screen(key_type="wif")),
        ("key-xprv", lambda: maker.key_screen(key_type="xprv")),
        ("long-list", lambda: maker.phrase_screen(
            language=maker.rng.choice(("english", "chinese_simplified")), words=12,
            layout="list", device="phone", height=maker.rng.choice((2000, 2600)))),
        ("qr-key", lambda: maker.key_qr_screen(
            payload_type=maker.rng.choice(("hex", "0xhex", "wif", "xprv")))),
        ("qr-phrase", lambda: maker.key_qr_screen(
            payload_type=maker.rng.choice(("en-phrase", "zh-phrase")))),
    ]


def _innocent_makers(maker: ScreenshotMaker) -> list[tuple[str, Callable[[], Sample]]]:
    return [
        ("tx-en", lambda: maker.tx_detail(chinese=False)),
        ("tx-zh", lambda: maker.tx_detail(chinese=True)),
        ("tx-wrapped", lambda: maker.tx_detail(wrap=True)),
        ("receive", maker.receive_screen),
        ("explorer-qr", maker.explorer_qr_screen),
        ("error", maker.error_dialog),
        ("chat-en", lambda: maker.chat_screen(chinese=False)),
        ("chat-zh", lambda: maker.chat_screen(chinese=True)),
        ("chat-long", lambda: maker.chat_screen(height=maker.rng.choice((2000, 2600)))),
        ("help", maker.help_screen),
        ("list", maker.list_screen),
    ]


def generate(
    per_family: int = 6, seed: int = 20241203, fresh: bool = False
) -> tuple[list[Sample], list[Sample]]:
    """``per_family`` screenshots of each secret and each look-alike family.

    The same seed gives the same images (unless ``fresh``: then the secrets come
    from ``secrets``, and the layouts still from the seed).
    """
    maker = ScreenshotMaker(seed, fresh)
    secret_makers = _secret_makers(maker)
    innocent_makers = _innocent_makers(maker)
    secret_samples: list[Sample] = []
    innocent_samples: list[Sample] = []
    # Innocent families are drawn twice as often: false refusals are measured in per cent.
    for _ in range(per_family):
        secret_samples.extend(make() for _, make in secret_makers)
        for _ in range(2):
            innocent_samples.extend(make() for _, make in innocent_makers)
    return secret_samples, innocent_samples
