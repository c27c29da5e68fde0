/*
 * Agent console of the handoff service.
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
(function () {
  "use strict";

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
  // First-reply targets (seconds): past half of it the clock turns amber, past it red.
  var SLA_TARGET = CONFIG.slaFirstReplySeconds || { urgent: 5 * 60, high: 15 * 60, normal: 60 * 60 };

  function labelsOf(choices) {
    var labels = {};
    (choices || []).forEach(function (choice) {
      labels[choice.value] = choice.label;
    });
    return labels;
  }

  var LABELS = {
    category: labelsOf(CATEGORIES),
    reason: labelsOf(CONFIG.escalationReasons),
    language: { zh: "中文 (zh)", en: "English (en)" },
    author: { user: "User", bot: "Assistant", agent: "Agent", system: "System" },
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

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function label(kind, value) {
    if (value == null || value === "") return "—";
    return (LABELS[kind] && LABELS[kind][value]) || String(value);
  }

  function formatTime(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    return isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
  }

  /** A span in words for the SLA line: "12 min", "1 h 5 min"; ``up`` rounds up. */
  function formatMinutes(seconds, up) {
    var minutes = up ? Math.ceil(seconds / 60) : Math.floor(seconds / 60);
    if (minutes < 1) return "<1 min";
    if (minutes < 60) return minutes + " min";
    var h = Math.floor(minutes / 60);
    var m = minutes % 60;
    return h + " h" + (m ? " " + m + " min" : "");
  }

  function trim(text) {
    return String(text == null ? "" : text).replace(/^\s+|\s+$/g, "");
  }

  /** "812 B", "14 KB", "4.8 MB". */
  function formatBytes(bytes) {
    var n = Number(bytes) || 0;
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
    return (Math.round(n / 104857.6) / 10) + " MB";
  }

  /** "a, b or c". */
  function orList(words) {
    if (words.length < 2) return words.join("");
    return words.slice(0, -1).join(", ") + " or " + words[words.length - 1];
  }

  function andList(words) {
    if (words.length < 2) return words.join("");
    return words.slice(0, -1).join(", ") + " and " + words[words.length - 1];
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

  /** An API error with the HTTP status, the service's error code and, for a refused image, what it showed. */
  function ApiError(status, code, detail, data) {
    this.status = status;
    this.code = code;
    this.detail = detail || "";
    this.message = detail || ("HTTP " + status);
    this.kinds = data && Array.isArray(data.kinds) ? data.kinds.map(String) : [];
  }

  /** The error of a finished call: its status and the service's JSON body (if any). */
  function errorOf(status, text) {
    var data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    return new ApiError(status, data && data.error, data && data.detail, data);
  }

  function request(token, method, path, body) {
    var init = {
      method: method,
      headers: { Accept: "application/json", Authorization: "Bearer " + token },
      cache: "no-store",
      credentials: "omit"
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(
      function (response) {
        return response.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (err) {
            data = null;
          }
          if (!response.ok) throw errorOf(response.status, text);
          return data;
        });
      },
      function () {
        throw new ApiError(0, "network", "cannot reach the handoff service");
      }
    );
  }

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

  function api(method, path, body) {
    var mine = session;
    if (!mine) return Promise.reject(new ApiError(0, "signed_out", "signed out"));
    return tracked(mine, request(mine.token, method, path, body));
  }

  /** ``promise`` (a call made with ``mine``'s token), its outcome shown as for every call. */
  function tracked(mine, promise) {
    return promise.then(
      function (data) {
        if (session === mine) setLive(true);
        return data;
      },
      function (error) {
        if (session === mine) {
          if (error.status === 401) {
            signOut("Your token is no longer accepted (revoked?). Sign in again.");
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
        throw new ApiError(0, "network", "cannot reach the handoff service");
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
    status.textContent = online ? "Live" : "Service unreachable, retrying…";
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
      return "Wrong token: this agent token is unknown or has been revoked.";
    }
    if (error.status === 403) {
      return "That is the assistant's bot token, not an agent token.";
    }
    if (error.status === 0) return "Cannot reach the handoff service. Try again in a moment.";
    return "Sign-in failed: " + error.message;
  }

  function signIn(token, fromStorage) {
    var button = $("sign-in");
    button.disabled = true;
    return request(token, "GET", "/api/me").then(
      function (me) {
        button.disabled = false;
        storage.set(token);
        $("token-input").value = "";
        start(token, me && me.name ? String(me.name) : "");
      },
      function (error) {
        button.disabled = false;
        if (error.status === 401 || error.status === 403) storage.remove();
        showSignIn(fromStorage && error.status === 401
          ? "Your saved token is no longer accepted. Sign in again."
          : signInMessage(error));
      }
    );
  }

  function signOut(message) {
    session = null;
    closeTicketView(); // revokes the open ticket's image URLs
    tickets = [];
    queueItems = {};
    clear($("queue"));
    storage.remove();
    showSignIn(message);
  }

  function start(token, name) {
    var mine = { token: token, name: name, cursor: null };
    session = mine;
    $("agent-name").textContent = name;
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
    if (!status || (f.category && f.category !== change.category) ||
        (f.language && f.language !== change.language)) {
      return false;
    }
    return !tickets.some(function (t) { return t.ref === change.ref && t.status === change.status; });
  }

  function pollEvents(owner) {
    var path = "/api/events";
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
      language: $("filter-language").value
    };
  }

  function queuePath(status, f, cursor) {
    var params = new URLSearchParams();
    if (status) params.set("status", status);
    if (f.category) params.set("category", f.category);
    if (f.language) params.set("language", f.language);
    params.set("limit", "100");
    if (cursor) params.set("cursor", cursor);
    return "/api/tickets?" + params.toString();
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
    var priority = el("span", "badge", ticket.priority);
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
    button.appendChild(el("span", "queue-item__title", ticket.title || "(no title)"));
    var meta = [label("category", ticket.category), ticket.status, ticket.language];
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
    return Number(SLA_TARGET[ticket.priority] || SLA_TARGET.normal) || 3600;
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
      ? "Waiting for a first agent reply (target " + formatDuration(target) + ")"
      : "Time to the first agent reply";
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
      text = left > 0 ? "first reply due in " + formatMinutes(left, true)
        : "overdue by " + formatMinutes(-left, false);
    } else if (ticket.first_agent_reply_at) {
      state = left >= 0 ? "met" : "missed";
      text = left >= 0 ? "first reply after " + formatMinutes(seconds, false)
        : "first reply " + formatMinutes(-left, false) + " late";
    } else {
      state = "none";
      text = "no agent reply";
    }
    node.textContent = text;
    node.setAttribute("data-state", state);
    node.setAttribute("data-priority", ticket.priority || "");
    node.title = "First-reply target for " + (ticket.priority || "normal") + " tickets: " +
      formatMinutes(target, true) + (ticket.sla_due_at ? " (due " + formatTime(ticket.sla_due_at) + ")" : "");
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
    }
  }

  // ------------------------------------------------------------------- ticket

  function closeTicketView() {
    leaveView();
    current = null;
    ticketSeq++;
    $("ticket-body").hidden = true;
    $("ticket-empty").hidden = false;
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
    setReplyEnabled(false, "Loading…");
    markSelected();
    refreshTicket();
  }

  /** Fetch the open ticket (fields and every message) and show it. */
  function refreshTicket() {
    if (!current) return Promise.resolve();
    var view = current;
    var seq = ticketSeq;
    return api("GET", "/api/tickets/" + encodeURIComponent(view.ref)).then(function (data) {
      if (current !== view || seq !== ticketSeq || !data) return;
      view.ticket = data;
      view.fetchedAt = Date.now();
      renderTicket(view);
      addMessages(view, data.messages || [], true);
      view.loaded = true; // from now on new lines scroll into view (the summary shows first)
    }, function (error) {
      if (current === view && error.status === 404) showNotice("This ticket does not exist.");
    });
  }

  function renderTicket(view) {
    var t = view.ticket;
    $("ticket-ref").textContent = t.ref;
    $("ticket-title").textContent = t.title || "";
    var priority = $("ticket-priority");
    priority.textContent = t.priority || "";
    priority.setAttribute("data-priority", t.priority || "");
    var status = $("ticket-status");
    status.textContent = t.status || "";
    status.setAttribute("data-status", t.status || "");
    $("ticket-assignee").textContent = t.assignee ? "assigned to " + t.assignee : "unassigned";
    renderSummary(view);
    renderActions(view);
    tickClocks();
  }

  function facts(t, kind) {
    var all = (t.summary && t.summary.facts) || {};
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
    var t = view.ticket;
    var card = $("summary-card");
    clear(card);
    var summary = t.summary || {};
    var occurred = firstOf(t.occurred_at_text, facts(t, "time"));
    if (t.occurred_at) occurred += (occurred ? " · " : "") + formatTime(t.occurred_at);
    var problem = summary.problem ? selfHelpLabel(summary.problem) : "";
    // Other problems the user raised, not the one above.
    var others = namesOf(summary.other_problems).filter(function (name) {
      return name !== problem;
    });
    var OPTIONAL = true;
    // [field, label, value, class, shown only with a value]
    var rows = [
      ["category", "Category", label("category", t.category)],
      ["priority", "Priority", t.priority],
      ["title", "Title", t.title],
      ["problem", "Problem", problem],
      ["other_problems", "Also mentioned", others.join(", "), null, OPTIONAL],
      ["self_help", "Self-help given", namesOf(summary.self_help_given).join(", ") || "none"],
      ["description", "Description", t.description],
      ["amount", "Amount", firstOf(t.amount, facts(t, "amount"))],
      ["asset", "Asset", firstOf(facts(t, "asset"))],
      ["network", "Network", firstOf(t.chain, facts(t, "network"))],
      ["tx_hash", "Tx hash", firstOf(t.tx_hash, facts(t, "tx_hash")), "mono"],
      ["address", "Wallet address", firstOf(t.wallet_address, facts(t, "address")), "mono"],
      ["time", "When", occurred],
      ["error", "Error shown", firstOf(facts(t, "error_message")), null, OPTIONAL],
      ["screenshots", "Screenshots", screenshotsCell(view), null, OPTIONAL],
      ["language", "Language", label("language", t.language)],
      ["email", "Contact e-mail", t.contact_email],
      ["app_user", "App user id", t.app_user_id, "mono"],
      ["reason", "Escalation", label("reason", t.escalation_reason || summary.escalation_reason)],
      ["created", "Created", formatTime(t.created_at)],
      ["conversation", "Conversation", t.conversation_id, "mono"]
    ];
    rows.forEach(function (row) {
      var empty = row[2] == null || row[2] === "";
      if (empty && row[4]) return; // a row that would only say "—"
      var dt = el("dt", null, row[1]);
      var dd;
      if (row[2] instanceof Node) {
        dd = row[2];
      } else {
        dd = el("dd", row[3] || null, empty ? "—" : String(row[2]));
      }
      dd.setAttribute("data-field", row[0]);
      card.appendChild(dt);
      card.appendChild(dd);
    });
  }

  function renderActions(view) {
    var t = view.ticket;
    var me = session ? session.name : "";
    var mine = t.status === "assigned" && t.assignee === me;
    var claim = $("claim");
    claim.hidden = t.status !== "open";
    claim.disabled = t.status !== "open";
    var resolve = $("resolve");
    resolve.hidden = !mine;
    resolve.disabled = !mine;
    if (mine) {
      setReplyEnabled(true, "");
    } else if (t.status === "open") {
      setReplyEnabled(false, "Claim the ticket to reply.");
    } else if (t.status === "assigned") {
      setReplyEnabled(false, "Claimed by another agent (" + (t.assignee || "?") + ").");
    } else {
      setReplyEnabled(false, "This ticket is " + t.status + ".");
    }
    if (t.status === "assigned" && !mine) {
      showNotice("Claimed by another agent: " + (t.assignee || "someone else") +
        ". Only they can reply or resolve.", "conflict");
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
      ? "Reply to the user (Enter sends, Shift+Enter for a new line; paste an image to attach it)"
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
      return "This ticket was claimed by another agent; you cannot reply to it or resolve it.";
    }
    if (error.code === "ticket_not_assigned") return "Claim the ticket before replying.";
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
    return attachment.author === "agent" ? "Screenshot from the agent" : "Screenshot from the user";
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
    button.setAttribute("aria-label", alt + ", open full size");
    button.title = "Open full size" + (attachment.width ? " (" + imageFacts(attachment) + ")" : "");
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
      button.appendChild(el("span", "thumb__error", "Screenshot unavailable"));
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
    list.setAttribute("aria-label", "Screenshots, oldest first");
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
        summary.appendChild(el("span", "visually-hidden", "Text read from the image: "));
        summary.appendChild(el("span", null, preview));
        details.appendChild(summary);
        details.appendChild(el("div", "shot__full", text));
        details.addEventListener("toggle", function () {
          view.expanded[attachment.id] = details.open;
        });
        item.appendChild(details);
      } else {
        item.appendChild(el("span", "shot__none muted", "no text found"));
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
    status.textContent = "Loading the full-size image…";
    status.hidden = false;
    var frame = $("image-viewer-frame");
    clear(frame);
    var img = el("img", "viewer__img");
    img.alt = imageAlt(attachment) + " (full size)";
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
      status.textContent = "The image could not be loaded" +
        (error && error.status === 404 ? ": it no longer exists." : ". Close and try again.");
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
    if (author === "agent" && message.author_name) who = message.author_name + " (agent)";
    if (isPayload(message)) who += " · button";
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
    var path = "/api/tickets/" + encodeURIComponent(view.ref) + "/messages?after_id=" + view.afterId;
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
    return api("GET", "/api/tickets/" + encodeURIComponent(view.ref) + "/messages").then(
      function (data) {
        if (current === view && data) addMessages(view, data.messages || [], false);
      },
      function () {
        return null;
      }
    );
  }

  // ------------------------------------------------------------------ actions

  function act(button, path, body) {
    var view = current;
    if (!view) return Promise.resolve(null);
    button.disabled = true;
    return api("POST", "/api/tickets/" + encodeURIComponent(view.ref) + path, body).then(
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
    return api("GET", "/api/attachments/limits").then(function (data) {
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
      return "Only " + typeNames() + " images can be attached" +
        (file.type ? " (this file is " + file.type + ")." : ".");
    }
    if (!file.size) return "This image file is empty.";
    if (file.size > imageLimits.max_bytes) {
      return "This image is too large (" + formatBytes(file.size) + "); the limit is " +
        formatBytes(imageLimits.max_bytes) + ".";
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
      return "Image refused, not sent: " +
        (what ? "it seems to show " + what + "." : (error.detail || "it seems to show a wallet secret.")) +
        " Images showing a recovery phrase or private key are never stored or sent to the user.";
    }
    if (error.status === 413 || error.code === "image_too_large") {
      return "Image too large, not sent: the limit is " + formatBytes(imageLimits.max_bytes) + "." +
        (error.detail ? " (" + error.detail + ")" : "");
    }
    if (error.status === 415 || error.code === "unsupported_image") {
      return "Image not sent: only " + typeNames() + " images can be attached." +
        (error.detail ? " (" + error.detail + ")" : "");
    }
    if (error.status === 429) {
      return "Too many images or messages just now: wait a moment, then press Send again.";
    }
    if (error.status === 409) return conflictText(error);
    if (error.status === 0) return "Cannot reach the handoff service; the image was not sent. Try again.";
    return "The image was not sent: " + error.message;
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
    preview.alt = "Image to send: " + (item.file.name || "pasted image");
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
    about.appendChild(el("span", "reply__name", item.file.name || "pasted image"));
    about.appendChild(el("span", "muted", " · " + label("imageType", item.file.type) + " · " +
      formatBytes(item.file.size)));
    var progress = el("progress", "reply__progress");
    progress.id = "reply-progress";
    progress.max = 100;
    progress.value = Math.round(item.progress * 100);
    progress.hidden = !item.uploading;
    progress.setAttribute("aria-label", "Uploading the image");
    progress.setAttribute("data-testid", "reply-progress");
    about.appendChild(progress);
    var state = el("span", "reply__state muted",
      item.uploading ? "Uploading… " + progress.value + "%" : item.attachment ? "uploaded" : "");
    state.id = "reply-upload-state";
    state.setAttribute("role", "status");
    about.appendChild(state);
    box.appendChild(about);
    var remove = el("button", "link-button reply__remove", "Remove");
    remove.type = "button";
    remove.setAttribute("aria-label", "Remove the image from the reply");
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
    if (state) state.textContent = "Uploading… " + percent + "%";
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
      return act($("reply-send"), "/messages", body).then(function (message) {
        if (!message || current !== view) return;
        if (attachment && !attachmentOf(message)) message.attachment = attachment;
        if (trim(input.value) === text) input.value = "";
        if (view.pending === item) dropPending(view);
        // Shown now; the poll cursor is not moved, so nothing committed earlier is skipped.
        addMessages(view, [message], false);
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
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      sendReply();
    }
  });

  // After "All", in the order the service gives (most urgent first).
  CATEGORIES.forEach(function (choice) {
    var option = el("option", null, choice.label);
    option.value = choice.value;
    $("filter-category").appendChild(option);
  });

  ["filter-status", "filter-category", "filter-language"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      refreshQueue();
    });
  });

  $("sign-in-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var token = $("token-input").value.replace(/^\s+|\s+$/g, "");
    if (!token) {
      showSignIn("Enter your agent token.");
      return;
    }
    signIn(token, false);
  });

  $("sign-out").addEventListener("click", function () {
    signOut("");
  });

  // -------------------------------------------------------------------- start

  window.setInterval(tickClocks, 1000);

  var saved = storage.get();
  if (saved) {
    signIn(saved, true);
  } else {
    showSignIn("");
  }

  // Handles for tests.
  window.handoffConsole = {
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
})();
