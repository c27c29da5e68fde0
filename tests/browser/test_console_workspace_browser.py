"""The agent console as a support team's workspace, in a real browser.

- Layout: queue, transcript in view, the details sidebar (collapsible) with
  copy buttons and explorer links on the facts, the user's other tickets, the
  rating, tags and internal notes (never sent to the user); the waiting clock
  stops at the first reply and the resolution time shows after.
- Canned replies: "/" and Ctrl+K open the picker, the reply is inserted (not
  sent); an admin adds, edits and deletes them in the console.
- Unassign, transfer, close; the search box.
- Attention: the tab's title, a beep and a desktop notification (after the
  agent asked for them) on a new urgent ticket and on a first reply at risk;
  the admin view's live counts.
- People: the console in Chinese (remembered, saved on the service), roles,
  admins managing agents and tokens; "typing" at most every 3 s.

One stack (Rasa, the action server, the handoff service) for this module;
tickets are opened over the bot's API. Screenshots go into each test's
``tmp_path``; with ``README_PICTURES=1`` the pictures of
``handoff_service/console/README.md`` are written into ``docs/images/``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from devtools.agent_client import AgentClient, wait_until
from devtools.stack import Stack, running_stack
from tests.browser.axe import contrast
from tests.browser.pages import DESKTOP, LIVE_TIMEOUT_MS, ConsolePage, Ui, save_picture
from tests.conftest import new_sender

pytestmark = pytest.mark.integration

TX_HASH = "0x" + "5c" * 32
EVM_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
MARKUP = '<img src=x onerror=alert(1)> <b>bold</b>'
# A desktop notification and the permission prompt, recorded (the page's own
# Notification is replaced before its scripts run; the prompt is counted).
FAKE_NOTIFICATIONS = """
window.__notifications = [];
window.__permissionAsks = 0;
class FakeNotification {
  constructor(title, options) {
    window.__notifications.push({ title, body: options && options.body });
  }
  close() {}
}
FakeNotification.permission = "default";
FakeNotification.requestPermission = (callback) => {
  window.__permissionAsks += 1;
  FakeNotification.permission = "granted";
  if (callback) callback("granted");
  return Promise.resolve("granted");
};
window.Notification = FakeNotification;
"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa, the action server and the handoff service (with the canned replies it ships),
    for every test of this module."""
    with running_stack(
        tmp_path_factory.mktemp("workspace-stack"), trained_model, handoff=True
    ) as stack:
        yield stack


@pytest.fixture(scope="module")
def people(live: Stack) -> dict[str, str]:
    """An admin (Ada) and two agents (Alice, Bob): name -> token."""
    suffix = secrets.token_hex(2)
    names = {"admin": f"Ada{suffix}", "alice": f"Alice{suffix}", "bob": f"Bob{suffix}"}
    tokens = {"admin": live.add_agent(names["admin"], role="admin")}
    tokens["alice"] = live.add_agent(names["alice"])
    tokens["bob"] = live.add_agent(names["bob"])
    return {**{f"{k}_name": v for k, v in names.items()}, **tokens}


@pytest.fixture(scope="module")
def bot(live: Stack) -> Iterator[AgentClient]:
    """The service's API with the bot's token (tickets are opened as the bot opens them)."""
    assert live.handoff_url is not None and live.handoff_bot_token is not None
    client = AgentClient(live.handoff_url, live.handoff_bot_token)
    yield client
    client.close()


def _api(live: Stack, token: str) -> AgentClient:
    assert live.handoff_url is not None
    return AgentClient(live.handoff_url, token)


# ---------------------------------------------------------------- helpers


def _open_ticket(bot: AgentClient, **fields: Any) -> dict[str, Any]:
    """A new ticket in a new conversation; the service's answer."""
    body = {
        "conversation_id": new_sender(),
        "category": "assets",
        "title": "USDT withdrawal not received",
        "description": "I withdrew 500 USDT yesterday at 9 pm; it shows success but never arrived.",
        "language": "en",
        "escalation_reason": "requested_human",
        **fields,
    }
    response = bot.call(
        "POST", "/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _console(ui: Ui, name: str, token: str, agent: str, **options: Any) -> ConsolePage:
    page = ui.new_page(name, viewport=DESKTOP, locale=options.pop("locale", "en-US"), **options)
    console = ConsolePage(page)
    console.sign_in(ui.stack.handoff_url or "", token, agent)
    return console






# The colour of an element's text and of the first opaque background behind it.
_COLOURS = """(el) => {
  const fg = getComputedStyle(el).color;
  let node = el;
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") return [fg, bg];
    node = node.parentElement;
  }
  return [fg, "rgb(255, 255, 255)"];
}"""


def _requests_to(page: Page, pattern: str) -> list[float]:
    """Times (monotonic) of the page's requests whose URL matches ``pattern``, from now on."""
    seen: list[float] = []
    regex = re.compile(pattern)
    page.on("request", lambda r: seen.append(time.monotonic()) if regex.search(r.url) else None)
    return seen


# ---------------------------------------------------------------- tests


def test_workspace_layout_facts_notes_tags_related_and_clocks(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient, tmp_path: Path
) -> None:
    email = f"amy.{secrets.token_hex(3)}@example.com"
    earlier = _open_ticket(bot, title="Deposit on BNB Chain missing", contact_email=email)
    ticket = _open_ticket(
        bot, tx_hash=TX_HASH, wallet_address=EVM_ADDRESS, chain="evm", contact_email=email,
        amount="500 USDT", summary={"facts": {"network": ["BNB Chain"], "asset": ["USDT"]}},
    )
    ref = ticket["ref"]
    alice = _console(ui, "console", people["alice"], people["alice_name"],
                     permissions=["clipboard-read", "clipboard-write"])
    page = alice.page
    alice.open(ref)

    # Three columns: the queue, the conversation (in view, not below a card), the details.
    expect(page.locator("#details-pane")).to_be_visible()
    transcript = page.locator("#ticket-scroll").bounding_box()
    queue = page.locator(".queue-pane").bounding_box()
    details = page.locator("#details-pane").bounding_box()
    assert transcript and queue and details
    assert queue["x"] < transcript["x"] < details["x"], (queue, transcript, details)
    assert transcript["y"] < 250, transcript
    expect(page.locator("[data-testid=transcript-line]").first).to_be_in_viewport()

    # Facts: the value as given, a copy button, explorer links of the network named.
    expect(alice.field("tx_hash")).to_have_text(TX_HASH)
    tools = page.locator("#summary-card [data-tools-for=tx_hash]")
    link = tools.locator("[data-testid=explorer-link]")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", f"https://bscscan.com/tx/{TX_HASH}")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    address_link = page.locator(
        "#summary-card [data-tools-for=address] [data-testid=explorer-link]")
    expect(address_link).to_have_attribute("href", f"https://bscscan.com/address/{EVM_ADDRESS}")
    tools.locator("[data-testid=copy]").click()
    expect(tools.locator("[data-testid=copy]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == TX_HASH
    email_copy = page.locator("#summary-card [data-tools-for=email] [data-testid=copy]")
    expect(email_copy).to_have_attribute("data-copy", email)

    # The user's other ticket (same e-mail) is listed and opens on a click.
    related = page.locator(
        f"#related-list [data-testid=related-ticket][data-ref='{earlier['ref']}']")
    expect(related).to_be_visible()

    # Tags: added, shown, stored; removed.
    page.fill("#tag-input", "vip")
    page.click("#tag-add")
    expect(page.locator("#tags-list [data-testid=tag][data-tag=vip]")).to_be_visible()
    page.fill("#tag-input", "lost-funds")
    page.press("#tag-input", "Enter")
    expect(page.locator("#tags-list [data-testid=tag]")).to_have_count(2)
    api = _api(live, people["alice"])
    try:
        assert sorted(api.ticket(ref)["tags"]) == ["lost-funds", "vip"]
        page.locator("#tags-list [data-tag=vip] button").click()
        expect(page.locator("#tags-list [data-testid=tag]")).to_have_count(1)
        wait_until(lambda: api.ticket(ref)["tags"] == ["lost-funds"] or None, timeout=5,
                   what="the tag removed")
        # The queue filtered by a tag in use.
        expect(page.locator("#filter-tag option[value=lost-funds]")).to_have_count(1)
        page.select_option("#filter-tag", "lost-funds")
        expect(alice.queue_item(earlier["ref"])).to_have_count(0)
        expect(alice.queue_item(ref)).to_be_visible()
        page.select_option("#filter-tag", "")
        expect(alice.queue_item(earlier["ref"])).to_be_visible()

        # An internal note: marked, shown as text, never a line of the transcript.
        expect(page.locator("#notes-title")).to_contain_text("internal, never sent to the user")
        note = f"Checked the hot wallet {MARKUP}"
        page.fill("#note-input", note)
        page.click("#note-add")
        expect(page.locator("#notes-list [data-testid=note] .note__text")).to_have_text(note)
        assert page.locator("#notes-list img, #notes-list b").count() == 0
        assert all(note not in (m.get("text") or "") for m in api.messages(ref))
        expect(page.locator("#transcript")).not_to_contain_text("Checked the hot wallet")

        # The clock runs until the first reply, then stops; resolving shows the time it took.
        expect(page.locator("#ticket-sla")).to_have_attribute("data-running", "true")
        page.click("#claim")
        expect(page.locator("#reply-input")).to_be_enabled()
        page.fill("#reply-input", "Hello, I am looking at your withdrawal now.")
        page.click("#reply-send")
        expect(page.locator("#ticket-sla")).to_have_attribute("data-running", "false")
        stopped = page.locator("#ticket-sla").get_attribute("data-seconds")
        page.wait_for_timeout(2100)
        expect(page.locator("#ticket-sla")).to_have_attribute("data-seconds", stopped or "")
        expect(page.locator("#ticket-sla-label")).to_have_text("first reply")
        expect(page.locator("#ticket-resolution")).to_be_hidden()
        page.click("#resolve")
        expect(page.locator("#ticket-status")).to_have_text("resolved")
        expect(page.locator("#ticket-resolution")).to_be_visible()
        expect(page.locator("#ticket-resolution")).to_contain_text("resolved in")
        # The user rates it 4: the sidebar shows it without a reload.
        rated = bot.call("POST", f"/conversations/{ticket['conversation_id']}/rating",
                         json={"score": 4})
        assert rated.status_code == 200, rated.text
        expect(page.locator("#ticket-csat")).to_have_attribute("data-csat", "4",
                                                               timeout=LIVE_TIMEOUT_MS)
        expect(page.locator("#ticket-csat")).to_contain_text("4 of 5")
    finally:
        api.close()

    # Collapsible details: hidden and back, remembered.
    page.click("#details-toggle")
    expect(page.locator("#details-pane")).to_be_hidden()
    expect(page.locator("#details-toggle")).to_have_attribute("aria-expanded", "false")
    page.click("#details-toggle")
    expect(page.locator("#details-pane")).to_be_visible()

    # Text and focus rings keep their contrast (WCAG AA).
    for selector in ("#ticket-sla-due", ".queue-item__meta", "#summary-card dt",
                     ".internal-badge", ".explorer-link", "#ticket-resolution"):
        fg, bg = page.locator(selector).first.evaluate(_COLOURS)
        assert contrast(fg, bg) >= 4.5, (selector, fg, bg)
    page.locator("#tag-input").focus()
    page.keyboard.press("Tab")
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }""")
    assert ring[0] != "none" and ring[1] >= 2, ring
    assert contrast(ring[2], "rgb(255, 255, 255)") >= 3, ring

    page.locator(f"[data-testid=related-ticket][data-ref='{earlier['ref']}']").click()
    expect(page.locator("#ticket-ref")).to_have_text(earlier["ref"])
    page.locator(f"[data-testid=related-ticket][data-ref='{ref}']").click()
    expect(page.locator("#ticket-ref")).to_have_text(ref)
    # The picture: a wide desktop, the sidebar showing the facts' tools down to the notes.
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.fill("#note-input", "Asked the exchange for the deposit record; waiting for them.")
    page.click("#note-add")
    expect(page.locator("#notes-list [data-testid=note]")).to_have_count(2)
    page.locator("#summary-card [data-field=amount]").evaluate("""(el) => {
        const pane = document.getElementById("details-pane");
        pane.scrollTop += el.getBoundingClientRect().top - pane.getBoundingClientRect().top - 8;
    }""")
    page.wait_for_timeout(300)
    save_picture(page, tmp_path, "console-workspace.png")
    assert ui.dialogs["console"] == []
    assert not [line for line in ui.logs["console"] if line.startswith("pageerror")]


def test_canned_replies_picker_and_admin_management(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient, tmp_path: Path
) -> None:
    shortcut = f"t-{secrets.token_hex(3)}"
    admin = _console(ui, "admin", people["admin"], people["admin_name"])
    apage = admin.page
    expect(apage.locator("#admin-toggle")).to_be_visible()
    apage.click("#admin-toggle")
    apage.click("#tab-canned")
    # The replies shipped with the service are listed, in both languages.
    expect(apage.locator("[data-testid=canned-row][data-language=zh]").first).to_be_visible()
    expect(apage.locator("[data-testid=canned-row][data-language=en]").first).to_be_visible()
    apage.fill("#canned-shortcut", shortcut)
    apage.select_option("#canned-language", "en")
    apage.fill("#canned-title", "Greeting")
    apage.fill("#canned-text", "Hello, thanks for waiting.")
    apage.click("#canned-save")
    row = apage.locator(f"[data-testid=canned-row][data-shortcut='{shortcut}']")
    expect(row).to_contain_text("Hello, thanks for waiting.")
    row.locator("[data-action=edit]").click()
    expect(apage.locator("#canned-text")).to_have_value("Hello, thanks for waiting.")
    apage.fill("#canned-text", "Hello, thanks for waiting. I am checking your case now.")
    apage.click("#canned-save")
    expect(row).to_contain_text("I am checking your case now.")

    # An agent sees no admin controls, and the service refuses them anyway.
    ticket = _open_ticket(bot, title="Canned reply test")
    bob = _console(ui, "bob", people["bob"], people["bob_name"])
    page = bob.page
    expect(page.locator("#admin-toggle")).to_be_hidden()
    expect(page.locator("#admin-view")).to_be_hidden()
    bob_api = _api(live, people["bob"])
    try:
        refused = bob_api.call("POST", "/canned-replies", json={
            "shortcut": "nope", "language": "en", "title": "x", "text": "x"})
        assert refused.status_code == 403, refused.text
    finally:
        bob_api.close()

    bob.open(ticket["ref"])
    page.click("#claim")
    expect(page.locator("#reply-input")).to_be_enabled()
    before = page.locator("[data-testid=transcript-line][data-author=agent]").count()

    # "/" at the start of the box opens the picker, filtered as the agent types.
    page.locator("#reply-input").click()
    page.keyboard.type("/" + shortcut[:4])
    picker = page.locator("[data-testid=canned-picker]")
    expect(picker).to_be_visible()
    option = picker.locator(f"[data-testid=canned-option][data-shortcut='{shortcut}']")
    expect(option).to_be_visible()
    page.keyboard.type(shortcut[4:])
    expect(picker.locator("[data-testid=canned-option]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(page.locator("#reply-input")).to_have_value(
        "Hello, thanks for waiting. I am checking your case now.")
    # Inserted, not sent.
    page.wait_for_timeout(700)
    expect(page.locator("[data-testid=transcript-line][data-author=agent]")).to_have_count(before)

    # Ctrl+K opens it with a search field; the reply goes in at the cursor; Chinese ones too.
    page.locator("#reply-input").press("End")
    page.keyboard.type(" ")
    page.keyboard.press("Control+k")
    expect(picker).to_be_visible()
    expect(page.locator("#canned-search")).to_be_focused()
    expect(picker.locator("[data-testid=canned-option][data-language=zh]").first).to_be_visible()
    page.keyboard.type(shortcut)
    page.keyboard.press("Enter")
    expect(page.locator("#reply-input")).to_have_value(
        "Hello, thanks for waiting. I am checking your case now. "
        "Hello, thanks for waiting. I am checking your case now.")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+k")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(page.locator("#reply-input")).to_be_focused()
    page.click("#reply-send")
    agent_lines = page.locator("[data-testid=transcript-line][data-author=agent]")
    expect(agent_lines).to_have_count(before + 1)

    # The admin deletes it (two presses, no browser dialog): gone from the picker too.
    row.locator("[data-action=delete]").click()
    expect(row.locator("[data-action=delete]")).to_have_attribute("data-armed", "true")
    row.locator("[data-action=delete]").click()
    expect(row).to_have_count(0)
    assert ui.dialogs["admin"] == [] and ui.dialogs["bob"] == []
    errors = [line for name in ("admin", "bob") for line in ui.logs[name]
              if line.startswith("pageerror")]
    assert not errors, errors


def test_unassign_transfer_close_and_search(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient
) -> None:
    email = f"sam.{secrets.token_hex(3)}@example.com"
    address = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"
    ticket = _open_ticket(bot, title="TRC20 transfer pending", wallet_address=address,
                          chain="tron", tx_hash="ab" * 32, contact_email=email)
    ref = ticket["ref"]
    alice = _console(ui, "alice", people["alice"], people["alice_name"])
    bob = _console(ui, "bob", people["bob"], people["bob_name"])
    page = alice.page

    # Search: by reference, hash prefix, address, e-mail, conversation id.
    for query in (ref.lower(), "ab" * 8, address, email.upper(), ticket["conversation_id"]):
        page.fill("#search-input", query)
        page.press("#search-input", "Enter")
        result = page.locator(f"#search-results [data-testid=search-result][data-ref='{ref}']")
        expect(result).to_be_visible()
    page.fill("#search-input", "zz%_nothing")
    page.press("#search-input", "Enter")
    expect(page.locator("#search-summary")).to_contain_text("Nothing found")
    page.fill("#search-input", ref)
    page.press("#search-input", "Enter")
    page.locator(f"[data-testid=search-result][data-ref='{ref}']").click()
    expect(page.locator("#ticket-ref")).to_have_text(ref)
    # Tron explorer links for a TRON address and hash.
    expect(page.locator("#summary-card [data-tools-for=address] [data-testid=explorer-link]")
           ).to_have_attribute("href", f"https://tronscan.org/#/address/{address}")
    expect(page.locator("#summary-card [data-tools-for=tx_hash] [data-testid=explorer-link]")
           ).to_have_attribute("href", f"https://tronscan.org/#/transaction/{'ab' * 32}")
    page.click("#search-clear")
    expect(page.locator("#search-box")).to_be_hidden()

    # Claimed by Alice: she may unassign or transfer; she transfers to Bob.
    page.click("#claim")
    expect(page.locator("#transfer")).to_be_visible()
    expect(page.locator("#unassign")).to_be_visible()
    page.click("#transfer")
    options = page.locator("#transfer-agent option")
    expect(options.filter(has_text=people["bob_name"])).to_have_count(1)
    expect(options.filter(has_text=people["alice_name"])).to_have_count(0)
    page.select_option("#transfer-agent", people["bob_name"])
    page.click("#transfer-confirm")
    expect(page.locator("#ticket-assignee")).to_contain_text(people["bob_name"])
    expect(page.locator("#reply-input")).to_be_disabled()
    expect(page.locator("#transfer")).to_be_hidden()
    expect(page.locator("[data-testid=transcript-line][data-author=system]").last).to_contain_text(
        people["bob_name"])

    # Bob has it; he unassigns: open again, anyone may claim.
    bob.open(ref)
    expect(bob.page.locator("#reply-input")).to_be_enabled()
    bob.page.click("#unassign")
    expect(bob.page.locator("#ticket-status")).to_have_text("open")
    expect(bob.page.locator("#claim")).to_be_visible()
    expect(page.locator("#claim")).to_be_visible(timeout=LIVE_TIMEOUT_MS)

    # Claim, resolve, close.
    bob.page.click("#claim")
    expect(bob.page.locator("#resolve")).to_be_visible()
    expect(bob.page.locator("#close-ticket")).to_be_hidden()
    bob.page.click("#resolve")
    expect(bob.page.locator("#close-ticket")).to_be_visible()
    bob.page.click("#close-ticket")
    expect(bob.page.locator("#ticket-status")).to_have_text("closed")
    expect(page.locator("#ticket-status")).to_have_text("closed", timeout=LIVE_TIMEOUT_MS)
    assert alice.still_same_document() and bob.still_same_document()


def test_attention_title_sound_notifications_and_admin_counts(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient, tmp_path: Path
) -> None:
    _open_ticket(bot, title="Waiting ticket for the title")
    page = ui.new_page("admin", viewport=DESKTOP, locale="en-US")
    page.add_init_script(FAKE_NOTIFICATIONS)
    page.clock.install()
    admin = ConsolePage(page)
    admin.sign_in(live.handoff_url or "", people["admin"], people["admin_name"])

    # The tab's title counts the tickets waiting for a first reply.
    expect(page).to_have_title(re.compile(r"^\(\d+\) Support console$"), timeout=LIVE_TIMEOUT_MS)
    waiting = int(re.match(r"^\((\d+)\)", page.title()).group(1))  # type: ignore[union-attr]
    assert waiting >= 1

    # Nothing asked on load; the button asks once, then a new urgent ticket rings and notifies.
    page.wait_for_timeout(500)
    assert page.evaluate("window.__permissionAsks") == 0
    toggle = page.locator("[data-testid=alerts-toggle]")
    expect(toggle).to_have_text("Enable alerts")
    toggle.click()
    expect(toggle).to_have_attribute("data-state", "on")
    assert page.evaluate("window.__permissionAsks") == 1
    urgent = _open_ticket(bot, category="security", title="Wallet drained just now",
                          escalation_reason="security")
    page.wait_for_function(
        "(ref) => window.handoffConsole.alerts().some((a) => a.kind === 'urgent' && a.ref === ref)",
        arg=urgent["ref"], timeout=LIVE_TIMEOUT_MS,
    )
    alert = next(a for a in page.evaluate("window.handoffConsole.alerts()")
                 if a["kind"] == "urgent" and a["ref"] == urgent["ref"])
    assert alert["sound"] is True and alert["notified"] is True, alert
    notes = page.evaluate("window.__notifications")
    assert any(urgent["ref"] in n["title"] and n["body"] == "Wallet drained just now"
               for n in notes), notes
    expect(page).to_have_title(f"({waiting + 1}) Support console", timeout=LIVE_TIMEOUT_MS)

    # Four minutes later the urgent ticket's first reply (5 min target) is at risk: alerted once.
    page.clock.fast_forward("04:10")
    page.wait_for_function(
        """(ref) => window.handoffConsole.alerts().some(
               (a) => a.kind === 'at_risk' && a.ref === ref)""",
        arg=urgent["ref"], timeout=LIVE_TIMEOUT_MS,
    )
    page.clock.fast_forward("00:05")
    at_risk = [a for a in page.evaluate("window.handoffConsole.alerts()")
               if a["kind"] == "at_risk" and a["ref"] == urgent["ref"]]
    assert len(at_risk) == 1, at_risk

    # The admin view: live counts by status, priority and language, refreshed.
    page.click("#admin-toggle")
    expect(page.locator("#admin-view")).to_be_visible()
    urgent_count = page.locator("[data-testid=stats-by_priority] tr[data-key=urgent] td")
    expect(urgent_count).not_to_have_text("")
    shown = int(urgent_count.text_content() or "0")
    _open_ticket(bot, category="security", title="Another urgent one", escalation_reason="security",
                 language="zh")
    page.clock.fast_forward("00:06")
    expect(urgent_count).to_have_text(str(shown + 1), timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("[data-testid=stats-by_status] tr[data-key=open]")).to_be_visible()
    expect(page.locator("[data-testid=stats-by_language] tr[data-key=zh]")).to_be_visible()
    expect(page.locator("[data-testid=stat][data-key=waiting]")).to_be_visible()
    save_picture(page, tmp_path, "console-admin.png")
    assert not [line for line in ui.logs["admin"] if line.startswith("pageerror")]


def test_language_roles_agents_and_typing(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient
) -> None:
    # Alice switches the console to Chinese: every label, aria-label and date follows.
    alice = _console(ui, "alice", people["alice"], people["alice_name"])
    page = alice.page
    page.select_option("#console-language", "zh")
    expect(page.locator("#queue-title")).to_have_text("队列")
    expect(page.locator("#reply-attach")).to_have_attribute("aria-label", "附加图片")
    expect(page.locator("#sign-out")).to_have_text("退出登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert page.title().endswith("客服工作台")
    api = _api(live, people["alice"])
    try:
        wait_until(lambda: api.call("GET", "/me").json().get("console_language") == "zh" or None,
                   timeout=5, what="the language saved on the service")
    finally:
        api.close()
    # Remembered in another browser too (from the service).
    again = _console(ui, "alice-elsewhere", people["alice"], people["alice_name"], locale="en-US")
    expect(again.page.locator("#queue-title")).to_have_text("队列")
    ticket = _open_ticket(bot, title="Chinese console check")
    again.page.locator(f"[data-testid=queue-item][data-ref='{ticket['ref']}']").click()
    expect(again.page.locator("#summary-card dt").first).to_have_text("类别")
    expect(again.page.locator("#claim")).to_have_text("认领")
    page.select_option("#console-language", "en")
    expect(page.locator("#queue-title")).to_have_text("Queue")

    # Typing in the reply box tells the user at most every 3 s.
    alice.open(ticket["ref"])
    page.click("#claim")
    expect(page.locator("#reply-input")).to_be_enabled()
    typing = _requests_to(page, r"/api/tickets/[^/]+/typing$")
    page.locator("#reply-input").click()
    started = time.monotonic()
    while time.monotonic() - started < 4.5:
        page.keyboard.type("checking ", delay=40)
    assert 1 <= len(typing) <= 2, typing
    assert all(b - a >= 2.9 for a, b in itertools.pairwise(typing)), typing

    # An admin adds an agent: the token is shown once and works; disable, enable, rotate.
    admin = _console(ui, "admin", people["admin"], people["admin_name"],
                     permissions=["clipboard-read", "clipboard-write"])
    apage = admin.page
    expect(apage.locator("#agent-role")).to_have_text("admin")
    apage.click("#admin-toggle")
    apage.click("#tab-agents")
    name = f"Cora{secrets.token_hex(2)}"
    apage.fill("#agent-new-name", name)
    apage.click("#agent-add")
    token_box = apage.locator("[data-testid=token-box]")
    expect(token_box).to_be_visible()
    token = (apage.locator("[data-testid=token-value]").text_content() or "").strip()
    assert len(token) >= 20
    token_box.locator("[data-testid=copy]").click()
    assert apage.evaluate("navigator.clipboard.readText()") == token
    me = requests.get(f"{live.handoff_url}/api/me", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
    assert me.status_code == 200 and me.json()["name"] == name
    apage.click("#token-done")
    expect(token_box).to_be_hidden()
    expect(apage.locator("[data-testid=token-value]")).to_have_text("")

    row = apage.locator(f"[data-testid=agent-row][data-name='{name}']")
    row.locator("[data-action=disable]").click()
    expect(row).to_have_attribute("data-active", "false")
    assert requests.get(f"{live.handoff_url}/api/me", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401
    row.locator("[data-action=enable]").click()
    expect(row).to_have_attribute("data-active", "true")
    row.locator("[data-action=rotate]").click()
    expect(token_box).to_be_visible()
    rotated = (apage.locator("[data-testid=token-value]").text_content() or "").strip()
    assert rotated and rotated != token
    assert requests.get(f"{live.handoff_url}/api/me", timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert requests.get(f"{live.handoff_url}/api/me", timeout=10,
                        headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
    # The admin cannot disable themselves from the console; rotating their own token
    # keeps them signed in with the new one.
    mine = apage.locator(f"[data-testid=agent-row][data-name='{people['admin_name']}']")
    expect(mine.locator("[data-action=disable]")).to_have_count(0)
    apage.click("#token-done")
    mine.locator("[data-action=rotate]").click()
    expect(token_box).to_be_visible()
    own = (apage.locator("[data-testid=token-value]").text_content() or "").strip()
    assert own and own != people["admin"]
    people["admin"] = own  # for any later test of this module
    apage.click("#tab-stats")
    expect(apage.locator("[data-testid=stat][data-key=waiting]")).to_be_visible()
    apage.wait_for_timeout(1500)
    expect(apage.locator("#sign-in-view")).to_be_hidden()
    assert apage.evaluate("sessionStorage.getItem('handoff-console-token')") == own


def test_a_reply_whose_answer_was_lost_is_sent_again_and_kept_once(
    ui: Ui, live: Stack, people: dict[str, str], bot: AgentClient
) -> None:
    # The first POST reaches the service, but the agent's browser gets a 502 (the
    # replica died before answering): the console retries with the same key.
    ticket = _open_ticket(bot, title="Reply lost on the way")
    ref = ticket["ref"]
    agent = _api(live, people["alice"])
    assert agent.claim(ref).status_code == 200
    console = _console(ui, "console", people["alice"], people["alice_name"])
    console.open(ref)
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers.get("idempotency-key", ""))
        answer = route.fetch()
        if len(keys) == 1:
            route.fulfill(status=502, body="bad gateway")
        else:
            route.fulfill(response=answer)

    console.page.route(re.compile(r"/api/tickets/[^/]+/messages$"), lose_first_answer)
    text = "Thanks for waiting: the deposit is confirmed on chain now."
    console.page.fill("#reply-input", text)
    console.page.click("#reply-send")
    expect(console.page.locator("#reply-input")).to_have_value("", timeout=LIVE_TIMEOUT_MS)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    lines = [m["text"] for m in agent.ticket(ref)["messages"] if m["author"] == "agent"]
    assert lines == [text]
    expect(console.page.locator("#transcript").get_by_text(text)).to_have_count(1)
    agent.close()
