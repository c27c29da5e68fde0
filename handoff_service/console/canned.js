/*
 * Canned replies, in Chinese and English: the picker of the reply box and
 * their management by admins.
 *
 * The picker opens when the reply box starts with "/" (what follows filters
 * it: "/gas" finds the "gas-fee" reply) or with Ctrl+K / ⌘K (a search field
 * of its own). Arrow keys choose, Enter or a click inserts the reply's text
 * into the box (replacing the "/..." typed, or at the cursor), Escape closes.
 * Nothing is sent: the agent edits and sends as usual. Replies in the
 * ticket's language come first.
 */
import { t, formatTime } from "./i18n.js";
import { $, el, clear, trim } from "./dom.js";
import { enc } from "./api.js";

const STALE_MS = 60000;
const SHOWN_MAX = 50;

let ctx = null;
let replies = []; // every reply, both languages
let loadedAt = 0;
let loading = null;

// The picker: closed, or open in "slash" mode (filtered by the reply box) or
// "search" mode (its own field); the choices shown and the one highlighted.
const picker = { open: false, mode: "", shown: [], active: 0, caret: null };

export function start(context) {
  ctx = context;
  replies = [];
  loadedAt = 0;
  load();
}

export function stop() {
  ctx = null;
  replies = [];
  closePicker();
}

/** Every reply, fetched again when older than a minute (or ``force``). */
function load(force) {
  if (!ctx) return Promise.resolve(replies);
  if (!force && loading) return loading;
  if (!force && Date.now() - loadedAt < STALE_MS) return Promise.resolve(replies);
  // Both languages in one call (the service filters with ?language= when asked).
  loading = ctx.api("GET", "/canned-replies").then(
    (data) => [(data && data.replies) || []],
    () => [replies]
  ).then((lists) => {
    const seen = {};
    replies = [].concat.apply([], lists).filter((reply) => {
      if (seen[reply.id]) return false;
      seen[reply.id] = true;
      return true;
    });
    loadedAt = Date.now();
    loading = null;
    renderAdminList();
    if (picker.open) filter();
    return replies;
  });
  return loading;
}

// ----------------------------------------------------------------- picker

function ticketLanguage() {
  const view = ctx && ctx.current();
  return view && view.ticket ? view.ticket.language : "";
}

function matches(reply, words) {
  const hay = (String(reply.shortcut) + " " + String(reply.title) + " " + String(reply.text)).toLowerCase();
  return words.every((word) => hay.indexOf(word) >= 0);
}

/** The replies for ``text``: the ticket's language first, shortcuts starting with it first. */
function choose(text) {
  const needle = trim(text).toLowerCase();
  const words = needle.split(/\s+/).filter(Boolean);
  const language = ticketLanguage();
  return replies.filter((reply) => matches(reply, words)).map((reply, index) => {
    let rank = reply.language === language ? 0 : 2;
    if (needle && String(reply.shortcut).toLowerCase().indexOf(needle) !== 0) rank += 1;
    return { reply: reply, rank: rank, index: index };
  }).sort((a, b) => a.rank - b.rank || String(a.reply.shortcut).localeCompare(String(b.reply.shortcut)) ||
    a.index - b.index).map((item) => item.reply).slice(0, SHOWN_MAX);
}

function queryText() {
  if (picker.mode === "slash") {
    const value = $("reply-input").value;
    return value.slice(1);
  }
  return $("canned-search").value;
}

function filter() {
  picker.shown = choose(queryText());
  if (picker.active >= picker.shown.length) picker.active = 0;
  renderPicker();
}

function renderPicker() {
  const list = $("canned-list");
  clear(list);
  $("canned-empty").hidden = picker.shown.length > 0 || !!loading;
  picker.shown.forEach((reply, index) => {
    const li = el("li", "canned-item");
    li.id = "canned-option-" + index;
    li.setAttribute("role", "option");
    li.setAttribute("data-testid", "canned-option");
    li.setAttribute("data-shortcut", String(reply.shortcut));
    li.setAttribute("data-language", String(reply.language));
    li.setAttribute("aria-selected", index === picker.active ? "true" : "false");
    const top = el("span", "canned-item__top");
    top.appendChild(el("span", "canned-item__shortcut", "/" + reply.shortcut));
    top.appendChild(el("span", "canned-item__lang", reply.language === "zh" ? "中文" : "EN"));
    top.appendChild(el("span", "canned-item__title", reply.title));
    li.appendChild(top);
    li.appendChild(el("span", "canned-item__text", reply.text));
    li.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus where it is until inserted
      insert(reply);
    });
    list.appendChild(li);
  });
  const active = picker.shown.length ? "canned-option-" + picker.active : "";
  const owner = picker.mode === "slash" ? $("reply-input") : $("canned-search");
  if (active) owner.setAttribute("aria-activedescendant", active);
  else owner.removeAttribute("aria-activedescendant");
  const chosen = document.getElementById(active);
  if (chosen && chosen.scrollIntoView) chosen.scrollIntoView({ block: "nearest" });
}

function openPicker(mode) {
  const input = $("reply-input");
  if (!ctx || input.disabled) return;
  picker.open = true;
  picker.mode = mode;
  picker.active = 0;
  picker.caret = mode === "search" ? [input.selectionStart, input.selectionEnd] : null;
  $("canned-picker").hidden = false;
  $("canned-picker").setAttribute("data-mode", mode);
  $("canned-search").hidden = mode !== "search";
  // A textarea (role textbox) takes no aria-expanded; it points at the list it drives.
  input.setAttribute("aria-controls", "canned-list");
  if (mode === "search") {
    $("canned-search").value = "";
    $("canned-search").focus();
  }
  load().then(() => {
    if (picker.open) filter();
  });
  filter();
}

function closePicker() {
  picker.open = false;
  picker.mode = "";
  picker.shown = [];
  $("canned-picker").hidden = true;
  $("reply-input").removeAttribute("aria-controls");
  $("reply-input").removeAttribute("aria-activedescendant");
}

/** Put ``reply``'s text into the reply box (not sent). */
function insert(reply) {
  const input = $("reply-input");
  const text = String(reply.text);
  let caret;
  if (picker.mode === "slash") {
    input.value = text;
    caret = text.length;
  } else {
    const range = picker.caret || [input.value.length, input.value.length];
    const before = input.value.slice(0, range[0]);
    const after = input.value.slice(range[1]);
    input.value = before + text + after;
    caret = before.length + text.length;
  }
  closePicker();
  input.focus();
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function move(step) {
  if (!picker.shown.length) return;
  picker.active = (picker.active + step + picker.shown.length) % picker.shown.length;
  renderPicker();
}

/** Keys of the picker (from the reply box or its own field); true when taken. */
function pickerKey(event) {
  if (!picker.open) return false;
  if (event.key === "ArrowDown") {
    move(1);
  } else if (event.key === "ArrowUp") {
    move(-1);
  } else if ((event.key === "Enter" || event.key === "Tab") && !event.isComposing) {
    if (!picker.shown.length) {
      // Nothing to insert: the key does what it always does (Enter sends "/..." as typed).
      if (picker.mode === "slash") closePicker();
      return false;
    }
    insert(picker.shown[picker.active]);
  } else if (event.key === "Escape") {
    const mode = picker.mode;
    closePicker();
    if (mode === "search") $("reply-input").focus();
  } else {
    return false;
  }
  event.preventDefault();
  event.stopPropagation();
  return true;
}

/** The reply box's keydown: the picker's keys first; true when it took the key. */
export function handleKey(event) {
  if (isShortcut(event)) {
    event.preventDefault();
    openPicker("search");
    return true;
  }
  return picker.mode === "slash" ? pickerKey(event) : false;
}

/** The reply box changed: "/" at its start opens (or filters) the picker. */
export function handleInput() {
  const value = $("reply-input").value;
  const slash = value.charAt(0) === "/" && value.indexOf("\n") < 0;
  if (slash && !(picker.open && picker.mode === "search")) {
    if (!picker.open) openPicker("slash");
    else filter();
  } else if (picker.open && picker.mode === "slash") {
    closePicker();
  }
}

function isShortcut(event) {
  return (event.ctrlKey || event.metaKey) && !event.altKey && String(event.key).toLowerCase() === "k";
}

$("canned-search").addEventListener("input", () => {
  picker.active = 0;
  filter();
});
$("canned-search").addEventListener("keydown", (event) => {
  if (isShortcut(event)) {
    event.preventDefault();
    return;
  }
  pickerKey(event);
});
$("canned-search").addEventListener("blur", () => {
  window.setTimeout(() => {
    if (picker.mode === "search" && document.activeElement !== $("canned-search")) closePicker();
  }, 150);
});
$("reply-input").addEventListener("blur", () => {
  window.setTimeout(() => {
    if (picker.mode === "slash" && document.activeElement !== $("reply-input")) closePicker();
  }, 150);
});
$("canned-open").addEventListener("click", () => {
  if (picker.open) closePicker();
  else openPicker("search");
});

// Ctrl+K / ⌘K anywhere in the ticket view opens the picker (the browser's own use of it is kept elsewhere).
document.addEventListener("keydown", (event) => {
  if (!isShortcut(event) || !ctx || !ctx.current() || $("reply-input").disabled) return;
  if (event.target === $("reply-input") || event.target === $("canned-search")) return;
  if ($("console-view").hidden) return;
  event.preventDefault();
  $("reply-input").focus();
  openPicker("search");
});

// ------------------------------------------------------------------ admin

function showError(text) {
  const node = $("canned-error");
  node.textContent = text || "";
  node.hidden = !text;
}

function resetForm() {
  $("canned-edit-id").value = "";
  $("canned-shortcut").value = "";
  $("canned-title").value = "";
  $("canned-text").value = "";
  $("canned-save").textContent = t("Add canned reply");
  $("canned-save").setAttribute("data-i18n", "Add canned reply");
  $("canned-save").removeAttribute("data-i18n-src");
  $("canned-cancel").hidden = true;
}

function edit(reply) {
  $("canned-edit-id").value = String(reply.id);
  $("canned-shortcut").value = reply.shortcut;
  $("canned-language").value = reply.language;
  $("canned-title").value = reply.title;
  $("canned-text").value = reply.text;
  $("canned-save").textContent = t("Save changes");
  $("canned-save").setAttribute("data-i18n", "Save changes");
  $("canned-save").removeAttribute("data-i18n-src");
  $("canned-cancel").hidden = false;
  $("canned-shortcut").focus();
}

/** The admin view's table of replies (both languages). */
export function renderAdminList() {
  const body = $("canned-admin-list");
  clear(body);
  replies.slice().sort((a, b) => String(a.language).localeCompare(String(b.language)) ||
    String(a.shortcut).localeCompare(String(b.shortcut))).forEach((reply) => {
    const tr = el("tr");
    tr.setAttribute("data-testid", "canned-row");
    tr.setAttribute("data-shortcut", String(reply.shortcut));
    tr.setAttribute("data-language", String(reply.language));
    tr.appendChild(el("td", "mono", "/" + reply.shortcut));
    tr.appendChild(el("td", null, reply.language === "zh" ? "中文" : "English"));
    tr.appendChild(el("td", null, reply.title));
    const text = el("td", "admin-table__text", reply.text);
    if (reply.updated_by || reply.updated_at) {
      text.title = t("Last changed by {name}, {time}",
        { name: reply.updated_by || "?", time: formatTime(reply.updated_at) });
    }
    tr.appendChild(text);
    const actions = el("td", "admin-table__actions");
    const editButton = el("button", "secondary", t("Edit"));
    editButton.type = "button";
    editButton.setAttribute("data-action", "edit");
    editButton.setAttribute("aria-label", t("Edit /{shortcut} ({language})",
      { shortcut: reply.shortcut, language: reply.language }));
    editButton.addEventListener("click", () => edit(reply));
    const remove = el("button", "secondary danger", t("Delete"));
    remove.type = "button";
    remove.setAttribute("data-action", "delete");
    remove.setAttribute("aria-label", t("Delete /{shortcut} ({language})",
      { shortcut: reply.shortcut, language: reply.language }));
    // Two steps, no browser dialog: the button asks to be pressed again.
    let armed = null;
    remove.addEventListener("click", () => {
      if (!armed) {
        remove.textContent = t("Press again to delete");
        remove.setAttribute("data-armed", "true");
        armed = window.setTimeout(() => {
          armed = null;
          remove.textContent = t("Delete");
          remove.removeAttribute("data-armed");
        }, 4000);
        return;
      }
      window.clearTimeout(armed);
      remove.disabled = true;
      ctx.api("DELETE", "/canned-replies/" + enc(reply.id)).then(() => {
        showError("");
        if ($("canned-edit-id").value === String(reply.id)) resetForm();
        return load(true);
      }, (error) => {
        remove.disabled = false;
        showError(t("Not deleted: {why}", { why: error.message }));
      });
    });
    actions.appendChild(editButton);
    actions.appendChild(remove);
    tr.appendChild(actions);
    body.appendChild(tr);
  });
  if (!replies.length) {
    const tr = el("tr");
    const td = el("td", "muted", t("No canned replies yet."));
    td.colSpan = 5;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

/** The admin view's tab was opened: the list fetched afresh. */
export function showAdmin() {
  return load(true);
}

$("canned-cancel").addEventListener("click", resetForm);

$("canned-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!ctx) return;
  const id = $("canned-edit-id").value;
  const body = {
    shortcut: trim($("canned-shortcut").value).toLowerCase(),
    language: $("canned-language").value,
    title: trim($("canned-title").value),
    text: trim($("canned-text").value)
  };
  if (!/^[a-z0-9-]{2,32}$/.test(body.shortcut)) {
    showError(t("A shortcut is 2 to 32 characters: a-z, 0-9 and -."));
    return;
  }
  if (!body.title || !body.text) {
    showError(t("A canned reply needs a title and a text."));
    return;
  }
  $("canned-save").disabled = true;
  const call = id ? ctx.api("PUT", "/canned-replies/" + enc(id), body) : ctx.api("POST", "/canned-replies", body);
  call.then(() => {
    $("canned-save").disabled = false;
    showError("");
    resetForm();
    return load(true);
  }, (error) => {
    $("canned-save").disabled = false;
    showError(error.status === 409
      ? t("The shortcut /{shortcut} already exists in this language.", { shortcut: body.shortcut })
      : t("Not saved: {why}", { why: error.message }));
  });
});

/** For tests: whether the picker is open, and in which mode. */
export function pickerState() {
  return { open: picker.open, mode: picker.mode, shown: picker.shown.map((r) => r.shortcut) };
}
