"""Page objects of the browser tests: the chat widget and the agent console.

The widget is the one the handoff service serves at ``/widget/`` (its
generated ``config.js`` points at the stack's Rasa). Each browser role has its
own context, so nothing is shared between the user and the agents but the
servers. Every page's console messages, dialogs and, for the widget, the
socket.io frames it sent and the Content Security Policy violations it saw
are recorded; on failure every page is screenshotted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Response, WebSocket, expect

from devtools.stack import Stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BOT_TIMEOUT_MS = 20_000  # an answer of the bot (the first message of a run is the slowest)
LIVE_TIMEOUT_MS = 6_000  # something the console or the widget must show without a reload
SESSION_KEY = "wallet-support-session"

# A socket.io event over the WebSocket transport: engine.io "4" (message),
# socket.io "2" (event), an optional ack id, then the JSON array.
_EVENT_FRAME = re.compile(r"^42(?:/[^,]*,)?\d*(\[.*\])$", re.DOTALL)
# Registered before any page script runs; CSP reports every blocked thing with this event.
_CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

# Every key and value of the page's localStorage and sessionStorage.
_BROWSER_STORAGE = """() => {
  const dump = (store) => Object.fromEntries(Array.from(
    { length: store.length }, (_, i) => store.key(i)).map((key) => [key, store.getItem(key)]));
  return { localStorage: dump(window.localStorage), sessionStorage: dump(window.sessionStorage) };
}"""
# The widget's socket keeps the server's acknowledgements of user_uttered while
# window.__holdAcks is true; window.__releaseAcks() delivers them, in order.
_HOLD_ACKS = """() => {
  const socket = window.walletSupportWidget.socket();
  window.__holdAcks = true;
  if (socket.__heldAcks) return;
  socket.__heldAcks = [];
  window.__heldAckCount = () => socket.__heldAcks.length;
  window.__releaseAcks = () => {
    window.__holdAcks = false;
    const held = socket.__heldAcks.splice(0);
    held.forEach((deliver) => deliver());
    return held.length;
  };
  const emit = socket.emit.bind(socket);
  socket.emit = (event, ...args) => {
    const ack = args[args.length - 1];
    if (event === "user_uttered" && typeof ack === "function") {
      args[args.length - 1] = (...reply) => {
        if (window.__holdAcks) socket.__heldAcks.push(() => ack(...reply));
        else ack(...reply);
      };
    }
    return emit(event, ...args);
  };
}"""

# The next user_uttered never leaves the page: as if the connection died under it.
_DROP_NEXT_MESSAGE = """() => {
  const socket = window.walletSupportWidget.socket();
  const emit = socket.emit.bind(socket);
  socket.emit = (event, ...args) => {
    if (event === "user_uttered") {
      socket.emit = emit;
      return socket;
    }
    return emit(event, ...args);
  };
}"""


@dataclass
class SentEvent:
    """One socket.io event the page sent: the socket's URL, the event's name and data."""

    url: str
    name: str
    data: Any


@dataclass
class Ui:
    """The pages a test opened; screenshots of all of them when the test failed."""

    browser: Browser
    stack: Stack
    contexts: list[BrowserContext] = field(default_factory=list)
    pages: dict[str, Page] = field(default_factory=dict)
    dialogs: dict[str, list[str]] = field(default_factory=dict)
    logs: dict[str, list[str]] = field(default_factory=dict)

    def new_page(self, name: str, **options: Any) -> Page:
        """A page in a context of its own, its dialogs and console messages recorded."""
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        page = context.new_page()
        self.pages[name] = page
        self.dialogs[name] = []
        self.logs[name] = []

        def on_dialog(dialog: Any) -> None:
            self.dialogs[name].append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        # Playwright starts intercepting file pickers when the first listener is added,
        # without waiting for the browser: a picker opened right after the first
        # expect_file_chooser() could be missed. Listening from the start closes that race.
        page.on("filechooser", lambda _chooser: None)
        page.on("console", lambda message: self.logs[name].append(message.text))
        page.on("pageerror", lambda error: self.logs[name].append(f"pageerror: {error}"))
        return page

    def widget(
        self, name: str = "widget", locale: str = "en-US", query: str = ""
    ) -> WidgetPage:
        """The chat widget served by the handoff service, on a phone-sized screen, online."""
        page = self.new_page(
            name, viewport=PHONE, is_mobile=True, has_touch=True, locale=locale
        )
        widget = WidgetPage(page, self.logs[name])
        widget.open(f"{self.stack.handoff_url}/widget/{query}")
        return widget

    def console(self, name: str, token: str, agent: str) -> ConsolePage:
        """The agent console, signed in with ``token``."""
        page = self.new_page(name, viewport=DESKTOP, locale="en-US")
        console = ConsolePage(page)
        console.sign_in(self.stack.handoff_url or "", token, agent)
        return console

    def save(self, folder: Path) -> None:
        """A screenshot and the browser console log of every page."""
        for name, page in self.pages.items():
            try:
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            except Exception as error:  # a crashed page must not hide the test's failure
                print(f"could not screenshot {name}: {error}")
            (folder / f"{name}.log").write_text("\n".join(self.logs[name]), encoding="utf-8")
        print(f"screenshots and browser logs in {folder}")

    def close(self) -> None:
        """Close every context."""
        for context in self.contexts:
            context.close()


class WidgetPage:
    """The user's side: the chat widget."""

    def __init__(self, page: Page, logs: list[str]) -> None:
        """Record the page's socket.io frames and CSP violations from now on."""
        self.page = page
        self.logs = logs
        self.sockets: list[str] = []  # the URL of every WebSocket the page opened
        self.sent: list[SentEvent] = []
        self.response: Response | None = None
        page.add_init_script(_CSP_RECORDER)
        page.on("websocket", self._record)

    def _record(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)

        def on_frame(payload: str | bytes) -> None:
            match = _EVENT_FRAME.match(payload) if isinstance(payload, str) else None
            if match:
                name, *args = json.loads(match.group(1))
                self.sent.append(SentEvent(socket.url, name, args[0] if args else None))

        socket.on("framesent", on_frame)

    def open(self, url: str) -> None:
        """Load the widget at ``url`` and wait until it is online."""
        self.response = self.page.goto(url)
        self.wait_online()

    def reload(self) -> None:
        """Reload the page and wait until it is online again."""
        self.response = self.page.reload()
        self.wait_online()

    def wait_online(self) -> None:
        """Wait for ``session_confirm`` (the indicator turns ``online``)."""
        expect(self.page.locator("#connection-state")).to_have_attribute(
            "data-state", "online", timeout=BOT_TIMEOUT_MS
        )

    def events(self, name: str) -> list[SentEvent]:
        """The ``name`` events the page has sent so far, oldest first."""
        return [event for event in self.sent if event.name == name]

    def session_id(self) -> str:
        """The conversation the widget is in."""
        return str(self.page.evaluate("window.walletSupportWidget.sessionId()"))

    def stored_session(self) -> dict[str, Any]:
        """What the widget keeps in localStorage about its conversation."""
        raw = self.page.evaluate(f"localStorage.getItem({SESSION_KEY!r})")
        return json.loads(raw) if raw else {}

    def store_session(self, value: str) -> None:
        """Overwrite the stored session (as someone with access to the browser could)."""
        self.page.evaluate(
            "([key, value]) => localStorage.setItem(key, value)", [SESSION_KEY, value]
        )

    def browser_storage(self) -> dict[str, dict[str, str]]:
        """Everything the page keeps in ``localStorage`` and ``sessionStorage``, by key."""
        return dict(self.page.evaluate(_BROWSER_STORAGE))

    def hold_acks(self) -> None:
        """From now on, keep the server's acknowledgements of the user's messages back."""
        self.page.evaluate(_HOLD_ACKS)

    def held_acks(self) -> int:
        """How many acknowledgements are being kept back."""
        return int(self.page.evaluate("window.__heldAckCount ? window.__heldAckCount() : 0"))

    def release_acks(self) -> int:
        """Deliver the acknowledgements kept back and stop holding them; how many there were."""
        return int(self.page.evaluate("window.__releaseAcks ? window.__releaseAcks() : 0"))

    def drop_next_message(self) -> None:
        """The next message the user sends is lost on the way (the widget thinks it is sent)."""
        self.page.evaluate(_DROP_NEXT_MESSAGE)

    def cut_connection(self) -> None:
        """Close the socket's transport under the widget, as a dying server would."""
        self.page.evaluate("window.walletSupportWidget.socket().io.engine.close()")

    def csp_violations(self) -> list[str]:
        """Everything the browser blocked under the page's policy (reported two ways)."""
        reported = self.page.evaluate("window.__cspViolations || []")
        in_console = [line for line in self.logs if "Content Security Policy" in line]
        return [*reported, *in_console]

    def count(self) -> int:
        """How many messages the log shows."""
        return self.page.locator("[data-testid=msg]").count()

    def texts(self, author: str) -> list[str]:
        """The texts of all messages by ``author``, oldest first."""
        return self.page.locator(
            f"[data-testid=msg][data-author={author}] [data-testid=msg-text]"
        ).all_text_contents()

    def user_message(self, text: str) -> Any:
        """The user's bubbles whose text is exactly ``text``."""
        return self.page.locator("[data-testid=msg][data-author=user]").filter(
            has=self.page.locator(
                "[data-testid=msg-text]", has_text=re.compile("^" + re.escape(text) + "$")
            )
        )

    def wait_for(self, since: int, author: str, part: str, timeout: int = BOT_TIMEOUT_MS) -> None:
        """Wait for a message by ``author`` containing ``part``, after the first ``since``."""
        self.page.wait_for_function(
            """([since, author, part]) => Array.from(
                   document.querySelectorAll('[data-testid=msg]')).slice(since).some(
                   (el) => el.dataset.author === author && el.textContent.includes(part))""",
            arg=[since, author, part],
            timeout=timeout,
        )

    def wait_for_answer(self, since: int, timeout: int = BOT_TIMEOUT_MS) -> None:
        """Wait for any bot message after the first ``since``."""
        self.page.wait_for_function(
            """(since) => Array.from(document.querySelectorAll('[data-testid=msg]'))
                   .slice(since).some((el) => el.dataset.author === 'bot'
                                      && el.dataset.kind === undefined)""",
            arg=since,
            timeout=timeout,
        )

    def say(self, text: str) -> int:
        """Type and send a message; returns the message count before it."""
        before = self.count()
        self.page.fill("#chat-input", text)
        self.page.click("#chat-send")
        return before

    def click(self, payload: str) -> int:
        """Click the (still active) reply button with ``payload``; returns the count before."""
        before = self.count()
        button = self.page.locator(
            f"[data-testid=reply-button][data-payload='{payload}']:not([disabled])"
        ).last
        button.click()
        return before

    def step(self, text: str, expect_part: str, *, button: bool = False,
             author: str = "bot") -> None:
        """Answer the bot (typing or clicking), then wait for an answer with ``expect_part``."""
        before = self.click(text) if button else self.say(text)
        self.wait_for(before, author, expect_part)

    def last_text(self, author: str) -> str:
        """The text of the newest message by ``author``."""
        return str(
            self.page.locator(f"[data-testid=msg][data-author={author}]").last.text_content()
        )

    def expect_all_delivered(self) -> None:
        """Every user message was acknowledged by the server as handled."""
        expect(
            self.page.locator("[data-testid=msg][data-author=user]:not([data-status=delivered])")
        ).to_have_count(0, timeout=LIVE_TIMEOUT_MS)


class ConsolePage:
    """An agent's side: the console."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def sign_in(self, base_url: str, token: str, agent: str) -> None:
        """Open the console, sign in, mark the page so a reload would be noticed."""
        self.page.goto(f"{base_url}/console/")
        self.page.fill("#token-input", token)
        self.page.click("#sign-in")
        expect(self.page.locator("#agent-name")).to_have_text(agent)
        self.page.evaluate("window.__sameDocument = true")

    def still_same_document(self) -> bool:
        """True if the page was never reloaded since sign-in."""
        return bool(self.page.evaluate("window.__sameDocument === true"))

    def queue_item(self, ref: str) -> Any:
        """The queue entry of ``ref``."""
        return self.page.locator(f"[data-testid=queue-item][data-ref='{ref}']")

    def open(self, ref: str) -> None:
        """Open ``ref`` from the queue (it must show up there without a reload)."""
        item = self.queue_item(ref)
        expect(item).to_be_visible(timeout=LIVE_TIMEOUT_MS)
        item.click()
        expect(self.page.locator("#ticket-ref")).to_have_text(ref)
        expect(self.page.locator("#summary-card [data-field=title]")).not_to_have_text("")

    def line(self, author: str, text: str) -> Any:
        """Transcript lines by ``author`` whose text is exactly ``text``."""
        return self.page.locator(
            f"[data-testid=transcript-line][data-author={author}]"
        ).filter(has=self.page.locator(".line__text", has_text=re.compile(
            "^" + re.escape(text) + "$")))

    def field(self, name: str) -> Any:
        """A value of the summary card."""
        return self.page.locator(f"#summary-card [data-field={name}]")


# ------------------------------------------------- history, unread, embedding

HISTORY_KEY_PREFIX = "wallet-support-history:"
PREVIOUS_KEY = "wallet-support-previous"
# A site embedding the chat with embed.js. The test serves its page itself (no
# DNS, no server): the stack's WIDGET_FRAME_ANCESTORS must list this origin.
# A *.localhost origin is a secure context, so Chromium lets it reach the
# stack on 127.0.0.1 once the test grants "local-network-access" (a real site
# and a real chat server are both public and need nothing of the kind).
EMBED_HOST_ORIGIN = "http://wallet.localhost"
# The host's own CSS tries to restyle every button and hide every custom element.
EMBED_HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Wallet</title>
<style>
  button {{ background: rgb(255, 0, 0) !important; width: 10px !important; }}
  * {{ font-family: serif; }}
</style></head>
<body><h1>My wallet</h1><p>Balance: 12.5 USDT</p>
<script src="{server}/widget/embed.js" data-server="{server}" async></script>
</body></html>
"""
# Make the page hidden or visible again, as switching tabs would.
SET_VISIBILITY = """(hidden) => {
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def stored_session_json(session_id: str, token: str) -> str:
    """The value the widget keeps under ``wallet-support-session``."""
    return json.dumps({"session_id": session_id, "session_token": token})


def exactly(text: str) -> re.Pattern[str]:
    """A pattern matching ``text`` and nothing more."""
    return re.compile("^" + re.escape(text) + "$")


class ChatLog:
    """What a widget page (or the widget inside embed.js's iframe) shows."""

    def __init__(self, root: Any) -> None:
        """``root`` is a Page or a FrameLocator."""
        self.root = root

    def messages(self, author: str, text: str) -> Any:
        """Messages by ``author`` whose text is exactly ``text``."""
        return self.root.locator(f"[data-testid=msg][data-author={author}]").filter(
            has=self.root.locator(
                "[data-testid=msg-text]", has_text=exactly(text)
            )
        )

    def expect_synced(self) -> None:
        """Wait until the history the widget asked for has been merged."""
        expect(self.root.locator("#chat-log")).to_have_attribute(
            "data-history", "synced", timeout=BOT_TIMEOUT_MS
        )

    def transcript(self) -> list[list[str]]:
        """Every message as [author, text], oldest first."""
        return self.root.locator("[data-testid=msg]").evaluate_all(
            """(els) => els.map((el) => {
                 const text = el.querySelector('[data-testid=msg-text]');
                 return [el.dataset.author, text ? text.textContent : ''];
               })"""
        )


def reopen_widget(ui: Ui, name: str, widget: WidgetPage, query: str = "") -> WidgetPage:
    """The widget in a new page of ``widget``'s browser (same storage): the user comes back."""
    page = widget.page.context.new_page()
    ui.pages[name] = page
    ui.dialogs[name] = []
    ui.logs[name] = []

    def on_dialog(dialog: Any) -> None:
        ui.dialogs[name].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: ui.logs[name].append(message.text))
    page.on("pageerror", lambda error: ui.logs[name].append(f"pageerror: {error}"))
    again = WidgetPage(page, ui.logs[name])
    again.open(f"{ui.stack.handoff_url}/widget/{query}")
    return again


class EmbedHost:
    """A page of another site that embeds the chat with embed.js."""

    def __init__(self, page: Page, server: str) -> None:
        self.page = page
        self.server = server
        self.launcher = page.locator("[data-testid=support-launcher]")
        self.badge = page.locator("[data-testid=unread-badge]")
        self.panel = page.locator("[data-testid=support-panel]")
        self.chat = ChatLog(page.frame_locator("[data-testid=support-frame]"))

    def frame(self) -> Any:
        """The chat's iframe (a Frame: for evaluating in the chat page's own storage)."""
        frame = next(
            (f for f in self.page.frames if "/widget/?embedded=1" in f.url), None
        )
        assert frame is not None, [f.url for f in self.page.frames]
        return frame

    def wait_chat_online(self) -> None:
        """Wait until the chat inside the iframe has its session_confirm."""
        expect(self.chat.root.locator("#connection-state")).to_have_attribute(
            "data-state", "online", timeout=BOT_TIMEOUT_MS
        )


def open_embed_host(
    ui: Ui, name: str, locale: str = "en-US", page_template: str = EMBED_HOST_PAGE
) -> EmbedHost:
    """A desktop browser on ``EMBED_HOST_ORIGIN``, whose page embeds this stack's chat.

    ``page_template`` is the host's HTML, with ``{server}`` where the chat server goes.
    """
    server = str(ui.stack.handoff_url)
    page = ui.new_page(
        name, viewport=DESKTOP, locale=locale, permissions=["local-network-access"]
    )
    html = page_template.format(server=server)
    page.route(
        EMBED_HOST_ORIGIN + "/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    page.goto(EMBED_HOST_ORIGIN + "/account")
    return EmbedHost(page, server)


PICTURES = Path(__file__).resolve().parents[2] / "docs" / "images"
# Kept after the run (git-ignored): the views the tests picture, and every page of a
# failed test with its browser log.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def save_picture(page: Page, folder: Path, name: str) -> None:
    """A screenshot into ``folder`` (the test's) and the run's artifacts; for the README
    too when README_PICTURES=1."""
    page.screenshot(path=str(folder / name))
    (ARTIFACTS / "pictures").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pictures" / name))
    if os.environ.get("README_PICTURES") == "1":
        PICTURES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(PICTURES / name))
