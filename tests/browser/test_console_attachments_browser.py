"""Screenshots in the agent console: users' images, agents' images, refusals, OCR text.

Runs on the shared ``handoff_stack`` (Rasa, the action server, the handoff
service). Tickets are opened and users' images uploaded over the bot's API
(``POST /api/conversations/<id>/attachments`` with the bot token, the raw
bytes and an ``X-Message-Id``), as the chat channel does during a handoff; the
agent works in the console. The screenshots come from
:mod:`bench.screenshot_images` (layouts from a fixed seed, so that screening
them repeats; secrets fresh): transaction details, and a 12-word BIP-39 phrase
as a numbered 3 x 4 grid, no wallet behind it. The one with markup in it is
drawn here.
"""

from __future__ import annotations

import io
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import Page, Route, expect

from bench.screenshot_images import ScreenshotMaker
from devtools.agent_client import AgentClient
from devtools.stack import Stack
from tests.browser.pages import DESKTOP, LIVE_TIMEOUT_MS, ConsolePage, Ui
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

# Screening reads the image (OCR); the first upload also loads the OCR engine.
UPLOAD_TIMEOUT_MS = 60_000
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# The screenshots' layouts, themes and sizes (the secrets in them are fresh).
LAYOUT_SEED = 20241203
USER_ALT = "Screenshot from the user"
AGENT_ALT = "Screenshot from the agent"
MARKUP = '<img src=x onerror=alert(1)> <b>bold</b> <script>alert("2")</script>'
# Every object URL the console makes and revokes (registered before its script runs).
URL_RECORDER = """
window.__created = [];
window.__revoked = [];
const create = URL.createObjectURL.bind(URL);
const revoke = URL.revokeObjectURL.bind(URL);
URL.createObjectURL = (blob) => {
  const url = create(blob);
  window.__created.push(url);
  return url;
};
URL.revokeObjectURL = (url) => { window.__revoked.push(url); revoke(url); };
"""
# Paste a PNG (bytes) into the reply box, as a screenshot from the clipboard is pasted.
PASTE_PNG = """(bytes) => {
  const file = new File([new Uint8Array(bytes)], "image.png", { type: "image/png" });
  const data = new DataTransfer();
  data.items.add(file);
  const input = document.querySelector("#reply-input");
  input.focus();
  input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true,
                                                     cancelable: true }));
}"""
# The states the reply's image box went through (to see the upload's progress indicator).
WATCH_UPLOAD = """() => {
  window.__uploadStates = [];
  const box = document.querySelector("[data-testid=reply-attachment]");
  new MutationObserver(() => {
    const progress = box.querySelector("[data-testid=reply-progress]");
    const shown = progress && !progress.hidden ? "+progress" : "";
    window.__uploadStates.push((box.hidden ? "hidden" : box.dataset.state) + shown);
  }).observe(box, { attributes: true, childList: true, subtree: true });
}"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live(handoff_stack: Stack) -> Stack:
    """Rasa, the action server and the handoff service (shared by the session)."""
    return handoff_stack


@pytest.fixture(scope="module")
def agent(live: Stack) -> tuple[str, str]:
    """An agent of this module: name and token."""
    name = f"Iris{secrets.token_hex(2)}"
    return name, live.add_agent(name)


@pytest.fixture
def agent_api(live: Stack, agent: tuple[str, str]) -> Iterator[AgentClient]:
    """The same agent over the API."""
    assert live.handoff_url is not None
    client = AgentClient(live.handoff_url, agent[1])
    yield client
    client.close()


# ---------------------------------------------------------------- images


def _maker() -> ScreenshotMaker:
    return ScreenshotMaker(LAYOUT_SEED, fresh=True)


def innocent_pngs(count: int) -> list[bytes]:
    """``count`` innocent screenshots (transaction details, in English), as PNG."""
    maker = _maker()
    return [maker.tx_detail(chinese=False, encoding="png").data for _ in range(count)]


def recovery_phrase_png() -> bytes:
    """A fresh 12-word English recovery phrase, numbered, in a 3 x 4 grid (as wallets show it)."""
    sample = _maker().phrase_screen(
        language="english", words=12, layout="grid", columns=3, encoding="png"
    )
    assert sample.kind == "seed_phrase"
    return sample.data


def text_png(text: str) -> bytes:
    """A screenshot that shows ``text`` in large letters."""
    image = Image.new("RGB", (1400, 300), "white")
    ImageDraw.Draw(image).text((30, 110), text, font=ImageFont.truetype(FONT, 44), fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------- helpers


def _open_ticket(bot: AgentClient, title: str) -> tuple[str, str]:
    """A new ticket in a new conversation, as the bot opens one; (ref, conversation id)."""
    conversation = new_sender()
    response = bot.call(
        "POST",
        "/tickets",
        json={
            "conversation_id": conversation,
            "category": "assets",
            "title": title,
            "description": "Opened for the console's screenshot tests: 500 USDT withdrawal failed.",
            "language": "en",
            "escalation_reason": "requested_human",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["ref"], conversation


def _user_image(bot: AgentClient, conversation: str, data: bytes) -> requests.Response:
    """The user's image, uploaded as the chat channel uploads it during a handoff."""
    return bot.http.post(
        f"{bot.base_url}/api/conversations/{conversation}/attachments",
        data=data,
        headers={"Content-Type": "image/png", "X-Message-Id": uuid.uuid4().hex},
        timeout=UPLOAD_TIMEOUT_MS / 1000,
    )


def _accepted_user_image(bot: AgentClient, conversation: str, data: bytes) -> str:
    response = _user_image(bot, conversation, data)
    assert response.status_code == 201, response.text
    return str(response.json()["attachment"]["id"])


def _agent_messages(agent_api: AgentClient, ref: str) -> list[dict[str, Any]]:
    return [m for m in agent_api.messages(ref) if m["author"] == "agent"]


def _console(ui: Ui, name: str, token: str, agent_name: str) -> ConsolePage:
    """The console, signed in, with its object URLs recorded from the first script on."""
    page = ui.new_page(name, viewport=DESKTOP, locale="en-US")
    page.add_init_script(URL_RECORDER)
    console = ConsolePage(page)
    console.sign_in(ui.stack.handoff_url or "", token, agent_name)
    return console


def _claim(console: ConsolePage) -> None:
    console.page.click("#claim")
    expect(console.page.locator("#reply-input")).to_be_enabled()
    expect(console.page.locator("#reply-attach")).to_be_enabled()


def _thumb(page: Page, where: str, attachment_id: str) -> Any:
    return page.locator(f"[data-testid={where}][data-attachment-id='{attachment_id}']")


def _expect_shown(thumb: Any, alt: str, timeout: int = LIVE_TIMEOUT_MS) -> None:
    """The thumbnail's image arrived (fetched with the token) and is drawn."""
    expect(thumb).to_have_attribute("data-state", "loaded", timeout=timeout)
    img = thumb.locator("img")
    expect(img).to_have_attribute("alt", alt)
    assert img.evaluate("(i) => i.complete && i.naturalWidth > 0"), "the thumbnail is not drawn"
    src = str(img.get_attribute("src"))
    # Never the API's URL: an <img> could not send the token.
    assert src.startswith(("blob:", "data:image/")), src[:40]
    box = img.bounding_box()
    assert box is not None and box["width"] <= 241 and box["height"] <= 241, box


# ---------------------------------------------------------------- tests


def test_a_users_screenshot_shows_in_the_transcript_and_on_the_card_and_opens_full_size(
    ui: Ui, live: Stack, bot: AgentClient, agent: tuple[str, str], agent_api: AgentClient
) -> None:
    name, token = agent
    ref, conversation = _open_ticket(bot, "Withdrawal failed, screenshot attached")
    other, _ = _open_ticket(bot, "Another ticket, no screenshots")
    att = _accepted_user_image(bot, conversation, innocent_pngs(1)[0])
    # A refused image reaches the transcript only as words.
    refused = _user_image(bot, conversation, recovery_phrase_png())
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "image_refused"
    note = "[image refused: recovery phrase]"
    response = bot.call(
        "POST",
        f"/conversations/{conversation}/user-messages",
        json={"text": note, "external_id": uuid.uuid4().hex},
    )
    assert response.status_code in (200, 201), response.text
    ticket = agent_api.ticket(ref)
    listed = {a["id"]: a for a in ticket["attachments"]}
    assert list(listed) == [att], ticket["attachments"]
    attachment = listed[att]

    console = _console(ui, "console", token, name)
    page = console.page
    console.open(ref)

    # In the transcript: a user line with the thumbnail, no image URL of the API.
    line = page.locator(f"[data-testid=transcript-line][data-attachment-id='{att}']")
    expect(line).to_have_attribute("data-author", "user")
    _expect_shown(_thumb(page, "transcript-thumb", att), USER_ALT)
    expect(console.line("user", note)).to_have_count(1)
    expect(console.line("user", note).locator("img")).to_have_count(0)

    # On the summary card: a "Screenshots" row, with the text read from the image.
    cell = console.field("screenshots")
    expect(cell).to_be_visible()
    _expect_shown(_thumb(page, "summary-thumb", att), USER_ALT)
    text = str(attachment["text"]).strip()
    shown = cell.locator("[data-testid=summary-attachment-text]")
    if text:
        expect(shown).to_have_count(1)
        assert shown.locator(".shot__full").text_content() == text
        expect(shown.locator(".shot__full")).to_be_hidden()  # collapsed until opened
        shown.locator("summary").click()
        expect(shown.locator(".shot__full")).to_be_visible()
    else:
        expect(shown).to_have_count(0)

    # A click opens it full size in a dialog; Escape closes it, the focus goes back.
    thumb = _thumb(page, "transcript-thumb", att)
    thumb.click()
    viewer = page.locator("[data-testid=image-viewer]")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("data-state", "loaded", timeout=LIVE_TIMEOUT_MS)
    full = page.locator("[data-testid=image-viewer-img]")
    expect(full).to_have_attribute("alt", f"{USER_ALT} (full size)")
    size = full.evaluate("(i) => [i.naturalWidth, i.naturalHeight]")
    assert size == [attachment["width"], attachment["height"]], size
    assert page.evaluate("document.activeElement.id") == "image-viewer-close"
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    assert page.evaluate("document.activeElement.dataset.attachmentId") == att
    # The card's thumbnail opens the same image.
    _thumb(page, "summary-thumb", att).click()
    expect(viewer).to_have_attribute("data-state", "loaded", timeout=LIVE_TIMEOUT_MS)
    page.click("#image-viewer-close")
    expect(viewer).to_be_hidden()

    # Another ticket: the first one's object URLs are revoked.
    created = page.evaluate("window.__created")
    assert created, "no object URL was made for the images"
    console.open(other)
    expect(console.field("screenshots")).to_have_count(0)
    revoked = set(page.evaluate("window.__revoked"))
    assert set(created) <= revoked, set(created) - revoked
    assert ui.dialogs["console"] == []


def test_an_agent_attaches_a_png_to_a_reply(
    ui: Ui, live: Stack, bot: AgentClient, agent: tuple[str, str], agent_api: AgentClient
) -> None:
    name, token = agent
    ref, _ = _open_ticket(bot, "Agent sends a screenshot")
    console = _console(ui, "console", token, name)
    page = console.page
    console.open(ref)
    expect(page.locator("#reply-attach")).to_be_disabled()  # not before the claim
    _claim(console)

    # Checked before any upload: a GIF, and an image over the service's limit.
    limits = agent_api.call("GET", "/attachments/limits").json()
    page.set_input_files(
        "#reply-file",
        files=[{"name": "anim.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"\0" * 64}],
    )
    expect(page.locator("#reply-error")).to_contain_text("Only PNG, JPEG or WebP")
    page.set_input_files(
        "#reply-file",
        files=[
            {
                "name": "huge.png",
                "mimeType": "image/png",
                "buffer": b"\0" * (limits["max_bytes"] + 1),
            }
        ],
    )
    expect(page.locator("#reply-error")).to_contain_text("too large")
    expect(page.locator("[data-testid=reply-attachment]")).to_be_hidden()

    # The paperclip's file: previewed, uploaded with a progress indicator, sent with the text.
    first, second = innocent_pngs(2)
    page.set_input_files(
        "#reply-file",
        files=[
            {
                "name": "where-to-look.png",
                "mimeType": "image/png",
                "buffer": first,
            }
        ],
    )
    expect(page.locator("#reply-error")).to_be_hidden()
    pending = page.locator("[data-testid=reply-attachment]")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("where-to-look.png")
    page.evaluate(WATCH_UPLOAD)
    reply = "This is the screen to check, please compare."
    page.fill("#reply-input", reply)
    page.click("#reply-send")
    line = console.line("agent", reply)
    expect(line).to_have_count(1, timeout=UPLOAD_TIMEOUT_MS)
    sent = line.locator("[data-testid=transcript-thumb]")
    _expect_shown(sent, AGENT_ALT)
    expect(pending).to_be_hidden()
    expect(page.locator("#reply-input")).to_have_value("")
    assert "uploading+progress" in page.evaluate("window.__uploadStates")

    message = _agent_messages(agent_api, ref)[-1]
    assert message["author"] == "agent" and message["text"] == reply
    assert message["attachment"]["author"] == "agent"
    assert sent.get_attribute("data-attachment-id") == message["attachment"]["id"]
    # The ticket lists it too; after the next fetch the card shows it.
    expect(_thumb(page, "summary-thumb", message["attachment"]["id"])).to_have_count(
        1, timeout=LIVE_TIMEOUT_MS
    )

    # A pasted image, sent alone (no text): the thumbnail is the whole line.
    page.evaluate(PASTE_PNG, list(second))
    expect(pending).to_be_visible()
    page.press("#reply-input", "Enter")
    agent_lines = page.locator("[data-testid=transcript-line][data-author=agent]")
    expect(agent_lines).to_have_count(2, timeout=UPLOAD_TIMEOUT_MS)
    _expect_shown(agent_lines.last.locator("[data-testid=transcript-thumb]"), AGENT_ALT)
    expect(agent_lines.last.locator(".line__text")).to_have_count(0)
    assert _agent_messages(agent_api, ref)[-1]["attachment"] is not None
    assert ui.dialogs["console"] == []


def test_an_agents_recovery_phrase_screenshot_is_refused_with_the_reason(
    ui: Ui, live: Stack, bot: AgentClient, agent: tuple[str, str], agent_api: AgentClient
) -> None:
    name, token = agent
    ref, _ = _open_ticket(bot, "Agent pastes the wrong screenshot")
    console = _console(ui, "console", token, name)
    page = console.page
    console.open(ref)
    _claim(console)
    before = len(agent_api.messages(ref))

    page.set_input_files(
        "#reply-file",
        files=[{"name": "backup.png", "mimeType": "image/png", "buffer": recovery_phrase_png()}],
    )
    reply = "Here is how the backup screen looks."
    page.fill("#reply-input", reply)
    page.click("#reply-send")
    error = page.locator("#reply-error")
    expect(error).to_be_visible(timeout=UPLOAD_TIMEOUT_MS)
    expect(error).to_contain_text("refused")
    expect(error).to_contain_text("recovery phrase")
    # Nothing went out; the words stay for another try, the image is gone from the reply.
    expect(page.locator("[data-testid=reply-attachment]")).to_be_hidden()
    expect(page.locator("#reply-input")).to_have_value(reply)
    expect(page.locator("[data-testid=transcript-line][data-author=agent]")).to_have_count(0)
    assert len(agent_api.messages(ref)) == before
    assert agent_api.ticket(ref)["attachments"] == []

    # The same words without the image go through.
    page.click("#reply-send")
    expect(console.line("agent", reply)).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    expect(error).to_be_hidden()


def test_markup_in_the_text_read_from_a_screenshot_is_shown_as_text(
    ui: Ui, live: Stack, bot: AgentClient, agent: tuple[str, str], agent_api: AgentClient
) -> None:
    name, token = agent
    ref, conversation = _open_ticket(bot, "Screenshot with markup in it")
    att = _accepted_user_image(bot, conversation, text_png(MARKUP))
    read = str(agent_api.ticket(ref)["attachments"][0]["text"])

    # Whatever OCR read is shown as it is; and, whatever OCR makes of the
    # angle brackets, the exact markup is put into the ticket's JSON as the text.
    def with_markup(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        for attachment in body.get("attachments") or []:
            attachment["text"] = f"{MARKUP}\n{read}"
        for message in body.get("messages") or []:
            if message.get("attachment"):
                message["attachment"]["text"] = f"{MARKUP}\n{read}"
        route.fulfill(response=response, json=body)

    console = _console(ui, "console", token, name)
    page = console.page
    page.route(re.compile(rf"/api/tickets/{ref}$"), with_markup)
    console.open(ref)
    _expect_shown(_thumb(page, "summary-thumb", att), USER_ALT)
    shown = console.field("screenshots").locator("[data-testid=summary-attachment-text]")
    shown.locator("summary").click()
    full = shown.locator(".shot__full")
    expect(full).to_have_text(f"{MARKUP}\n{read}".strip())
    expect(shown.locator("summary")).to_contain_text("<img src=x")

    _thumb(page, "summary-thumb", att).click()
    expect(page.locator("[data-testid=image-viewer-text]")).to_have_text(
        f"{MARKUP}\n{read}".strip()
    )
    page.keyboard.press("Escape")

    page.wait_for_timeout(1000)  # an onerror handler would have fired by now
    assert page.locator("#summary-card b, #summary-card script").count() == 0
    assert page.locator("#image-viewer b, #image-viewer script").count() == 0
    # The only images are the thumbnails: none made from the text.
    srcs = page.locator("img").evaluate_all("(els) => els.map((e) => e.getAttribute('src'))")
    assert all(str(src).startswith(("blob:", "data:image/")) for src in srcs), srcs
    assert ui.dialogs["console"] == []
