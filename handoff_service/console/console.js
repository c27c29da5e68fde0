/*
 * Agent console of the handoff service: the core (sign-in, queue, ticket,
 * transcript, reply, screenshots). A native ES module; the other modules
 * each do one job and are wired in here through a small context object:
 *
 *   i18n.js       the console's words in English and Chinese, dates per locale
 *   api.js        JSON calls to /api with the agent's token
 *   dom.js        DOM helpers (text only), copy buttons
 *   explorers.js  block-explorer links per network
 *   workspace.js  the details sidebar (facts, related tickets, rating, tags,
 *                 internal notes), assignment actions, search
 *   canned.js     canned replies: the picker in the reply box, and their admin
 *   attention.js  tab title, sound and desktop alerts, the SLA targets
 *   admin.js      the admin view: live counts, agents
 *
 * Talks to the JSON API under /api with the agent's bearer token (kept in
 * sessionStorage, so it is gone when the tab closes). Live updates by polling:
 * /api/events every half second (the queue is fetched again when a ticket
 * changed, so a new urgent ticket shows within a second, and in full every few
 * seconds in case a change was committed out of order), and the open ticket's
 * /messages?after_id= every half second.
 *
 * Every piece of text that comes from the API (user, bot and agent messages,
 * titles, summary facts, names, the text read from screenshots) is put into the
 * page with textContent, never as HTML.
 *
 * Screenshots are served to agents only: an <img src> cannot send the bearer
 * token, so each image is fetched with it and shown from a blob: URL (a data:
 * URL where the page's policy refuses blob: images). The URLs of a ticket are
 * revoked when another ticket is opened.
 */
import {
  t, formatTime, formatMinutes, orList, andList, setLocale, getLocale, initialLocale,
  isLocale, onLocale, applyStatic
} from "./i18n.js";
import { API, ApiError, errorOf, networkError, newKey, request } from "./api.js";
import { $, el, clear, trim } from "./dom.js";
import * as workspace from "./workspace.js";
import * as canned from "./canned.js";
import * as attention from "./attention.js";
import * as admin from "./admin.js";

var TOKEN_KEY = "handoff-console-token";
var EVENTS_EVERY_MS = 500;
var MESSAGES_EVERY_MS = 500;
var QUEUE_RESYNC_MS = 5000;
// Activity on tickets already shown refetches the queue and the open ticket
// at most this often, which keeps an agent well inside the service's
// per-agent allowance; a new urgent ticket is fetched at once.
var REFETCH_GAP_MS = 1000;
var MESSAGES_RESYNC_MS = 10000;
var EVENTS_PAGE = 100;
var MAX_QUEUE_PAGES = 10;
var TYPING_EVERY_MS = 3000; // the user is told "the agent is typing" at most this often
var PRIORITY_RANK = { urgent: 0, high: 1, normal: 2 };
var THUMB_MAX = 240; // px: a screenshot in the transcript
var CARD_THUMB_MAX = 96; // px: on the summary card
var SHOT_TEXT_PREVIEW = 60; // characters of the text read from a screenshot, collapsed
// The service's text for a line that is only an image: the thumbnail stands instead.
var IMAGE_ONLY_TEXTS = { "[screenshot]": true, "[image]": true };
// Until /api/attachments/limits answers (the service's values replace these).
var DEFAULT_IMAGE_LIMITS = {
  max_bytes: 5 * 1024 * 1024,
  types: ["image/png", "image/jpeg", "image/webp"]
};

// The categories, escalation reasons and first-reply targets are the
// service's (config.js, served with this page), so a category added there or
// a target changed in its settings needs no edit here.
var CONFIG = window.CONSOLE_CONFIG || {};
var CATEGORIES = CONFIG.categories || [];

function labelsOf(choices) {
  var labels = {};
  (choices || []).forEach(function (choice) {
    labels[choice.value] = choice.label;
  });
  return labels;
}

// Values as words; each goes through t() when shown.
var LABELS = {
  category: labelsOf(CATEGORIES),
  reason: labelsOf(CONFIG.escalationReasons),
  language: { zh: "中文 (zh)", en: "English (en)" },
  author: { user: "User", bot: "Assistant", agent: "Agent", system: "System" },
  priority: { urgent: "urgent", high: "high", normal: "normal" },
  status: { open: "open", assigned: "assigned", resolved: "resolved", closed: "closed" },
  // What the service found in a refused image, in words.
  secret: {
    recovery_phrase: "a recovery phrase (seed words)",
    seed_phrase: "a recovery phrase (seed words)",
    mnemonic: "a recovery phrase (seed words)",
    private_key: "a private key",
    keystore: "a keystore file",
    password: "a password"
  },
  imageType: { "image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF" }
};

// ------------------------------------------------------------------ helpers

function label(kind, value) {
  if (value == null || value === "") return "—";
  return t((LABELS[kind] && LABELS[kind][value]) || String(value));
}

/** "812 B", "14 KB", "4.8 MB". */
function formatBytes(bytes) {
  var n = Number(bytes) || 0;
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
  return (Math.round(n / 104857.6) / 10) + " MB";
}

function formatDuration(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  var h = Math.floor(seconds / 3600);
  var m = Math.floor((seconds % 3600) / 60);
  var s = seconds % 60;
  var mm = (h && m < 10 ? "0" : "") + m;
  return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
}

var storage = {
  get: function () {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (err) {
      return null;
    }
  },
  set: function (token) {
    try {
      window.sessionStorage.setItem(TOKEN_KEY, token);
    } catch (err) {
      /* storage disabled: signed in for this page only */
    }
  },
  remove: function () {
    try {
      window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (err) {
      /* ignore */
    }
  }
};

// -------------------------------------------------------------------- state

var session = null; // {token, name, alive} while signed in
var tickets = []; // the queue as last fetched
var ticketsFetchedAt = 0; // Date.now() of that fetch (the SLA clocks run from it)
var queueSeq = 0;
var queueItems = {}; // ref -> element
var current = null; // the open ticket: {ref, ticket, fetchedAt, messages: {id: msg}, afterId, …}
var ticketSeq = 0;
var imageLimits = { max_bytes: DEFAULT_IMAGE_LIMITS.max_bytes,
  types: DEFAULT_IMAGE_LIMITS.types.slice(), known: false };
// Set once a blob: image was refused and its data: copy shown (the page's policy has no blob:).
var blobImagesRefused = false;

function api(method, path, body, key) {
  var mine = session;
  if (!mine) return Promise.reject(new ApiError(0, "signed_out", "signed out"));
  var token = mine.token;
  return tracked(mine, request(token, method, path, body, key), token);
}

/**
 * ``promise`` (a call made with ``mine``'s token), its outcome shown as for every call.
 * A 401 signs out, unless the call went with a token the agent has since rotated.
 */
function tracked(mine, promise, token) {
  return promise.then(
    function (data) {
      if (session === mine) setLive(true);
      return data;
    },
    function (error) {
      if (session === mine) {
        if (error.status === 401 && (!token || token === mine.token)) {
          signOut(t("Your token is no longer accepted (revoked?). Sign in again."));
        } else if (error.status === 0) {
          setLive(false);
        }
      }
      throw error;
    }
  );
}

/** GET ``path`` (an image) with the agent's token; resolves to the body as a Blob. */
function apiBlob(path) {
  var mine = session;
  if (!mine) return Promise.reject(new ApiError(0, "signed_out", "signed out"));
  var init = {
    method: "GET",
    headers: { Authorization: "Bearer " + mine.token },
    // Users' screenshots are not written to the browser's disk cache.
    cache: "no-store",
    credentials: "omit"
  };
  return tracked(mine, fetch(path, init).then(
    function (response) {
      if (response.ok) return response.blob();
      return response.text().then(function (text) {
        throw errorOf(response.status, text);
      });
    },
    function () {
      throw networkError();
    }
  ));
}

/**
 * POST ``file``'s bytes to ``path`` with the agent's token; resolves to the JSON answer.
 * An XMLHttpRequest, for its upload progress (``progress(fraction)``).
 */
function apiUpload(path, file, progress) {
  var mine = session;
  if (!mine) return Promise.reject(new ApiError(0, "signed_out", "signed out"));
  return tracked(mine, new Promise(function (resolve, reject) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", "Bearer " + mine.token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && event.total) progress(event.loaded / event.total);
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
        } catch (err) {
          reject(new ApiError(xhr.status, "bad_response", "the service's answer is not JSON"));
        }
      } else {
        reject(errorOf(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener("error", function () {
      reject(new ApiError(0, "network", "cannot reach the handoff service"));
    });
    xhr.addEventListener("abort", function () {
      reject(new ApiError(0, "network", "the upload was interrupted"));
    });
    xhr.send(file);
  }));
}

function setLive(online) {
  var status = $("console-status");
  status.hidden = false;
  status.setAttribute("data-state", online ? "online" : "offline");
  status.textContent = online ? t("Live") : t("Service unreachable, retrying…");
}

/** ``run`` at most once per ``gap`` ms; a call inside the gap runs once at its end, ``now`` at once. */
function throttle(run, gap) {
  var last = 0;
  var timer = null;
  function go() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    last = Date.now();
    return run();
  }
  return function (now) {
    if (now || Date.now() - last >= gap) return go();
    if (!timer) timer = window.setTimeout(go, last + gap - Date.now());
    return null;
  };
}

/** Run ``step`` (returning a promise) every ``delay`` ms while ``owner`` is signed in. */
function every(owner, delay, step) {
  function tick() {
    if (session !== owner) return;
    var done = function () {
      if (session === owner) window.setTimeout(tick, delay);
    };
    var result;
    try {
      result = step();
    } catch (err) {
      result = null;
    }
    if (result && typeof result.then === "function") result.then(done, done);
    else done();
  }
  window.setTimeout(tick, delay);
}

// ------------------------------------------------------------------ sign in

function showSignIn(message) {
  $("console-view").hidden = true;
  $("agent-box").hidden = true;
  $("console-status").hidden = true;
  $("sign-in-view").hidden = false;
  var error = $("sign-in-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("token-input").focus();
}

function signInMessage(error) {
  if (error.status === 401) {
    return t("Wrong token: this agent token is unknown or has been revoked.");
  }
  if (error.status === 403) {
    return t("That is the assistant's bot token, not an agent token.");
  }
  if (error.status === 0) return t("Cannot reach the handoff service. Try again in a moment.");
  return t("Sign-in failed: {why}", { why: error.message });
}

function signIn(token, fromStorage) {
  var button = $("sign-in");
  button.disabled = true;
  return request(token, "GET", "/me").then(
    function (me) {
      button.disabled = false;
      storage.set(token);
      $("token-input").value = "";
      start(token, me || {});
    },
    function (error) {
      button.disabled = false;
      if (error.status === 401 || error.status === 403) storage.remove();
      showSignIn(fromStorage && error.status === 401
        ? t("Your saved token is no longer accepted. Sign in again.")
        : signInMessage(error));
    }
  );
}

function signOut(message) {
  session = null;
  admin.stop();
  attention.stop();
  canned.stop();
  workspace.stop();
  document.body.removeAttribute("data-role");
  document.querySelectorAll("[data-admin-only]").forEach(function (node) {
    node.hidden = true;
  });
  closeTicketView(); // revokes the open ticket's image URLs
  tickets = [];
  queueItems = {};
  clear($("queue"));
  storage.remove();
  showSignIn(message);
}

function isAdmin() {
  return !!session && session.role === "admin";
}

function start(token, me) {
  var name = me.name ? String(me.name) : "";
  var mine = { token: token, name: name, role: me.role === "admin" ? "admin" : "agent", cursor: null };
  session = mine;
  $("agent-name").textContent = name;
  $("agent-role").textContent = t(mine.role === "admin" ? "admin" : "agent");
  $("agent-role").setAttribute("data-i18n", mine.role === "admin" ? "admin" : "agent");
  $("agent-role").removeAttribute("data-i18n-src");
  document.body.setAttribute("data-role", mine.role);
  // Admin-only controls are shown to admins only (the service refuses the others anyway).
  document.querySelectorAll("[data-admin-only]").forEach(function (node) {
    node.hidden = mine.role !== "admin";
  });
  // The language the agent chose on any browser wins; else the one chosen here is saved.
  if (isLocale(me.console_language)) {
    setLocale(me.console_language);
    $("console-language").value = me.console_language;
  } else {
    api("PATCH", "/me", { console_language: getLocale() }).then(null, function () {
      return null;
    });
  }
  workspace.start(ctx);
  canned.start(ctx);
  attention.start(ctx);
  admin.start(ctx);
  $("agent-box").hidden = false;
  $("sign-in-view").hidden = true;
  $("sign-in-error").hidden = true;
  $("console-view").hidden = false;
  closeTicketView();
  refreshQueue();
  loadImageLimits();
  pollEvents(mine);
  every(mine, EVENTS_EVERY_MS, function () {
    return pollEvents(mine);
  });
  every(mine, QUEUE_RESYNC_MS, refreshQueue);
  every(mine, MESSAGES_EVERY_MS, pollMessages);
  every(mine, MESSAGES_RESYNC_MS, resyncMessages);
}

// ------------------------------------------------------------------- events

var queueSoon = throttle(function () { return refreshQueue(); }, REFETCH_GAP_MS);
var ticketSoon = throttle(function () { return refreshTicket(); }, REFETCH_GAP_MS);

/** Whether ``change`` is a ticket the queue, as filtered, should show but does not yet. */
function missingFromQueue(change) {
  var f = filters();
  var status = f.status === "active" ? change.status === "open" || change.status === "assigned"
    : f.status === "all" || f.status === change.status;
  // A change does not say the ticket's tags: with a tag filter the next fetch tells.
  if (!status || f.tag || (f.category && f.category !== change.category) ||
      (f.language && f.language !== change.language)) {
    return false;
  }
  return !tickets.some(function (x) { return x.ref === change.ref && x.status === change.status; });
}

function pollEvents(owner) {
  var path = "/events";
  if (owner.cursor) path += "?after=" + encodeURIComponent(owner.cursor);
  return api("GET", path).then(function (data) {
    if (session !== owner || !data) return null;
    var changes = data.changes || [];
    if (data.cursor) owner.cursor = data.cursor;
    if (!changes.length) return null;
    queueSoon(changes.some(function (c) {
      return c.priority === "urgent" && missingFromQueue(c);
    }));
    if (current && changes.some(function (c) { return c.ref === current.ref; })) {
      ticketSoon(false);
    }
    // A full page means there is more to read: catch up at once.
    return changes.length >= EVENTS_PAGE ? pollEvents(owner) : null;
  }, function () {
    return null;
  });
}

// -------------------------------------------------------------------- queue

function filters() {
  return {
    status: $("filter-status").value,
    category: $("filter-category").value,
    language: $("filter-language").value,
    tag: $("filter-tag").value
  };
}

function queuePath(status, f, cursor) {
  var params = new URLSearchParams();
  if (status) params.set("status", status);
  if (f.category) params.set("category", f.category);
  if (f.language) params.set("language", f.language);
  if (f.tag) params.set("tag", f.tag);
  params.set("limit", "100");
  if (cursor) params.set("cursor", cursor);
  return "/tickets?" + params.toString();
}

function fetchAll(status, f) {
  var collected = [];
  function page(cursor, left) {
    return api("GET", queuePath(status, f, cursor)).then(function (data) {
      collected = collected.concat((data && data.tickets) || []);
      if (data && data.next_cursor && left > 1) return page(data.next_cursor, left - 1);
      return collected;
    });
  }
  return page(null, MAX_QUEUE_PAGES);
}

function byQueueOrder(a, b) {
  var ra = PRIORITY_RANK[a.priority] != null ? PRIORITY_RANK[a.priority] : 9;
  var rb = PRIORITY_RANK[b.priority] != null ? PRIORITY_RANK[b.priority] : 9;
  if (ra !== rb) return ra - rb;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0;
}

function refreshQueue() {
  if (!session) return Promise.resolve();
  var seq = ++queueSeq;
  var f = filters();
  var statuses = f.status === "active" ? ["open", "assigned"]
    : f.status === "all" ? [""] : [f.status];
  return Promise.all(statuses.map(function (status) {
    return fetchAll(status, f);
  })).then(function (lists) {
    if (seq !== queueSeq) return; // a newer fetch (other filters) is on its way
    var merged = [].concat.apply([], lists);
    // The service sorts each list by priority then age; merging keeps that order.
    merged.sort(byQueueOrder);
    tickets = merged;
    ticketsFetchedAt = Date.now();
    renderQueue();
    attention.onQueue(tickets, f);
  }, function () {
    /* shown by the status indicator; the next poll tries again */
  });
}

function renderQueue() {
  var list = $("queue");
  var seen = {};
  tickets.forEach(function (ticket, index) {
    seen[ticket.ref] = true;
    var item = queueItems[ticket.ref];
    var key = JSON.stringify([ticket.status, ticket.priority, ticket.title, ticket.category,
      ticket.language, ticket.assignee, ticket.updated_at]);
    if (!item) {
      item = buildQueueItem(ticket);
      queueItems[ticket.ref] = item;
    } else if (item.getAttribute("data-key") !== key) {
      fillQueueItem(item, ticket);
    }
    item.setAttribute("data-key", key);
    // Move a node only when it is out of place: items being clicked stay put.
    var li = item.parentNode;
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
  });
  Object.keys(queueItems).forEach(function (ref) {
    if (!seen[ref]) {
      var li = queueItems[ref].parentNode;
      if (li.parentNode) li.parentNode.removeChild(li);
      delete queueItems[ref];
    }
  });
  $("queue-empty").hidden = tickets.length > 0;
  $("queue-count").textContent = tickets.length ? "(" + tickets.length + ")" : "";
  markSelected();
  tickClocks();
}

function buildQueueItem(ticket) {
  var li = el("li");
  var button = el("button", "queue-item");
  button.type = "button";
  button.setAttribute("data-testid", "queue-item");
  button.setAttribute("data-ref", ticket.ref);
  button.addEventListener("click", function () {
    openTicket(ticket.ref);
  });
  li.appendChild(button);
  fillQueueItem(button, ticket);
  return button;
}

function fillQueueItem(button, ticket) {
  clear(button);
  button.setAttribute("data-priority", ticket.priority || "");
  button.setAttribute("data-status", ticket.status || "");
  var top = el("span", "queue-item__top");
  var ref = el("span", "queue-item__ref", ticket.ref);
  var priority = el("span", "badge", label("priority", ticket.priority));
  priority.setAttribute("data-priority", ticket.priority || "");
  var clock = el("span", "sla");
  clock.setAttribute("data-testid", "sla-clock");
  clock.setAttribute("data-ref", ticket.ref);
  top.appendChild(ref);
  top.appendChild(priority);
  top.appendChild(clock);
  button.appendChild(top);
  var due = el("span", "sla-due");
  due.setAttribute("data-testid", "sla-due");
  due.setAttribute("data-priority", ticket.priority || "");
  button.appendChild(due);
  button.appendChild(el("span", "queue-item__title", ticket.title || t("(no title)")));
  var meta = [label("category", ticket.category), label("status", ticket.status), ticket.language];
  if (ticket.assignee) meta.push("→ " + ticket.assignee);
  button.appendChild(el("span", "queue-item__meta", meta.join(" · ")));
}

function markSelected() {
  Object.keys(queueItems).forEach(function (ref) {
    queueItems[ref].setAttribute("aria-current", current && current.ref === ref ? "true" : "false");
  });
}

// ---------------------------------------------------------------- SLA clock

function clockRunning(ticket) {
  return !ticket.first_agent_reply_at && (ticket.status === "open" || ticket.status === "assigned");
}

function slaTarget(ticket) {
  return attention.slaSeconds(ticket.priority);
}

function setClock(node, ticket, fetchedAt) {
  var running = clockRunning(ticket);
  var base = Number(ticket.waiting_seconds) || 0;
  var seconds = running ? base + (Date.now() - fetchedAt) / 1000 : base;
  var target = slaTarget(ticket);
  node.textContent = formatDuration(seconds);
  node.setAttribute("data-seconds", String(Math.floor(seconds)));
  node.setAttribute("data-running", running ? "true" : "false");
  node.setAttribute("data-sla", seconds > target ? "breach" : seconds > target / 2 ? "warn" : "ok");
  node.title = running
    ? t("Waiting for a first agent reply (target {target})", { target: formatDuration(target) })
      : t("Time to the first agent reply");
  return seconds;
}

/** "first reply due in 12 min" / "overdue by 3 min", and how it went once replied. */
function setDue(node, ticket, seconds) {
  var target = slaTarget(ticket);
  var left = target - seconds;
  var state;
  var text;
  if (clockRunning(ticket)) {
    state = left > 0 ? "due" : "overdue";
    text = left > 0 ? t("first reply due in {span}", { span: formatMinutes(left, true) })
      : t("overdue by {span}", { span: formatMinutes(-left, false) });
  } else if (ticket.first_agent_reply_at) {
    state = left >= 0 ? "met" : "missed";
    text = left >= 0 ? t("first reply after {span}", { span: formatMinutes(seconds, false) })
      : t("first reply {span} late", { span: formatMinutes(-left, false) });
  } else {
    state = "none";
    text = t("no agent reply");
  }
  node.textContent = text;
  node.setAttribute("data-state", state);
  node.setAttribute("data-priority", ticket.priority || "");
  node.title = t("First-reply target for {priority} tickets: {target}",
      { priority: label("priority", ticket.priority || "normal"), target: formatMinutes(target, true) }) +
      (ticket.sla_due_at ? " " + t("(due {time})", { time: formatTime(ticket.sla_due_at) }) : "");
}

function tickClocks() {
  tickets.forEach(function (ticket) {
    var item = queueItems[ticket.ref];
    var clock = item && item.querySelector("[data-testid=sla-clock]");
    var due = item && item.querySelector("[data-testid=sla-due]");
    if (clock) {
      var seconds = setClock(clock, ticket, ticketsFetchedAt);
      if (due) setDue(due, ticket, seconds);
    }
  });
  if (current && current.ticket) {
    var shown = setClock($("ticket-sla"), current.ticket, current.fetchedAt);
    setDue($("ticket-sla-due"), current.ticket, shown);
    setResolution(current.ticket, shown);
  }
  attention.onClock(tickets, ticketsFetchedAt);
}

/** The head's clock label, and once resolved the time from creation to resolution. */
function setResolution(ticket, waited) {
  $("ticket-sla-label").textContent = clockRunning(ticket) ? t("waiting") : t("first reply");
  var node = $("ticket-resolution");
  var seconds = ticket.resolution_seconds;
  if (seconds == null && ticket.resolved_at && ticket.created_at) {
    seconds = (Date.parse(ticket.resolved_at) - Date.parse(ticket.created_at)) / 1000;
  }
  if (seconds == null || isNaN(seconds)) {
    node.hidden = true;
    node.textContent = "";
    node.removeAttribute("data-seconds");
    return;
  }
  node.hidden = false;
  node.setAttribute("data-seconds", String(Math.floor(seconds)));
  node.textContent = t("resolved in {span}", { span: formatMinutes(seconds, false) });
  node.title = t("From the ticket's creation to its resolution") +
    (waited != null ? " · " + t("first reply after {span}", { span: formatMinutes(waited, false) }) : "");
}

// ------------------------------------------------------------------- ticket

function closeTicketView() {
  leaveView();
  current = null;
  ticketSeq++;
  $("ticket-body").hidden = true;
  $("ticket-empty").hidden = false;
  $("details-pane").hidden = true;
  clear($("transcript"));
  clear($("summary-card"));
  hideNotice();
}

function openTicket(ref) {
  if (current && current.ref === ref) return;
  leaveView();
  current = {
    ref: ref, ticket: null, fetchedAt: 0, messages: {}, afterId: 0, loaded: false,
    // Its screenshots: path -> promise of {blob, url}; the object URLs to revoke; gone once left.
    images: {}, urls: [], gone: false,
    shots: null, shotsKey: "", expanded: {}, // the card's "Screenshots" cell, and which texts are open
    pending: null, sending: false // the image going with the next reply
  };
  ticketSeq++;
  clear($("transcript"));
  clear($("summary-card"));
  hideNotice();
  $("reply-input").value = "";
  $("ticket-ref").textContent = ref;
  $("ticket-title").textContent = "";
  $("ticket-empty").hidden = true;
  $("ticket-body").hidden = false;
  $("claim").hidden = true;
  $("resolve").hidden = true;
  setReplyEnabled(false, t("Loading…"));
  markSelected();
  refreshTicket();
}

/** Fetch the open ticket (fields and every message) and show it. */
function refreshTicket() {
  if (!current) return Promise.resolve();
  var view = current;
  var seq = ticketSeq;
  return api("GET", "/tickets/" + encodeURIComponent(view.ref)).then(function (data) {
    if (current !== view || seq !== ticketSeq || !data) return;
    view.ticket = data;
    view.fetchedAt = Date.now();
    renderTicket(view);
    addMessages(view, data.messages || [], true);
    view.loaded = true; // from now on new lines scroll into view (the summary shows first)
  }, function (error) {
    if (current === view && error.status === 404) showNotice(t("This ticket does not exist."));
  });
}

function renderTicket(view) {
  var tk = view.ticket;
  $("ticket-ref").textContent = tk.ref;
  $("ticket-title").textContent = tk.title || "";
  var priority = $("ticket-priority");
  priority.textContent = tk.priority ? label("priority", tk.priority) : "";
  priority.setAttribute("data-priority", tk.priority || "");
  var status = $("ticket-status");
  status.textContent = tk.status ? label("status", tk.status) : "";
  status.setAttribute("data-status", tk.status || "");
  $("ticket-assignee").textContent = tk.assignee ? t("assigned to {name}", { name: tk.assignee }) : t("unassigned");
  renderSummary(view);
  renderActions(view);
  workspace.renderSidebar(view);
  tickClocks();
}

function facts(tk, kind) {
  var all = (tk.summary && tk.summary.facts) || {};
  var values = all[kind];
  return Array.isArray(values) ? values.map(String) : [];
}

function firstOf() {
  for (var i = 0; i < arguments.length; i++) {
    var value = arguments[i];
    if (Array.isArray(value)) value = value.join(", ");
    if (value != null && value !== "") return String(value);
  }
  return "";
}

/** The ticket's address family as words ("evm" -> "EVM"); anything else as given. */
function chainName(chain) {
  var names = { evm: "EVM", tron: "TRON", bitcoin: "Bitcoin" };
  return chain ? names[chain] || String(chain) : "";
}

/** An intent or response name as words: "utter_faq_fees" -> "fees". */
function selfHelpLabel(name) {
  return String(name).replace(/^utter_(faq_)?/, "").replace(/_/g, " ");
}

function namesOf(values) {
  if (!Array.isArray(values)) return [];
  var seen = {};
  return values.filter(function (value) {
    if (value == null || value === "" || seen[value]) return false;
    seen[value] = true;
    return true;
  }).map(selfHelpLabel);
}

function renderSummary(view) {
  var tk = view.ticket;
  var card = $("summary-card");
  clear(card);
  var summary = tk.summary || {};
  var occurred = firstOf(tk.occurred_at_text, facts(tk, "time"));
  if (tk.occurred_at) occurred += (occurred ? " · " : "") + formatTime(tk.occurred_at);
  var problem = summary.problem ? selfHelpLabel(summary.problem) : "";
  // Other problems the user raised, not the one above.
  var others = namesOf(summary.other_problems).filter(function (name) {
    return name !== problem;
  });
  var OPTIONAL = true;
  // [field, label, value, class, shown only with a value]
  var rows = [
    ["category", "Category", label("category", tk.category)],
    ["priority", "Priority", label("priority", tk.priority)],
    ["title", "Title", tk.title],
    ["problem", "Problem", problem],
    ["other_problems", "Also mentioned", others.join(", "), null, OPTIONAL],
    ["self_help", "Self-help given", namesOf(summary.self_help_given).join(", ") || t("none")],
    ["description", "Description", tk.description],
    ["amount", "Amount", firstOf(tk.amount, facts(tk, "amount"))],
    ["asset", "Asset", firstOf(facts(tk, "asset"))],
    ["network", "Network", firstOf(facts(tk, "network"), chainName(tk.chain))],
    ["tx_hash", "Tx hash", firstOf(tk.tx_hash, facts(tk, "tx_hash")), "mono"],
    ["address", "Wallet address", firstOf(tk.wallet_address, facts(tk, "address")), "mono"],
    ["time", "When", occurred],
    ["error", "Error shown", firstOf(facts(tk, "error_message")), null, OPTIONAL],
    ["screenshots", "Screenshots", screenshotsCell(view), null, OPTIONAL],
    ["language", "Language", label("language", tk.language)],
    ["email", "Contact e-mail", tk.contact_email],
    ["app_user", "App user id", tk.app_user_id, "mono"],
    ["reason", "Escalation", label("reason", tk.escalation_reason || summary.escalation_reason)],
    ["created", "Created", formatTime(tk.created_at)],
    ["conversation", "Conversation", tk.conversation_id, "mono"]
  ];
  rows.forEach(function (row) {
    var empty = row[2] == null || row[2] === "";
    if (empty && row[4]) return; // a row that would only say "—"
    var dt = el("dt", null, t(row[1]));
    var dd;
    if (row[2] instanceof Node) {
      dd = row[2];
    } else {
      dd = el("dd", row[3] || null, empty ? "—" : String(row[2]));
    }
    dd.setAttribute("data-field", row[0]);
    card.appendChild(dt);
    card.appendChild(dd);
    // Explorer links and copy buttons go on a line of their own: the value stays as given.
    var tools = empty ? null : workspace.factTools(row[0], String(row[2]), tk);
    if (tools) card.appendChild(tools);
  });
}

function renderActions(view) {
  var tk = view.ticket;
  var me = session ? session.name : "";
  var mine = tk.status === "assigned" && tk.assignee === me;
  var claim = $("claim");
  claim.hidden = tk.status !== "open";
  claim.disabled = tk.status !== "open";
  var resolve = $("resolve");
  resolve.hidden = !mine;
  resolve.disabled = !mine;
  workspace.renderActions(view, mine, isAdmin());
  if (mine) {
    setReplyEnabled(true, "");
  } else if (tk.status === "open") {
    setReplyEnabled(false, t("Claim the ticket to reply."));
  } else if (tk.status === "assigned") {
    setReplyEnabled(false, t("Claimed by another agent ({name}).", { name: tk.assignee || "?" }));
  } else {
    setReplyEnabled(false, t("This ticket is {status}.", { status: label("status", tk.status) }));
  }
  if (tk.status === "assigned" && !mine) {
    showNotice(t("Claimed by another agent: {name}. Only they can reply or resolve.",
      { name: tk.assignee || t("someone else") }), "conflict");
  } else if (isNoticeKind("conflict") && mine) {
    hideNotice();
  }
}

function setReplyEnabled(enabled, why) {
  var input = $("reply-input");
  input.disabled = !enabled;
  $("reply-send").disabled = !enabled;
  $("reply-attach").disabled = !enabled;
  input.placeholder = enabled
    ? t("Reply to the user (Enter sends, Shift+Enter for a new line; / or Ctrl+K for canned replies; paste an image to attach it)")
    : why;
}

function showNotice(text, kind) {
  var notice = $("ticket-notice");
  notice.textContent = text;
  notice.setAttribute("data-kind", kind || "error");
  notice.hidden = false;
}

function hideNotice() {
  var notice = $("ticket-notice");
  notice.hidden = true;
  notice.textContent = "";
  notice.removeAttribute("data-kind");
}

function isNoticeKind(kind) {
  var notice = $("ticket-notice");
  return !notice.hidden && notice.getAttribute("data-kind") === kind;
}

function conflictText(error) {
  if (error.code === "claimed_by_another_agent" || error.code === "not_assignee") {
    return t("This ticket was claimed by another agent; you cannot reply to it or resolve it.");
  }
  if (error.code === "ticket_not_assigned") return t("Claim the ticket before replying.");
  return error.message;
}

// -------------------------------------------------------------- screenshots

/** The message's image, or null (a message without one, or a malformed one). */
function attachmentOf(message) {
  var attachment = message && message.attachment;
  return attachment && typeof attachment === "object" && attachment.id != null ? attachment : null;
}

/**
 * Where to fetch an image: the service's URL when it is one of its attachment
 * paths (the agent's token is sent there and nowhere else), else one made from the id.
 */
function imagePath(attachment, thumb) {
  var given = String((thumb ? attachment.thumbnail_url : attachment.url) || "");
  if (/^\/api\/attachments\/[A-Za-z0-9_.~%-]+(\?[A-Za-z0-9_=&.-]*)?$/.test(given)) return given;
  return "/api/attachments/" + encodeURIComponent(String(attachment.id)) + (thumb ? "?size=thumb" : "");
}

function imageAlt(attachment) {
  return attachment.author === "agent" ? t("Screenshot from the agent") : t("Screenshot from the user");
}

/** "PNG · 800×600 · 12 KB · <time>". */
function imageFacts(attachment) {
  var parts = [];
  var mime = String(attachment.mime || "");
  if (mime) parts.push(label("imageType", mime));
  if (attachment.width && attachment.height) parts.push(attachment.width + "×" + attachment.height);
  if (attachment.bytes) parts.push(formatBytes(attachment.bytes));
  if (attachment.created_at) parts.push(formatTime(attachment.created_at));
  return parts.join(" · ");
}

function dataUrlOf(blob) {
  return new Promise(function (resolve, reject) {
    var reader = new FileReader();
    reader.addEventListener("load", function () {
      resolve(String(reader.result));
    });
    reader.addEventListener("error", function () {
      reject(reader.error);
    });
    reader.readAsDataURL(blob);
  });
}

/** A source for ``blob``: {blob, url}, the URL an object URL of ``owner`` (revoked with it). */
function sourceOf(owner, blob) {
  if (blobImagesRefused) {
    return dataUrlOf(blob).then(function (url) {
      return { blob: blob, url: url };
    });
  }
  var url = URL.createObjectURL(blob);
  owner.urls.push(url);
  return Promise.resolve({ blob: blob, url: url });
}

/** Revoke ``owner``'s object URLs (a ticket view, or the image waiting to be sent). */
function releaseUrls(owner) {
  if (!owner) return;
  owner.gone = true;
  owner.urls.forEach(function (url) {
    URL.revokeObjectURL(url);
  });
  owner.urls = [];
}

/** The image at ``path`` for ``view``: fetched once, its URL shared by every <img> showing it. */
function imageSource(view, path) {
  var entry = view.images[path];
  if (!entry) {
    entry = apiBlob(path).then(function (blob) {
      if (view.gone) throw new ApiError(0, "gone", "the ticket was closed");
      return sourceOf(view, blob);
    });
    view.images[path] = entry;
    entry.then(null, function (error) {
      // Worth another try at the next rendering: the service was away or busy.
      if ((error.status === 0 || error.status === 429) && view.images[path] === entry) {
        delete view.images[path];
      }
    });
  }
  return entry;
}

/**
 * Show ``source`` in ``img``. A blob: URL the page's policy refuses is
 * replaced by a data: URL, and every later image goes straight to data:.
 */
function fillImage(img, source) {
  return new Promise(function (resolve, reject) {
    var retried = false;
    function loaded() {
      if (retried) blobImagesRefused = true;
      done();
      resolve(img);
    }
    function failed() {
      if (retried || source.url.indexOf("blob:") !== 0) {
        done();
        reject(new Error("the image cannot be shown"));
        return;
      }
      retried = true;
      dataUrlOf(source.blob).then(function (url) {
        source.url = url;
        img.src = url;
      }, function () {
        done();
        reject(new Error("the image cannot be read"));
      });
    }
    function done() {
      img.removeEventListener("load", loaded);
      img.removeEventListener("error", failed);
    }
    img.addEventListener("load", loaded);
    img.addEventListener("error", failed);
    img.src = source.url;
  });
}

/** Width and height to show an image of this size within ``max``×``max`` px (null if unknown). */
function fitted(attachment, max) {
  var width = Number(attachment.width) || 0;
  var height = Number(attachment.height) || 0;
  if (width <= 0 || height <= 0) return null;
  var scale = Math.min(1, max / width, max / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A thumbnail button (it opens the image full size), filled when the image arrives. */
function thumbnail(view, attachment, max, testid) {
  var alt = imageAlt(attachment);
  var button = el("button", "thumb thumb--" + (max > CARD_THUMB_MAX ? "large" : "small"));
  button.type = "button";
  button.setAttribute("data-testid", testid);
  button.setAttribute("data-attachment-id", String(attachment.id));
  button.setAttribute("data-author", String(attachment.author || ""));
  button.setAttribute("data-state", "loading");
  button.setAttribute("aria-label", t("{alt}, open full size", { alt: alt }));
  button.title = t("Open full size") + (attachment.width ? " (" + imageFacts(attachment) + ")" : "");
  var img = el("img", "thumb__img");
  img.alt = alt;
  img.decoding = "async";
  var size = fitted(attachment, max);
  if (size) {
    img.width = size.width;
    img.height = size.height;
  }
  button.appendChild(img);
  imageSource(view, imagePath(attachment, true)).then(function (source) {
    return fillImage(img, source);
  }).then(function () {
    button.setAttribute("data-state", "loaded");
  }, function () {
    if (view.gone) return;
    button.setAttribute("data-state", "error");
    if (img.parentNode) button.removeChild(img);
    button.appendChild(el("span", "thumb__error", t("Screenshot unavailable")));
  });
  button.addEventListener("click", function () {
    openViewer(view, attachment, button);
  });
  return button;
}

/** Every image of the open ticket, oldest first: the ticket's, and any that came with a message since. */
function ticketImages(view) {
  var seen = {};
  var all = [];
  function add(attachment) {
    if (!attachment || attachment.id == null || seen[attachment.id]) return;
    seen[attachment.id] = true;
    all.push(attachment);
  }
  var listed = view.ticket && view.ticket.attachments;
  (Array.isArray(listed) ? listed : []).forEach(add);
  Object.keys(view.messages).map(Number).sort(function (a, b) {
    return a - b;
  }).forEach(function (id) {
    add(attachmentOf(view.messages[id]));
  });
  return all.map(function (attachment, index) {
    return { attachment: attachment, index: index, time: Date.parse(attachment.created_at) };
  }).sort(function (a, b) {
    var ta = isNaN(a.time) ? 0 : a.time;
    var tb = isNaN(b.time) ? 0 : b.time;
    return ta !== tb ? ta - tb : a.index - b.index;
  }).map(function (item) {
    return item.attachment;
  });
}

function shotsKey(view) {
  return JSON.stringify(ticketImages(view).map(function (a) {
    return [a.id, a.text || ""];
  }));
}

/** The card's "Screenshots" value: thumbnails, each with the text read from it; "" without images. */
function screenshotsCell(view) {
  var key = shotsKey(view);
  if (view.shots && view.shotsKey === key) return view.shots; // kept: open texts stay open
  view.shotsKey = key;
  var images = ticketImages(view);
  if (!images.length) {
    view.shots = null;
    return "";
  }
  var dd = el("dd", "shots-cell");
  var list = el("ul", "shots");
  list.setAttribute("aria-label", t("Screenshots, oldest first"));
  images.forEach(function (attachment) {
    var item = el("li", "shot");
    item.setAttribute("data-testid", "summary-attachment");
    item.setAttribute("data-attachment-id", String(attachment.id));
    item.appendChild(thumbnail(view, attachment, CARD_THUMB_MAX, "summary-thumb"));
    var text = trim(attachment.text);
    if (text) {
      // Text read from the image by OCR: the user's words, shown as text.
      var details = el("details", "shot__text");
      details.setAttribute("data-testid", "summary-attachment-text");
      if (view.expanded[attachment.id]) details.open = true;
      var preview = text.replace(/\s+/g, " ");
      if (preview.length > SHOT_TEXT_PREVIEW) preview = preview.slice(0, SHOT_TEXT_PREVIEW - 1) + "…";
      var summary = el("summary", "shot__preview");
      summary.appendChild(el("span", "visually-hidden", t("Text read from the image: ")));
      summary.appendChild(el("span", null, preview));
      details.appendChild(summary);
      details.appendChild(el("div", "shot__full", text));
      details.addEventListener("toggle", function () {
        view.expanded[attachment.id] = details.open;
      });
      item.appendChild(details);
    } else {
      item.appendChild(el("span", "shot__none muted", t("no text found")));
    }
    list.appendChild(item);
  });
  dd.appendChild(list);
  view.shots = dd;
  return dd;
}

// The full-size viewer (a modal <dialog>: Escape closes it, focus returns to the thumbnail).
var viewer = null; // {view, opener}

function openViewer(view, attachment, opener) {
  if (view.gone) return;
  var dialog = $("image-viewer");
  var shown = { view: view, opener: opener };
  viewer = shown;
  $("image-viewer-title").textContent = imageAlt(attachment);
  $("image-viewer-meta").textContent = imageFacts(attachment);
  var status = $("image-viewer-status");
  status.textContent = t("Loading the full-size image…");
  status.hidden = false;
  var frame = $("image-viewer-frame");
  clear(frame);
  var img = el("img", "viewer__img");
  img.alt = t("{alt} (full size)", { alt: imageAlt(attachment) });
  img.setAttribute("data-testid", "image-viewer-img");
  img.hidden = true;
  frame.appendChild(img);
  var text = trim(attachment.text);
  $("image-viewer-ocr").textContent = text;
  $("image-viewer-text").hidden = !text;
  dialog.setAttribute("data-attachment-id", String(attachment.id));
  dialog.setAttribute("data-state", "loading");
  if (typeof dialog.showModal === "function") {
    if (!dialog.open) dialog.showModal();
  } else {
    dialog.setAttribute("open", "");
  }
  $("image-viewer-close").focus();
  imageSource(view, imagePath(attachment, false)).then(function (source) {
    return fillImage(img, source);
  }).then(function () {
    if (viewer !== shown) return;
    img.hidden = false;
    status.textContent = "";
    status.hidden = true;
    dialog.setAttribute("data-state", "loaded");
  }, function (error) {
    if (viewer !== shown) return;
    status.textContent = error && error.status === 404
      ? t("The image could not be loaded: it no longer exists.")
      : t("The image could not be loaded. Close and try again.");
    dialog.setAttribute("data-state", "error");
  });
}

/** Close the viewer (if open); its "close" event tidies up. */
function closeViewer() {
  var dialog = $("image-viewer");
  if (!dialog.open) return;
  if (typeof dialog.close === "function") {
    dialog.close();
  } else {
    dialog.removeAttribute("open");
    afterViewer();
  }
}

/** Empty the closed viewer and give the focus back to the thumbnail that opened it. */
function afterViewer() {
  if ($("image-viewer").open) return; // opened again since
  var shown = viewer;
  viewer = null;
  clear($("image-viewer-frame"));
  $("image-viewer-ocr").textContent = "";
  $("image-viewer").removeAttribute("data-state");
  if (shown && shown.opener && document.contains(shown.opener) && current === shown.view) {
    shown.opener.focus();
  }
}

$("image-viewer-close").addEventListener("click", closeViewer);
// Escape closes a modal dialog on its own; tidy up however it was closed.
$("image-viewer").addEventListener("close", afterViewer);
$("image-viewer").addEventListener("click", function (event) {
  // The box fills the dialog: a click on the dialog itself is on the backdrop.
  if (event.target === $("image-viewer")) closeViewer();
});

/** Leave the open ticket: its images' URLs are revoked, the viewer and the reply's image dropped. */
function leaveView() {
  var view = current;
  closeViewer();
  if (view) {
    dropPending(view);
    releaseUrls(view);
    view.images = {};
    view.shots = null;
  }
  hideReplyError();
}

// ----------------------------------------------------------------- messages

function isPayload(message) {
  return message.author === "user" && /^\/[A-Za-z_]/.test(message.text || "");
}

function renderLine(view, message) {
  var author = String(message.author || "system");
  var li = el("li", "line line--" + author.replace(/[^a-z]/g, ""));
  li.setAttribute("data-testid", "transcript-line");
  li.setAttribute("data-author", author);
  li.setAttribute("data-id", String(message.id));
  if (isPayload(message)) li.setAttribute("data-kind", "payload");
  var meta = el("div", "line__meta");
  var who = label("author", author);
  if (author === "agent" && message.author_name) who = t("{name} (agent)", { name: message.author_name });
  if (isPayload(message)) who += " · " + t("button");
  meta.appendChild(el("span", "line__author", who));
  meta.appendChild(el("time", null, formatTime(message.created_at)));
  li.appendChild(meta);
  var attachment = attachmentOf(message);
  var text = message.text == null ? "" : String(message.text);
  // An image sent alone has no text of its own: the thumbnail stands instead.
  if (attachment && IMAGE_ONLY_TEXTS[trim(text)]) text = "";
  if (text || !attachment) li.appendChild(el("div", "line__text", text));
  if (attachment) {
    li.setAttribute("data-attachment-id", String(attachment.id));
    var box = el("div", "line__attachment");
    box.appendChild(thumbnail(view, attachment, THUMB_MAX, "transcript-thumb"));
    li.appendChild(box);
  }
  return li;
}

/** Merge messages into the transcript in id order; ``advance`` moves the poll cursor. */
function addMessages(view, messages, advance) {
  var list = $("transcript");
  var nearBottom = isNearBottom();
  var added = false;
  var newShot = false;
  messages.forEach(function (message) {
    var id = Number(message.id);
    if (advance && id > view.afterId) view.afterId = id;
    if (view.messages[id]) return;
    view.messages[id] = message;
    if (attachmentOf(message)) newShot = true;
    var line = renderLine(view, message);
    // Usually the newest; an id lower than the last one shown goes in its place.
    var next = null;
    for (var node = list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.getAttribute("data-id")) < id) break;
      next = node;
    }
    list.insertBefore(line, next);
    added = true;
  });
  // An image that arrived with a message goes on the card at once (not only at the next fetch).
  if (newShot && view.ticket && shotsKey(view) !== view.shotsKey) renderSummary(view);
  if (added && nearBottom && view.loaded) scrollToBottom();
}

function isNearBottom() {
  var pane = $("ticket-scroll");
  return pane.scrollHeight - pane.scrollTop - pane.clientHeight < 120;
}

function scrollToBottom() {
  var pane = $("ticket-scroll");
  pane.scrollTop = pane.scrollHeight;
}

function pollMessages() {
  var view = current;
  if (!view || !view.ticket) return null;
  var path = "/tickets/" + encodeURIComponent(view.ref) + "/messages?after_id=" + view.afterId;
  return api("GET", path).then(function (data) {
    if (current === view && data) addMessages(view, data.messages || [], true);
  }, function () {
    return null;
  });
}

// Ids are handed out before commit: on PostgreSQL a lower id can become
// visible after a higher one was read. A periodic full read fills such gaps.
function resyncMessages() {
  var view = current;
  if (!view || !view.ticket) return null;
  return api("GET", "/tickets/" + encodeURIComponent(view.ref) + "/messages").then(
    function (data) {
      if (current === view && data) addMessages(view, data.messages || [], false);
    },
    function () {
      return null;
    }
  );
}

// ------------------------------------------------------------------ actions

function act(button, path, body, key) {
  var view = current;
  if (!view) return Promise.resolve(null);
  button.disabled = true;
  return api("POST", "/tickets/" + encodeURIComponent(view.ref) + path, body, key).then(
    function (data) {
      if (current === view) hideNotice();
      return data;
    },
    function (error) {
      if (current === view) {
        showNotice(error.status === 409 ? conflictText(error) : error.message, "conflict");
        button.disabled = false;
      }
      return refreshTicket().then(function () {
        if (current === view && error.status === 409) {
          showNotice(conflictText(error), "conflict");
        }
        return null;
      });
    }
  );
}

$("claim").addEventListener("click", function () {
  act($("claim"), "/claim").then(function (data) {
    if (data) refreshTicket();
  });
});

$("resolve").addEventListener("click", function () {
  act($("resolve"), "/resolve").then(function (data) {
    if (data) {
      refreshTicket();
      refreshQueue();
    }
  });
});

// ------------------------------------------------------- image in a reply

/** The service's limits for agents' images (its size limit and types); defaults until known. */
function loadImageLimits() {
  if (imageLimits.known || !session) return Promise.resolve(imageLimits);
  return api("GET", "/attachments/limits").then(function (data) {
    if (data && Number(data.max_bytes) > 0) imageLimits.max_bytes = Number(data.max_bytes);
    if (data && Array.isArray(data.types) && data.types.length) {
      imageLimits.types = data.types.map(String);
    }
    imageLimits.known = true;
    $("reply-file").setAttribute("accept", imageLimits.types.join(","));
    return imageLimits;
  }, function () {
    return imageLimits; // tried again with the next image
  });
}

function typeNames() {
  return orList(imageLimits.types.map(function (type) {
    return label("imageType", type);
  }));
}

/** Why ``file`` cannot be sent, in words; "" when it can. */
function imageProblem(file) {
  if (imageLimits.types.indexOf(file.type) < 0) {
    return file.type
      ? t("Only {types} images can be attached (this file is {type}).", { types: typeNames(), type: file.type })
      : t("Only {types} images can be attached.", { types: typeNames() });
  }
  if (!file.size) return t("This image file is empty.");
  if (file.size > imageLimits.max_bytes) {
    return t("This image is too large ({size}); the limit is {limit}.",
      { size: formatBytes(file.size), limit: formatBytes(imageLimits.max_bytes) });
  }
  return "";
}

function showReplyError(text) {
  var error = $("reply-error");
  error.textContent = text;
  error.hidden = false;
}

function hideReplyError() {
  var error = $("reply-error");
  error.hidden = true;
  error.textContent = "";
}

/** What a failed upload means for the agent, in plain words. */
function uploadErrorText(error) {
  if (error.code === "image_refused") {
    var kinds = error.kinds.map(function (kind) {
      return label("secret", kind);
    }).filter(function (words, index, all) {
      return all.indexOf(words) === index;
    });
    var what = kinds.length ? andList(kinds) : "";
    return t("Image refused, not sent: ") +
      (what ? t("it seems to show {what}.", { what: what }) : (error.detail || t("it seems to show a wallet secret."))) +
      " " + t("Images showing a recovery phrase or private key are never stored or sent to the user.");
  }
  if (error.status === 413 || error.code === "image_too_large") {
    return t("Image too large, not sent: the limit is {limit}.", { limit: formatBytes(imageLimits.max_bytes) }) +
      (error.detail ? " (" + error.detail + ")" : "");
  }
  if (error.status === 415 || error.code === "unsupported_image") {
    return t("Image not sent: only {types} images can be attached.", { types: typeNames() }) +
      (error.detail ? " (" + error.detail + ")" : "");
  }
  if (error.status === 429) {
    return t("Too many images or messages just now: wait a moment, then press Send again.");
  }
  if (error.status === 409) return conflictText(error);
  if (error.status === 0) return t("Cannot reach the handoff service; the image was not sent. Try again.");
  return t("The image was not sent: {why}", { why: error.message });
}

/** Whether sending the same image again cannot work (it is dropped from the reply). */
function imageRejected(error) {
  return error.code === "image_refused" || error.code === "image_too_large" ||
    error.code === "unsupported_image" || error.status === 413 || error.status === 415 ||
    error.status === 422;
}

/** Take ``file`` as the image of the next reply (checked against the service's limits first). */
function takeImage(file) {
  var view = current;
  if (!view || !file || $("reply-input").disabled || view.sending) return;
  loadImageLimits();
  var problem = imageProblem(file);
  if (problem) {
    showReplyError(problem);
    return;
  }
  hideReplyError();
  dropPending(view);
  view.pending = {
    file: file, attachment: null, progress: 0, uploading: false, source: null, urls: [], gone: false
  };
  renderPending(view);
}

/** Forget the reply's image (its preview URL revoked). */
function dropPending(view) {
  if (!view || !view.pending) return;
  releaseUrls(view.pending);
  view.pending = null;
  $("reply-file").value = "";
  if (current === view) renderPending(view);
}

function renderPending(view) {
  var box = $("reply-attachment");
  clear(box);
  var item = view && view.pending;
  box.hidden = !item;
  if (!item) return;
  box.setAttribute("data-state", item.uploading ? "uploading" : item.attachment ? "uploaded" : "ready");
  var preview = el("img", "reply__preview");
  preview.alt = t("Image to send: {name}", { name: item.file.name || t("pasted image") });
  preview.setAttribute("data-testid", "reply-attachment-preview");
  box.appendChild(preview);
  if (!item.source) item.source = sourceOf(item, item.file); // one URL for every rendering
  item.source.then(function (source) {
    if (!item.gone) return fillImage(preview, source);
    return null;
  }).then(null, function () {
    preview.hidden = true;
  });
  var about = el("div", "reply__about");
  about.appendChild(el("span", "reply__name", item.file.name || t("pasted image")));
  about.appendChild(el("span", "muted", " · " + label("imageType", item.file.type) + " · " +
    formatBytes(item.file.size)));
  var progress = el("progress", "reply__progress");
  progress.id = "reply-progress";
  progress.max = 100;
  progress.value = Math.round(item.progress * 100);
  progress.hidden = !item.uploading;
  progress.setAttribute("aria-label", t("Uploading the image"));
  progress.setAttribute("data-testid", "reply-progress");
  about.appendChild(progress);
  var state = el("span", "reply__state muted",
    item.uploading ? t("Uploading… {n}%", { n: progress.value }) : item.attachment ? t("uploaded") : "");
  state.id = "reply-upload-state";
  state.setAttribute("role", "status");
  about.appendChild(state);
  box.appendChild(about);
  var remove = el("button", "link-button reply__remove", t("Remove"));
  remove.type = "button";
  remove.setAttribute("aria-label", t("Remove the image from the reply"));
  remove.setAttribute("data-testid", "reply-attachment-remove");
  remove.disabled = !!item.uploading;
  remove.addEventListener("click", function () {
    dropPending(view);
    $("reply-input").focus();
  });
  box.appendChild(remove);
}

function showProgress(view, item, fraction) {
  item.progress = fraction;
  if (current !== view || view.pending !== item) return;
  var percent = Math.round(fraction * 100);
  var progress = $("reply-progress");
  if (progress) {
    progress.hidden = false;
    progress.value = percent;
  }
  var state = $("reply-upload-state");
  if (state) state.textContent = t("Uploading… {n}%", { n: percent });
}

/** The reply's image uploaded (once, even if sending the reply is tried again). */
function uploadPending(view, item) {
  if (item.attachment) return Promise.resolve(item.attachment);
  item.uploading = true;
  item.progress = 0;
  if (current === view) renderPending(view);
  var path = "/api/tickets/" + encodeURIComponent(view.ref) + "/attachments";
  return apiUpload(path, item.file, function (fraction) {
    showProgress(view, item, fraction);
  }).then(function (data) {
    var attachment = data && (data.attachment || (data.id ? data : null));
    if (!attachment || attachment.id == null) {
      throw new ApiError(500, "bad_response", "the service did not say which image it stored");
    }
    item.attachment = attachment;
    return attachment;
  }).then(function (attachment) {
    item.uploading = false;
    if (current === view && view.pending === item) renderPending(view);
    return attachment;
  }, function (error) {
    item.uploading = false;
    if (current === view && view.pending === item) renderPending(view);
    throw error;
  });
}

function setSending(view, sending) {
  view.sending = sending;
  if (current !== view) return;
  var off = sending || $("reply-input").disabled;
  $("reply-send").disabled = off;
  $("reply-attach").disabled = off;
  $("reply-form").setAttribute("aria-busy", sending ? "true" : "false");
}

function sendReply() {
  var view = current;
  var input = $("reply-input");
  var text = trim(input.value);
  var item = view && view.pending;
  if (!view || input.disabled || view.sending || (!text && !item)) return;
  hideReplyError();
  setSending(view, true);
  var image = item ? uploadPending(view, item) : Promise.resolve(null);
  image.then(function (attachment) {
    if (current !== view) return null;
    var body = { text: text };
    if (attachment) body.attachment_id = String(attachment.id);
    // One key per reply: sent again (by the retry or by the agent) it is kept once.
    var payload = JSON.stringify(body);
    if (view.replyPayload !== payload) {
      view.replyPayload = payload;
      view.replyKey = newKey();
    }
    return act($("reply-send"), "/messages", body, view.replyKey).then(function (message) {
      if (!message || current !== view) return;
      view.replyPayload = null;
      if (attachment && !attachmentOf(message)) message.attachment = attachment;
      if (trim(input.value) === text) input.value = "";
      if (view.pending === item) dropPending(view);
      // Shown now; the poll cursor is not moved, so nothing committed earlier is skipped.
      addMessages(view, [message], false);
      // The waiting clock stops at the first agent reply, without waiting for the next fetch.
      if (view.ticket && !view.ticket.first_agent_reply_at) {
        view.ticket.waiting_seconds = (Number(view.ticket.waiting_seconds) || 0) +
          (Date.now() - view.fetchedAt) / 1000;
        view.ticket.first_agent_reply_at = message.created_at || new Date().toISOString();
        tickClocks();
      }
      scrollToBottom();
      input.focus();
    });
  }, function (error) {
    if (current !== view) return null;
    showReplyError(uploadErrorText(error));
    if (imageRejected(error) && view.pending === item) dropPending(view);
    return error.status === 409 ? refreshTicket() : null;
  }).then(function () {
    setSending(view, false);
  }, function () {
    setSending(view, false);
  });
}

$("reply-attach").addEventListener("click", function () {
  if (!$("reply-attach").disabled) $("reply-file").click();
});

$("reply-file").addEventListener("change", function () {
  var files = $("reply-file").files;
  if (files && files.length) takeImage(files[0]);
});

/** The first image among the clipboard's or a drop's files (or any file: it is then refused with a reason). */
function firstFile(transfer) {
  var files = [];
  var i;
  if (transfer.files && transfer.files.length) {
    for (i = 0; i < transfer.files.length; i++) files.push(transfer.files[i]);
  } else if (transfer.items) {
    for (i = 0; i < transfer.items.length; i++) {
      if (transfer.items[i].kind === "file") {
        var file = transfer.items[i].getAsFile();
        if (file) files.push(file);
      }
    }
  }
  var images = files.filter(function (file) {
    return /^image\//.test(file.type);
  });
  return images[0] || files[0] || null;
}

$("reply-input").addEventListener("paste", function (event) {
  var transfer = event.clipboardData;
  var file = transfer && firstFile(transfer);
  if (!file) return;
  // A pasted screenshot has no text; text copied with an image is still pasted as text.
  var types = Array.prototype.slice.call(transfer.types || []);
  if (types.indexOf("text/plain") < 0) event.preventDefault();
  takeImage(file);
});

function dragsFiles(event) {
  var types = event.dataTransfer && Array.prototype.slice.call(event.dataTransfer.types || []);
  return !!types && types.indexOf("Files") >= 0;
}

$("reply-form").addEventListener("dragover", function (event) {
  if (!dragsFiles(event) || $("reply-input").disabled) return;
  event.preventDefault();
  $("reply-form").setAttribute("data-drop", "true");
});

$("reply-form").addEventListener("dragleave", function () {
  $("reply-form").removeAttribute("data-drop");
});

$("reply-form").addEventListener("drop", function (event) {
  $("reply-form").removeAttribute("data-drop");
  if (!dragsFiles(event)) return;
  event.preventDefault();
  var file = firstFile(event.dataTransfer);
  if (file) takeImage(file);
});

$("reply-form").addEventListener("submit", function (event) {
  event.preventDefault();
  sendReply();
});

$("reply-input").addEventListener("keydown", function (event) {
  if (canned.handleKey(event)) return; // the canned-reply picker took the key
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    sendReply();
  }
});

// After "All", in the order the service gives (most urgent first).
CATEGORIES.forEach(function (choice) {
  var option = el("option", null, t(choice.label));
  option.value = choice.value;
  option.setAttribute("data-i18n", choice.label);
  $("filter-category").appendChild(option);
});

// ------------------------------------------------------------------- typing

var lastTypingAt = 0;

/** The user's chat shows "the agent is typing": told at most every 3 s, never an error here. */
function typing() {
  var view = current;
  var input = $("reply-input");
  if (!view || !view.ticket || input.disabled || !trim(input.value)) return;
  if (input.value.charAt(0) === "/") return; // looking for a canned reply, not typing to the user
  var now = Date.now();
  if (now - lastTypingAt < TYPING_EVERY_MS) return;
  lastTypingAt = now;
  api("POST", "/tickets/" + encodeURIComponent(view.ref) + "/typing").then(null, function () {
    return null;
  });
}

$("reply-input").addEventListener("input", function () {
  canned.handleInput();
  typing();
});

// ----------------------------------------------------------------- language

function rerender() {
  applyStatic(document);
  Object.keys(queueItems).forEach(function (ref) {
    queueItems[ref].removeAttribute("data-key"); // rebuilt in the new language
  });
  renderQueue();
  if (current && current.ticket) {
    current.shots = null;
    current.shotsKey = "";
    renderTicket(current);
    clear($("transcript"));
    var messages = current.messages;
    current.messages = {};
    addMessages(current, Object.keys(messages).map(function (id) { return messages[id]; }), false);
  }
  if (current && current.pending) renderPending(current);
  if (session) setLive(true);
}

onLocale(rerender);

$("console-language").addEventListener("change", function () {
  var value = $("console-language").value;
  setLocale(value);
  if (session) {
    api("PATCH", "/me", { console_language: value }).then(null, function () {
      return null; // remembered in this browser all the same
    });
  }
});

["filter-status", "filter-category", "filter-language", "filter-tag"].forEach(function (id) {
  $(id).addEventListener("change", function () {
    refreshQueue();
  });
});

$("sign-in-form").addEventListener("submit", function (event) {
  event.preventDefault();
  var token = $("token-input").value.replace(/^\s+|\s+$/g, "");
  if (!token) {
    showSignIn(t("Enter your agent token."));
    return;
  }
  signIn(token, false);
});

$("sign-out").addEventListener("click", function () {
  signOut("");
});

// ------------------------------------------------------------------ context

/** What the other modules may use of the core. */
var ctx = {
  api: api,
  me: function () {
    return session ? { name: session.name, role: session.role } : null;
  },
  isAdmin: isAdmin,
  current: function () {
    return current;
  },
  openTicket: function (ref) {
    openTicket(ref);
  },
  refreshTicket: function () {
    return refreshTicket();
  },
  refreshQueue: function () {
    return refreshQueue();
  },
  showNotice: showNotice,
  hideNotice: hideNotice,
  conflictText: conflictText,
  label: label,
  formatDuration: formatDuration,
  every: function (delay, step) {
    if (session) every(session, delay, step);
  },
  signedIn: function () {
    return session;
  },
  // The agent's own token was rotated: go on with the new one (the old one no longer works).
  replaceToken: function (token) {
    if (!session || !token) return;
    session.token = token;
    storage.set(token);
  }
};

// -------------------------------------------------------------------- start

window.setInterval(tickClocks, 1000);

setLocale(initialLocale());
$("console-language").value = getLocale();
applyStatic(document);

var saved = storage.get();
if (saved) {
  signIn(saved, true);
} else {
  showSignIn("");
}

// Handles for tests.
window.handoffConsole = {
  locale: getLocale,
  role: function () {
    return session ? session.role : null;
  },
  alerts: attention.alerts,
  picker: canned.pickerState,
  typingSentAt: function () {
    return lastTypingAt;
  },
  agentName: function () {
    return session ? session.name : null;
  },
  openRef: function () {
    return current ? current.ref : null;
  },
  // How many object URLs the open ticket holds (revoked when it is left).
  imageUrls: function () {
    return current ? current.urls.length : 0;
  }
};
