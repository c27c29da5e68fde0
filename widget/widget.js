/*
 * Reference chat widget for the wallet support assistant.
 *
 * Talks to the assistant's socket.io channel (see README.md): session_request /
 * session_confirm with a session token, user_uttered with its acknowledgement,
 * bot_uttered, history (what was said while the page was closed) and seen.
 * Every piece of text from the user, the bot or an agent is rendered with
 * textContent, never as HTML. A seed phrase or private key the user pastes is
 * never written to the browser's storage (see "Secrets" below). The only
 * thing read from the page's URL is ?embedded=1 (shown inside embed.js's
 * panel), which changes the layout and how the unread count is reported,
 * never where the chat connects.
 */
(function () {
  "use strict";

  var SESSION_KEY = "wallet-support-session";
  var HISTORY_PREFIX = "wallet-support-history:";
  // The conversation left with New chat while its ticket was open (one at most).
  var PREVIOUS_KEY = "wallet-support-previous";
  // Messages typed before the server has named the conversation (not a valid id).
  var UNNAMED_HISTORY = HISTORY_PREFIX + "(new)";
  var HISTORY_LIMIT = 200;
  var HISTORY_PAGE = 100; // messages asked for per history request (the server allows 200)
  var HISTORY_MAX_PAGES = 10; // per sync: a server that keeps saying "more" cannot loop us
  // The server answers one history request per connection every half second.
  var HISTORY_PAGE_INTERVAL_MS = 600;
  var HISTORY_MAX_RETRIES = 3;
  var ACK_TIMEOUT_MS = 10000; // history and seen: an older server never answers them
  var MAX_CHARS = 4000;
  var COUNTER_FROM = 3500;
  var TYPING_TIMEOUT_MS = 30000;
  var MAX_TOKEN_CHARS = 4096;
  var MAX_SERVER_ID_CHARS = 128;
  var DEFAULT_RETRY_SECONDS = 5;
  var MAX_RETRY_SECONDS = 3600;
  // invalid_session answers in a row before the widget stops renewing on its own.
  var MAX_SESSION_RENEWALS = 3;
  // The placeholders the server leaves where it removed a secret
  // ("[redacted seed phrase]", "[redacted private key]", "[已隐藏的助记词]"),
  // shown as a chip in the user's bubble.
  var PLACEHOLDER_RE = /\[(?:redacted [a-z][a-z -]{0,30}|已隐藏[^\[\]\s]{1,12})\]/g;
  var KEY_PLACEHOLDER_RE = /key|私钥|密钥/;
  // The bot's question for a transaction hash: a 64-hex answer to it is a hash, not a key.
  var ASKS_FOR_HASH_RE = /transaction hash|tx\s*hash|txid|交易哈希/i;
  // What embed.js and this page say to each other (window.postMessage).
  var UNREAD_MESSAGE = "wallet-support:unread";
  var VISIBILITY_MESSAGE = "wallet-support:visibility";

  var LABELS = {
    en: {
      title: "OKX Wallet Support",
      placeholder: "Describe your problem…",
      inputLabel: "Message",
      send: "Send",
      newChat: "New chat",
      newChatTitle: "Forget this conversation and start a new one",
      connecting: "Connecting…",
      online: "Online",
      offline: "Offline, reconnecting…",
      empty: "Ask us anything about your wallet: a deposit that hasn't arrived, a failed withdrawal, a login problem…",
      queued: "Will be sent when the connection is back",
      unconfirmed: "Delivery not confirmed.",
      failed: "Not sent.",
      resend: "Send again",
      agent: "Support agent",
      log: "Conversation",
      noConnection: "The chat cannot connect: check rasaUrl in the widget's config.js.",
      backToTicket: "Back to ticket {ref}",
      backToChat: "Back to the previous chat",
      leaveTitle: "Start a new chat?",
      leaveText: "Your ticket {ref} stays open. When the agent answers, you can read the reply " +
        "by coming back to this chat with “Back to ticket” at the top.",
      leaveTextNoRef: "Your ticket stays open. When the agent answers, you can read the reply " +
        "by coming back to this chat with “Back to ticket” at the top.",
      leaveStay: "Stay in this chat",
      leaveConfirm: "Start a new chat",
      hiddenPhrase: "hidden: recovery phrase",
      hiddenKey: "hidden: private key",
      hiddenNote: "Removed for your safety. It is not kept anywhere.",
      queuedUnsaved: "Will be sent when the connection is back. Not saved on this device " +
        "until then: keep this page open."
    },
    zh: {
      title: "欧意钱包支持",
      placeholder: "描述您遇到的问题…",
      inputLabel: "消息",
      send: "发送",
      newChat: "新对话",
      newChatTitle: "结束当前对话并开始新的对话",
      connecting: "正在连接…",
      online: "在线",
      offline: "已断开，正在重连…",
      empty: "有任何钱包问题都可以问我们：充值没到账、提币失败、无法登录……",
      queued: "连接恢复后自动发送",
      unconfirmed: "未确认送达。",
      failed: "未发送。",
      resend: "重新发送",
      agent: "客服",
      log: "对话记录",
      noConnection: "聊天无法连接，请检查聊天组件 config.js 中的 rasaUrl。",
      backToTicket: "返回工单 {ref}",
      backToChat: "返回上一个对话",
      leaveTitle: "开始新对话？",
      leaveText: "您的工单 {ref} 仍会保持处理中。客服回复后，点击顶部的“返回工单”回到这个对话即可查看回复。",
      leaveTextNoRef: "您的工单仍会保持处理中。客服回复后，点击顶部的“返回工单”回到这个对话即可查看回复。",
      leaveStay: "留在当前对话",
      leaveConfirm: "开始新对话",
      hiddenPhrase: "已隐藏助记词",
      hiddenKey: "已隐藏私钥",
      hiddenNote: "为了您的资产安全已删除，不会在任何地方保存。",
      queuedUnsaved: "连接恢复后自动发送。发送前不会保存在本设备上，请不要关闭此页面。"
    }
  };

  // ------------------------------------------------------------------ helpers

  function detectLanguage() {
    var lang = navigator.language || (navigator.languages && navigator.languages[0]) || "en";
    return /^zh/i.test(lang) ? "zh" : "en";
  }

  var lang = detectLanguage();
  var t = LABELS[lang];

  function $(id) {
    return document.getElementById(id);
  }

  /** A label with {name} placeholders filled in. */
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return values[name] != null ? String(values[name]) : whole;
    });
  }

  var storage = (function () {
    var memory = {};
    var local = null;
    try {
      local = window.localStorage;
      var probe = "__wallet_support_probe__";
      local.setItem(probe, probe);
      local.removeItem(probe);
    } catch (err) {
      local = null; // private mode or storage disabled: keep things for this page only
    }
    return {
      get: function (key) {
        try {
          return local ? local.getItem(key) : (key in memory ? memory[key] : null);
        } catch (err) {
          return null;
        }
      },
      set: function (key, value) {
        try {
          if (local) local.setItem(key, value);
          else memory[key] = value;
        } catch (err) {
          /* quota exceeded: the conversation still works, only the copy is not kept */
        }
      },
      remove: function (key) {
        try {
          if (local) local.removeItem(key);
          else delete memory[key];
        } catch (err) {
          /* ignore */
        }
      }
    };
  })();

  /** Conversation ids as the server makes them (the channel enforces the same rule). */
  function validSessionId(value) {
    return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
  }

  /** A JWT's shape; whether it is genuine only the server can tell. */
  function validToken(value) {
    return typeof value === "string" && value.length <= MAX_TOKEN_CHARS &&
      /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
  }

  function readJson(key) {
    var raw = storage.get(key);
    try {
      return raw ? JSON.parse(raw) : null;
    } catch (err) {
      return null;
    }
  }

  /** The stored {id, token}; a bare id (kept by earlier versions) has no token. */
  function loadSession() {
    var parsed = readJson(SESSION_KEY);
    if (parsed && typeof parsed === "object") {
      var id = validSessionId(parsed.session_id) ? parsed.session_id : null;
      return { id: id, token: id && validToken(parsed.session_token) ? parsed.session_token : null };
    }
    var raw = storage.get(SESSION_KEY);
    return { id: validSessionId(raw) ? raw : null, token: null };
  }

  /** The conversation left for a new chat while its ticket was open: {id, token, ref}, or null. */
  function loadPrevious() {
    var parsed = readJson(PREVIOUS_KEY);
    if (!parsed || typeof parsed !== "object" || !validSessionId(parsed.session_id) ||
        !validToken(parsed.session_token)) {
      return null;
    }
    var ref = typeof parsed.ticket_ref === "string" && parsed.ticket_ref.length <= 64 ?
      parsed.ticket_ref : null;
    return { id: parsed.session_id, token: parsed.session_token, ref: ref };
  }

  function savePrevious(id, token, ref) {
    storage.set(PREVIOUS_KEY, JSON.stringify({ session_id: id, session_token: token, ticket_ref: ref }));
  }

  function historyKey(id) {
    return id ? HISTORY_PREFIX + id : UNNAMED_HISTORY;
  }

  function loadHistory(id) {
    var parsed = readJson(historyKey(id));
    return Array.isArray(parsed) ? parsed.filter(isItem) : [];
  }

  function isItem(item) {
    return item && typeof item === "object" && typeof item.author === "string" &&
      typeof item.text === "string";
  }

  /** 32 lowercase hex characters: the id of a message this widget sends. */
  function newMessageId() {
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      // Only unique within one conversation matters; this is not a secret.
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    var hex = "";
    for (var j = 0; j < bytes.length; j++) hex += (bytes[j] < 16 ? "0" : "") + bytes[j].toString(16);
    return hex;
  }

  /** The server's id of a message (bot_uttered payload or history entry), or null. */
  function serverIdOf(data) {
    var id = data && typeof data === "object" ? data.id : null;
    if (typeof id === "number" && isFinite(id)) id = String(id);
    return typeof id === "string" && id && id.length <= MAX_SERVER_ID_CHARS ? id : null;
  }

  /** The server's epoch seconds as this widget's milliseconds; now when missing. */
  function timeOf(data) {
    var ts = data && typeof data === "object" ? Number(data.ts) : NaN;
    return isFinite(ts) && ts > 0 ? ts * 1000 : Date.now();
  }

  function widgetConfig() {
    var config = window.WIDGET_CONFIG;
    return config && typeof config === "object" ? config : {};
  }

  /**
   * Where Rasa lives: window.WIDGET_CONFIG.rasaUrl (config.js, served with the
   * page), else this host on :5005. Never the page's URL: a link must not be
   * able to point the chat at another server.
   */
  function resolveServer() {
    var configured = widgetConfig().rasaUrl;
    var raw = typeof configured === "string" && configured ? configured :
      "http://" + (window.location.hostname || "localhost") + ":5005";
    var url;
    try {
      url = new URL(raw, window.location.href);
    } catch (err) {
      return null;
    }
    if (!/^(https?|wss?):$/.test(url.protocol)) return null;
    // A path in the URL (Rasa behind a reverse proxy prefix) belongs to the
    // socket.io path, not to the namespace that io() would make of it.
    var prefix = url.pathname.replace(/\/+$/, "");
    return { origin: url.protocol + "//" + url.host, path: prefix + "/socket.io" };
  }

  /** Shown in embed.js's panel: a flag in the URL, and only when really framed. */
  function detectEmbedded() {
    if (window.parent === window) return false;
    try {
      return new URLSearchParams(window.location.search).get("embedded") === "1";
    } catch (err) {
      return false;
    }
  }

  // -------------------------------------------------------------------- state

  var stored = loadSession();
  var sessionId = stored.id; // null until the server has named a conversation
  var sessionToken = stored.token;
  // The wallet app's signed token for its logged-in user: sent once, in the
  // next session_request; the session token the server answers with replaces it.
  var userToken = validToken(widgetConfig().userToken) ? widgetConfig().userToken : null;
  var nextLocalId = 1;
  var items = prepareItems(loadHistory(sessionId));
  var confirmed = false; // session_confirm received on the current connection
  var socket = null;
  // Bumped on every connect, disconnect and new chat: answers that arrive for
  // an older connection or conversation are ignored.
  var link = 0;
  var inflight = 0;
  var typingTimer = null;
  var heldUntil = 0; // rate limited: nothing is sent before this time (ms)
  var holdTimer = null;
  var sessionRetryTimer = null;
  var historyRun = 0; // the newest history sync; only it may mark the log as synced
  var seenInFlight = false;
  var renewals = 0; // invalid_session answers since the last delivered message
  // The server's word on this conversation's ticket ({active, ref}), from the last history answer.
  var handoff = null;
  var embedded = detectEmbedded();
  // Standalone the page is the chat; embedded, embed.js says when its panel is open.
  var panelOpen = !embedded;
  var unread = 0; // bot and agent messages that arrived while the user could not see them

  /**
   * Stored items made ready for this page: local ids, and the states a message
   * left mid-flight when the page was closed.
   */
  function prepareItems(list) {
    list.forEach(function (item) {
      if (typeof item.id !== "number") item.id = 0;
      nextLocalId = Math.max(nextLocalId, item.id + 1);
    });
    list.forEach(function (item) {
      if (!item.id) item.id = nextLocalId++;
      // A message still waiting for its acknowledgement when the page was left
      // most likely reached the server: show it as sent, not as a failure.
      if (item.status === "sent") item.status = "delivered";
      if (item.status === "waiting") item.status = "queued";
      // Kept by an earlier version without an id: it gets one before it is sent.
      if (item.author === "user" && item.status === "queued" && !item.serverId) {
        item.serverId = newMessageId();
      }
    });
    return list;
  }

  // ---------------------------------------------------------------- elements

  var headerEl = $("chat-header");
  var logEl = $("chat-log");
  var emptyEl = $("chat-empty");
  var inputEl = $("chat-input");
  var sendEl = $("chat-send");
  var formEl = $("chat-form");
  var counterEl = $("chat-counter");
  var stateEl = $("connection-state");
  var stateLabelEl = $("connection-label");
  var newChatEl = $("new-chat");
  var backEl = $("back-to-ticket");
  var typingEl = $("chat-typing");
  var leaveEl = $("leave-dialog");
  var leaveTextEl = $("leave-text");
  var leaveStayEl = $("leave-stay");
  var leaveConfirmEl = $("leave-confirm");
  var elements = {}; // item id -> element

  function applyLabels() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.documentElement.classList.toggle("is-embedded", embedded);
    document.title = t.title;
    $("chat-title").textContent = t.title;
    inputEl.placeholder = t.placeholder;
    $("chat-input-label").textContent = t.inputLabel;
    sendEl.textContent = t.send;
    newChatEl.textContent = t.newChat;
    newChatEl.title = t.newChatTitle;
    emptyEl.textContent = t.empty;
    logEl.setAttribute("aria-label", t.log);
    inputEl.maxLength = MAX_CHARS;
    $("leave-title").textContent = t.leaveTitle;
    leaveStayEl.textContent = t.leaveStay;
    leaveConfirmEl.textContent = t.leaveConfirm;
  }

  // --------------------------------------------------------------- rendering

  function formatTime(ts) {
    try {
      return new Date(ts).toLocaleString(lang === "zh" ? "zh-CN" : undefined);
    } catch (err) {
      return "";
    }
  }

  function safeImageUrl(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  function renderItem(item) {
    var el = document.createElement("div");
    el.className = "msg msg--" + item.author + (item.kind ? " msg--" + item.kind : "");
    el.setAttribute("data-testid", "msg");
    el.setAttribute("data-author", item.author);
    if (item.kind) el.setAttribute("data-kind", item.kind);
    if (item.serverId) el.setAttribute("data-id", item.serverId);
    if (item.ts) el.title = formatTime(item.ts);

    if (item.author === "agent") {
      var name = document.createElement("div");
      name.className = "msg__name";
      name.setAttribute("data-testid", "msg-name");
      name.textContent = item.name || t.agent;
      el.appendChild(name);
    }

    if (item.text) {
      var bubble = document.createElement("div");
      bubble.className = "msg__text";
      bubble.setAttribute("data-testid", "msg-text");
      fillText(bubble, item);
      el.appendChild(bubble);
    }

    var image = safeImageUrl(item.image);
    if (image) {
      var img = document.createElement("img");
      img.className = "msg__image";
      img.alt = "";
      img.loading = "lazy";
      img.referrerPolicy = "no-referrer";
      img.src = image;
      el.appendChild(img);
    }

    if (item.buttons && item.buttons.length) {
      el.appendChild(renderButtons(item));
    }

    if (item.author === "user") {
      var meta = document.createElement("div");
      meta.className = "msg__meta";
      el.appendChild(meta);
      updateStatus(item, el);
    }

    elements[item.id] = el;
    return el;
  }

  /**
   * The text of a bubble. The user's own messages show what the server kept
   * of them: a removed secret's placeholder ("[redacted seed phrase]",
   * "[已隐藏的助记词]", "[redacted private key]") becomes a grey chip. Built
   * from text nodes only; the user's text is never parsed as markup.
   */
  function fillText(bubble, item) {
    while (bubble.firstChild) bubble.removeChild(bubble.firstChild);
    var text = item.shown != null ? item.shown : item.text;
    if (item.author !== "user") {
      bubble.textContent = text;
      return;
    }
    var cursor = 0;
    var match;
    PLACEHOLDER_RE.lastIndex = 0;
    while ((match = PLACEHOLDER_RE.exec(text)) !== null) {
      if (match.index > cursor) {
        bubble.appendChild(document.createTextNode(text.slice(cursor, match.index)));
      }
      bubble.appendChild(secretChip(match[0]));
      cursor = match.index + match[0].length;
    }
    if (cursor < text.length) bubble.appendChild(document.createTextNode(text.slice(cursor)));
  }

  function secretChip(placeholder) {
    var key = KEY_PLACEHOLDER_RE.test(placeholder);
    var chip = document.createElement("span");
    chip.className = "msg__secret";
    chip.setAttribute("data-testid", "secret-mask");
    chip.setAttribute("data-kind", key ? "private_key" : "seed_phrase");
    chip.title = t.hiddenNote;
    var dots = document.createElement("span");
    dots.className = "msg__secret-dots";
    dots.setAttribute("aria-hidden", "true");
    dots.textContent = "\u2022\u2022\u2022\u2022 ";
    chip.appendChild(dots);
    chip.appendChild(document.createTextNode(key ? t.hiddenKey : t.hiddenPhrase));
    return chip;
  }

  /** Show ``item``'s text again (after the server said what it kept). */
  function updateText(item) {
    var el = elements[item.id];
    var bubble = el && el.querySelector("[data-testid=msg-text]");
    if (bubble) fillText(bubble, item);
  }

  function renderButtons(item) {
    var group = document.createElement("div");
    group.className = "msg__buttons";
    group.setAttribute("data-testid", "reply-buttons");
    group.setAttribute("role", "group");
    item.buttons.forEach(function (button, index) {
      var el = document.createElement("button");
      el.type = "button";
      el.className = "reply-button";
      el.setAttribute("data-testid", "reply-button");
      el.setAttribute("data-payload", button.payload);
      el.textContent = button.title;
      el.disabled = !!item.used;
      if (item.used && item.chosen === index) el.classList.add("reply-button--chosen");
      el.addEventListener("click", function () {
        if (item.used) return;
        disableButtons(item, index);
        sendMessage(button.title, button.payload);
      });
      group.appendChild(el);
    });
    return group;
  }

  function disableButtons(item, chosenIndex) {
    item.used = true;
    if (typeof chosenIndex === "number" && chosenIndex >= 0) item.chosen = chosenIndex;
    var el = elements[item.id];
    if (!el) return;
    var buttons = el.querySelectorAll("[data-testid=reply-button]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
      if (i === item.chosen) buttons[i].classList.add("reply-button--chosen");
    }
  }

  function updateStatus(item, el) {
    el = el || elements[item.id];
    if (!el) return;
    el.setAttribute("data-status", item.status || "delivered");
    var meta = el.querySelector(".msg__meta");
    if (!meta) return;
    while (meta.firstChild) meta.removeChild(meta.firstChild);
    if (item.status === "queued") {
      meta.textContent = item.unsaved ? t.queuedUnsaved : t.queued;
    } else if (item.status === "failed") {
      meta.textContent = t.failed;
    } else if (item.status === "unconfirmed") {
      meta.appendChild(document.createTextNode(t.unconfirmed + " "));
      var again = document.createElement("button");
      again.type = "button";
      again.className = "msg__resend";
      again.setAttribute("data-testid", "resend");
      again.textContent = t.resend;
      again.addEventListener("click", function () {
        item.status = "queued";
        updateStatus(item);
        saveHistory();
        // After the widget gave up renewing a refused session, a click asks once more.
        if (socket && socket.connected && !confirmed) requestSession();
        flushQueue();
      });
      meta.appendChild(again);
    }
  }

  function scrollToBottom() {
    logEl.scrollTop = logEl.scrollHeight;
  }

  function updateEmpty() {
    emptyEl.hidden = items.length > 0;
  }

  function renderAll() {
    elements = {};
    var children = logEl.querySelectorAll("[data-testid=msg]");
    for (var i = 0; i < children.length; i++) logEl.removeChild(children[i]);
    var fragment = document.createDocumentFragment();
    items.forEach(function (item) {
      fragment.appendChild(renderItem(item));
    });
    logEl.appendChild(fragment);
    updateEmpty();
    scrollToBottom();
  }

  function saveHistory() {
    if (items.length > HISTORY_LIMIT) {
      items.splice(0, items.length - HISTORY_LIMIT).forEach(function (old) {
        var el = elements[old.id];
        if (el && el.parentNode) el.parentNode.removeChild(el);
        delete elements[old.id];
      });
    }
    // A message that may hold a secret stays in memory until the server has
    // said what it kept of it (see "Secrets" below).
    var kept = items.filter(function (item) {
      return !item.unsaved;
    });
    storage.set(historyKey(sessionId), JSON.stringify(kept));
  }

  /** Put ``item`` at ``index`` of the log (the list and the page); returns it. */
  function insertItem(index, item) {
    item.id = nextLocalId++;
    if (!item.ts) item.ts = Date.now();
    items.splice(index, 0, item);
    var el = renderItem(item);
    var next = items[index + 1];
    var nextEl = next ? elements[next.id] : null;
    if (nextEl && nextEl.parentNode === logEl) logEl.insertBefore(el, nextEl);
    else logEl.appendChild(el);
    return item;
  }

  function addItem(item) {
    insertItem(items.length, item);
    saveHistory();
    updateEmpty();
    scrollToBottom();
    return item;
  }

  /** Where the message the server calls ``id`` is in the log, or -1. */
  function indexOfServerId(id) {
    for (var i = items.length - 1; i >= 0; i--) {
      if (items[i].serverId === id) return i;
    }
    return -1;
  }

  /**
   * Whether the server's history holds this item under its id, so that it can
   * be the ``after`` of a history request. Notices the server sends about the
   * user's input (rate limited, rejected) are not kept in history, and the
   * user's messages only once the server has taken them.
   */
  function inServerHistory(item) {
    if (!item.serverId) return false;
    if (item.author === "user") return item.status === "delivered";
    return !item.kind;
  }

  function lastServerIndex() {
    for (var i = items.length - 1; i >= 0; i--) {
      if (inServerHistory(items[i])) return i;
    }
    return -1;
  }

  // --------------------------------------------------------- bot messages in

  function normalizeButtons(list) {
    if (!Array.isArray(list)) return [];
    var out = [];
    list.forEach(function (button) {
      if (!button || typeof button !== "object") return;
      var title = button.title != null ? String(button.title) : "";
      var payload = button.payload != null ? String(button.payload) : title;
      if (!title) title = payload;
      if (!payload) return;
      out.push({ title: title, payload: payload });
    });
    return out;
  }

  function textOf(value) {
    return value == null ? "" : String(value);
  }

  /** The handoff service's integer id of an agent's reply (what ``seen`` reports), or null. */
  function agentMessageIdOf(value) {
    var id = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : value;
    return typeof id === "number" && isFinite(id) && id > 0 && Math.floor(id) === id ? id : null;
  }

  /** The log item for a bot_uttered payload (live or from history), or null if it shows nothing. */
  function itemFromPayload(data) {
    if (typeof data === "string") data = { text: data };
    if (!data || typeof data !== "object") return null;

    if (data.type === "agent") {
      var reply = { author: "agent", name: textOf(data.agent_name), text: textOf(data.text) };
      var messageId = agentMessageIdOf(data.message_id);
      if (messageId !== null) reply.agentMessageId = messageId;
      return reply;
    }
    if (data.type === "system") return { author: "system", text: textOf(data.text) };
    if (data.error === "rate_limited") {
      // A calm notice: the held message is kept and goes out on its own later.
      return { author: "bot", kind: "notice", text: textOf(data.text) };
    }
    if (data.error) {
      return { author: "bot", kind: "error", text: textOf(data.text) || String(data.error) };
    }

    var buttons = normalizeButtons(data.buttons || data.quick_replies);
    var image = data.image ||
      (data.attachment && data.attachment.type === "image" && data.attachment.payload &&
        data.attachment.payload.src);
    var item = { author: "bot", text: textOf(data.text) };
    if (buttons.length) item.buttons = buttons;
    if (safeImageUrl(image)) item.image = image;
    if (!item.text && !item.buttons && !item.image) return null; // nothing this widget can show
    return item;
  }

  /** A live bot_uttered: shown unless history already brought the same message. */
  function receive(data) {
    var item = itemFromPayload(data);
    if (!item) return;
    var id = serverIdOf(data);
    if (id !== null) {
      if (indexOfServerId(id) !== -1) return;
      item.serverId = id;
    }
    item.ts = timeOf(data);
    addItem(item);
    noteArrivals([item], true);
  }

  /** The title of the reply button whose payload is ``payload``, or null if none is known. */
  function buttonTitle(payload) {
    for (var i = items.length - 1; i >= 0; i--) {
      var buttons = items[i].buttons || [];
      for (var j = 0; j < buttons.length; j++) {
        if (buttons[j].payload === payload) return buttons[j].title;
      }
    }
    return null;
  }

  /**
   * The user's message as history has it (the server's copy, secrets redacted).
   * A button press comes back as its payload: shown as the button's title, or
   * not at all when no button with that payload is known.
   */
  function userItemFromHistory(entry) {
    var text = textOf(entry.text);
    if (!text) return null;
    var item = { author: "user", text: text, status: "delivered" };
    if (text.charAt(0) === "/") {
      var title = buttonTitle(text);
      if (title === null) return null;
      item.text = title;
      item.send = text;
    }
    return item;
  }

  /** A user message the server has in its history was delivered, whatever the widget thought. */
  function markDelivered(item) {
    if (item.author !== "user" || item.status === "delivered" || item.status === "sent") return;
    item.status = "delivered";
    updateStatus(item);
  }

  /** The index of the button ``answer`` (a user item) pressed in ``group``, or -1. */
  function chosenButton(group, answer) {
    for (var i = 0; i < group.buttons.length; i++) {
      var button = group.buttons[i];
      if (answer.send != null ? button.payload === answer.send : button.title === answer.text) return i;
    }
    return -1;
  }

  /**
   * Reply buttons followed by a message of the user are used, as they are when
   * the user answers live; the answer that matches a button marks it chosen.
   */
  function settleButtonGroups() {
    var open = [];
    items.forEach(function (item) {
      if (item.author === "user") {
        open.forEach(function (group) {
          disableButtons(group, chosenButton(group, item));
        });
        open = [];
      } else if (item.buttons && item.buttons.length && !item.used) {
        open.push(item);
      }
    });
  }

  /**
   * Merge one page of history into the log. Every message is shown once: one
   * the log already has (same id: a live bot_uttered, or the user's own bubble,
   * which carries its message_id) is skipped and marks where the next ones go;
   * a new one goes right after the message before it. So replies sent while
   * the page was closed land before messages typed since and not yet sent.
   * Returns the items added.
   */
  function mergeHistory(messages, after) {
    var anchor = after === null ? -1 : indexOfServerId(after);
    // ``after`` fell out of the stored log: what the server knows ends here.
    if (after !== null && anchor === -1) anchor = lastServerIndex();
    var added = [];
    messages.forEach(function (entry) {
      var id = serverIdOf(entry);
      if (id === null) return;
      var known = indexOfServerId(id);
      if (known !== -1) {
        if (entry.sender === "user") takeServerCopy(items[known], entry);
        markDelivered(items[known]);
        anchor = known;
        return;
      }
      var item = entry.sender === "user" ? userItemFromHistory(entry) : itemFromPayload(entry);
      if (!item) return;
      item.serverId = id;
      item.ts = timeOf(entry);
      anchor += 1;
      insertItem(anchor, item);
      added.push(item);
    });
    if (added.length) settleButtonGroups();
    return added;
  }

  /**
   * Copies kept by an earlier version of the widget have no server ids, so
   * history could not tell them from its own: the server's copy replaces them.
   * Messages not sent yet stay.
   */
  function dropUnidentified() {
    var kept = items.filter(function (item) {
      return item.serverId || (item.author === "user" && item.status !== "delivered");
    });
    if (kept.length === items.length) return;
    items = kept;
    renderAll();
  }

  // ------------------------------------------------------------------ history

  /** socket.emit with an acknowledgement that gives up after ACK_TIMEOUT_MS: done(reply|null). */
  function ask(event, data, done) {
    var settled = false;
    var timer = setTimeout(function () {
      settled = true;
      done(null);
    }, ACK_TIMEOUT_MS);
    socket.emit(event, data, function (reply) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(reply && typeof reply === "object" ? reply : null);
    });
  }

  function readHandoff(reply) {
    var value = reply.handoff;
    if (!value || typeof value !== "object") return null;
    var ref = typeof value.ticket_ref === "string" && value.ticket_ref ? value.ticket_ref : null;
    return { active: value.active === true, ref: ref };
  }

  /**
   * Fetch what the server said after the last message this log has from it
   * (everything it has when the log has nothing yet), page by page, and merge
   * it. Runs after every session_confirm and before New chat. ``done`` gets
   * the server's handoff state, or null when there was no answer.
   */
  function syncHistory(done) {
    done = done || function () {};
    if (!socket || !socket.connected || !confirmed || !sessionId) {
      done(null);
      return;
    }
    var sentOn = link;
    var run = ++historyRun;
    var lastIndex = lastServerIndex();
    var after = lastIndex === -1 ? null : items[lastIndex].serverId;
    // Rebuilding a log (new device, cleared storage): old messages are not "unread".
    var rebuilding = after === null;
    var pages = 0;
    var retries = 0;
    var added = [];
    logEl.setAttribute("data-history", "loading");

    function finish(state) {
      if (run === historyRun) logEl.setAttribute("data-history", state ? "synced" : "failed");
      if (pages > 0) saveHistory(); // also the delivery states history confirmed
      if (added.length) {
        updateEmpty();
        scrollToBottom();
        noteArrivals(added, !rebuilding);
      } else {
        reportSeen();
      }
      done(state);
    }

    function page() {
      var request = { session_id: sessionId, session_token: sessionToken, after: after, limit: HISTORY_PAGE };
      ask("history", request, function (reply) {
        if (sentOn !== link) {
          done(null); // another connection or conversation by now: merge nothing
        } else if (!reply) {
          finish(null);
        } else if (reply.ok === false) {
          refused(reply);
        } else {
          accepted(reply);
        }
      });
    }

    /** Ask again in ``ms`` on the same connection (the server paces history per connection). */
    function later(ms) {
      setTimeout(function () {
        if (sentOn === link) page();
        else done(null);
      }, ms);
    }

    function refused(reply) {
      if (reply.error === "rate_limited" && retries < HISTORY_MAX_RETRIES) {
        // Asked twice in quick succession (a reconnect and New chat, say).
        retries += 1;
        later(retryDelayMs(reply.retry_after));
        return;
      }
      if (reply.error === "invalid_session") renewSession(); // a new session_confirm syncs again
      finish(null);
    }

    function accepted(reply) {
      var messages = Array.isArray(reply.messages) ? reply.messages : [];
      if (rebuilding && pages === 0 && messages.length) dropUnidentified();
      added = added.concat(mergeHistory(messages, after));
      var state = readHandoff(reply);
      if (state) handoff = state;
      pages += 1;
      var last = messages.length ? serverIdOf(messages[messages.length - 1]) : null;
      if (reply.more === true && last !== null && last !== after && pages < HISTORY_MAX_PAGES) {
        after = last;
        later(HISTORY_PAGE_INTERVAL_MS);
      } else {
        finish(state || { active: false, ref: null });
      }
    }

    page();
  }

  // ------------------------------------------------- unread count and "seen"

  /** The user can see the log: the panel is open (always, standalone) and the page is visible. */
  function visibleToUser() {
    return panelOpen && document.visibilityState !== "hidden";
  }

  /** New messages in the log: count the ones the user could not see, report the seen ones. */
  function noteArrivals(list, countUnread) {
    if (countUnread && !visibleToUser()) {
      var count = list.filter(function (item) {
        return item.author === "bot" || item.author === "agent";
      }).length;
      if (count) {
        unread += count;
        publishUnread();
      }
    }
    reportSeen();
  }

  /**
   * Tell whoever shows the count: embed.js's launcher through postMessage (a
   * number, never text), or this tab's title while the tab is hidden.
   */
  function publishUnread() {
    if (embedded) {
      window.parent.postMessage({ type: UNREAD_MESSAGE, count: unread }, "*");
      return;
    }
    var hidden = document.visibilityState === "hidden";
    document.title = unread > 0 && hidden ? "(" + unread + ") " + t.title : t.title;
  }

  function visibilityChanged() {
    if (!visibleToUser()) return;
    if (unread > 0) {
      // Show what arrived meanwhile; otherwise leave the reader where they were.
      unread = 0;
      publishUnread();
      scrollToBottom();
    }
    reportSeen();
  }

  /**
   * Tell the server which agent replies the user has seen (it e-mails the ones
   * nobody saw). Only while the log is really in view; each reply once.
   */
  function reportSeen() {
    if (seenInFlight || !visibleToUser() || !socket || !socket.connected || !confirmed) return;
    var shown = items.filter(function (item) {
      return item.author === "agent" && typeof item.agentMessageId === "number" && !item.seen;
    });
    if (!shown.length) return;
    var sentOn = link;
    seenInFlight = true;
    var request = {
      session_id: sessionId,
      session_token: sessionToken,
      message_ids: shown.map(function (item) {
        return item.agentMessageId;
      })
    };
    ask("seen", request, function (reply) {
      seenInFlight = false;
      if (sentOn !== link || !reply || reply.ok !== true) return; // asked again on the next arrival
      shown.forEach(function (item) {
        item.seen = true;
      });
      saveHistory();
      reportSeen(); // replies that arrived meanwhile
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (visibleToUser()) visibilityChanged();
    else publishUnread();
  });

  // embed.js says when its panel opens and closes; nobody else may.
  window.addEventListener("message", function (event) {
    if (!embedded || event.source !== window.parent) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== VISIBILITY_MESSAGE ||
        typeof data.open !== "boolean") {
      return;
    }
    panelOpen = data.open;
    if (panelOpen) {
      visibilityChanged();
      inputEl.focus();
    }
  });

  // --------------------------------------------------------- user messages out

  function setTyping(on) {
    typingEl.hidden = !on;
    if (on) scrollToBottom();
  }

  function settle() {
    inflight = Math.max(0, inflight - 1);
    if (inflight === 0) {
      clearTimeout(typingTimer);
      setTyping(false);
    }
  }

  function retryDelayMs(seconds) {
    var value = Number(seconds);
    if (!isFinite(value) || value <= 0) value = DEFAULT_RETRY_SECONDS;
    return Math.min(Math.ceil(value), MAX_RETRY_SECONDS) * 1000;
  }

  /** Rate limited: keep everything unsent for ``seconds``, then send it in order. */
  function holdFor(seconds) {
    heldUntil = Math.max(heldUntil, Date.now() + retryDelayMs(seconds));
    clearTimeout(holdTimer);
    holdTimer = setTimeout(releaseHold, heldUntil - Date.now());
  }

  function releaseHold() {
    holdTimer = null;
    heldUntil = 0;
    setUserStatus("waiting", "queued");
    flushQueue();
  }

  function setUserStatus(from, to) {
    var changed = false;
    items.forEach(function (item) {
      if (item.author === "user" && item.status === from) {
        item.status = to;
        updateStatus(item);
        changed = true;
      }
    });
    if (changed) saveHistory();
    return changed;
  }

  // ---------------------------------------------------------------- secrets
  //
  // The channel removes seed phrases and private keys before Rasa sees a
  // message, and its acknowledgement says what it kept:
  // {ok: true, redacted: {text, kinds}}. From then on the bubble shows, and
  // the stored log holds, only that text (the placeholders as chips). Before
  // the acknowledgement, a message that could hold a secret (secret_shapes.js,
  // a broad check on purpose) is kept in memory only (``unsaved``: left out of
  // everything saveHistory writes, even while it waits for the connection),
  // and what surely is a secret is masked in the bubble at once (``shown``).
  // If the page is closed before the acknowledgement, such a message is lost:
  // better than a secret left in the browser. The composer's draft is never
  // stored at all.

  /** Whether the bot's latest message asked for a transaction hash. */
  function askedForHash() {
    for (var i = items.length - 1; i >= 0; i--) {
      var item = items[i];
      if (item.author === "user") return false;
      if (item.author === "bot" && !item.kind) return ASKS_FOR_HASH_RE.test(item.text);
    }
    return false;
  }

  /** A new message that looks like it holds a secret: keep it in memory only, mask the sure parts. */
  function guardSecrets(item) {
    var shapes = window.walletSupportSecretShapes;
    if (!shapes || typeof shapes.find !== "function") {
      item.unsaved = true; // no check available: nothing is stored before the server has answered
      return;
    }
    var options = { expectingHash: askedForHash() };
    var spans = shapes.find(item.text, options);
    var suspect = spans.length > 0 ||
      (item.send != null && shapes.find(item.send, options).length > 0);
    if (!suspect) return;
    item.unsaved = true;
    var masked = shapes.mask(item.text, spans);
    if (masked !== item.text) item.shown = masked;
  }

  function hasPlaceholder(text) {
    PLACEHOLDER_RE.lastIndex = 0;
    var found = PLACEHOLDER_RE.test(text);
    PLACEHOLDER_RE.lastIndex = 0;
    return found;
  }

  /** The server has the message: show and store it as it is from now on. */
  function release(item) {
    if (!item.unsaved && item.shown == null) return;
    delete item.unsaved;
    delete item.shown;
    updateText(item);
  }

  /** The text the server kept of a message replaces what was typed. */
  function keepServerText(item, text) {
    item.text = text;
    delete item.send;
    delete item.unsaved;
    delete item.shown;
    updateText(item);
  }

  /** What an acknowledgement with ``ok`` says about secrets in the message. */
  function settleSecrets(item, reply) {
    var body = reply && typeof reply === "object" ? reply : null;
    var redacted = body && body.redacted && typeof body.redacted === "object" ? body.redacted : null;
    if (redacted && typeof redacted.text === "string" && redacted.text) {
      keepServerText(item, redacted.text);
    } else if (item.unsaved) {
      // {ok: true} alone: the server removed nothing, the text stands as typed.
      // An older server acknowledges without a body and says nothing about
      // secrets: what was masked here stays masked.
      if (!body && item.shown != null) item.text = item.shown;
      release(item);
    }
  }

  /**
   * History's copy of a message this log shows (same id): the server's text
   * (secrets removed) replaces the typed one where the server removed
   * something, or where the typed one was still kept in memory only.
   */
  function takeServerCopy(item, entry) {
    if (item.author !== "user") return;
    var text = textOf(entry.text);
    if (text && item.send == null && text !== item.text && (item.unsaved || hasPlaceholder(text))) {
      keepServerText(item, text);
    } else {
      release(item);
    }
  }

  /** What the server's acknowledgement says about one message. */
  function acknowledged(item, reply) {
    // An old server acknowledges without a body: the message was handled.
    var error = reply && typeof reply === "object" && reply.ok === false ?
      String(reply.error || "refused") : null;
    if (error === null) {
      renewals = 0;
      if (item.status === "sent") item.status = "delivered";
      settleSecrets(item, reply);
    } else if (error === "rate_limited") {
      // The server has already said so (a bot_uttered notice); nothing more to show.
      item.status = "waiting";
      holdFor(reply.retry_after);
    } else if (error === "invalid_session") {
      item.status = "queued";
      renewSession();
    } else {
      // message_too_long, message_not_text: sending it again would not help.
      item.status = "failed";
    }
    updateStatus(item);
    saveHistory();
  }

  function emitItem(item) {
    item.status = "sent";
    // The server keeps the message under this id, so history can skip it later.
    if (!item.serverId) item.serverId = newMessageId();
    updateStatus(item);
    saveHistory();
    inflight += 1;
    setTyping(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      setTyping(false);
    }, TYPING_TIMEOUT_MS);
    var sentOn = link;
    // The server acknowledges once it has handled (or refused) the message.
    socket.emit(
      "user_uttered",
      {
        message: item.send != null ? item.send : item.text,
        message_id: item.serverId,
        session_id: sessionId,
        session_token: sessionToken
      },
      function (reply) {
        if (sentOn !== link) return;
        settle();
        acknowledged(item, reply);
      }
    );
  }

  function flushQueue() {
    if (!socket || !socket.connected || !confirmed || holdTimer) return;
    items.forEach(function (item) {
      if (item.author === "user" && item.status === "queued") emitItem(item);
    });
  }

  function sendMessage(display, payload) {
    // Buttons offered before this message no longer apply.
    items.forEach(function (item) {
      if (item.buttons && !item.used) disableButtons(item);
    });
    // While rate limited a new message waits behind the held ones, quietly.
    var item = {
      author: "user",
      text: display,
      status: holdTimer ? "waiting" : "queued",
      serverId: newMessageId()
    };
    if (payload != null && payload !== display) item.send = payload;
    guardSecrets(item);
    addItem(item);
    flushQueue();
  }

  // ---------------------------------------------------------------- composer

  function autosize() {
    inputEl.style.height = "auto";
    inputEl.style.height = Math.min(inputEl.scrollHeight, 160) + "px";
  }

  function updateComposer() {
    var length = inputEl.value.length;
    sendEl.disabled = inputEl.value.trim() === "" || length > MAX_CHARS;
    if (length >= COUNTER_FROM) {
      counterEl.hidden = false;
      counterEl.textContent = length + " / " + MAX_CHARS;
      counterEl.classList.toggle("chat__counter--full", length >= MAX_CHARS);
    } else {
      counterEl.hidden = true;
    }
  }

  function submit() {
    var text = inputEl.value.replace(/^\s+|\s+$/g, "");
    if (!text || text.length > MAX_CHARS) return;
    inputEl.value = "";
    updateComposer();
    autosize();
    sendMessage(text, null);
    inputEl.focus();
  }

  formEl.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });

  inputEl.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a newline; Enter that confirms an IME
    // composition (Chinese, Japanese input) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submit();
    }
  });

  inputEl.addEventListener("input", function () {
    updateComposer();
    autosize();
  });

  // -------------------------------------------------------------- connection

  function setState(state) {
    stateEl.setAttribute("data-state", state);
    stateLabelEl.textContent = t[state];
  }

  function saveSession() {
    if (sessionId) {
      storage.set(SESSION_KEY, JSON.stringify({ session_id: sessionId, session_token: sessionToken }));
    } else {
      storage.remove(SESSION_KEY);
    }
  }

  /**
   * The conversation the server confirmed. Another id than the one shown means
   * a new conversation (first visit, expired or refused token, new chat): the
   * old history does not belong to it and is dropped; messages not sent yet
   * are kept and go to the new conversation.
   */
  function adoptSession(confirmedId, confirmedToken) {
    if (!validSessionId(confirmedId)) return false;
    if (confirmedId !== sessionId) {
      storage.remove(historyKey(sessionId));
      items = items.filter(function (item) {
        return item.author === "user" &&
          (item.status === "queued" || item.status === "waiting" || item.status === "unconfirmed");
      });
      sessionId = confirmedId;
      handoff = null;
      renderAll();
    }
    sessionToken = validToken(confirmedToken) ? confirmedToken : null;
    saveSession();
    saveHistory();
    return true;
  }

  /** Ask for the stored conversation (or a new one); session_confirm answers. */
  function requestSession() {
    var request = {};
    if (sessionId && sessionToken) {
      request.session_id = sessionId;
      request.session_token = sessionToken;
    }
    if (userToken) request.user_token = userToken;
    // A new conversation started while a ticket is open elsewhere: the server
    // links the two, so the bot can still tell the user about that ticket.
    var previous = loadPrevious();
    if (!request.session_id && !userToken && previous) {
      request.previous_session = { session_id: previous.id, session_token: previous.token };
    }
    var sentOn = link;
    clearTimeout(sessionRetryTimer);
    socket.emit("session_request", request, function (reply) {
      if (sentOn !== link || confirmed) return;
      if (reply && typeof reply === "object" && reply.ok === false) {
        // Too many new conversations from this address: ask again later.
        sessionRetryTimer = setTimeout(function () {
          if (sentOn === link && !confirmed && socket.connected) requestSession();
        }, retryDelayMs(reply.retry_after));
      }
    });
  }

  /** The server no longer takes this connection's session: ask again, then resend. */
  function renewSession() {
    if (!confirmed) return; // already asked; the queue goes out after session_confirm
    confirmed = false;
    renewals += 1;
    if (renewals > MAX_SESSION_RENEWALS) {
      // The server keeps refusing what it confirmed: let the user decide.
      setUserStatus("queued", "unconfirmed");
      setState("offline");
      return;
    }
    setState("connecting");
    requestSession();
  }

  function markUnconfirmed() {
    var changed = false;
    items.forEach(function (item) {
      if (item.author === "user" && item.status === "sent") {
        item.status = "unconfirmed";
        updateStatus(item);
        changed = true;
      }
    });
    if (changed) saveHistory();
    inflight = 0;
    clearTimeout(typingTimer);
    setTyping(false);
  }

  function connect(server) {
    socket = window.io(server.origin, {
      path: server.path,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10000,
      timeout: 10000
    });

    socket.on("connect", function () {
      link += 1;
      confirmed = false;
      renewals = 0;
      seenInFlight = false;
      setState("connecting");
      requestSession();
    });

    socket.on("session_confirm", function (data) {
      var id = typeof data === "string" ? data : data && data.session_id;
      var token = data && typeof data === "object" ? data.session_token : null;
      if (!adoptSession(id, token)) return;
      userToken = null;
      updateHeader();
      confirmed = true;
      setState("online");
      // What was said while this page was closed or offline, then what waited here.
      syncHistory();
      flushQueue();
    });

    socket.on("bot_uttered", receive);

    socket.on("disconnect", function () {
      link += 1;
      confirmed = false;
      markUnconfirmed();
      setState("offline");
    });

    socket.on("connect_error", function () {
      setState("offline");
    });
  }

  /** An app user's conversation (ids "u-..."), or one being asked for: it belongs to the account. */
  function inAppConversation() {
    return userToken !== null || /^u-/.test(sessionId || "");
  }

  // ------------------------------------------------- new chat and going back

  /** New chat and the way back to a ticket left open, as the conversation allows. */
  function updateHeader() {
    var app = inAppConversation();
    newChatEl.hidden = app;
    var previous = app ? null : loadPrevious();
    backEl.hidden = !previous || previous.id === sessionId;
    if (previous) {
      backEl.textContent = previous.ref ? fill(t.backToTicket, { ref: previous.ref }) : t.backToChat;
    }
  }

  /** Forget what was in flight for the conversation being left. */
  function resetDelivery() {
    inflight = 0;
    setTyping(false);
    clearTimeout(holdTimer);
    holdTimer = null;
    heldUntil = 0;
    handoff = null;
  }

  /** Show ``id``'s stored log and ask the server for that conversation on a fresh connection. */
  function switchConversation(id, token) {
    sessionId = id;
    sessionToken = token;
    saveSession();
    items = prepareItems(id ? loadHistory(id) : []);
    renderAll();
    resetDelivery();
    updateHeader();
    link += 1;
    if (socket) {
      // A fresh connection: the old one stays in the old conversation's room.
      confirmed = false;
      socket.disconnect();
      setState("connecting");
      socket.connect();
    }
    inputEl.focus();
  }

  /** Start over in a new conversation, dropping this one (as before tickets could be left open). */
  function newChat() {
    if (inAppConversation()) return;
    storage.remove(historyKey(sessionId));
    switchConversation(null, null);
  }

  /**
   * New chat asks the server first (history after the last message, which
   * also brings anything missed): with a ticket open the user confirms, and the
   * conversation is kept as the way back. Offline, the last answer decides.
   */
  function requestNewChat() {
    if (inAppConversation() || !leaveEl.hidden) return;
    if (!sessionId) {
      newChat();
      return;
    }
    var askedFor = sessionId;
    newChatEl.disabled = true;
    syncHistory(function (state) {
      newChatEl.disabled = false;
      if (sessionId !== askedFor) return;
      state = state || handoff;
      if (state && state.active) openLeaveDialog(state.ref);
      else newChat();
    });
  }

  /** Everything but the dialog is out of reach while it is open. */
  function setBackgroundInert(on) {
    [headerEl, logEl, formEl].forEach(function (el) {
      el.inert = on;
      if (on) el.setAttribute("aria-hidden", "true");
      else el.removeAttribute("aria-hidden");
    });
  }

  function openLeaveDialog(ref) {
    leaveEl.setAttribute("data-ref", ref || "");
    leaveTextEl.textContent = ref ? fill(t.leaveText, { ref: ref }) : t.leaveTextNoRef;
    leaveEl.hidden = false;
    setBackgroundInert(true);
    leaveStayEl.focus(); // the choice that loses nothing
  }

  function closeLeaveDialog() {
    leaveEl.hidden = true;
    setBackgroundInert(false);
  }

  function stay() {
    closeLeaveDialog();
    newChatEl.focus();
  }

  /** Keep this conversation as the way back to its ticket, then start a new one. */
  function leaveForNewChat() {
    var ref = leaveEl.getAttribute("data-ref") || null;
    closeLeaveDialog();
    var older = loadPrevious();
    // Only one conversation is kept to go back to.
    if (older && older.id !== sessionId) storage.remove(historyKey(older.id));
    if (sessionId && sessionToken) savePrevious(sessionId, sessionToken, ref);
    switchConversation(null, null);
  }

  /**
   * Back to the conversation of the ticket left open. The one being left is
   * kept in its place if its own ticket is open, else dropped like New chat.
   */
  function backToPrevious() {
    var previous = loadPrevious();
    if (!previous || inAppConversation()) return;
    if (sessionId && sessionToken && handoff && handoff.active) {
      savePrevious(sessionId, sessionToken, handoff.ref);
    } else {
      storage.remove(PREVIOUS_KEY);
      storage.remove(historyKey(sessionId));
    }
    switchConversation(previous.id, previous.token);
  }

  newChatEl.addEventListener("click", requestNewChat);
  backEl.addEventListener("click", backToPrevious);
  leaveStayEl.addEventListener("click", stay);
  leaveConfirmEl.addEventListener("click", leaveForNewChat);
  leaveEl.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      stay();
    } else if (event.key === "Tab") {
      // Keep the focus on the dialog's two buttons.
      var goingTo = document.activeElement === leaveStayEl ? leaveConfirmEl : leaveStayEl;
      event.preventDefault();
      goingTo.focus();
    }
  });

  // The browser knows about a lost network long before socket.io's ping timeout.
  window.addEventListener("offline", function () {
    if (socket && socket.connected) {
      socket.disconnect();
      setState("offline");
    }
  });
  window.addEventListener("online", function () {
    if (socket && !socket.connected) socket.connect();
  });

  /** A wallet app's user token, given after the page has loaded (see README.md). */
  function setUserToken(token) {
    if (!validToken(token)) return false;
    userToken = token;
    updateHeader();
    if (socket && socket.connected) {
      confirmed = false;
      setState("connecting");
      requestSession();
    }
    return true;
  }

  // -------------------------------------------------------------------- start

  applyLabels();
  updateHeader();
  renderAll();
  updateComposer();
  if (embedded) publishUnread(); // a reloaded panel starts from nothing unread

  var server = resolveServer();
  if (!server || typeof window.io !== "function") {
    setState("offline");
    var notice = renderItem({ id: 0, author: "system", kind: "error", text: t.noConnection });
    logEl.appendChild(notice);
    return;
  }
  setState("connecting");
  connect(server);

  // socket.io stops retrying after a deliberate disconnect (browser offline,
  // server kick); keep trying so queued messages always go out eventually.
  setInterval(function () {
    if (socket && !socket.active && navigator.onLine !== false) socket.connect();
  }, 5000);

  // Handles for tests and for embedding pages.
  window.walletSupportWidget = {
    sessionId: function () {
      return sessionId;
    },
    socket: function () {
      return socket;
    },
    unread: function () {
      return unread;
    },
    setUserToken: setUserToken
  };
})();
