/*
 * Reference chat widget for the wallet support assistant.
 *
 * Talks to the assistant's socket.io channel (see README.md): session_request /
 * session_confirm with a session token, user_uttered with its acknowledgement,
 * bot_uttered. Every piece of text from the user, the bot or an agent is
 * rendered with textContent, never as HTML. Nothing is read from the page's URL.
 */
(function () {
  "use strict";

  var SESSION_KEY = "wallet-support-session";
  var HISTORY_PREFIX = "wallet-support-history:";
  // Messages typed before the server has named the conversation (not a valid id).
  var UNNAMED_HISTORY = HISTORY_PREFIX + "(new)";
  var HISTORY_LIMIT = 200;
  var MAX_CHARS = 4000;
  var COUNTER_FROM = 3500;
  var TYPING_TIMEOUT_MS = 30000;
  var MAX_TOKEN_CHARS = 4096;
  var DEFAULT_RETRY_SECONDS = 5;
  var MAX_RETRY_SECONDS = 3600;
  // invalid_session answers in a row before the widget stops renewing on its own.
  var MAX_SESSION_RENEWALS = 3;

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
      noConnection: "The chat cannot connect: check rasaUrl in the widget's config.js."
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
      noConnection: "聊天无法连接，请检查聊天组件 config.js 中的 rasaUrl。"
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

  /** Conversation ids as the server makes them (the channel enforces the same rule). */
  function validSessionId(value) {
    return typeof value === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(value);
  }

  /** A JWT's shape; whether it is genuine only the server can tell. */
  function validToken(value) {
    return typeof value === "string" && value.length <= MAX_TOKEN_CHARS &&
      /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
  }

  /** The stored {id, token}; a bare id (kept by earlier versions) has no token. */
  function loadSession() {
    var raw = storage.get(SESSION_KEY);
    var parsed = null;
    try {
      parsed = raw ? JSON.parse(raw) : null;
    } catch (err) {
      parsed = null;
    }
    if (parsed && typeof parsed === "object") {
      var id = validSessionId(parsed.session_id) ? parsed.session_id : null;
      return { id: id, token: id && validToken(parsed.session_token) ? parsed.session_token : null };
    }
    return { id: validSessionId(raw) ? raw : null, token: null };
  }

  function historyKey(id) {
    return id ? HISTORY_PREFIX + id : UNNAMED_HISTORY;
  }

  function loadHistory(id) {
    var raw = storage.get(historyKey(id));
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

  // -------------------------------------------------------------------- state

  var stored = loadSession();
  var sessionId = stored.id; // null until the server has named a conversation
  var sessionToken = stored.token;
  // The wallet app's signed token for its logged-in user: sent once, in the
  // next session_request; the session token the server answers with replaces it.
  var userToken = validToken(widgetConfig().userToken) ? widgetConfig().userToken : null;
  var items = loadHistory(sessionId);
  var nextLocalId = 1;
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
  var renewals = 0; // invalid_session answers since the last delivered message

  items.forEach(function (item) {
    if (typeof item.id !== "number") item.id = 0;
    nextLocalId = Math.max(nextLocalId, item.id + 1);
  });
  items.forEach(function (item) {
    if (!item.id) item.id = nextLocalId++;
    // A message still waiting for its acknowledgement when the page was left
    // most likely reached the server: show it as sent, not as a failure.
    if (item.status === "sent") item.status = "delivered";
    if (item.status === "waiting") item.status = "queued";
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
    storage.set(historyKey(sessionId), JSON.stringify(items));
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
    if (data.error === "rate_limited") {
      // A calm notice: the held message is kept and goes out on its own later.
      addItem({ author: "bot", kind: "notice", text: textOf(data.text) });
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

  /** What the server's acknowledgement says about one message. */
  function acknowledged(item, reply) {
    // An old server acknowledges without a body: the message was handled.
    var error = reply && typeof reply === "object" && reply.ok === false ?
      String(reply.error || "refused") : null;
    if (error === null) {
      renewals = 0;
      if (item.status === "sent") item.status = "delivered";
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
    var item = { author: "user", text: display, status: holdTimer ? "waiting" : "queued" };
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
      setState("connecting");
      requestSession();
    });

    socket.on("session_confirm", function (data) {
      var id = typeof data === "string" ? data : data && data.session_id;
      var token = data && typeof data === "object" ? data.session_token : null;
      if (!adoptSession(id, token)) return;
      userToken = null;
      newChatEl.hidden = inAppConversation();
      confirmed = true;
      setState("online");
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

  function newChat() {
    if (inAppConversation()) return;
    storage.remove(historyKey(sessionId));
    sessionId = null;
    sessionToken = null;
    saveSession();
    items = [];
    renderAll();
    inflight = 0;
    setTyping(false);
    clearTimeout(holdTimer);
    holdTimer = null;
    heldUntil = 0;
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

  /** A wallet app's user token, given after the page has loaded (see README.md). */
  function setUserToken(token) {
    if (!validToken(token)) return false;
    userToken = token;
    newChatEl.hidden = true;
    if (socket && socket.connected) {
      confirmed = false;
      setState("connecting");
      requestSession();
    }
    return true;
  }

  // -------------------------------------------------------------------- start

  applyLabels();
  newChatEl.hidden = inAppConversation();
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
    },
    setUserToken: setUserToken
  };
})();
