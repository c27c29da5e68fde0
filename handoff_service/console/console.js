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
 * titles, summary facts, names) is put into the page with textContent, never
 * as HTML.
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
    author: { user: "User", bot: "Assistant", agent: "Agent", system: "System" }
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

  /** An API error with the HTTP status and the service's error code. */
  function ApiError(status, code, detail) {
    this.status = status;
    this.code = code;
    this.message = detail || ("HTTP " + status);
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
          if (!response.ok) {
            throw new ApiError(response.status, data && data.error, data && data.detail);
          }
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
  var current = null; // the open ticket: {ref, ticket, fetchedAt, messages: {id: msg}, afterId}
  var ticketSeq = 0;

  function api(method, path, body) {
    var mine = session;
    if (!mine) return Promise.reject(new ApiError(0, "signed_out", "signed out"));
    return request(mine.token, method, path, body).then(
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
    current = null;
    tickets = [];
    queueItems = {};
    clear($("queue"));
    closeTicketView();
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
    current = { ref: ref, ticket: null, fetchedAt: 0, messages: {}, afterId: 0, loaded: false };
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
    renderSummary(t);
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

  function renderSummary(t) {
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
      var dd = el("dd", row[3] || null, empty ? "—" : String(row[2]));
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
    input.placeholder = enabled ? "Reply to the user (Enter sends, Shift+Enter for a new line)" : why;
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

  // ----------------------------------------------------------------- messages

  function isPayload(message) {
    return message.author === "user" && /^\/[A-Za-z_]/.test(message.text || "");
  }

  function renderLine(message) {
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
    li.appendChild(el("div", "line__text", message.text));
    return li;
  }

  /** Merge messages into the transcript in id order; ``advance`` moves the poll cursor. */
  function addMessages(view, messages, advance) {
    var list = $("transcript");
    var nearBottom = isNearBottom();
    var added = false;
    messages.forEach(function (message) {
      var id = Number(message.id);
      if (advance && id > view.afterId) view.afterId = id;
      if (view.messages[id]) return;
      view.messages[id] = message;
      var line = renderLine(message);
      // Usually the newest; an id lower than the last one shown goes in its place.
      var next = null;
      for (var node = list.lastElementChild; node; node = node.previousElementSibling) {
        if (Number(node.getAttribute("data-id")) < id) break;
        next = node;
      }
      list.insertBefore(line, next);
      added = true;
    });
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

  function sendReply() {
    var view = current;
    var input = $("reply-input");
    var text = input.value.replace(/^\s+|\s+$/g, "");
    if (!view || !text || input.disabled) return;
    act($("reply-send"), "/messages", { text: text }).then(function (message) {
      if (!message || current !== view) return;
      if (input.value.replace(/^\s+|\s+$/g, "") === text) input.value = "";
      $("reply-send").disabled = false;
      // Shown now; the poll cursor is not moved, so nothing committed earlier is skipped.
      addMessages(view, [message], false);
      scrollToBottom();
      input.focus();
    });
  }

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
    }
  };
})();
