"""Screenshots sent from the widget, in a real browser against the real stack.

The paperclip (``set_input_files`` on the hidden file input), a pasted image
(a ``ClipboardEvent`` with a ``DataTransfer``) and a dropped one (``DragEvent``)
each upload the raw bytes to the channel (``POST /webhooks/socketio/attachments``),
which has the handoff service screen and keep them. An accepted image shows a
progress bar, then its thumbnail in the user's bubble; a refused one (not an
image, or a picture of a recovery phrase) leaves a bubble without any image
and a short message. No image, nor any URL of one, ever reaches the browser's
storage: the log keeps only the server's attachment id and metadata, and a
reload shows the thumbnail fetched again from the server.

Runs on the shared ``handoff_stack``. The images are drawn here with Pillow;
the recovery phrase is a fresh BIP-39 phrase (the ``mnemonic`` package) that
belongs to no wallet.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from mnemonic import Mnemonic
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Locator, expect

from devtools.stack import Stack
from tests.browser.pages import (
    BOT_TIMEOUT_MS,
    HISTORY_KEY_PREFIX,
    ChatLog,
    Ui,
    WidgetPage,
)

pytestmark = pytest.mark.integration

# The service reads every image (OCR) before it answers: seconds, not milliseconds.
# OCR of a screenshot on a loaded 2-core machine, behind the bot's answer to it.
UPLOAD_TIMEOUT_MS = 120_000
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# What the widget says, by the page's language.
TEXTS = {
    "en-US": {
        "attach": "Attach a screenshot",
        "not_sent": "Screenshot not sent",
        "phrase": "This image shows a recovery phrase. We did not keep it. Never show your "
        "recovery phrase to anyone — real support never asks for it.",
        "type": "Only PNG, JPEG or WebP images can be sent.",
        "warning": "We removed it and did not store it",
        "hello": "hello",
    },
    "zh-CN": {
        "attach": "添加截图",
        "not_sent": "截图未发送",
        "phrase": "这张图片包含助记词。我们没有保存它。"
        "请勿向任何人展示您的助记词——真正的客服绝不会索要。",
        "type": "只能发送 PNG、JPEG 或 WebP 格式的图片。",
        "warning": "我们已将其删除，没有保存",
        "hello": "你好，我的提币一直没有到账",
    },
}
# Signs of image bytes or of a URL of them: data: URLs, object URLs, and the
# base64 openings of PNG, JPEG and WebP files.
IMAGE_MARKERS = ("data:image", "blob:", "iVBORw0KGgo", "/9j/", "UklGR")
ATTACHMENT_FIELDS = {"id", "mime", "width", "height"}

# Records whether a progress bar was ever shown in the log (it may be gone by
# the time a test looks), and every object URL the page creates and revokes.
_WATCH = """() => {
  window.__sawProgress = false;
  const log = document.getElementById("chat-log");
  new MutationObserver(() => {
    if (log.querySelector("[data-testid=upload-progress]")) window.__sawProgress = true;
  }).observe(log, { childList: true, subtree: true });
  window.__objectUrls = [];
  window.__revokedUrls = [];
  const create = URL.createObjectURL.bind(URL);
  const revoke = URL.revokeObjectURL.bind(URL);
  URL.createObjectURL = (blob) => {
    const url = create(blob);
    window.__objectUrls.push(url);
    return url;
  };
  URL.revokeObjectURL = (url) => {
    window.__revokedUrls.push(url);
    revoke(url);
  };
}"""
# A File from base64 bytes, in a DataTransfer (what a paste or a drop carries).
_FILE_IN_TRANSFER = """
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
"""
_PASTE = (
    "([b64, name, type]) => {" + _FILE_IN_TRANSFER + """
  const input = document.getElementById("chat-input");
  input.focus();
  const event = new ClipboardEvent(
    "paste", { clipboardData: data, bubbles: true, cancelable: true });
  input.dispatchEvent(event);
  return { prevented: event.defaultPrevented, value: input.value };
}"""
)
_DROP = (
    "([b64, name, type]) => {" + _FILE_IN_TRANSFER + """
  const panel = document.getElementById("chat");
  const target = document.getElementById("chat-log");
  const fire = (kind) => {
    const event = new DragEvent(kind, { dataTransfer: data, bubbles: true, cancelable: true });
    target.dispatchEvent(event);
    return event;
  };
  fire("dragenter");
  const highlighted = panel.classList.contains("chat--dropping");
  fire("dragover");
  const drop = fire("drop");
  return { highlighted, prevented: drop.defaultPrevented,
           after: panel.classList.contains("chat--dropping") };
}"""
)
# A bot message with reply buttons, handed to the widget's own bot_uttered handler.
_OFFER_BUTTONS = """(buttons) => {
  const socket = window.walletSupportWidget.socket();
  socket.listeners("bot_uttered").forEach((handler) => handler({
    text: "Would you like to add a screenshot of the error?",
    quick_replies: buttons,
  }));
}"""


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


# ---------------------------------------------------------------- images


def _font(size: int) -> Any:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def innocent_screenshot() -> bytes:
    """A wallet app's error screen: nothing secret on it (a fresh order number each time)."""
    image = Image.new("RGB", (720, 480), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 720, 72), fill=(17, 24, 39))
    draw.text((24, 20), "Withdraw USDT", font=_font(28), fill="white")
    lines = [
        "Withdrawal failed",
        "Network: TRC20   Amount: 150 USDT",
        f"Order {secrets.randbelow(10**9):09d}",
        "Please try again later.",
    ]
    for row, line in enumerate(lines):
        draw.text((24, 110 + row * 70), line, font=_font(30), fill=(22, 24, 29))
    return _png(image)


def phrase_screenshot(words: list[str]) -> bytes:
    """A backup screen: the 12 words numbered in a 3×4 grid, in a large font."""
    image = Image.new("RGB", (1080, 760), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), "Back up your recovery phrase", font=_font(44), fill="black")
    font = _font(44)
    for index, word in enumerate(words):
        column, row = index % 3, index // 3
        draw.text(
            (40 + column * 350, 150 + row * 140), f"{index + 1}. {word}", font=font, fill="black"
        )
    return _png(image)


def fresh_phrase() -> list[str]:
    """A fresh 12-word English BIP-39 phrase (valid checksum, no wallet behind it)."""
    return Mnemonic("english").to_mnemonic(secrets.token_bytes(16)).split()


def word_fragments(words: list[str]) -> list[str]:
    """The phrase and every run of three of its words (single words are everyday words)."""
    return [" ".join(words), *(" ".join(words[i : i + 3]) for i in range(len(words) - 2))]


def png_file(name: str, data: bytes, mime: str = "image/png") -> dict[str, Any]:
    """A file for ``set_input_files``."""
    return {"name": name, "mimeType": mime, "buffer": data}


# ---------------------------------------------------------------- helpers


def watch(widget: WidgetPage) -> None:
    widget.page.evaluate(_WATCH)


def last_user_id(widget: WidgetPage) -> str:
    """The message id of the user's newest bubble (drawn when the file is chosen)."""
    value = widget.page.locator("[data-testid=msg][data-author=user]").last.get_attribute("data-id")
    assert value, "the user's bubble has no id"
    return value


def bubble(widget: WidgetPage, message_id: str) -> Locator:
    return widget.page.locator(f"[data-testid=msg][data-author=user][data-id='{message_id}']")


def thumbnail_selector(message_id: str) -> str:
    return f"[data-testid=msg][data-id='{message_id}'] img[data-testid=msg-image]"


def expect_thumbnail(widget: WidgetPage, message_id: str, timeout: int = BOT_TIMEOUT_MS) -> None:
    """The bubble shows its image, decoded (from an object URL, or a data: copy in memory)."""
    widget.page.wait_for_function(
        """(selector) => {
             const img = document.querySelector(selector);
             return !!img && img.complete && img.naturalWidth > 0
               && /^(blob|data):/.test(img.getAttribute("src") || "");
           }""",
        arg=thumbnail_selector(message_id),
        timeout=timeout,
    )


def expect_accepted(widget: WidgetPage, message_id: str) -> str:
    """The upload was taken: delivered, its thumbnail shown; returns its attachment id."""
    shown = bubble(widget, message_id)
    expect(shown).to_have_attribute("data-status", "delivered", timeout=UPLOAD_TIMEOUT_MS)
    expect_thumbnail(widget, message_id)
    expect(shown.locator("[data-testid=upload-progress]")).to_have_count(0)
    expect(shown.locator("[data-testid=msg-text]")).to_have_count(0)  # no "[screenshot]"
    attachment = shown.get_attribute("data-attachment")
    assert attachment and attachment.startswith("att_"), attachment
    return attachment


def stored_items(widget: WidgetPage) -> list[dict[str, Any]]:
    """Every item of every stored log."""
    found: list[dict[str, Any]] = []
    for key, value in widget.browser_storage()["localStorage"].items():
        if key.startswith(HISTORY_KEY_PREFIX):
            found += json.loads(value)
    return found


def assert_no_image_stored(widget: WidgetPage, fragments: Sequence[str] = ()) -> None:
    """No image bytes, data: or blob: URL (nor any secret word) in any browser storage."""
    for area, values in widget.browser_storage().items():
        for key, value in values.items():
            text = key + (value or "")
            found = [m for m in (*IMAGE_MARKERS, *fragments) if m in text]
            assert not found, f"{area}[{key!r}] holds {found}"
            assert len(text) < 50_000, f"{area}[{key!r}] is {len(text)} characters"
    databases = widget.page.evaluate(
        "async () => (indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [])"
    )
    assert databases == [], databases
    # An accepted image is kept as the server's id and metadata only.
    for item in stored_items(widget):
        if "attachment" in item:
            assert set(item["attachment"]) <= ATTACHMENT_FIELDS, item
            assert item["text"] == "", item


def forget_cached_logs(widget: WidgetPage) -> None:
    """Drop the stored logs, keeping the session: the next load rebuilds from the server."""
    widget.page.evaluate(
        """(prefix) => Object.keys(localStorage).filter((key) => key.startsWith(prefix))
               .forEach((key) => localStorage.removeItem(key))""",
        HISTORY_KEY_PREFIX,
    )


def not_revoked(widget: WidgetPage) -> list[str]:
    """The object URLs the page created since ``watch`` and has not revoked."""
    return list(widget.page.evaluate(
        "() => window.__objectUrls.filter((url) => !window.__revokedUrls.includes(url))"
    ))


def upload_with_paperclip(
    widget: WidgetPage, name: str, data: bytes, mime: str = "image/png"
) -> str:
    """Choose a file as the paperclip's picker would; returns the new bubble's message id."""
    users = widget.page.locator("[data-testid=msg][data-author=user]")
    count = users.count()
    widget.page.set_input_files("#chat-file", files=[png_file(name, data, mime)])
    expect(users).to_have_count(count + 1)
    return last_user_id(widget)


# ---------------------------------------------------------------- tests


def test_paperclip_upload_shows_progress_then_thumbnail_and_stores_no_image(
    ui: Ui, live: Stack
) -> None:
    widget = ui.widget()
    page = widget.page
    attach = page.locator("[data-testid=chat-attach]")
    expect(attach).to_be_enabled()
    expect(attach).to_have_attribute("aria-label", TEXTS["en-US"]["attach"])
    assert page.locator("#chat-file").get_attribute("accept") == "image/png,image/jpeg,image/webp"
    # A real button, reached with the keyboard, with a visible focus, that opens the picker.
    page.focus("#chat-input")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.id") == "chat-attach"
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()

    watch(widget)
    before = widget.count()
    message_id = upload_with_paperclip(widget, "error.png", innocent_screenshot())
    attachment = expect_accepted(widget, message_id)
    assert page.evaluate("window.__sawProgress") is True
    widget.wait_for_answer(before)  # the upload is a turn of the conversation

    # Stored: the message with the server's attachment id, never the image.
    stored = [item for item in stored_items(widget) if item.get("serverId") == message_id]
    assert len(stored) == 1 and stored[0]["attachment"]["id"] == attachment, stored
    assert stored[0]["status"] == "delivered"
    assert_no_image_stored(widget)

    # The thumbnail opens the full image, which Escape closes (focus back on the thumbnail).
    bubble(widget, message_id).locator("[data-testid=msg-shot]").click()
    viewer = page.locator("[data-testid=image-viewer]")
    expect(viewer).to_be_visible()
    page.wait_for_function(
        """() => { const img = document.getElementById("image-viewer-img");
                   return img.complete && img.naturalWidth > 0; }""",
        timeout=BOT_TIMEOUT_MS,
    )
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.testid") == "msg-shot"
    assert_no_image_stored(widget)


def test_pasted_screenshot_is_sent(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    watch(widget)
    users = widget.page.locator("[data-testid=msg][data-author=user]")
    count = users.count()
    data = base64.b64encode(innocent_screenshot()).decode()
    result = widget.page.evaluate(_PASTE, [data, "image.png", "image/png"])
    # Taken as a screenshot, not pasted into the message box.
    assert result == {"prevented": True, "value": ""}
    expect(users).to_have_count(count + 1)
    message_id = last_user_id(widget)
    expect_accepted(widget, message_id)
    assert widget.page.evaluate("window.__sawProgress") is True
    assert_no_image_stored(widget)


def test_dropped_screenshot_is_sent(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    users = widget.page.locator("[data-testid=msg][data-author=user]")
    count = users.count()
    data = base64.b64encode(innocent_screenshot()).decode()
    result = widget.page.evaluate(_DROP, [data, "shot.png", "image/png"])
    assert result == {"highlighted": True, "prevented": True, "after": False}
    expect(users).to_have_count(count + 1)
    expect_accepted(widget, last_user_id(widget))
    assert_no_image_stored(widget)


def test_text_file_named_png_is_refused_with_a_message(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    watch(widget)
    # The browser takes the name's word for it (image/png); the service does not.
    message_id = upload_with_paperclip(
        widget, "notes.png", b"these are my notes, not a picture\n" * 20
    )
    refused = bubble(widget, message_id)
    expect(refused).to_have_attribute("data-status", "refused", timeout=UPLOAD_TIMEOUT_MS)
    expect(refused.locator("[data-testid=upload-error]")).to_have_text(TEXTS["en-US"]["type"])
    expect(refused.locator("[data-testid=upload-error]")).to_have_attribute(
        "data-error", "unsupported_image"
    )
    expect(refused.locator("[data-testid=msg-text]")).to_have_text(TEXTS["en-US"]["not_sent"])
    expect(refused.locator("img")).to_have_count(0)
    assert widget.page.evaluate("window.__objectUrls.length") >= 1
    assert not_revoked(widget) == []
    assert not [item for item in stored_items(widget) if item.get("serverId") == message_id]
    assert_no_image_stored(widget)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_recovery_phrase_screenshot_is_refused_with_the_warning(
    ui: Ui, live: Stack, locale: str
) -> None:
    texts = TEXTS[locale]
    words = fresh_phrase()
    fragments = word_fragments(words)
    widget = ui.widget(locale=locale)
    # The conversation's language is set by what the user writes first.
    widget.wait_for_answer(widget.say(texts["hello"]))
    watch(widget)
    before = widget.count()
    message_id = upload_with_paperclip(widget, "backup.png", phrase_screenshot(words))

    refused = bubble(widget, message_id)
    expect(refused).to_have_attribute("data-status", "refused", timeout=UPLOAD_TIMEOUT_MS)
    expect(refused.locator("[data-testid=upload-error]")).to_have_text(texts["phrase"])
    expect(refused.locator("[data-testid=upload-error]")).to_have_attribute(
        "data-error", "image_refused"
    )
    expect(refused.locator("[data-testid=msg-text]")).to_have_text(texts["not_sent"])
    # Nothing of the image is left: no <img>, its object URLs revoked, nothing stored.
    expect(refused.locator("img")).to_have_count(0)
    expect(widget.page.locator("#chat-log img")).to_have_count(0)
    assert widget.page.evaluate("window.__objectUrls.length") >= 1
    assert not_revoked(widget) == []
    # The bot's usual warning about secrets, over the socket.
    widget.wait_for(before, "bot", texts["warning"])
    text = widget.page.locator("#chat-log").text_content() or ""
    assert not [f for f in fragments if f in text], text
    assert not [item for item in stored_items(widget) if item.get("serverId") == message_id]
    assert_no_image_stored(widget, fragments)

    # After a reload: nothing of it either.
    widget.reload()
    ChatLog(widget.page).expect_synced()
    expect(widget.page.locator("#chat-log img")).to_have_count(0)
    assert_no_image_stored(widget, fragments)


def test_reload_shows_the_earlier_screenshot(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    message_id = upload_with_paperclip(widget, "error.png", innocent_screenshot())
    attachment = expect_accepted(widget, message_id)

    # From the stored log (id and metadata only): the thumbnail is fetched again.
    widget.reload()
    ChatLog(widget.page).expect_synced()
    expect(bubble(widget, message_id)).to_have_attribute("data-attachment", attachment)
    expect_thumbnail(widget, message_id)
    assert_no_image_stored(widget)

    # From the server's history alone: the image, not its "[screenshot]" placeholder.
    forget_cached_logs(widget)
    widget.reload()
    ChatLog(widget.page).expect_synced()
    shown = bubble(widget, message_id)
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("data-attachment", attachment)
    expect_thumbnail(widget, message_id)
    expect(shown.locator("[data-testid=msg-text]")).to_have_count(0)
    assert_no_image_stored(widget)


def test_screenshot_button_opens_the_picker_and_other_buttons_are_sent(
    ui: Ui, live: Stack
) -> None:
    widget = ui.widget()
    page = widget.page
    buttons = [
        {"title": "Add a screenshot", "payload": "/attach_screenshot"},
        {"title": "Skip", "payload": "/skip"},
    ]
    page.evaluate(_OFFER_BUTTONS, buttons)
    offer = page.locator("[data-testid=reply-button][data-payload='/attach_screenshot']").last
    users = page.locator("[data-testid=msg][data-author=user]")
    count = users.count()
    with page.expect_file_chooser() as chooser:
        offer.click()
    expect(users).to_have_count(count)  # nothing sent by the click itself
    chooser.value.set_files(png_file("error.png", innocent_screenshot()))
    expect(users).to_have_count(count + 1)
    message_id = last_user_id(widget)
    expect_accepted(widget, message_id)
    # The payload itself was never sent; the screenshot answered the question.
    sent = [event.data.get("message") for event in widget.events("user_uttered")]
    assert "/attach_screenshot" not in sent, sent
    expect(offer).to_be_disabled()
    expect(offer).to_have_class("reply-button reply-button--chosen")

    # Any other button is sent as usual.
    page.evaluate(_OFFER_BUTTONS, buttons)
    widget.click("/skip")
    expect(widget.user_message("Skip")).to_have_count(1)
    widget.expect_all_delivered()
    sent = [event.data.get("message") for event in widget.events("user_uttered")]
    assert sent[-1] == "/skip", sent


def test_several_files_are_checked_here_and_sent_one_after_another(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    watch(widget)
    users = widget.page.locator("[data-testid=msg][data-author=user]")
    count = users.count()
    gif = b"GIF89a" + bytes(64)
    too_large = b"\x89PNG\r\n\x1a\n" + bytes(5 * 1024 * 1024)
    widget.page.set_input_files(
        "#chat-file",
        files=[
            png_file("first.png", innocent_screenshot()),
            png_file("anim.gif", gif, "image/gif"),
            png_file("huge.png", too_large),
            png_file("second.png", innocent_screenshot()),
        ],
    )
    expect(users).to_have_count(count + 4)
    ids = [users.nth(count + n).get_attribute("data-id") or "" for n in range(4)]
    # Refused here at once, without a request: the wrong type, the size over the limit.
    for message_id, code, text in [
        (ids[1], "unsupported_image", TEXTS["en-US"]["type"]),
        (ids[2], "image_too_large", "This image is too large (at most 5 MB)."),
    ]:
        refused = bubble(widget, message_id)
        expect(refused).to_have_attribute("data-status", "refused")
        expect(refused.locator("[data-testid=upload-error]")).to_have_attribute("data-error", code)
        expect(refused.locator("[data-testid=upload-error]")).to_have_text(text)
        expect(refused.locator("img")).to_have_count(0)
    # The two images go one after another, in order.
    expect_accepted(widget, ids[0])
    expect_accepted(widget, ids[3])
    # No object URL was ever made of the refused files; the accepted previews
    # serve as their thumbnails until the bubbles go.
    created = widget.page.evaluate("window.__objectUrls")
    assert len(created) == 2, created
    assert not_revoked(widget) == created
    assert_no_image_stored(widget)


def test_unavailable_service_offers_try_again(ui: Ui, live: Stack) -> None:
    widget = ui.widget()
    page = widget.page
    origin = str(live.handoff_url)
    answered: list[int] = []

    def first_unavailable(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        if not answered:
            answered.append(503)
            route.fulfill(
                status=503,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": origin},
                body=json.dumps({"ok": False, "error": "unavailable"}),
            )
            return
        answered.append(0)
        route.continue_()

    page.route("**/webhooks/socketio/attachments", first_unavailable)
    message_id = upload_with_paperclip(widget, "error.png", innocent_screenshot())
    shown = bubble(widget, message_id)
    expect(shown).to_have_attribute("data-status", "failed", timeout=UPLOAD_TIMEOUT_MS)
    expect(shown.locator(".msg__meta")).to_contain_text(
        "The screenshot could not be sent right now. Try again."
    )
    # The preview stays (the image was not refused), in memory only.
    expect(shown.locator("img[data-testid=msg-image]")).to_have_count(1)
    assert not [item for item in stored_items(widget) if item.get("serverId") == message_id]
    assert_no_image_stored(widget)

    shown.locator("[data-testid=upload-retry]").click()
    expect_accepted(widget, message_id)
    assert answered == [503, 0]
    assert_no_image_stored(widget)
