/*
 * Reference chat widget for the wallet support assistant.
 *
 * Talks to the assistant's socket.io channel (see README.md): session_request /
 * session_confirm with a session token, user_uttered with its acknowledgement,
 * bot_uttered, history (what was said while the page was closed) and seen.
 * Every piece of text from the user, the bot or an agent is rendered with
 * textContent, never as HTML. A seed phrase or private key the user pastes is
 * never written to the browser's storage (see "Secrets" below), nor is any
 * image: screenshots go over HTTP and only the server's attachment id and
 * metadata are stored (see "Attachments" below). The only
 * things read from the page's URL are, inside embed.js's panel, ?embedded=1
 * (the layout and how the unread count is reported), &host= (the embedding
 * page's origin: the only one messages are taken from and sent to) and
 * &lang= (the host app's language); never where the chat connects.
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
  var LANGUAGE_MESSAGE = "wallet-support:language";
  var USER_MESSAGE = "wallet-support:user";
  var LANGUAGES = ["zh", "en"];
  // "Ana is typing…" stays this long after the service's last typing event
  // (it relays at most one every 3 s while the agent types).
  var AGENT_TYPING_MS = 6000;
  // The expected wait (GET <service>/api/public/queue), asked at most this often.
  var QUEUE_PATH = "../api/public/queue";
  var QUEUE_REFRESH_MS = 30000;
  var QUEUE_TIMEOUT_MS = 8000;
  var MAX_QUEUE_MINUTES = 24 * 60;
  // "Seen" covers the user's messages the server had up to seen_until; its
  // times may be rounded to the second.
  var SEEN_TOLERANCE_MS = 1000;
  // A long paste is sent in parts only on request; a part never cuts a secret in two.
  var MAX_PARTS = 10;
  var MAX_SECRET_SPAN = 400; // 24 words of 8 letters, an extended key: well below
  // Screenshots (see "Attachments" below): the server's routes, relative to Rasa's URL.
  var ATTACHMENTS_PATH = "/webhooks/socketio/attachments";
  var IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];
  // Used until the server has said its own limits (it checks them again anyway).
  var DEFAULT_LIMITS = { max_bytes: 5242880, max_count: 10, types: IMAGE_TYPES };
  var ATTACHMENT_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
  // The path of one of the server's attachments, whatever its prefix: the id.
  var ATTACHMENT_PATH_RE = /\/webhooks\/socketio\/attachments\/([A-Za-z0-9_-]{1,128})$/;
  // A reply button with this payload opens the file picker instead of being sent.
  var ATTACH_PAYLOAD = "/attach_screenshot";
  var UPLOAD_TIMEOUT_MS = 120000;
  var IMAGE_TIMEOUT_MS = 30000;

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
        "until then: keep this page open.",
      attach: "Attach a screenshot",
      screenshot: "Screenshot",
      agentImage: "Image from support",
      openImage: "Open the screenshot full size",
      closeImage: "Close",
      imageUnavailable: "Image not available",
      dropHere: "Drop a screenshot to send it",
      uploading: "Sending…",
      imageNotSent: "Screenshot not sent",
      retryUpload: "Try again",
      refusedPhrase: "This image shows a recovery phrase. We did not keep it. Never show your " +
        "recovery phrase to anyone — real support never asks for it.",
      refusedKey: "This image shows a private key. We did not keep it. Never show your " +
        "private key to anyone — real support never asks for it.",
      refusedType: "Only PNG, JPEG or WebP images can be sent.",
      refusedSize: "This image is too large (at most {mb} MB).",
      refusedCount: "This chat takes at most {count} images a day.",
      refusedRate: "Too many images in a short time. Try again in {seconds} s.",
      refusedSession: "Your chat session has expired. Reconnecting: try again in a moment.",
      refusedUnavailable: "The screenshot could not be sent right now. Try again.",
      refusedOther: "The screenshot could not be sent.",
      greeting: "Hi, this is OKX Wallet Support. Tell us what happened and we will help you " +
        "here; a person from our team can take over when needed.",
      waitLine: "Ticket {ref} is open. Expected wait for an agent: about {minutes} min.",
      waitLineSoon: "Ticket {ref} is open. An agent should answer within a minute.",
      waitLineNoRef: "Your ticket is open. Expected wait for an agent: about {minutes} min.",
      waitLineSoonNoRef: "Your ticket is open. An agent should answer within a minute.",
      agentTyping: "{name} is typing…",
      agentTypingNoName: "A support agent is typing…",
      sending: "Sending…",
      delivered: "Delivered",
      seen: "Seen",
      retry: "Try again",
      tooLong: "Your message is {count} characters long; one message can hold {max}. " +
        "Nothing has been cut: shorten it by {over} characters, or send it as {parts} messages.",
      sendInParts: "Send as {parts} messages",
      tooLongHuge: "Your message is {count} characters long; one message can hold {max}. " +
        "Nothing has been cut: please shorten it by {over} characters."
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
      queuedUnsaved: "连接恢复后自动发送。发送前不会保存在本设备上，请不要关闭此页面。",
      attach: "添加截图",
      screenshot: "截图",
      agentImage: "客服发送的图片",
      openImage: "查看截图原图",
      closeImage: "关闭",
      imageUnavailable: "图片无法显示",
      dropHere: "松开即可发送截图",
      uploading: "正在发送…",
      imageNotSent: "截图未发送",
      retryUpload: "重试",
      refusedPhrase: "这张图片包含助记词。我们没有保存它。请勿向任何人展示您的助记词——真正的客服绝不会索要。",
      refusedKey: "这张图片包含私钥。我们没有保存它。请勿向任何人展示您的私钥——真正的客服绝不会索要。",
      refusedType: "只能发送 PNG、JPEG 或 WebP 格式的图片。",
      refusedSize: "图片太大（最大 {mb} MB）。",
      refusedCount: "这个对话每天最多只能发送 {count} 张图片。",
      refusedRate: "发送图片太频繁，请 {seconds} 秒后再试。",
      refusedSession: "会话已过期，正在重新连接，请稍后再试。",
      refusedUnavailable: "截图暂时无法发送，请重试。",
      refusedOther: "截图无法发送。",
      greeting: "您好，这里是欧意钱包支持。请告诉我们发生了什么，我们会在这里帮您解决；需要时会有人工客服接手。",
      waitLine: "工单 {ref} 已提交，预计约 {minutes} 分钟内有客服回复。",
      waitLineSoon: "工单 {ref} 已提交，预计 1 分钟内有客服回复。",
      waitLineNoRef: "您的工单已提交，预计约 {minutes} 分钟内有客服回复。",
      waitLineSoonNoRef: "您的工单已提交，预计 1 分钟内有客服回复。",
      agentTyping: "{name} 正在输入…",
      agentTypingNoName: "客服正在输入…",
      sending: "发送中…",
      delivered: "已送达",
      seen: "已读",
      retry: "重试",
      tooLong: "您的消息共 {count} 个字符，单条最多 {max} 个。内容没有被删减：请删减 {over} 个字符，" +
        "或分成 {parts} 条发送。",
      sendInParts: "分成 {parts} 条发送",
      tooLongHuge: "您的消息共 {count} 个字符，单条最多 {max} 个。内容没有被删减：请删减 {over} 个字符。"
    }
  };

  // ------------------------------------------------------------------ helpers

  function detectLanguage() {
    var lang = navigator.language || (navigator.languages && navigator.languages[0]) || "en";
    return /^zh/i.test(lang) ? "zh" : "en";
  }

  /** Inside embed.js's panel, the language the host page asked for (?lang=zh|en), or null. */
  function askedLanguage() {
    if (window.parent === window) return null;
    try {
      var asked = new URLSearchParams(window.location.search).get("lang");
      return LANGUAGES.indexOf(asked) !== -1 ? asked : null;
    } catch (err) {
      return null;
    }
  }

  var lang = askedLanguage() || detectLanguage();
  var t = LABELS[lang];
  // Chosen by the host app (setLanguage, ?lang=): the bot is told too, after every
  // session_confirm, so that it answers in that language.
  var languageChosen = askedLanguage() !== null;

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
    if (!item || typeof item !== "object" || typeof item.author !== "string" ||
        typeof item.text !== "string") {
      return false;
    }
    // An image is kept as the server's attachment id and metadata, never as its bytes.
    if (item.attachment != null) {
      item.attachment = cleanAttachment(item.attachment);
      if (!item.attachment) return false;
    }
    // Uploads in progress and refused images are never stored; should one be, it is dropped.
    return item.status !== "uploading" && item.status !== "refused";
  }

  /** The server's metadata of an attachment ({id, mime, width, height}), checked; or null. */
  function cleanAttachment(value) {
    if (!value || typeof value !== "object") return null;
    var id = typeof value.id === "string" && ATTACHMENT_ID_RE.test(value.id) ? value.id : null;
    if (!id) return null;
    var clean = { id: id };
    if (IMAGE_TYPES.indexOf(value.mime) !== -1) clean.mime = value.mime;
    ["width", "height"].forEach(function (name) {
      var size = value[name];
      if (typeof size === "number" && size > 0 && size <= 100000 && Math.floor(size) === size) {
        clean[name] = size;
      }
    });
    return clean;
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
    // Uploads and images go to the same server over HTTP(S), under the same prefix.
    var http = url.protocol === "wss:" ? "https:" : url.protocol === "ws:" ? "http:" : url.protocol;
    return {
      origin: url.protocol + "//" + url.host,
      path: prefix + "/socket.io",
      base: http + "//" + url.host + prefix
    };
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

  /**
   * The origin of the page embedding this one: what embed.js put in ?host=,
   * checked against the frame's real ancestor where the browser tells it
   * (location.ancestorOrigins); null when unknown or when they disagree.
   * Messages are taken from, and sent to, that origin only.
   */
  function detectHostOrigin() {
    var declared = null;
    try {
      var raw = new URLSearchParams(window.location.search).get("host");
      var url = raw ? new URL(raw) : null;
      if (url && /^https?:$/.test(url.protocol) && url.origin === raw) declared = raw;
    } catch (err) {
      declared = null;
    }
    var ancestors = window.location.ancestorOrigins;
    var actual = ancestors && ancestors.length ? ancestors[0] : null;
    if (declared && actual && declared !== actual) return null;
    return declared || actual;
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
  var hostOrigin = embedded ? detectHostOrigin() : null;
  var agentTypingTimer = null;
  var agentTyping = null; // the name shown in "… is typing", while it shows
  var botTyping = false;
  // How far this browser's clock is ahead of the server's (ms): the smallest
  // difference seen between a message's server time and its arrival here.
  var clockSkew = null;
  var queueInfo = null; // the service's last answer: {minutes}
  var agentActive = false; // an agent typed or read here during this ticket: no wait to show
  var queueAskedAt = 0;
  var queueRequest = null;
  // Standalone the page is the chat; embedded, embed.js says when its panel is open.
  var panelOpen = !embedded;
  var unread = 0; // bot and agent messages that arrived while the user could not see them
  // Screenshots being sent, by their message id: {file, source, xhr, renewed}. In
  // memory only, like the object URLs below: an image's bytes never reach storage.
  var uploads = {};
  var uploading = null; // the item whose upload is on its way (one at a time)
  var uploadHoldTimer = null; // rate limited: the next upload waits for this
  var limits = DEFAULT_LIMITS;
  var limitsAsked = false;
  // Images fetched from the server, by "<attachment id>:<thumb|full>": a source
  // {blob, url} (url an object URL, revoked once no bubble shows it), {xhr}
  // while loading, or {failed}.
  var images = {};
  // Set once the page's policy refused a blob: image: sources are then shown as
  // data: URLs (kept in memory, like the blobs, and never stored).
  var blobImagesRefused = false;
  var viewerKey = null; // the full-size image the viewer shows
  var viewerOpener = null; // what gets the focus back when the viewer closes

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
      // Only accepted images are stored: they are the server's already.
      if (item.attachment && item.author === "user") item.status = "delivered";
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
  var typingLabelEl = $("chat-typing-label");
  var greetingEl = $("chat-greeting");
  var waitEl = $("chat-wait");
  var tooLongEl = $("chat-too-long");
  var tooLongTextEl = $("chat-too-long-text");
  var partsEl = $("chat-send-parts");
  var leaveEl = $("leave-dialog");
  var leaveTextEl = $("leave-text");
  var leaveStayEl = $("leave-stay");
  var leaveConfirmEl = $("leave-confirm");
  var chatEl = $("chat");
  var attachEl = $("chat-attach");
  var fileEl = $("chat-file");
  var viewerEl = $("image-viewer");
  var viewerImgEl = $("image-viewer-img");
  var viewerCloseEl = $("image-viewer-close");
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
    greetingEl.textContent = t.greeting;
    logEl.setAttribute("aria-label", t.log);
    $("leave-title").textContent = t.leaveTitle;
    leaveStayEl.textContent = t.leaveStay;
    leaveConfirmEl.textContent = t.leaveConfirm;
    attachEl.setAttribute("aria-label", t.attach);
    attachEl.title = t.attach;
    fileEl.setAttribute("aria-label", t.attach);
    chatEl.setAttribute("data-drop-label", t.dropHere);
    viewerEl.setAttribute("aria-label", t.screenshot);
    viewerImgEl.alt = t.screenshot;
    viewerCloseEl.textContent = t.closeImage;
  }

  // --------------------------------------------------------------- rendering

  /** The user's locale (the browser's) when it is in the chat's language, else that language's. */
  function uiLocale() {
    var browser = navigator.language || "";
    return browser.toLowerCase().indexOf(lang) === 0 ? browser : lang === "zh" ? "zh-CN" : "en-US";
  }

  function formatTime(ts) {
    try {
      return new Date(ts).toLocaleString(uiLocale());
    } catch (err) {
      return "";
    }
  }

  /** The time under a message: "14:05" today, with the date on other days, in the user's locale. */
  function formatClock(ts) {
    var date = new Date(ts);
    var options = { hour: "numeric", minute: "2-digit" };
    if (date.toDateString() !== new Date().toDateString()) {
      options.month = "short";
      options.day = "numeric";
    }
    try {
      return date.toLocaleString(uiLocale(), options);
    } catch (err) {
      return date.toLocaleString(undefined, options);
    }
  }

  function renderTime(ts) {
    var time = document.createElement("time");
    time.className = "msg__time";
    time.setAttribute("data-testid", "msg-time");
    time.dateTime = new Date(ts).toISOString();
    time.textContent = formatClock(ts);
    time.title = formatTime(ts);
    return time;
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

    if (item.attachment || uploads[item.serverId] || item.status === "refused") {
      if (item.attachment) el.setAttribute("data-attachment", item.attachment.id);
      el.appendChild(renderAttachment(item));
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

    // The time of every message, always visible (a phone has no hover), and for
    // the user's own messages their state: sending, delivered, seen, failed.
    var footer = document.createElement("div");
    footer.className = "msg__footer";
    if (item.ts) footer.appendChild(renderTime(item.ts));
    el.appendChild(footer);
    if (item.author === "user") {
      var meta = document.createElement("div");
      meta.className = "msg__meta";
      meta.setAttribute("data-testid", "msg-status");
      footer.appendChild(meta);
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
        if (button.payload === ATTACH_PAYLOAD) {
          // "Add a screenshot?": the answer is the image itself, sent once it is chosen.
          openFilePicker();
          return;
        }
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

  /** "Delivered ✓" / "Seen ✓✓": the marks are decoration, the words are what is read out. */
  function deliveryMark(meta, label, marks) {
    var text = document.createElement("span");
    text.className = "msg__state";
    text.textContent = label;
    meta.appendChild(text);
    var icon = document.createElement("span");
    icon.className = "msg__check";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = " " + marks;
    meta.appendChild(icon);
  }

  function updateStatus(item, el) {
    el = el || elements[item.id];
    if (!el) return;
    var status = item.status || "delivered";
    el.setAttribute("data-status", status);
    if (status === "delivered" && item.seenByAgent) el.setAttribute("data-seen", "true");
    else el.removeAttribute("data-seen");
    var meta = el.querySelector(".msg__meta");
    if (!meta) return;
    while (meta.firstChild) meta.removeChild(meta.firstChild);
    if (status === "delivered" && !item.refusal) {
      if (item.seenByAgent) deliveryMark(meta, t.seen, "\u2713\u2713");
      else deliveryMark(meta, t.delivered, "\u2713");
    } else if (status === "sent") {
      meta.textContent = t.sending;
    } else if (item.status === "uploading") {
      meta.textContent = t.uploading;
    } else if (item.status === "failed" && item.refusal) {
      // An upload that may work a second time (service down, rate limited, session renewed).
      meta.appendChild(document.createTextNode(item.refusal.text + " "));
      var retry = document.createElement("button");
      retry.type = "button";
      retry.className = "msg__resend";
      retry.setAttribute("data-testid", "upload-retry");
      retry.textContent = t.retryUpload;
      retry.addEventListener("click", function () {
        retryUpload(item);
      });
      meta.appendChild(retry);
    } else if (item.status === "queued") {
      meta.textContent = item.unsaved ? t.queuedUnsaved : t.queued;
    } else if (item.status === "failed") {
      // Refused by the server (a message it cannot take): the user may still try again.
      meta.appendChild(document.createTextNode(t.failed + " "));
      var retryText = document.createElement("button");
      retryText.type = "button";
      retryText.className = "msg__resend";
      retryText.setAttribute("data-testid", "retry");
      retryText.textContent = t.retry;
      retryText.addEventListener("click", function () {
        item.status = "queued";
        updateStatus(item);
        saveHistory();
        flushQueue();
      });
      meta.appendChild(retryText);
    } else if (item.status === "unconfirmed") {
      meta.appendChild(document.createTextNode(t.unconfirmed + " "));
      var again = document.createElement("button");
      again.type = "button";
      again.className = "msg__resend";
      again.setAttribute("data-testid", "resend");
      again.textContent = t.resend;
      again.addEventListener("click", function () {
        item.status = "queued";
        item.resend = true; // it may have arrived: the server drops a second copy
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
    pruneImages();
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
      pruneImages();
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

  /** The newest item the server holds, before index ``before`` when given. */
  function lastServerIndex(before) {
    var start = typeof before === "number" && before >= 0 ? before : items.length;
    for (var i = start - 1; i >= 0; i--) {
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

    var image = data.image ||
      (data.attachment && data.attachment.type === "image" && data.attachment.payload &&
        data.attachment.payload.src);
    // An image the server keeps (an agent's screenshot): fetched with the session's token.
    var attachmentId = attachmentIdOf(image);

    if (data.type === "agent") {
      var reply = { author: "agent", name: textOf(data.agent_name), text: textOf(data.text) };
      var messageId = agentMessageIdOf(data.message_id);
      if (messageId !== null) reply.agentMessageId = messageId;
      if (attachmentId) reply.attachment = { id: attachmentId };
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
    var item = { author: "bot", text: textOf(data.text) };
    if (buttons.length) item.buttons = buttons;
    if (attachmentId) item.attachment = { id: attachmentId };
    else if (safeImageUrl(image)) item.image = image;
    if (!item.text && !item.buttons && !item.image && !item.attachment) {
      return null; // nothing this widget can show
    }
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
    if (data && typeof data === "object") noteServerTime(Number(data.ts) * 1000);
    if (item.author === "agent") hideAgentTyping();
    addItem(item);
    noteArrivals([item], true);
    // Ticket created, agent joined, resolved: the ticket's state changed.
    if (item.author === "system") checkHandoffSoon();
    updateWait();
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
    var attachment = cleanAttachment(entry.attachment);
    if (attachment) {
      // A screenshot: its thumbnail instead of the placeholder text ("[screenshot]").
      return { author: "user", text: "", status: "delivered", attachment: attachment };
    }
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
    // A screenshot's own answer (the upload's response) says what became of it.
    if (uploads[item.serverId] || item.status === "refused") return;
    item.status = "delivered";
    updateStatus(item);
  }

  /** The index of the button ``answer`` (a user item) pressed in ``group``, or -1. */
  function chosenButton(group, answer) {
    for (var i = 0; i < group.buttons.length; i++) {
      var button = group.buttons[i];
      if (answer.attachment) {
        if (button.payload === ATTACH_PAYLOAD) return i; // the screenshot it asked for
      } else if (answer.send != null ? button.payload === answer.send : button.title === answer.text) {
        return i;
      }
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
      if (item.author === "user" && item.status !== "refused" && !uploads[item.serverId]) {
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
      if (item.author === "user") item.serverAt = item.ts; // the server's clock: for "seen"
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
    // From before the oldest unconfirmed message, so history can confirm it even
    // when its answer arrived before the connection dropped.
    var lastIndex = lastServerIndex(items.findIndex(isUnconfirmedText));
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
      refreshQueue(false);
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
      if (state && !state.active) agentActive = false; // the next ticket waits again
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
      // To the embedding page's origin only; a number, never text.
      if (hostOrigin) window.parent.postMessage({ type: UNREAD_MESSAGE, count: unread }, hostOrigin);
      return;
    }
    var hidden = document.visibilityState === "hidden";
    document.title = unread > 0 && hidden ? "(" + unread + ") " + t.title : t.title;
  }

  function visibilityChanged() {
    if (!visibleToUser()) return;
    refreshQueue(false);
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

  // embed.js says when its panel opens and closes, which language the host
  // app uses and who its logged-in user is; nobody else may: only the parent
  // window, from the embedding page's origin.
  window.addEventListener("message", function (event) {
    if (!embedded || !hostOrigin || event.source !== window.parent || event.origin !== hostOrigin) {
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === VISIBILITY_MESSAGE && typeof data.open === "boolean") {
      var opened = data.open && !panelOpen;
      panelOpen = data.open;
      if (panelOpen) {
        visibilityChanged();
        if (opened) inputEl.focus();
      }
    } else if (data.type === LANGUAGE_MESSAGE) {
      setLanguage(data.language);
    } else if (data.type === USER_MESSAGE) {
      setUserToken(data.token);
    }
  });

  // --------------------------------------------------------- user messages out

  /** The dots while the bot works on a message; with a label while an agent types. */
  function renderTyping() {
    var agentOn = agentTyping !== null;
    typingEl.hidden = !botTyping && !agentOn;
    typingEl.setAttribute("data-agent-typing", agentOn ? "true" : "false");
    typingEl.classList.toggle("chat__typing--agent", agentOn);
    var label = agentOn ? (agentTyping ? fill(t.agentTyping, { name: agentTyping }) : t.agentTypingNoName) : "";
    if (typingLabelEl.textContent !== label) typingLabelEl.textContent = label;
  }

  function setTyping(on) {
    botTyping = on;
    renderTyping();
    if (on) scrollToBottom();
  }

  function showAgentTyping(name) {
    // The line takes room from the log: a reader at the bottom stays there.
    var atBottom = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight < 40;
    agentTyping = name;
    clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(hideAgentTyping, AGENT_TYPING_MS);
    renderTyping();
    if (atBottom) scrollToBottom();
  }

  function hideAgentTyping() {
    clearTimeout(agentTypingTimer);
    agentTypingTimer = null;
    agentTyping = null;
    renderTyping();
  }

  // ------------------------------------------------- the agent's activity
  //
  // The handoff service tells the channel when the agent types and which of
  // the user's messages the agent has seen; the channel emits agent_activity
  // {kind: "typing", agent, ts} or {kind: "seen", seen_until, ts} to this
  // conversation's room (ts: the server's clock, epoch seconds).

  /** A server time (ms) just received: how far this browser's clock is ahead of the server's. */
  function noteServerTime(serverMs) {
    if (!isFinite(serverMs) || serverMs <= 0) return;
    var skew = Date.now() - serverMs;
    if (clockSkew === null || skew < clockSkew) clockSkew = skew;
  }

  /** An ISO time of the service (UTC when it names no zone), in ms; NaN if unusable. */
  function parseServerTime(value) {
    if (typeof value !== "string" || value.length > 40) return NaN;
    var text = value.replace(/(\.\d{3})\d+/, "$1");
    if (!/(?:Z|[+-]\d\d:?\d\d)$/i.test(text)) text += "Z";
    return Date.parse(text);
  }

  /** When the server had a user message, by the server's clock (ms). */
  function serverTimeOf(item) {
    if (typeof item.serverAt === "number") return item.serverAt;
    var local = typeof item.sentAt === "number" ? item.sentAt : item.ts;
    return local - (clockSkew || 0);
  }

  /** The agent has seen the user's messages up to ``until`` (server clock, ms). */
  function markSeenUntil(until) {
    var changed = false;
    items.forEach(function (item) {
      if (item.author !== "user" || item.status !== "delivered" || item.seenByAgent) return;
      if (serverTimeOf(item) <= until + SEEN_TOLERANCE_MS) {
        item.seenByAgent = true;
        updateStatus(item);
        changed = true;
      }
    });
    if (changed) saveHistory();
  }

  function agentActivity(data) {
    if (!data || typeof data !== "object") return;
    noteServerTime(Number(data.ts) * 1000);
    agentActive = true;
    updateWait();
    if (data.kind === "typing") {
      var name = typeof data.agent === "string" ? data.agent.trim().slice(0, 64) : "";
      showAgentTyping(name);
    } else if (data.kind === "seen") {
      var until = parseServerTime(data.seen_until);
      if (isFinite(until)) markSeenUntil(until);
    }
  }

  // -------------------------------------------- greeting and expected wait
  //
  // The greeting sits at the top of the log (not a message: never stored,
  // never counted). While a ticket is open and no agent has answered yet, the
  // line under the header says how long the wait should be, from the
  // service's GET /api/public/queue; no answer, or no number, no line.

  var handoffCheckTimer = null;

  /** A ticket's state changed (a system notice): ask the server for it a moment later. */
  function checkHandoffSoon() {
    clearTimeout(handoffCheckTimer);
    handoffCheckTimer = setTimeout(function () {
      handoffCheckTimer = null;
      syncHistory();
    }, 1500);
  }

  /** A ticket is open and no agent has answered since it was opened. */
  function ticketWaiting() {
    if (!handoff || !handoff.active || agentActive) return false;
    for (var i = items.length - 1; i >= 0; i--) {
      var item = items[i];
      if (item.author === "agent") return false;
      if (item.author === "system" && handoff.ref && item.text.indexOf(handoff.ref) !== -1) break;
    }
    return true;
  }

  function updateWait() {
    var minutes = queueInfo ? queueInfo.minutes : null;
    if (!ticketWaiting() || minutes === null) {
      waitEl.hidden = true;
      waitEl.textContent = "";
      return;
    }
    var ref = handoff.ref;
    var template = minutes <= 1 ? (ref ? t.waitLineSoon : t.waitLineSoonNoRef) :
      (ref ? t.waitLine : t.waitLineNoRef);
    waitEl.textContent = fill(template, { ref: ref, minutes: minutes });
    waitEl.setAttribute("data-minutes", String(minutes));
    waitEl.hidden = false;
  }

  function readQueue(body) {
    var minutes = body ? body.expected_wait_minutes : null;
    if (typeof minutes !== "number" || !isFinite(minutes) || minutes < 0 || minutes > MAX_QUEUE_MINUTES) {
      return { minutes: null };
    }
    return { minutes: Math.max(1, Math.ceil(minutes)) };
  }

  /** Ask the service for the expected wait (when a ticket waits and the user can see it). */
  function refreshQueue(force) {
    if (!ticketWaiting() || !visibleToUser() || queueRequest ||
        (!force && Date.now() - queueAskedAt < QUEUE_REFRESH_MS)) {
      updateWait();
      return;
    }
    queueAskedAt = Date.now();
    var xhr = new XMLHttpRequest();
    queueRequest = xhr;
    function answered(info) {
      queueRequest = null;
      queueInfo = info;
      updateWait();
    }
    try {
      // The service that serves this page: ../api/public/queue from /widget/.
      xhr.open("GET", new URL(QUEUE_PATH, window.location.href).href);
      xhr.timeout = QUEUE_TIMEOUT_MS;
      xhr.onload = function () {
        answered(xhr.status === 200 ? readQueue(parseJson(xhr.responseText)) : null);
      };
      xhr.onerror = xhr.ontimeout = function () {
        answered(null);
      };
      xhr.send();
    } catch (err) {
      answered(null);
    }
  }

  setInterval(function () {
    refreshQueue(false);
  }, QUEUE_REFRESH_MS);

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
    if (item.attachment || item.status === "refused" || uploads[item.serverId]) {
      // The server has a screenshot whose upload answer was lost: it was accepted.
      var attachment = cleanAttachment(entry.attachment);
      if (attachment && item.status === "failed" && uploads[item.serverId]) {
        uploadAccepted(item, attachment);
      }
      return;
    }
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
      delete item.resend;
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
    // The first time it went out, by this browser's clock (compared with "seen_until").
    if (typeof item.sentAt !== "number") item.sentAt = Date.now();
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
    var message = {
      message: item.send != null ? item.send : item.text,
      message_id: item.serverId,
      session_id: sessionId,
      session_token: sessionToken
    };
    // A copy of one whose acknowledgement was lost: the server handles it only if
    // the first never arrived (it checks the id under the conversation's lock).
    if (item.resend) message.resend = true;
    socket.emit(
      "user_uttered",
      message,
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
      // Screenshots go over HTTP (see "Attachments"), never as user_uttered.
      if (item.author === "user" && item.status === "queued" && !item.attachment) emitItem(item);
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

  // ------------------------------------------------------------- attachments
  //
  // Screenshots go to the server over HTTP, not over the socket: POST
  // <rasaUrl>/webhooks/socketio/attachments with the raw bytes, the session's
  // token and a fresh message id (see README.md). The upload becomes a user
  // turn; the bot answers over socket.io as usual. Until the server has taken
  // it, the image exists in memory only (the File and a blob: URL for its
  // preview, both in ``uploads``); a refused one is dropped there and then.
  // The stored log keeps an accepted image as the server's attachment id and
  // metadata, never its bytes nor a URL of them. Images are shown from blob:
  // URLs of authenticated requests (an <img> cannot send the token), revoked
  // once no bubble shows them; where the page's policy refuses blob: images,
  // from data: URLs made of the same bytes in memory.

  /** Screenshots can be sent once the server has named the conversation. */
  function canAttach() {
    return !!(server && sessionId && sessionToken);
  }

  function updateAttach() {
    attachEl.disabled = !canAttach();
  }

  function openFilePicker() {
    if (!canAttach() || !leaveEl.hidden || !viewerEl.hidden) return;
    fileEl.value = "";
    fileEl.click();
  }

  /** The id of one of the server's attachments that ``src`` names, or null (any other image). */
  function attachmentIdOf(src) {
    if (typeof src !== "string" || !src || !server) return null;
    var url;
    try {
      url = new URL(src, server.base + "/");
      // The session's token goes to the chat's own server only.
      if (url.origin !== new URL(server.base).origin) return null;
    } catch (err) {
      return null;
    }
    var match = ATTACHMENT_PATH_RE.exec(url.pathname);
    return match ? match[1] : null;
  }

  function attachmentUrl(id, size) {
    return server.base + ATTACHMENTS_PATH + "/" + encodeURIComponent(id) +
      (size === "thumb" ? "?size=thumb" : "");
  }

  /** The headers that show the request belongs to this conversation. */
  function authorize(xhr) {
    xhr.setRequestHeader("Authorization", "Bearer " + sessionToken);
    xhr.setRequestHeader("X-Session-Id", sessionId);
  }

  function parseJson(text) {
    try {
      var value = JSON.parse(text);
      return value && typeof value === "object" ? value : null;
    } catch (err) {
      return null;
    }
  }

  /** The server's limits (GET .../limits, no token); the defaults until it has answered. */
  function loadLimits() {
    if (limitsAsked || !server) return;
    limitsAsked = true;
    var xhr = new XMLHttpRequest();
    xhr.open("GET", server.base + ATTACHMENTS_PATH + "/limits");
    xhr.timeout = IMAGE_TIMEOUT_MS;
    xhr.onload = function () {
      var body = parseJson(xhr.responseText);
      if (xhr.status === 200 && body) limits = readLimits(body);
      else limitsAsked = false; // asked again after the next session_confirm
    };
    xhr.onerror = xhr.ontimeout = function () {
      limitsAsked = false;
    };
    xhr.send();
  }

  function readLimits(body) {
    function count(value, fallback) {
      return typeof value === "number" && value > 0 && Math.floor(value) === value ? value : fallback;
    }
    // Never more than the three types this widget accepts, whatever the server says.
    var types = Array.isArray(body.types) ? body.types.filter(function (type) {
      return IMAGE_TYPES.indexOf(type) !== -1;
    }) : [];
    return {
      max_bytes: count(body.max_bytes, DEFAULT_LIMITS.max_bytes),
      max_count: count(body.max_count, DEFAULT_LIMITS.max_count),
      types: types.length ? types : DEFAULT_LIMITS.types
    };
  }

  function megabytes(bytes) {
    return String(Math.round(bytes / 104857.6) / 10);
  }

  /** What the user reads when an image is refused, in the page's language. */
  function refusalText(code, body) {
    if (code === "image_refused") {
      var kinds = body && Array.isArray(body.kinds) ? body.kinds.map(String) : [];
      var key = kinds.some(function (kind) {
        return /key/.test(kind);
      }) && !kinds.some(function (kind) {
        return /phrase|seed|mnemonic/.test(kind);
      });
      return key ? t.refusedKey : t.refusedPhrase;
    }
    if (code === "unsupported_image") return t.refusedType;
    if (code === "image_too_large") return fill(t.refusedSize, { mb: megabytes(limits.max_bytes) });
    if (code === "too_many_images") return fill(t.refusedCount, { count: limits.max_count });
    if (code === "rate_limited") {
      return fill(t.refusedRate, { seconds: retryDelayMs(body && body.retry_after) / 1000 });
    }
    if (code === "invalid_session") return t.refusedSession;
    if (code === "unavailable") return t.refusedUnavailable;
    // A refusal this widget does not know: the server's own words (as text), if any.
    var message = body && typeof body.message === "string" ? body.message.trim() : "";
    return message && message.length <= 500 ? message : t.refusedOther;
  }

  function imageKey(id, size) {
    return id + ":" + size;
  }

  /** The picture in a bubble: a pending upload's preview, a refusal, or the server's thumbnail. */
  function renderAttachment(item) {
    var fragment = document.createDocumentFragment();
    if (item.status === "refused") {
      // Nothing of the image is left: a note in the bubble and why.
      var note = document.createElement("div");
      note.className = "msg__text msg__text--refused";
      note.setAttribute("data-testid", "msg-text");
      note.textContent = t.imageNotSent;
      fragment.appendChild(note);
      var reason = document.createElement("div");
      reason.className = "msg__refusal";
      reason.setAttribute("data-testid", "upload-error");
      if (item.refusal) reason.setAttribute("data-error", item.refusal.code);
      reason.textContent = item.refusal ? item.refusal.text : t.refusedOther;
      fragment.appendChild(reason);
      return fragment;
    }
    var upload = uploads[item.serverId];
    var img = document.createElement("img");
    img.className = "msg__shot-image";
    img.setAttribute("data-testid", "msg-image");
    img.alt = item.author === "user" ? t.screenshot : t.agentImage;
    img.addEventListener("load", function () {
      followImage(img);
    });
    var frame;
    if (upload) {
      frame = document.createElement("div");
      display(img, upload.source);
    } else {
      // Opens the full-size image; a real button, so the keyboard reaches it.
      frame = document.createElement("button");
      frame.type = "button";
      frame.title = t.openImage;
      frame.setAttribute("aria-label", t.openImage);
      frame.addEventListener("click", function () {
        openViewer(item.attachment.id, frame);
      });
      showImage(img, item.attachment.id);
    }
    frame.className = "msg__shot";
    frame.setAttribute("data-testid", "msg-shot");
    frame.appendChild(img);
    fragment.appendChild(frame);
    if (upload && item.status === "uploading") {
      var bar = document.createElement("progress");
      bar.className = "msg__progress";
      bar.setAttribute("data-testid", "upload-progress");
      bar.setAttribute("aria-label", t.uploading);
      bar.max = 100;
      if (upload.progress != null) bar.value = upload.progress; // else indeterminate: waiting
      fragment.appendChild(bar);
    }
    return fragment;
  }

  /** An image that just got its height: the log stays at the bottom if it was there. */
  function followImage(img) {
    if (!logEl.contains(img)) return;
    var gap = logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight;
    if (gap <= img.offsetHeight + 80) scrollToBottom();
  }

  /** Show ``item`` again, as its state now is. */
  function rerender(item) {
    var old = elements[item.id];
    var el = renderItem(item);
    if (old && old.parentNode) old.parentNode.replaceChild(el, old);
  }

  function showImage(img, id) {
    var key = imageKey(id, "thumb");
    img.setAttribute("data-image-key", key);
    var entry = images[key];
    if (entry && entry.url) display(img, entry);
    else if (entry && entry.failed) markImageFailed(img);
    else loadImage(id, "thumb");
  }

  /** A source for ``blob`` (a fetched image, or the File being sent): {blob, url}. */
  function sourceOf(blob) {
    return { blob: blob, url: URL.createObjectURL(blob) };
  }

  function releaseSource(source) {
    if (!source) return;
    if (source.url) URL.revokeObjectURL(source.url);
    source.url = null;
    source.dataUrl = null;
    source.blob = null;
  }

  /**
   * Show ``source`` in ``img``: its blob: URL, or, where the page's policy
   * refuses those (the img fails), a data: URL of the same bytes, which every
   * later image then uses straight away.
   */
  function display(img, source) {
    img.removeAttribute("data-state");
    if (source.dataUrl) {
      img.src = source.dataUrl;
      return;
    }
    if (blobImagesRefused) {
      displayData(img, source, false);
      return;
    }
    function failed() {
      img.removeEventListener("error", failed);
      if (img.getAttribute("src") === source.url) displayData(img, source, true);
    }
    img.addEventListener("error", failed);
    img.addEventListener("load", function loaded() {
      img.removeEventListener("load", loaded);
      img.removeEventListener("error", failed);
    });
    img.src = source.url;
  }

  function displayData(img, source, afterBlob) {
    if (!source.blob) {
      markImageFailed(img);
      return;
    }
    var reader = new FileReader();
    reader.addEventListener("load", function () {
      if (!source.url) return; // released meanwhile
      source.dataUrl = String(reader.result);
      img.addEventListener("load", function loaded() {
        img.removeEventListener("load", loaded);
        if (afterBlob) blobImagesRefused = true;
      });
      img.addEventListener("error", function failed() {
        img.removeEventListener("error", failed);
        markImageFailed(img);
      });
      img.src = source.dataUrl;
    });
    reader.addEventListener("error", function () {
      markImageFailed(img);
    });
    reader.readAsDataURL(source.blob);
  }

  function imagesWithKey(key) {
    return document.querySelectorAll('img[data-image-key="' + key + '"]');
  }

  function markImageFailed(img) {
    img.setAttribute("data-state", "failed");
    img.alt = t.imageUnavailable;
  }

  /**
   * Fetch one of the server's images with the session's headers and show it
   * from a blob: URL. Waits for session_confirm (loadImages) when the
   * connection has no confirmed token yet.
   */
  function loadImage(id, size) {
    var key = imageKey(id, size);
    var entry = images[key];
    if (entry && (entry.url || entry.xhr)) return;
    if (!server || !confirmed || !sessionId || !sessionToken) return;
    var xhr = new XMLHttpRequest();
    var forSession = sessionId;
    images[key] = { xhr: xhr };
    xhr.open("GET", attachmentUrl(id, size));
    authorize(xhr);
    xhr.responseType = "blob";
    xhr.timeout = IMAGE_TIMEOUT_MS;
    function failed() {
      images[key] = { failed: true }; // tried again after the next session_confirm
      var list = imagesWithKey(key);
      for (var i = 0; i < list.length; i++) markImageFailed(list[i]);
    }
    xhr.onload = function () {
      if (!images[key] || images[key].xhr !== xhr) return; // no bubble shows it any more
      if (forSession !== sessionId) {
        delete images[key];
        return;
      }
      var blob = xhr.response;
      if (xhr.status !== 200 || !blob || !/^image\//.test(blob.type)) {
        failed();
        return;
      }
      var source = sourceOf(blob);
      images[key] = source;
      var list = imagesWithKey(key);
      for (var i = 0; i < list.length; i++) display(list[i], source);
    };
    xhr.onerror = xhr.ontimeout = function () {
      if (images[key] && images[key].xhr === xhr) failed();
    };
    xhr.send();
  }

  /** After session_confirm: the images of the log not shown yet (or that failed). */
  function loadImages() {
    Object.keys(images).forEach(function (key) {
      if (images[key].failed) delete images[key];
    });
    var list = document.querySelectorAll("img[data-image-key]");
    for (var i = 0; i < list.length; i++) {
      if (list[i].getAttribute("src")) continue;
      var parts = list[i].getAttribute("data-image-key").split(":");
      loadImage(parts[0], parts[1]);
    }
  }

  function dropImage(key) {
    var entry = images[key];
    delete images[key];
    if (!entry) return;
    if (entry.url) releaseSource(entry);
    if (entry.xhr) entry.xhr.abort();
  }

  /** Revoke every fetched image no message of the log shows any more. */
  function pruneImages() {
    var used = {};
    items.forEach(function (item) {
      if (item.attachment) used[imageKey(item.attachment.id, "thumb")] = true;
    });
    if (viewerKey) used[viewerKey] = true;
    Object.keys(images).forEach(function (key) {
      if (!used[key]) dropImage(key);
    });
  }

  /** The image at full size, over the chat; Escape or Close ends it. */
  function openViewer(id, opener) {
    if (!leaveEl.hidden || !viewerEl.hidden) return;
    viewerOpener = opener;
    viewerKey = imageKey(id, "full");
    viewerImgEl.removeAttribute("src");
    viewerImgEl.removeAttribute("data-state");
    viewerImgEl.alt = t.screenshot;
    viewerImgEl.setAttribute("data-image-key", viewerKey);
    var entry = images[viewerKey];
    if (entry && entry.url) display(viewerImgEl, entry);
    else loadImage(id, "full");
    viewerEl.hidden = false;
    setBackgroundInert(true);
    viewerCloseEl.focus();
  }

  function closeViewer() {
    if (viewerEl.hidden) return;
    viewerEl.hidden = true;
    setBackgroundInert(false);
    var key = viewerKey;
    viewerKey = null;
    viewerImgEl.removeAttribute("src");
    viewerImgEl.removeAttribute("data-image-key");
    if (key) dropImage(key); // the full-size copy is not kept
    if (viewerOpener && logEl.contains(viewerOpener)) viewerOpener.focus();
    else inputEl.focus();
    viewerOpener = null;
  }

  /**
   * Images the user sent in this conversation within a day (the server counts
   * max_count per conversation and day), and the ones on their way.
   */
  function attachmentCount() {
    var since = Date.now() - 24 * 3600 * 1000;
    var count = 0;
    items.forEach(function (item) {
      if (item.author !== "user") return;
      if (uploads[item.serverId] || (item.attachment && (!item.ts || item.ts > since))) count += 1;
    });
    return count;
  }

  /** Why ``file`` cannot be sent (the server's error code), or null. */
  function checkFile(file) {
    if (!file || !file.size || limits.types.indexOf(file.type) === -1) return "unsupported_image";
    if (file.size > limits.max_bytes) return "image_too_large";
    if (attachmentCount() >= limits.max_count) return "too_many_images";
    return null;
  }

  /** Files chosen, pasted or dropped: a bubble each, then sent one after another. */
  function attachFiles(list) {
    var files = Array.prototype.slice.call(list || []);
    if (!files.length || !canAttach()) return;
    loadLimits();
    files.forEach(function (file) {
      var item = { author: "user", text: "", status: "uploading", serverId: newMessageId(), unsaved: true };
      var problem = checkFile(file);
      if (problem) {
        item.status = "refused";
        item.refusal = { code: problem, text: refusalText(problem, null) };
      } else {
        uploads[item.serverId] = {
          file: file, source: sourceOf(file), xhr: null, progress: null, renewed: false
        };
      }
      addItem(item);
    });
    pumpUploads();
  }

  /** Start the next upload, unless one is on its way or the session is not confirmed. */
  function pumpUploads() {
    if (uploading || uploadHoldTimer || !server || !confirmed || !sessionId || !sessionToken) return;
    for (var i = 0; i < items.length; i++) {
      if (items[i].status === "uploading" && uploads[items[i].serverId]) {
        startUpload(items[i]);
        return;
      }
    }
  }

  function setProgress(item, percent) {
    var upload = uploads[item.serverId];
    if (!upload) return;
    upload.progress = percent;
    var el = elements[item.id];
    var bar = el && el.querySelector("[data-testid=upload-progress]");
    if (!bar) return;
    if (percent == null) bar.removeAttribute("value");
    else bar.value = percent;
  }

  /** POST the raw bytes (XMLHttpRequest: its upload progress feeds the bar). */
  function startUpload(item) {
    var upload = uploads[item.serverId];
    var xhr = new XMLHttpRequest();
    var sentIn = sessionId;
    upload.xhr = xhr;
    uploading = item;
    xhr.open("POST", server.base + ATTACHMENTS_PATH);
    authorize(xhr);
    xhr.setRequestHeader("X-Message-Id", item.serverId);
    xhr.setRequestHeader("Content-Type", upload.file.type);
    xhr.timeout = UPLOAD_TIMEOUT_MS;
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable && event.total > 0) {
        setProgress(item, Math.round((event.loaded / event.total) * 100));
      }
    };
    function finished(status, body) {
      if (upload.xhr !== xhr) return; // cancelled meanwhile
      upload.xhr = null;
      uploading = null;
      if (sentIn !== sessionId || uploads[item.serverId] !== upload) return;
      uploadAnswered(item, status, body);
      pumpUploads();
    }
    xhr.onload = function () {
      finished(xhr.status, parseJson(xhr.responseText));
    };
    xhr.onerror = xhr.ontimeout = function () {
      finished(0, null);
    };
    setProgress(item, 0);
    xhr.send(upload.file);
  }

  /** What the server's answer to an upload means for its bubble. */
  function uploadAnswered(item, status, body) {
    var error = body && typeof body.error === "string" ? body.error : null;
    if ((status === 200 || status === 201) && body && body.ok === true) {
      var attachment = cleanAttachment(body.attachment);
      if (attachment) uploadAccepted(item, attachment);
      else uploadFailed(item, "unavailable", body);
    } else if (status === 422 || error === "image_refused") {
      uploadRefused(item, "image_refused", body);
    } else if (status === 415 || error === "unsupported_image") {
      uploadRefused(item, "unsupported_image", body);
    } else if (status === 413 || error === "image_too_large") {
      uploadRefused(item, "image_too_large", body);
    } else if (status === 409 || error === "too_many_images") {
      uploadRefused(item, "too_many_images", body);
    } else if (status === 429 || error === "rate_limited") {
      // The next uploads wait too; this one is sent again when the user asks.
      clearTimeout(uploadHoldTimer);
      uploadHoldTimer = setTimeout(function () {
        uploadHoldTimer = null;
        pumpUploads();
      }, retryDelayMs(body && body.retry_after));
      uploadFailed(item, "rate_limited", body);
    } else if (status === 401 || error === "invalid_session") {
      var upload = uploads[item.serverId];
      if (!upload.renewed && confirmed) {
        // Sent again on its own after the renewed session_confirm.
        upload.renewed = true;
        setProgress(item, null);
        renewSession();
      } else {
        uploadFailed(item, "invalid_session", body);
      }
    } else if (status >= 400 && status < 500) {
      uploadRefused(item, error || "refused", body);
    } else {
      uploadFailed(item, "unavailable", body); // 503, no answer: may work later
    }
  }

  /** The server kept the image: from now on only its id and metadata are stored. */
  function uploadAccepted(item, attachment) {
    var upload = uploads[item.serverId];
    delete uploads[item.serverId];
    item.attachment = attachment;
    item.status = "delivered";
    delete item.unsaved;
    delete item.refusal;
    renewals = 0;
    if (upload) {
      // The preview is the same picture: it serves as the thumbnail.
      var key = imageKey(attachment.id, "thumb");
      if (images[key]) releaseSource(upload.source);
      else images[key] = upload.source;
    }
    // Reply buttons before it are answered (with the screenshot one, if offered).
    var index = items.indexOf(item);
    for (var i = 0; i < index; i++) {
      if (items[i].buttons && !items[i].used) disableButtons(items[i], chosenButton(items[i], item));
    }
    rerender(item);
    saveHistory();
  }

  /** Forget the file and its preview. */
  function discardUpload(item) {
    var upload = uploads[item.serverId];
    if (!upload) return;
    delete uploads[item.serverId];
    if (upload.xhr) {
      var xhr = upload.xhr;
      upload.xhr = null;
      xhr.abort();
    }
    releaseSource(upload.source);
  }

  /** Refused for good: the bubble keeps no image, only why (and it is never stored). */
  function uploadRefused(item, code, body) {
    discardUpload(item);
    item.status = "refused";
    item.unsaved = true;
    item.refusal = { code: code, text: refusalText(code, body) };
    rerender(item);
    scrollToBottom();
  }

  /** Not sent, but it may work again: the preview stays, with "Try again". */
  function uploadFailed(item, code, body) {
    item.status = "failed";
    item.refusal = { code: code, text: refusalText(code, body) };
    rerender(item);
    scrollToBottom();
  }

  function retryUpload(item) {
    var upload = uploads[item.serverId];
    if (!upload || item.status !== "failed") return;
    item.status = "uploading";
    delete item.refusal;
    upload.renewed = false;
    upload.progress = null;
    rerender(item);
    // After the widget gave up renewing a refused session, a click asks once more.
    if (socket && socket.connected && !confirmed) requestSession();
    pumpUploads();
  }

  /** Leaving the conversation: uploads stop, files and previews are let go. */
  function cancelUploads() {
    Object.keys(uploads).forEach(function (id) {
      var upload = uploads[id];
      if (upload.xhr) {
        var xhr = upload.xhr;
        upload.xhr = null;
        xhr.abort();
      }
      releaseSource(upload.source);
    });
    uploads = {};
    uploading = null;
    clearTimeout(uploadHoldTimer);
    uploadHoldTimer = null;
  }

  /** The files of a paste or a drop (DataTransfer), as an array. */
  function filesOf(data) {
    if (!data) return [];
    if (data.files && data.files.length) return Array.prototype.slice.call(data.files);
    var files = [];
    var list = data.items || [];
    for (var i = 0; i < list.length; i++) {
      var file = list[i].kind === "file" ? list[i].getAsFile() : null;
      if (file) files.push(file);
    }
    return files;
  }

  function carriesFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  /** Nothing over the chat (the New chat dialog, the image viewer). */
  function composerFree() {
    return leaveEl.hidden && viewerEl.hidden;
  }

  attachEl.addEventListener("click", openFilePicker);

  fileEl.addEventListener("change", function () {
    var files = Array.prototype.slice.call(fileEl.files || []);
    fileEl.value = "";
    attachFiles(files);
  });

  // Ctrl+V of an image (a screenshot in the clipboard). Text, even with a picture
  // of it (copied from a document), is pasted as text.
  document.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    var files = filesOf(data);
    if (!files.length || data.getData("text/plain") || !composerFree()) return;
    event.preventDefault();
    attachFiles(files);
  });

  var dragDepth = 0;
  chatEl.addEventListener("dragenter", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    chatEl.classList.toggle("chat--dropping", canAttach() && composerFree());
  });
  chatEl.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = canAttach() && composerFree() ? "copy" : "none";
  });
  chatEl.addEventListener("dragleave", function (event) {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) chatEl.classList.remove("chat--dropping");
  });
  chatEl.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    chatEl.classList.remove("chat--dropping");
    if (composerFree()) attachFiles(event.dataTransfer.files);
  });
  // A file dropped beside the panel must not replace the page with itself.
  ["dragover", "drop"].forEach(function (name) {
    window.addEventListener(name, function (event) {
      if (carriesFiles(event)) event.preventDefault();
    });
  });

  viewerCloseEl.addEventListener("click", closeViewer);
  viewerEl.addEventListener("click", function (event) {
    if (event.target === viewerEl) closeViewer();
  });
  viewerEl.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      closeViewer();
    } else if (event.key === "Tab") {
      event.preventDefault(); // the Close button is the only stop
      viewerCloseEl.focus();
    }
  });

  // ---------------------------------------------------------------- composer

  function autosize() {
    inputEl.style.height = "auto";
    inputEl.style.height = Math.min(inputEl.scrollHeight, 160) + "px";
  }

  function formatNumber(value) {
    try {
      return value.toLocaleString(uiLocale());
    } catch (err) {
      return String(value);
    }
  }

  /**
   * Where a part of a long message ends: at the last paragraph, line, sentence
   * or word break in its second half, never inside something that looks like
   * a secret (``spans``), so that the server still sees and removes it whole.
   */
  function cutPoint(text, start, spans) {
    var end = start + MAX_CHARS;
    var window_ = text.slice(start, end);
    var from = Math.floor(MAX_CHARS / 2);
    var breaks = [/\n[ \t]*\n/g, /\n/g, /[.!?;](?=\s)|[。！？；]/g, /\s/g];
    var at = -1;
    for (var i = 0; i < breaks.length && at === -1; i++) {
      var match;
      var last = -1;
      while ((match = breaks[i].exec(window_)) !== null) {
        if (match.index >= from) last = match.index + match[0].length;
      }
      if (last > 0) at = start + last;
    }
    if (at === -1) at = end;
    for (var pass = 0; pass < 2; pass++) {
      spans.forEach(function (span) {
        if (span.start < at && at < span.end) at = span.start > start ? span.start : Math.min(span.end, end);
      });
    }
    // Never between the two halves of a character outside the BMP (an emoji).
    var code = text.charCodeAt(at - 1);
    if (at < text.length && code >= 0xd800 && code <= 0xdbff) at -= 1;
    return at;
  }

  /** ``text`` as messages of at most MAX_CHARS each, or null when it takes more than MAX_PARTS. */
  function splitMessage(text) {
    var spans = [];
    var shapes = window.walletSupportSecretShapes;
    if (shapes && typeof shapes.find === "function") {
      try {
        // A phrase or a key is short; a long run the broad check flags (a pasted
        // log of words and numbers) is no single secret to keep whole.
        spans = (shapes.find(text, { expectingHash: askedForHash() }) || []).filter(function (span) {
          return span.end - span.start <= MAX_SECRET_SPAN;
        });
      } catch (err) {
        spans = [];
      }
    }
    var parts = [];
    var pos = 0;
    while (pos < text.length) {
      if (parts.length >= MAX_PARTS) return null;
      var cut = text.length - pos <= MAX_CHARS ? text.length : cutPoint(text, pos, spans);
      var part = text.slice(pos, cut).replace(/^\s+|\s+$/g, "");
      if (part) parts.push(part);
      pos = cut;
    }
    return parts;
  }

  /**
   * A message longer than one message can hold (a pasted log, say) stays in
   * the box, whole: a note says how long it is and what to do, Send is
   * disabled, and a button sends it as several messages in order.
   */
  function updateTooLong(text) {
    var length = text.length;
    if (length <= MAX_CHARS) {
      tooLongEl.hidden = true;
      tooLongTextEl.textContent = ""; // also what the box's description reads
      inputEl.removeAttribute("aria-invalid");
      return;
    }
    var parts = splitMessage(text.replace(/^\s+|\s+$/g, ""));
    var values = {
      count: formatNumber(length),
      max: formatNumber(MAX_CHARS),
      over: formatNumber(length - MAX_CHARS),
      parts: parts ? parts.length : 0
    };
    var note = fill(parts ? t.tooLong : t.tooLongHuge, values);
    if (tooLongTextEl.textContent !== note) tooLongTextEl.textContent = note;
    tooLongEl.setAttribute("data-count", String(length));
    partsEl.hidden = !parts;
    partsEl.textContent = parts ? fill(t.sendInParts, values) : "";
    tooLongEl.hidden = false;
    inputEl.setAttribute("aria-invalid", "true");
  }

  function updateComposer() {
    var length = inputEl.value.length;
    sendEl.disabled = inputEl.value.trim() === "" || length > MAX_CHARS;
    if (length >= COUNTER_FROM) {
      counterEl.hidden = false;
      counterEl.textContent = formatNumber(length) + " / " + formatNumber(MAX_CHARS);
      counterEl.classList.toggle("chat__counter--full", length >= MAX_CHARS);
    } else {
      counterEl.hidden = true;
    }
    updateTooLong(inputEl.value);
  }

  /** The long message in the box, as several messages (on the user's request). */
  function sendInParts() {
    var parts = splitMessage(inputEl.value.replace(/^\s+|\s+$/g, ""));
    if (!parts || !parts.length) return;
    inputEl.value = "";
    updateComposer();
    autosize();
    parts.forEach(function (part) {
      sendMessage(part, null);
    });
    inputEl.focus();
  }

  partsEl.addEventListener("click", sendInParts);

  function submit() {
    var text = inputEl.value.replace(/^\s+|\s+$/g, "");
    if (!text) return;
    if (text.length > MAX_CHARS) {
      // Enter on a message that is too long: nothing is sent, nothing is cut.
      updateTooLong(inputEl.value);
      return;
    }
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
      cancelUploads(); // another conversation's screenshots: not sent to this one
      storage.remove(historyKey(sessionId));
      items = items.filter(function (item) {
        return item.author === "user" &&
          (item.status === "queued" || item.status === "waiting" || item.status === "unconfirmed");
      });
      sessionId = confirmedId;
      handoff = null;
      agentActive = false;
      updateWait();
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

  var refusedConnects = 0;

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
      updateAttach();
      tellServerLanguage();
      // What was said while this page was closed or offline, then what waited here.
      if (hasUnconfirmed()) {
        // History first: it tells which of them got through before the connection
        // dropped; the others go again, ahead of anything typed since.
        syncHistory(function (state) {
          if (state) requeueUnconfirmed();
          flushQueue();
        });
      } else {
        syncHistory();
        flushQueue();
      }
      loadLimits();
      loadImages(); // thumbnails of earlier screenshots, with the confirmed token
      pumpUploads();
    });

    socket.on("bot_uttered", receive);
    socket.on("agent_activity", agentActivity);

    socket.on("disconnect", function () {
      link += 1;
      confirmed = false;
      hideAgentTyping();
      markUnconfirmed();
      setState("offline");
    });

    socket.on("connect_error", function () {
      setState("offline");
      // A server that refused the connection (a replica shutting down) is not
      // retried by socket.io itself; the load balancer sends the next try elsewhere.
      if (!socket.active) {
        refusedConnects += 1;
        setTimeout(function () {
          if (!socket.connected && !socket.active) socket.connect();
        }, Math.min(1000 * refusedConnects, 10000));
      }
    });
    socket.on("connect", function () {
      refusedConnects = 0;
    });
  }

  function isUnconfirmedText(item) {
    return item.author === "user" && item.status === "unconfirmed" && !item.attachment;
  }

  function hasUnconfirmed() {
    return items.some(isUnconfirmedText);
  }

  /** Messages history did not confirm: sent again, under the same id, marked as copies. */
  function requeueUnconfirmed() {
    var changed = false;
    items.forEach(function (item) {
      if (!isUnconfirmedText(item)) return;
      item.status = "queued";
      item.resend = true;
      updateStatus(item);
      changed = true;
    });
    if (changed) saveHistory();
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
    agentActive = false;
    hideAgentTyping();
    updateWait();
  }

  /** Show ``id``'s stored log and ask the server for that conversation on a fresh connection. */
  function switchConversation(id, token) {
    cancelUploads();
    closeViewer();
    sessionId = id;
    sessionToken = token;
    saveSession();
    updateAttach();
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

  /** The host app's chat language asked of the bot (it then answers in it). */
  function tellServerLanguage() {
    if (!languageChosen || !socket || !socket.connected || !confirmed || !sessionId) return;
    socket.emit("set_language", { session_id: sessionId, session_token: sessionToken, language: lang });
  }

  /**
   * The host app's language ("zh" or "en"; "zh-CN", "en-GB" also do): the
   * page's labels change at once, and the bot answers in it from then on.
   */
  function setLanguage(value) {
    var next = typeof value === "string" ? value.slice(0, 2).toLowerCase() : "";
    if (LANGUAGES.indexOf(next) === -1) return false;
    languageChosen = true;
    if (next !== lang) {
      lang = next;
      t = LABELS[lang];
      applyLabels();
      setState(stateEl.getAttribute("data-state") || "connecting");
      updateHeader();
      renderAll();
      renderTyping();
      updateComposer();
      updateWait();
      publishUnread();
      if (!leaveEl.hidden) {
        var ref = leaveEl.getAttribute("data-ref");
        leaveTextEl.textContent = ref ? fill(t.leaveText, { ref: ref }) : t.leaveTextNoRef;
      }
    }
    tellServerLanguage();
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
  updateAttach();
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
    language: function () {
      return lang;
    },
    setUserToken: setUserToken,
    setLanguage: setLanguage
  };
})();
