"""Unit tests for support_core.images.screening, .ocr and .qr.

The OCR tests (marked ``ocr``) run the real default engine on screenshots drawn
by ``bench.screenshot_images`` (made-up phrases and keys, fixed seeds); one
engine is shared by the module, as the handoff service shares one. The rules
applied to OCR output are also tested directly on text lines, without OCR.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import base58
import pytest
from mnemonic import Mnemonic
from PIL import Image

from bench.screenshot_images import THEMES, ScreenshotMaker
from support_core.images.normalize import ImageLimits, ImageTooLarge
from support_core.images.ocr import (
    OcrBox,
    OcrEngine,
    OcrUnavailable,
    TesseractEngine,
    engine_from_env,
    lines_of,
    split_vertical,
    warm_up,
)
from support_core.images.qr import decode_qr
from support_core.images.screening import (
    ScreeningFailed,
    chinese_phrase_layout,
    english_phrase_tolerant,
    join_soft_wraps,
    qr_payload_kinds,
    screen_image,
    secret_kinds,
)

LIGHT = THEMES[0]
LIMITS = ImageLimits()


@pytest.fixture(scope="module")
def engine() -> Iterator[OcrEngine]:
    """The default engine, loaded once for the module."""
    shared = engine_from_env({})
    warm_up(shared)  # the model loads here, not inside the first test
    yield shared


# --------------------------------------------------------------------------- real OCR


@pytest.mark.ocr
def test_english_12_word_grid_is_refused(engine: OcrEngine) -> None:
    sample = ScreenshotMaker(11).phrase_screen(
        language="english", words=12, layout="grid", columns=3, device="phone", theme=LIGHT,
        encoding="png",
    )
    result = screen_image(sample.data, limits=LIMITS, engine=engine)
    assert not result.accepted
    assert result.kinds == ("seed_phrase",)
    assert result.image is None and result.text == ""


@pytest.mark.ocr
def test_chinese_numbered_phrase_is_refused(engine: OcrEngine) -> None:
    sample = ScreenshotMaker(12).phrase_screen(
        language="chinese_simplified", words=12, layout="list", columns=1, device="phone",
        theme=THEMES[1], encoding="jpeg",
    )
    result = screen_image(sample.data, limits=LIMITS, engine=engine)
    assert not result.accepted and "seed_phrase" in result.kinds
    assert result.image is None


@pytest.mark.ocr
def test_private_key_qr_code_is_refused(engine: OcrEngine) -> None:
    sample = ScreenshotMaker(13).key_qr_screen(payload_type="hex", device="phone",
                                               encoding="png")
    result = screen_image(sample.data, limits=LIMITS, engine=engine)
    assert not result.accepted and result.kinds == ("private_key",)


@pytest.mark.ocr
def test_transaction_details_are_accepted_with_the_hash_readable(
    engine: OcrEngine, caplog: pytest.LogCaptureFixture
) -> None:
    sample = ScreenshotMaker(14).tx_detail(
        chinese=False, chain="evm", wrap=True, device="phone-2x", encoding="png", theme=LIGHT,
        hash_size=15,
    )
    with caplog.at_level(logging.DEBUG):
        result = screen_image(sample.data, limits=LIMITS, engine=engine)
    assert result.accepted and result.kinds == ()
    tx_hash = sample.facts[0]
    assert tx_hash in result.text
    assert result.image is not None and result.image.format.value == "png"
    assert result.seconds > 0
    # The log says what was decided, never what the image shows.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "accepted=True" in logged
    assert tx_hash[2:18] not in logged


@pytest.mark.ocr
def test_address_qr_and_shared_engine_in_threads(engine: OcrEngine) -> None:
    maker = ScreenshotMaker(15)
    receive = maker.receive_screen(payload_type="eth-uri", encoding="png")
    key = maker.key_screen(key_type="0xhex", chinese=True, device="phone", encoding="png")
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(
            lambda data: screen_image(data, limits=LIMITS, engine=engine),
            [receive.data, key.data],
        )
    assert first.accepted, first.kinds
    assert "ethereum:0x" in first.text
    assert not second.accepted and second.kinds == ("private_key",)


def test_qr_codes_are_decoded_also_when_small() -> None:
    maker = ScreenshotMaker(16)
    payload = "0x" + secrets.token_hex(32)
    canvas = maker.canvas(False, device="phone", theme=LIGHT)
    canvas.qr(payload, 200, 300, 150)
    small = canvas.image.resize((canvas.image.width // 2, canvas.image.height // 2))
    assert decode_qr(small) == [payload]
    assert decode_qr(Image.new("RGB", (300, 300), "white")) == []


def test_refusals_happen_before_ocr() -> None:
    class Exploding:
        name = "exploding"

        def read(self, image: Image.Image) -> list[str]:
            raise AssertionError("OCR must not run")

        def read_boxes(self, image: Image.Image) -> list[OcrBox]:
            raise AssertionError("OCR must not run")

    with pytest.raises(ImageTooLarge):
        screen_image(b"\x89PNG" + b"\x00" * 2000, limits=ImageLimits(max_bytes=1024),
                     engine=Exploding())


def test_a_failing_engine_fails_closed() -> None:
    class Broken:
        name = "broken"

        def read(self, image: Image.Image) -> list[str]:
            raise RuntimeError("engine crashed")

        def read_boxes(self, image: Image.Image) -> list[OcrBox]:
            raise RuntimeError("engine crashed")

    out = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(out, "PNG")
    with pytest.raises(ScreeningFailed) as failed:
        screen_image(out.getvalue(), limits=LIMITS, engine=Broken())
    assert failed.value.code == "screening_failed"


def test_engine_choice_and_missing_engines() -> None:
    with pytest.raises(OcrUnavailable, match="unknown OCR engine"):
        engine_from_env({"IMAGE_OCR_ENGINE": "nonsense"})
    missing = TesseractEngine(command="no-such-tesseract-binary")
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr"):
        missing.read(Image.new("RGB", (10, 10)))


# --------------------------------------------------------------------------- reading order


def test_a_grid_reads_row_by_row() -> None:
    words = [f"w{i}" for i in range(12)]
    boxes = []
    for i, word in enumerate(words):
        row, col = divmod(i, 3)
        # Numbers sit a little lower than their words, as in a real grid cell.
        boxes.append(OcrBox(str(i + 1), 10 + col * 200, 100 + row * 80 + 4,
                            30 + col * 200, 120 + row * 80 + 4))
        boxes.append(OcrBox(word, 40 + col * 200, 100 + row * 80, 150 + col * 200,
                            124 + row * 80))
    lines = lines_of(list(reversed(boxes)))
    assert lines == [
        "1 w0 2 w1 3 w2", "4 w3 5 w4 6 w5", "7 w6 8 w7 9 w8", "10 w9 11 w10 12 w11",
    ]


def test_a_column_of_single_characters_is_split_back_into_rows() -> None:
    column = OcrBox("辟差吧", 60, 100, 100, 370)
    assert [(b.text, round(b.top)) for b in split_vertical(column)] == [
        ("辟", 100), ("差", 190), ("吧", 280),
    ]
    line = OcrBox("交易失败", 10, 10, 200, 40)
    assert split_vertical(line) == [line]


# --------------------------------------------------------------------------- rules on OCR text


def _english(words: int = 12) -> list[str]:
    return Mnemonic("english").to_mnemonic(secrets.token_bytes(words * 4 // 3)).split()


def _chinese() -> list[str]:
    return Mnemonic("chinese_simplified").to_mnemonic(secrets.token_bytes(16)).split()


def test_a_numbered_list_cut_by_the_crop_and_missing_a_number_is_caught() -> None:
    words = _english()
    lines = [words[0]] + [f"{i + 1}.{w}" for i, w in enumerate(words[1:11], start=1)]
    assert secret_kinds(lines) == ("seed_phrase",)


def test_a_misread_word_does_not_hide_an_english_grid() -> None:
    words = _english()
    words[4] = words[4][:-1] + "$"  # "immense" read as "immen$"
    lines = [" ".join(f"{i * 3 + j + 1} {words[i * 3 + j]}" for j in range(3)) for i in range(4)]
    assert english_phrase_tolerant(lines)
    assert secret_kinds(lines) == ("seed_phrase",)


def test_the_tolerance_is_one_word_in_twelve_two_in_24() -> None:
    words = _english()
    assert not english_phrase_tolerant([" ".join([*words[:5], "Xq", "Zv", *words[7:]])])
    # Ten in a row, all exact: the rest was cropped away.
    assert english_phrase_tolerant([" ".join(words[:2]), *(" ".join(words[i : i + 2])
                                                          for i in range(2, 10, 2))])
    long = _english(24)
    long[3], long[17] = "qqq", "zzz"
    assert english_phrase_tolerant([" ".join(long)])


def test_english_prose_and_settings_are_no_phrase() -> None:
    # Most menu items here are BIP-39 words; the others break the run. (Twelve list words
    # in a row, one to a line, are refused: a phrase copied into a notes app looks so.)
    lines = [
        "Never share your recovery phrase. Support will never ask for it.",
        "Wallet", "Network", "Security", "Language", "Notifications", "Theme", "General",
        "Display", "Currency", "Account", "Share", "Rate us", "Legal", "Service", "About",
        "Help center", "Version 3.12.0",
    ]
    assert not english_phrase_tolerant(lines)
    assert secret_kinds(lines) == ()


def test_a_chinese_grid_with_a_lost_cell_is_still_a_phrase() -> None:
    chars = _chinese()
    lines = ["备份助记词"] + [
        " ".join(f"{r * 3 + c + 1}. {chars[r * 3 + c]}" for c in range(3)) for r in range(4)
    ]
    lines[2] = lines[2].replace(chars[4], "")  # a cell the OCR did not see
    assert chinese_phrase_layout(lines)
    assert secret_kinds(lines) == ("seed_phrase",)


def test_a_cropped_numbered_grid_shows_enough_of_a_phrase() -> None:
    chars, words = _chinese(), _english()
    # The top row cut off by the user's crop, a number lost by the OCR.
    zh = ["交易", f"设置 4.{chars[3]} 5.{chars[4]} 6{chars[5]}",
          f"{chars[6]} 8.{chars[7]} 9. {chars[8]}", f"10{chars[9]} 11{chars[10]} 12.{chars[11]}"]
    assert secret_kinds(zh) == ("seed_phrase",)
    en = [f"4. {words[3]} 5. {words[4]} 6. {words[5]}", f"7 {words[6]} 8.{words[7]} 9 {words[8]}",
          f"10. {words[9]} 11. {words[10]} 12 {words[11]}"]
    assert secret_kinds(en) == ("seed_phrase",)


def test_chinese_screens_without_a_phrase_pass() -> None:
    calendar = ["2024年5月", "日 一 二 三 四 五 六", "1 2 3 4", "5 6 7 8 9 10 11"]
    menu = ["首页 行情 交易 资产 我的", "交易失败", "矿工费不足，请确保账户有足够的 ETH。"]
    for lines in (calendar, menu):
        assert not chinese_phrase_layout(lines)
        assert secret_kinds(lines) == ()


def test_wrapped_chinese_sentences_are_joined_grid_rows_are_not() -> None:
    wrapped = ["打开就是白屏，有人冒充客服加我微信，我到底该", "找谁。", "请稍后再试。"]
    assert join_soft_wraps(wrapped) == [
        "打开就是白屏，有人冒充客服加我微信，我到底该找谁。", "请稍后再试。",
    ]
    rows = ["子 举 宁", "迎 脏 铃", "1.天 2忠"]
    assert join_soft_wraps(rows) == rows


def test_wrapped_and_misread_keys_are_found_labelled_hashes_are_not() -> None:
    key = secrets.token_hex(32)
    misread = key[:10] + key[10:].replace("0", "O", 2)
    assert secret_kinds(["Private key", misread[:32], misread[32:], "Copy"]) == ("private_key",)
    wif = base58.b58encode_check(b"\x80" + secrets.token_bytes(32) + b"\x01").decode()
    assert secret_kinds(["Your key (WIF)", wif[:26], wif[26:], "Copy"]) == ("private_key",)
    tx_hash = secrets.token_hex(32)
    assert secret_kinds(["Transaction hash", "0x" + tx_hash[:31], tx_hash[31:]]) == ()
    assert secret_kinds(["交易哈希", tx_hash[:32], tx_hash[32:], "在区块浏览器中查看"]) == ()


def test_qr_payload_rules() -> None:
    key = secrets.token_hex(32)
    assert qr_payload_kinds(key) == {"private_key"}
    assert qr_payload_kinds("0x" + key) == {"private_key"}
    wif = base58.b58encode_check(b"\x80" + secrets.token_bytes(32)).decode()
    assert qr_payload_kinds(wif) == {"private_key"}
    assert qr_payload_kinds(" ".join(_english())) == {"seed_phrase"}
    address = "0x" + secrets.token_hex(20)
    for innocent in (
        address, f"ethereum:{address}@1?value=1e16",
        "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.01",
        f"https://etherscan.io/tx/0x{key}", "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
    ):
        assert qr_payload_kinds(innocent) == set(), innocent
