/*
 * Reference chat widget for the wallet support assistant.
 *
 * Talks to Rasa's socket.io channel (see README.md): session_request /
 * session_confirm, user_uttered, bot_uttered. Every piece of text from the
 * user, the bot or an agent is rendered with textContent, never as HTML.
 */
(function () {
  "use strict";

  var SESSION_KEY = "wallet-support-session";
  var HISTORY_PREFIX = "wallet-support-history:";
  var HISTORY_LIMIT = 200;
  var MAX_CHARS = 4000;
  var COUNTER_FROM = 3500;
  var TYPING_TIMEOUT_MS = 30000;

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
      resend: "Send again",
      agent: "Support agent",
      log: "Conversation",
      noConnection: "The chat server address is invalid; check the page's ?rasa= parameter or config.js."
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
      resend: "重新发送",
      agent: "客服",
      log: "对话记录",
      noConnection: "聊天服务器地址无效，请检查页面的 ?rasa= 参数或 config.js。"
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

  function randomHex(bytes) {
    var buf = new Uint8Array(bytes);
    var cryptoObj = window.crypto || window.msCrypto;
    if (cryptoObj && cryptoObj.getRandomValues) {
      cryptoObj.getRandomValues(buf);
    } else {
      for (var i = 0; i < bytes; i++) buf[i] = Math.floor(Math.random() * 256);
    }
    var out = "";
    for (var j = 0; j < buf.length; j++) out += (buf[j] < 16 ? "0" : "") + buf[j].toString(16);
    return out;
  }

  function validSessionId(value) {
    return typeof value === "string" && /^[A-Za-z0-9_.:-]{1,128}$/.test(value);
  }

  function loadSessionId() {
    var stored = storage.get(SESSION_KEY);
    if (validSessionId(stored)) return stored;
    var fresh = randomHex(16); // same shape as Rasa's uuid4().hex
    storage.set(SESSION_KEY, fresh);
    return fresh;
  }

  function loadHistory(sessionId) {
    var raw = storage.get(HISTORY_PREFIX + sessionId);
    if (!raw) return [];
    try {
      var parsed = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter(isItem) : [];
    } catch (err) {
      return [];
    }
  }

  function isItem(item) {
    return item && typeof item === "object" && typeof item.author === "string" &&
      typeof item.text === "string";
  }

  /** Where Rasa lives: ?rasa=... , then window.WIDGET_CONFIG.rasaUrl, then this host on :5005. */
  function resolveServer() {
    var fromQuery = null;
    try {
      fromQuery = new URLSearchParams(window.location.search).get("rasa");
    } catch (err) {
      fromQuery = null;
    }
    var config = window.WIDGET_CONFIG || {};
    var raw = fromQuery || config.rasaUrl ||
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

  // -------------------------------------------------------------------- state

  var sessionId = loadSessionId();
  var items = loadHistory(sessionId);
  var nextLocalId = 1;
  var confirmed = false; // session_confirm received on the current connection
  var socket = null;
  var inflight = 0;
  var typingTimer = null;

  items.forEach(function (item) {
    if (typeof item.id !== "number") item.id = 0;
    nextLocalId = Math.max(nextLocalId, item.id + 1);
  });
  items.forEach(function (item) {
    if (!item.id) item.id = nextLocalId++;
    // A message still waiting for its acknowledgement when the page was left
    // most likely reached the server: show it as sent, not as a failure.
    if (item.status === "sent") item.status = "delivered";
  });

  // ---------------------------------------------------------------- elements

  var logEl = $("chat-log");
  var emptyEl = $("chat-empty");
  var inputEl = $("chat-input");
  var sendEl = $("chat-send");
  var formEl = $("chat-form");
  var counterEl = $("chat-counter");
  var stateEl = $("connection-state");
  var stateLabelEl = $("connection-label");
  var newChatEl = $("new-chat");
  var typingEl = $("chat-typing");
  var elements = {}; // item id -> element

  function applyLabels() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
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
      bubble.textContent = item.text;
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
    if (typeof chosenIndex === "number") item.chosen = chosenIndex;
    var el = elements[item.id];
    if (!el) return;
    var buttons = el.querySelectorAll("[data-testid=reply-button]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
      if (i === chosenIndex) buttons[i].classList.add("reply-button--chosen");
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
      meta.textContent = t.queued;
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
    storage.set(HISTORY_PREFIX + sessionId, JSON.stringify(items));
  }

  function addItem(item) {
    item.id = nextLocalId++;
    item.ts = Date.now();
    items.push(item);
    logEl.appendChild(renderItem(item));
    saveHistory();
    updateEmpty();
    scrollToBottom();
    return item;
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

  function receive(data) {
    if (typeof data === "string") data = { text: data };
    if (!data || typeof data !== "object") return;

    if (data.type === "agent") {
      addItem({ author: "agent", name: textOf(data.agent_name), text: textOf(data.text) });
      return;
    }
    if (data.type === "system") {
      addItem({ author: "system", text: textOf(data.text) });
      return;
    }
    if (data.error) {
      addItem({ author: "bot", kind: "error", text: textOf(data.text) || String(data.error) });
      return;
    }

    var buttons = normalizeButtons(data.buttons || data.quick_replies);
    var image = data.image ||
      (data.attachment && data.attachment.type === "image" && data.attachment.payload &&
        data.attachment.payload.src);
    var item = { author: "bot", text: textOf(data.text) };
    if (buttons.length) item.buttons = buttons;
    if (safeImageUrl(image)) item.image = image;
    if (!item.text && !item.buttons && !item.image) return; // nothing this widget can show
    addItem(item);
  }

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

  function emitItem(item) {
    item.status = "sent";
    updateStatus(item);
    saveHistory();
    inflight += 1;
    setTyping(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      setTyping(false);
    }, TYPING_TIMEOUT_MS);
    var sentOn = socket;
    // The server acknowledges once it has handled the message.
    socket.emit(
      "user_uttered",
      { message: item.send != null ? item.send : item.text, session_id: sessionId },
      function () {
        if (sentOn !== socket) return;
        if (item.status === "sent") {
          item.status = "delivered";
          updateStatus(item);
          saveHistory();
        }
        settle();
      }
    );
  }

  function flushQueue() {
    if (!socket || !socket.connected || !confirmed) return;
    items.forEach(function (item) {
      if (item.author === "user" && item.status === "queued") emitItem(item);
    });
  }

  function sendMessage(display, payload) {
    // Buttons offered before this message no longer apply.
    items.forEach(function (item) {
      if (item.buttons && !item.used) disableButtons(item);
    });
    var item = { author: "user", text: display, status: "queued" };
    if (payload != null && payload !== display) item.send = payload;
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

  function adoptSession(confirmedId) {
    if (!validSessionId(confirmedId) || confirmedId === sessionId) return;
    // The server chose another id: keep the history under the id it knows.
    storage.remove(HISTORY_PREFIX + sessionId);
    sessionId = confirmedId;
    storage.set(SESSION_KEY, sessionId);
    saveHistory();
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
      confirmed = false;
      setState("connecting");
      socket.emit("session_request", { session_id: sessionId });
    });

    socket.on("session_confirm", function (data) {
      var id = typeof data === "string" ? data : data && data.session_id;
      adoptSession(id);
      confirmed = true;
      setState("online");
      flushQueue();
    });

    socket.on("bot_uttered", receive);

    socket.on("disconnect", function () {
      confirmed = false;
      markUnconfirmed();
      setState("offline");
    });

    socket.on("connect_error", function () {
      setState("offline");
    });
  }

  function newChat() {
    storage.remove(HISTORY_PREFIX + sessionId);
    sessionId = randomHex(16);
    storage.set(SESSION_KEY, sessionId);
    items = [];
    renderAll();
    inflight = 0;
    setTyping(false);
    if (socket) {
      // A fresh connection: the old one stays in the old conversation's room.
      confirmed = false;
      socket.disconnect();
      setState("connecting");
      socket.connect();
    }
    inputEl.focus();
  }

  newChatEl.addEventListener("click", newChat);

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

  // -------------------------------------------------------------------- start

  applyLabels();
  renderAll();
  updateComposer();

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
    }
  };
})();
