/*
 * Getting the agent's attention: the tab's title counts the tickets waiting
 * ("(3) Support console"); a new urgent ticket, and a ticket whose first
 * reply is about to be late (at risk: within the last 20 % of its target),
 * ring a short beep (Web Audio, no sound file) and show a desktop
 * notification, once each.
 *
 * Sound and notifications are off until the agent presses "Enable alerts"
 * (the browser asks for the notification permission then, never on load; the
 * audio needs that click as well). The first-reply targets come from
 * GET /api/config ("sla_minutes"), else from config.js.
 */
import { t, onLocale } from "./i18n.js";
import { $ } from "./dom.js";

const PREF_KEY = "handoff-console-alerts";
let atRiskShare = 0.2; // served by /api/config as "at_risk_share"
const DEFAULT_SLA = { urgent: 5 * 60, high: 15 * 60, normal: 60 * 60 };
const LOG_MAX = 50;

let ctx = null;
let sla = Object.assign({}, DEFAULT_SLA, (window.CONSOLE_CONFIG || {}).slaFirstReplySeconds || {});
let known = null; // refs seen in the queue (null until the first fetch: nothing is "new" then)
const warned = {}; // "kind:ref" already alerted
const log = [];
let audio = null;
let enabled = false;
let waiting = 0;

export function start(context) {
  ctx = context;
  known = null;
  $("alerts-toggle").hidden = false;
  enabled = wanted() && permission() !== "denied";
  renderToggle();
  ctx.api("GET", "/config").then((data) => {
    const share = Number(data && data.at_risk_share);
    if (share > 0 && share < 1) atRiskShare = share;
    const minutes = data && data.sla_minutes;
    if (minutes && typeof minutes === "object") {
      Object.keys(minutes).forEach((priority) => {
        const value = Number(minutes[priority]);
        if (value > 0) sla[priority] = value * 60;
      });
    }
  }, () => null);
}

export function stop() {
  ctx = null;
  known = null;
  waiting = 0;
  $("alerts-toggle").hidden = true;
  setTitle();
}

/** The first-reply target of ``priority``, in seconds. */
export function slaSeconds(priority) {
  return Number(sla[priority] || sla.normal) || 3600;
}

/** What was alerted, oldest first (for tests): {kind, ref, sound, notified}. */
export function alerts() {
  return log.slice();
}

// ------------------------------------------------------------------ title

function setTitle() {
  const base = t("Support console");
  document.title = waiting > 0 ? "(" + waiting + ") " + base : base;
}

onLocale(() => {
  setTitle();
  renderToggle();
});

/** The queue was fetched: count the tickets waiting, alert on new urgent ones. */
export function onQueue(tickets) {
  if (!ctx) return;
  waiting = tickets.filter((ticket) => ticket.status === "open" && !ticket.first_agent_reply_at).length;
  setTitle();
  const first = known === null;
  const seen = known || {};
  tickets.forEach((ticket) => {
    if (!first && !seen[ticket.ref] && ticket.priority === "urgent" && ticket.status === "open") {
      alert("urgent", ticket);
    }
    seen[ticket.ref] = true;
  });
  known = seen;
}

/** Every second: a waiting ticket within the last 20 % of its target is at risk. */
export function onClock(tickets, fetchedAt) {
  if (!ctx) return;
  tickets.forEach((ticket) => {
    const running = !ticket.first_agent_reply_at && (ticket.status === "open" || ticket.status === "assigned");
    if (!running) return;
    const seconds = (Number(ticket.waiting_seconds) || 0) + (Date.now() - fetchedAt) / 1000;
    const target = slaSeconds(ticket.priority);
    const left = target - seconds;
    if (left > 0 && left <= target * atRiskShare) alert("at_risk", ticket);
  });
}

// ----------------------------------------------------------------- alerts

function alert(kind, ticket) {
  const key = kind + ":" + ticket.ref;
  if (warned[key]) return;
  warned[key] = true;
  const entry = { kind: kind, ref: ticket.ref, sound: false, notified: false };
  if (enabled) {
    entry.sound = beep(kind === "urgent" ? 2 : 1);
    entry.notified = notify(kind, ticket);
  }
  log.push(entry);
  if (log.length > LOG_MAX) log.shift();
}

function beep(times) {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return false;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
    for (let i = 0; i < times; i++) {
      const start = audio.currentTime + i * 0.25;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.18);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.2);
    }
    return true;
  } catch (err) {
    return false;
  }
}

function permission() {
  return "Notification" in window ? window.Notification.permission : "unsupported";
}

function notify(kind, ticket) {
  if (permission() !== "granted") return false;
  const title = kind === "urgent"
    ? t("New urgent ticket {ref}", { ref: ticket.ref })
    : t("First reply due soon: {ref}", { ref: ticket.ref });
  try {
    const note = new window.Notification(title, {
      body: String(ticket.title || ""),
      tag: kind + ":" + ticket.ref
    });
    note.onclick = () => {
      window.focus();
      if (ctx) ctx.openTicket(String(ticket.ref));
      note.close();
    };
    return true;
  } catch (err) {
    return false;
  }
}

// ----------------------------------------------------------------- toggle

function wanted() {
  try {
    return window.localStorage.getItem(PREF_KEY) === "on";
  } catch (err) {
    return false;
  }
}

function remember(on) {
  try {
    window.localStorage.setItem(PREF_KEY, on ? "on" : "off");
  } catch (err) {
    /* this page only */
  }
}

function renderToggle() {
  const toggle = $("alerts-toggle");
  toggle.setAttribute("aria-pressed", enabled ? "true" : "false");
  toggle.setAttribute("data-state", enabled ? "on" : "off");
  toggle.setAttribute("data-permission", permission());
  toggle.textContent = enabled ? t("Alerts on") : t("Enable alerts");
  toggle.title = enabled
    ? t("Sound and desktop notifications are on; press to turn them off")
    : t("Sound and a desktop notification for a new urgent ticket or a first reply about to be late");
}

$("alerts-toggle").addEventListener("click", () => {
  if (enabled) {
    enabled = false;
    remember(false);
    renderToggle();
    return;
  }
  enabled = true;
  remember(true);
  // The click allows the audio to start; the permission is asked now, never on load.
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume();
  } catch (err) {
    audio = null;
  }
  if ("Notification" in window && window.Notification.permission === "default") {
    const asked = window.Notification.requestPermission(() => renderToggle());
    if (asked && typeof asked.then === "function") asked.then(renderToggle, renderToggle);
  }
  renderToggle();
});
