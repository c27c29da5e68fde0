/*
 * Support chat launcher for other sites (see README.md, "Embedding"):
 *
 *   <script src="https://HOST/widget/embed.js" data-server="https://HOST" async></script>
 *
 * Adds a round button at the bottom right with an unread badge; it opens a
 * panel holding the widget page in an iframe (<server>/widget/?embedded=1).
 * The chat lives entirely in that iframe, on the server's origin: the host
 * page's scripts and styles cannot reach its content. What crosses, never any
 * chat text: the iframe's unread count (a number) one way; whether the panel
 * is open, the host app's language and its signed user token the other way.
 * Each side checks the other's window and origin. The launcher's own elements
 * sit in a shadow root so the host's CSS does not restyle them.
 *
 * The host's API (README.md, "JavaScript API"): WalletSupport.open(), .close(),
 * .setLanguage("zh"|"en"), .setUser(signedToken), .on("unread", fn) /
 * .onUnread(fn). Calls made before this script has loaded wait in
 * WalletSupport.q (see the stub in the README) and run once it has.
 */
(function () {
  "use strict";

  var existing = window.WalletSupport;
  if (existing && existing.loaded) return; // the script was included twice

  var UNREAD_MESSAGE = "wallet-support:unread";
  var VISIBILITY_MESSAGE = "wallet-support:visibility";
  var LANGUAGE_MESSAGE = "wallet-support:language";
  var USER_MESSAGE = "wallet-support:user";
  var MAX_TOKEN_CHARS = 4096;
  // Set on this site once the chat was opened: from then on the chat loads with
  // the page (closed), so replies can raise the badge. Before that, a visitor
  // who never opens the chat costs the server no connection and no conversation.
  var USED_KEY = "wallet-support-embed:used";
  var MAX_BADGE = 99;

  var LABELS = {
    en: {
      chat: "Support chat",
      open: "Open support chat",
      openUnread: "Open support chat, {count} unread",
      close: "Close support chat"
    },
    zh: {
      chat: "客服对话",
      open: "打开客服对话",
      openUnread: "打开客服对话（{count} 条未读）",
      close: "关闭客服对话"
    }
  };

  var CHAT_ICON = "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10" +
    "l-4.2 3.6A.5.5 0 0 1 5 19.2V16h-.5A.5.5 0 0 1 4 15.5z";
  var CLOSE_ICON = "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z";

  var STYLES = [
    ":host { all: initial !important; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;",
    "  display: flex; align-items: center; justify-content: center; box-sizing: border-box;",
    "  width: 56px; height: 56px; margin: 0; padding: 0; border: 0; border-radius: 50%;",
    "  background: #111827; color: #fff; cursor: pointer;",
    "  box-shadow: 0 6px 20px rgba(17, 24, 39, 0.3); }",
    ".launcher:hover { background: #1f2937; }",
    // Visible on any host background: a white gap inside a blue ring.
    ".launcher:focus-visible { outline: 3px solid #2563eb; outline-offset: 3px;",
    "  box-shadow: 0 0 0 3px #fff, 0 6px 20px rgba(17, 24, 39, 0.3); }",
    ".icon { width: 26px; height: 26px; fill: currentColor; }",
    ".badge { position: absolute; top: -4px; right: -4px; box-sizing: border-box;",
    "  min-width: 22px; height: 22px; padding: 0 6px; border: 2px solid #fff; border-radius: 11px;",
    "  background: #c62828; color: #fff; text-align: center;",
    "  font: 600 12px/18px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }",
    ".badge[hidden] { display: none; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000;",
    "  width: min(400px, calc(100vw - 40px)); height: min(640px, calc(100vh - 112px));",
    "  border-radius: 16px; overflow: hidden; background: #fff;",
    "  box-shadow: 0 12px 40px rgba(17, 24, 39, 0.25);",
    // Hidden, not display:none: the chat keeps running (and counting) while closed.
    "  visibility: hidden; opacity: 0; transform: translateY(8px);",
    "  transition: opacity 0.15s ease, transform 0.15s ease, visibility 0s linear 0.15s; }",
    ".panel.is-open { visibility: visible; opacity: 1; transform: none;",
    "  transition: opacity 0.15s ease, transform 0.15s ease, visibility 0s; }",
    ".frame { display: block; width: 100%; height: 100%; border: 0; }",
    "@media (max-width: 480px) {",
    "  .panel { top: 0; right: 0; left: 0; bottom: 88px; width: auto; height: auto; border-radius: 0; } }",
    "@media (prefers-reduced-motion: reduce) { .panel, .panel.is-open { transition: none; } }"
  ].join("\n");

  // ---------------------------------------------------------------- settings

  function ownScript() {
    return document.currentScript ||
      document.querySelector("script[data-server][src*='embed.js'], script[src*='/widget/embed.js']");
  }

  /** The chat server from data-server (else where this script came from), or null. */
  function resolveServer(script) {
    var configured = script && (script.getAttribute("data-server") || "");
    var raw = configured || (script && script.src ? script.src.replace(/\/widget\/embed\.js(\?.*)?$/, "") : "");
    var url;
    try {
      url = new URL(raw, window.location.href);
    } catch (err) {
      return null;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    // A path is a reverse-proxy prefix in front of the handoff service.
    var base = url.origin + url.pathname.replace(/\/+$/, "");
    return { origin: url.origin, page: base + "/widget/?embedded=1" };
  }

  /** "zh" or "en" from "zh", "zh-CN", "en-GB"...; null for anything else. */
  function languageOf(value) {
    var code = typeof value === "string" ? value.slice(0, 2).toLowerCase() : "";
    return code === "zh" || code === "en" ? code : null;
  }

  function browserLanguage() {
    return languageOf(navigator.language || (navigator.languages && navigator.languages[0])) || "en";
  }

  /** A JWT's shape (whether it is genuine only the chat server can tell). */
  function validToken(value) {
    return typeof value === "string" && value.length <= MAX_TOKEN_CHARS &&
      /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
  }

  function remembered() {
    try {
      return window.localStorage.getItem(USED_KEY) === "1";
    } catch (err) {
      return false;
    }
  }

  function remember() {
    try {
      window.localStorage.setItem(USED_KEY, "1");
    } catch (err) {
      /* storage disabled: the chat then loads on the first click of every visit */
    }
  }

  // ---------------------------------------------------------------- elements

  var script = ownScript();
  var server = resolveServer(script);
  if (!server) return;
  // The host app's language (data-language, or setLanguage); else the browser's.
  var chosenLanguage = languageOf(script && script.getAttribute("data-language"));
  var lang = chosenLanguage || browserLanguage();
  var t = LABELS[lang];
  var isOpen = false;
  var unread = 0;
  var frame = null;
  var frameReady = false; // loaded: it can be told things
  var userToken = null; // the host app's signed token for its user, in memory only
  var listeners = { unread: [] };
  var host, root, launcher, badge, iconPath, panel;

  function svgIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    iconPath = document.createElementNS(ns, "path");
    iconPath.setAttribute("d", CHAT_ICON);
    svg.appendChild(iconPath);
    return svg;
  }

  /** Styles of the shadow root; a constructed sheet also works under a host CSP without 'unsafe-inline'. */
  function addStyles() {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      root.adoptedStyleSheets = [sheet];
    } catch (err) {
      var style = document.createElement("style");
      style.textContent = STYLES;
      root.appendChild(style);
    }
  }

  function build() {
    host = document.createElement("wallet-support");
    host.id = "wallet-support";
    root = host.attachShadow({ mode: "open" });
    addStyles();

    panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "panel";
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", t.chat);
    panel.setAttribute("data-testid", "support-panel");

    launcher = document.createElement("button");
    launcher.type = "button";
    launcher.className = "launcher";
    launcher.setAttribute("data-testid", "support-launcher");
    launcher.setAttribute("aria-controls", "panel");
    launcher.appendChild(svgIcon());
    badge = document.createElement("span");
    badge.className = "badge";
    badge.setAttribute("data-testid", "unread-badge");
    badge.setAttribute("aria-hidden", "true"); // the button's name says the count
    badge.hidden = true;
    launcher.appendChild(badge);
    launcher.addEventListener("click", function () {
      if (isOpen) close();
      else open();
    });

    root.appendChild(panel);
    root.appendChild(launcher);
    // Escape closes the panel while the focus is out here (inside the iframe
    // the keys belong to the chat page, which this page cannot see).
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen) {
        event.preventDefault();
        close();
      }
    });
    document.body.appendChild(host);
    updateLauncher();
  }

  /** The iframe with the chat, created once: at the first open, or with the page for a returning user. */
  function ensureFrame() {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.className = "frame";
    frame.title = t.chat;
    frame.setAttribute("data-testid", "support-frame");
    frame.referrerPolicy = "no-referrer";
    frame.addEventListener("load", function () {
      // Loaded (again): it starts closed, knows nothing; say how things are.
      frameReady = true;
      tellFrame();
      if (chosenLanguage) post({ type: LANGUAGE_MESSAGE, language: chosenLanguage });
      if (userToken) post({ type: USER_MESSAGE, token: userToken });
    });
    frame.src = frameUrl();
    panel.appendChild(frame);
  }

  /**
   * The chat page for the iframe: ?host= is this page's origin, the only one
   * the chat takes messages from and sends the count to; ?lang= the host
   * app's language, if it chose one.
   */
  function frameUrl() {
    var url = server.page;
    var origin = window.location.origin;
    if (origin && origin !== "null") url += "&host=" + encodeURIComponent(origin);
    if (chosenLanguage) url += "&lang=" + chosenLanguage;
    return url;
  }

  function updateLauncher() {
    launcher.setAttribute("aria-expanded", isOpen ? "true" : "false");
    var name = isOpen ? t.close : unread > 0 ? t.openUnread.replace("{count}", String(unread)) : t.open;
    launcher.setAttribute("aria-label", name);
    launcher.title = name;
    iconPath.setAttribute("d", isOpen ? CLOSE_ICON : CHAT_ICON);
    badge.hidden = unread === 0;
    badge.textContent = unread > MAX_BADGE ? MAX_BADGE + "+" : String(unread);
  }

  // ---------------------------------------------------------------- messages

  /** To the chat's iframe, only while it shows the chat server's page (targetOrigin). */
  function post(message) {
    if (frame && frameReady && frame.contentWindow) {
      frame.contentWindow.postMessage(message, server.origin);
    }
  }

  /** Tell the chat whether its panel is open (it counts unread and reports "seen" from that). */
  function tellFrame() {
    post({ type: VISIBILITY_MESSAGE, open: isOpen });
  }

  function emitUnread() {
    listeners.unread.slice().forEach(function (callback) {
      try {
        callback(unread);
      } catch (err) {
        // The host's callback failing must not stop the launcher.
        if (window.console) window.console.error(err);
      }
    });
  }

  // Only the chat's own iframe, on the chat server's origin, may set the count.
  window.addEventListener("message", function (event) {
    if (!frame || event.source !== frame.contentWindow || event.origin !== server.origin) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== UNREAD_MESSAGE) return;
    var count = Number(data.count);
    if (!isFinite(count) || count < 0) return;
    var changed = Math.floor(count) !== unread;
    unread = Math.floor(count);
    updateLauncher();
    if (changed) emitUnread();
  });

  // ---------------------------------------------------------------- open/close

  function open() {
    if (!host) return;
    ensureFrame();
    remember();
    isOpen = true;
    panel.classList.add("is-open");
    updateLauncher();
    tellFrame();
    frame.focus();
  }

  function close() {
    if (!host) return;
    var hadFocus = root.activeElement === frame;
    isOpen = false;
    panel.classList.remove("is-open");
    updateLauncher();
    tellFrame();
    if (hadFocus) launcher.focus(); // the focus must not stay in a hidden panel
  }

  /** The host app's language: the launcher's labels and the chat (its labels and the bot). */
  function setLanguage(value) {
    var next = languageOf(value);
    if (!next) return false;
    chosenLanguage = next;
    lang = next;
    t = LABELS[lang];
    if (host) {
      panel.setAttribute("aria-label", t.chat);
      if (frame) frame.title = t.chat;
      updateLauncher();
    }
    post({ type: LANGUAGE_MESSAGE, language: next });
    return true;
  }

  /**
   * The host app's signed token for its logged-in user (see README.md): kept in
   * memory, given to the chat now and each time its page loads; never in a URL,
   * never stored. Returns false for a value that is not a JWT.
   */
  function setUser(token) {
    if (!validToken(token)) return false;
    userToken = token;
    post({ type: USER_MESSAGE, token: token });
    return true;
  }

  /** on("unread", fn): fn(count) each time the number of unread replies changes. */
  function on(name, callback) {
    if (!listeners[name] || typeof callback !== "function") return false;
    listeners[name].push(callback);
    return true;
  }

  function onUnread(callback) {
    return on("unread", callback);
  }

  function start() {
    build();
    if (remembered()) ensureFrame();
    // Calls made before this script had loaded, in order.
    queued.forEach(run);
  }

  var methods = {
    open: open, close: close, setLanguage: setLanguage, setUser: setUser, on: on, onUnread: onUnread
  };

  /** One queued call: ["setLanguage", "zh"] (or the arguments object of a stub's call). */
  function run(call) {
    var args = Array.prototype.slice.call(call || []);
    var method = methods[args[0]];
    if (!method) return;
    try {
      method.apply(null, args.slice(1));
    } catch (err) {
      if (window.console) window.console.error(err);
    }
  }

  // The host's stub (README.md) queued calls in WalletSupport.q; the same object
  // gets the real methods, so references the host kept stay good.
  var api = existing && typeof existing === "object" ? existing : {};
  var queued = Array.isArray(api.q) ? api.q.slice() : [];
  Object.keys(methods).forEach(function (name) {
    api[name] = function () {
      var args = Array.prototype.slice.call(arguments);
      // Before the page's body exists (the launcher is not built yet): queued too.
      if (!host) {
        queued.push([name].concat(args));
        return undefined;
      }
      return methods[name].apply(null, args);
    };
  });
  api.loaded = true;
  // A late stub call still pushes here: it runs at once (or after start()).
  api.q = { push: function (call) {
    if (host) run(call);
    else queued.push(call);
  } };
  window.WalletSupport = api;

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
