/*
 * The agent's workspace around the transcript: the details sidebar (copy
 * buttons and explorer links on the facts, the user's rating, tags, internal
 * notes, the user's other tickets), the assignment actions (unassign,
 * transfer, close) and the search box.
 *
 * Internal notes are for agents only: the service never sends them to the
 * user, and they are shown apart from the transcript, marked as such.
 */
import { t, formatTime } from "./i18n.js";
import { $, el, clear, trim, copyButton } from "./dom.js";
import { enc, query } from "./api.js";
import { explorerLinks } from "./explorers.js";

const SIDEBAR_KEY = "handoff-console-details";
const TAG_RE = /^[a-z0-9_\-\u3400-\u9fff\uf900-\ufaff]{1,32}$/;
const MAX_TAGS = 10;

let ctx = null;
let agents = []; // the active agents, for "Transfer to"
let tagsInUse = [];
let searchSeq = 0;

export function start(context) {
  ctx = context;
  loadTagSuggestions();
  setSidebar(sidebarWanted());
}

export function stop() {
  ctx = null;
  agents = [];
  clearSearch();
  closeTransfer();
}

// ------------------------------------------------------------------ facts

const FACT_COPY = {
  tx_hash: "the transaction hash",
  address: "the wallet address",
  email: "the e-mail address",
  conversation: "the conversation id",
  app_user: "the app user id"
};

/** The networks the ticket names (its facts), for the explorer links. */
function networksOf(tk) {
  const facts = (tk.summary && tk.summary.facts) || {};
  const named = Array.isArray(facts.network) ? facts.network.map(String) : [];
  return named;
}

/**
 * Copy buttons and explorer links for a fact of the summary card (a
 * ``<dd class="fact-tools">`` under the value), or null for other facts.
 */
export function factTools(field, value, tk) {
  if (!FACT_COPY[field] || !value || value === "—") return null;
  const dd = el("dd", "fact-tools");
  dd.setAttribute("data-tools-for", field);
  // A fact found several times in the chat comes as "a, b".
  const values = field === "tx_hash" || field === "address" ? value.split(/,\s*/) : [value];
  values.filter(Boolean).forEach((one) => {
    const row = el("span", "fact-tools__row");
    if (values.length > 1) row.appendChild(el("span", "fact-tools__value mono", shorten(one)));
    row.appendChild(copyButton(one, t(FACT_COPY[field])));
    if (field === "tx_hash" || field === "address") {
      explorerLinks(field === "tx_hash" ? "tx" : "address", one, networksOf(tk), tk.chain)
        .forEach((link) => {
          const a = el("a", "explorer-link", link.name);
          a.href = link.url;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          a.setAttribute("data-testid", "explorer-link");
          a.setAttribute("data-network", link.network);
          a.title = t("Open on {explorer} ({network}), in a new tab", { explorer: link.name, network: link.network });
          row.appendChild(a);
        });
    }
    dd.appendChild(row);
  });
  return dd;
}

function shorten(value) {
  return value.length > 18 ? value.slice(0, 10) + "…" + value.slice(-6) : value;
}

// ---------------------------------------------------------------- sidebar

function sidebarWanted() {
  try {
    return window.localStorage.getItem(SIDEBAR_KEY) !== "collapsed";
  } catch (err) {
    return true;
  }
}

function setSidebar(open) {
  const pane = $("details-pane");
  const toggle = $("details-toggle");
  pane.setAttribute("data-collapsed", open ? "false" : "true");
  document.body.setAttribute("data-details", open ? "open" : "collapsed");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  try {
    window.localStorage.setItem(SIDEBAR_KEY, open ? "open" : "collapsed");
  } catch (err) {
    /* this page only */
  }
  showPane();
}

/** The sidebar shows while a ticket is open and the agent has not collapsed it. */
function showPane() {
  const view = ctx && ctx.current();
  const open = $("details-toggle").getAttribute("aria-expanded") === "true";
  $("details-pane").hidden = !(view && open);
}

$("details-toggle").addEventListener("click", () => {
  setSidebar($("details-toggle").getAttribute("aria-expanded") !== "true");
});

/** Fill the sidebar from the open ticket (called on every fetch of it). */
export function renderSidebar(view) {
  const tk = view.ticket;
  showPane();
  renderCsat(tk);
  renderTags(view);
  renderNotes(view, tk.notes);
  renderRelated(tk.related);
}

function renderCsat(tk) {
  const box = $("ticket-csat");
  clear(box);
  const score = Number(tk.csat);
  box.setAttribute("data-csat", score >= 1 && score <= 5 ? String(score) : "");
  if (!(score >= 1 && score <= 5)) {
    box.appendChild(el("span", "muted",
      tk.status === "resolved" || tk.status === "closed" ? t("Not rated yet") : t("Asked once the ticket is resolved")));
    return;
  }
  const stars = el("span", "csat__stars", "★★★★★".slice(0, score) + "☆☆☆☆☆".slice(0, 5 - score));
  stars.setAttribute("aria-hidden", "true");
  box.appendChild(stars);
  box.appendChild(el("span", "csat__text", t("{n} of 5", { n: score })));
}

// ------------------------------------------------------------------- tags

function renderTags(view) {
  const list = $("tags-list");
  clear(list);
  const tags = Array.isArray(view.ticket.tags) ? view.ticket.tags.map(String) : [];
  if (!tags.length) list.appendChild(el("li", "muted tags__none", t("No tags")));
  tags.forEach((tag) => {
    const li = el("li", "tag");
    li.setAttribute("data-testid", "tag");
    li.setAttribute("data-tag", tag);
    li.appendChild(el("span", "tag__name", tag));
    const remove = el("button", "tag__remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", t("Remove the tag {tag}", { tag: tag }));
    remove.title = t("Remove the tag {tag}", { tag: tag });
    remove.addEventListener("click", () => saveTags(view, tags.filter((x) => x !== tag)));
    li.appendChild(remove);
    list.appendChild(li);
  });
}

function showTagsError(text) {
  const node = $("tags-error");
  node.textContent = text || "";
  node.hidden = !text;
}

function saveTags(view, tags) {
  if (!ctx) return Promise.resolve();
  showTagsError("");
  return ctx.api("PUT", "/tickets/" + enc(view.ref) + "/tags", { tags: tags }).then((data) => {
    if (ctx && ctx.current() === view && view.ticket) {
      view.ticket.tags = (data && data.tags) || tags;
      renderTags(view);
    }
    loadTagSuggestions();
  }, (error) => {
    showTagsError(error.status === 400 || error.status === 422
      ? t("Tags are 1 to 32 lower-case letters, digits, - or _ (or Chinese), at most 10 per ticket.")
      : t("The tags were not saved: {why}", { why: error.message }));
  });
}

$("tags-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const view = ctx && ctx.current();
  if (!view || !view.ticket) return;
  const tag = trim($("tag-input").value).toLowerCase();
  if (!tag) return;
  const tags = Array.isArray(view.ticket.tags) ? view.ticket.tags.slice() : [];
  if (!TAG_RE.test(tag)) {
    showTagsError(t("Tags are 1 to 32 lower-case letters, digits, - or _ (or Chinese), at most 10 per ticket."));
    return;
  }
  if (tags.indexOf(tag) >= 0) {
    $("tag-input").value = "";
    return;
  }
  if (tags.length >= MAX_TAGS) {
    showTagsError(t("At most {n} tags per ticket.", { n: MAX_TAGS }));
    return;
  }
  tags.push(tag);
  saveTags(view, tags).then(() => {
    $("tag-input").value = "";
  });
});

function loadTagSuggestions() {
  if (!ctx) return;
  ctx.api("GET", "/tags").then((data) => {
    tagsInUse = (data && Array.isArray(data.tags) ? data.tags : []).map((x) => String(x.tag || x));
    const list = $("tag-suggestions");
    clear(list);
    tagsInUse.forEach((tag) => {
      const option = el("option");
      option.value = tag;
      list.appendChild(option);
    });
    // The queue's tag filter: the tags in use (and the one chosen, even if no longer used).
    const filter = $("filter-tag");
    const chosen = filter.value;
    while (filter.options.length > 1) filter.remove(1);
    tagsInUse.concat(chosen && tagsInUse.indexOf(chosen) < 0 ? [chosen] : []).forEach((tag) => {
      const option = el("option", null, tag);
      option.value = tag;
      filter.appendChild(option);
    });
    filter.value = chosen;
  }, () => null);
}

// ------------------------------------------------------------------ notes

function renderNotes(view, notes) {
  if (Array.isArray(notes)) view.notes = notes;
  if (!view.notes) {
    view.notes = [];
    loadNotes(view);
  }
  const list = $("notes-list");
  clear(list);
  if (!view.notes.length) list.appendChild(el("li", "muted notes__none", t("No notes yet.")));
  view.notes.forEach((note) => {
    const li = el("li", "note");
    li.setAttribute("data-testid", "note");
    li.setAttribute("data-id", String(note.id));
    const meta = el("div", "note__meta");
    meta.appendChild(el("span", "note__author", note.author || ""));
    meta.appendChild(el("time", null, formatTime(note.created_at)));
    li.appendChild(meta);
    li.appendChild(el("div", "note__text", note.text || ""));
    list.appendChild(li);
  });
}

function loadNotes(view) {
  if (!ctx) return;
  ctx.api("GET", "/tickets/" + enc(view.ref) + "/notes").then((data) => {
    if (ctx && ctx.current() === view) renderNotes(view, (data && data.notes) || []);
  }, () => null);
}

function showNotesError(text) {
  const node = $("notes-error");
  node.textContent = text || "";
  node.hidden = !text;
}

$("note-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const view = ctx && ctx.current();
  const input = $("note-input");
  const text = trim(input.value);
  if (!view || !text) return;
  $("note-add").disabled = true;
  showNotesError("");
  ctx.api("POST", "/tickets/" + enc(view.ref) + "/notes", { text: text }).then((note) => {
    $("note-add").disabled = false;
    if (trim(input.value) === text) input.value = "";
    if (ctx && ctx.current() === view && note) {
      view.notes = (view.notes || []).concat([note]);
      renderNotes(view);
    }
  }, (error) => {
    $("note-add").disabled = false;
    showNotesError(t("The note was not saved: {why}", { why: error.message }));
  });
});

$("note-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    $("note-form").requestSubmit();
  }
});

// ---------------------------------------------------------------- related

/** One line for a ticket in a list: reference, status, title, when. */
function briefButton(ticket, testid) {
  const button = el("button", "brief");
  button.type = "button";
  button.setAttribute("data-testid", testid);
  button.setAttribute("data-ref", String(ticket.ref));
  const top = el("span", "brief__top");
  top.appendChild(el("span", "brief__ref", ticket.ref));
  const status = el("span", "badge", ctx ? ctx.label("status", ticket.status) : ticket.status);
  status.setAttribute("data-status", ticket.status || "");
  top.appendChild(status);
  if (ticket.priority) {
    const priority = el("span", "badge", ctx ? ctx.label("priority", ticket.priority) : ticket.priority);
    priority.setAttribute("data-priority", ticket.priority);
    top.appendChild(priority);
  }
  button.appendChild(top);
  button.appendChild(el("span", "brief__title", ticket.title || t("(no title)")));
  button.appendChild(el("span", "brief__meta muted", formatTime(ticket.created_at)));
  button.addEventListener("click", () => {
    if (ctx) ctx.openTicket(String(ticket.ref));
  });
  return button;
}

function renderRelated(related) {
  const list = $("related-list");
  clear(list);
  const items = Array.isArray(related) ? related : [];
  if (!items.length) {
    list.appendChild(el("li", "muted", t("No other tickets.")));
    return;
  }
  items.forEach((ticket) => {
    const li = el("li");
    li.appendChild(briefButton(ticket, "related-ticket"));
    list.appendChild(li);
  });
}

// ---------------------------------------------------------------- actions

/** Show the assignment actions the agent may take on the open ticket. */
export function renderActions(view, mine, admin) {
  const tk = view.ticket;
  const assigned = tk.status === "assigned";
  const mover = assigned && (mine || admin);
  $("unassign").hidden = !mover;
  $("unassign").disabled = !mover;
  $("transfer").hidden = !mover;
  $("transfer").disabled = !mover;
  const closable = tk.status === "resolved" && (tk.assignee === (ctx && ctx.me() ? ctx.me().name : "") || admin);
  $("close-ticket").hidden = !closable;
  $("close-ticket").disabled = !closable;
  if (!mover) closeTransfer();
}

function act(button, path, body) {
  const view = ctx && ctx.current();
  if (!view) return Promise.resolve(null);
  button.disabled = true;
  return ctx.api("POST", "/tickets/" + enc(view.ref) + path, body).then((data) => {
    button.disabled = false;
    if (ctx && ctx.current() === view) {
      ctx.hideNotice();
      ctx.refreshTicket();
      ctx.refreshQueue();
    }
    return data;
  }, (error) => {
    button.disabled = false;
    if (ctx && ctx.current() === view) {
      ctx.showNotice(error.status === 409 ? ctx.conflictText(error)
        : error.status === 403 ? t("Only the assignee or an admin can do this.") : error.message, "conflict");
      ctx.refreshTicket();
    }
    return null;
  });
}

$("unassign").addEventListener("click", () => {
  act($("unassign"), "/unassign");
});

$("close-ticket").addEventListener("click", () => {
  act($("close-ticket"), "/close");
});

function closeTransfer() {
  $("transfer-form").hidden = true;
  $("transfer").setAttribute("aria-expanded", "false");
}

$("transfer").addEventListener("click", () => {
  if (!$("transfer-form").hidden) {
    closeTransfer();
    return;
  }
  const select = $("transfer-agent");
  clear(select);
  select.appendChild(el("option", null, t("Loading…")));
  $("transfer-form").hidden = false;
  $("transfer").setAttribute("aria-expanded", "true");
  ctx.api("GET", "/agents").then((data) => {
    const me = ctx.me() ? ctx.me().name : "";
    const assignee = ctx.current() && ctx.current().ticket ? ctx.current().ticket.assignee : "";
    agents = ((data && data.agents) || []).filter((a) => a.active !== false && a.name !== assignee);
    clear(select);
    if (!agents.length) {
      select.appendChild(el("option", null, t("No other active agent")));
      $("transfer-confirm").disabled = true;
      return;
    }
    $("transfer-confirm").disabled = false;
    agents.forEach((agent) => {
      const option = el("option", null, agent.name + (agent.name === me ? " (" + t("me") + ")" : ""));
      option.value = agent.name;
      select.appendChild(option);
    });
    select.focus();
  }, (error) => {
    clear(select);
    select.appendChild(el("option", null, t("Could not load the agents: {why}", { why: error.message })));
  });
});

$("transfer-cancel").addEventListener("click", closeTransfer);
$("transfer-form").addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  event.preventDefault();
  closeTransfer();
  $("transfer").focus();
});

$("transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("transfer-agent").value;
  if (!name || !agents.some((a) => a.name === name)) return;
  act($("transfer-confirm"), "/transfer", { agent: name }).then((data) => {
    if (data) closeTransfer();
  });
});

// ----------------------------------------------------------------- search

function clearSearch() {
  searchSeq++;
  $("search-box").hidden = true;
  clear($("search-results"));
  $("search-summary").textContent = "";
}

$("search-clear").addEventListener("click", () => {
  clearSearch();
  $("search-input").value = "";
  $("search-input").focus();
});

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!ctx) return;
  const q = trim($("search-input").value);
  const box = $("search-box");
  const list = $("search-results");
  if (!q) {
    clearSearch();
    return;
  }
  box.hidden = false;
  clear(list);
  if (q.length < 3) {
    $("search-summary").textContent = t("Type at least 3 characters.");
    return;
  }
  const seq = ++searchSeq;
  $("search-summary").textContent = t("Searching…");
  ctx.api("GET", "/search" + query({ q: q })).then((data) => {
    if (seq !== searchSeq) return;
    const found = (data && data.tickets) || [];
    $("search-summary").textContent = found.length
      ? t("{n} found for “{q}”", { n: found.length, q: q })
      : t("Nothing found for “{q}”", { q: q });
    found.forEach((ticket) => {
      const li = el("li");
      li.appendChild(briefButton(ticket, "search-result"));
      list.appendChild(li);
    });
  }, (error) => {
    if (seq !== searchSeq) return;
    $("search-summary").textContent = t("Search failed: {why}", { why: error.message });
  });
});
