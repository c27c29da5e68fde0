/*
 * The admin view (admins only; the service refuses the calls to anyone else):
 * live counts of tickets by status, priority and language (GET /api/stats,
 * refreshed every few seconds while shown), the agents (add, disable, enable,
 * rotate a token: a new token is shown once, with a copy button), and the
 * canned replies (managed in canned.js).
 */
import { t, formatTime, onLocale } from "./i18n.js";
import { $, el, clear, trim, copyButton } from "./dom.js";
import { enc } from "./api.js";
import * as canned from "./canned.js";

const STATS_EVERY_MS = 5000;

let ctx = null;
let shown = false;
let tab = "stats";
let timer = null;
let lastStats = null;

export function start(context) {
  ctx = context;
  hideToken();
}

export function stop() {
  ctx = null;
  showView(false);
  lastStats = null;
}

export function isShown() {
  return shown;
}

function showView(on) {
  shown = on;
  $("admin-view").hidden = !on;
  $("console-view").hidden = on || !ctx;
  $("admin-toggle").setAttribute("aria-pressed", on ? "true" : "false");
  if (timer) window.clearTimeout(timer);
  timer = null;
  if (on) selectTab(tab);
}

function selectTab(name) {
  tab = name;
  ["stats", "agents", "canned"].forEach((other) => {
    $("tab-" + other).setAttribute("aria-selected", other === name ? "true" : "false");
    $("tab-" + other).tabIndex = other === name ? 0 : -1;
    $("panel-" + other).hidden = other !== name;
  });
  if (name === "stats") refreshStats();
  if (name === "agents") loadAgents();
  if (name === "canned") canned.showAdmin();
}

$("admin-toggle").addEventListener("click", () => {
  if (!ctx || !ctx.isAdmin()) return;
  showView(!shown);
});
$("admin-back").addEventListener("click", () => showView(false));
["stats", "agents", "canned"].forEach((name) => {
  $("tab-" + name).addEventListener("click", () => selectTab(name));
  $("tab-" + name).addEventListener("keydown", (event) => {
    const order = ["stats", "agents", "canned"];
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    const next = order[(order.indexOf(name) + step + order.length) % order.length];
    selectTab(next);
    $("tab-" + next).focus();
  });
});

// ------------------------------------------------------------------ stats

function refreshStats() {
  if (timer) window.clearTimeout(timer);
  timer = null;
  if (!ctx || !shown || tab !== "stats") return;
  ctx.api("GET", "/stats").then((data) => {
    $("stats-error").hidden = true;
    lastStats = data || {};
    renderStats();
  }, (error) => {
    $("stats-error").textContent = error.status === 403
      ? t("Only admins can see these counts.")
      : t("Could not load the counts: {why}", { why: error.message });
    $("stats-error").hidden = false;
  }).then(() => {
    if (ctx && shown && tab === "stats") timer = window.setTimeout(refreshStats, STATS_EVERY_MS);
  });
}

const HEADLINE = [
  ["waiting", "Waiting for a first reply"],
  ["at_risk", "First reply due soon"],
  ["breached", "First reply late"],
  ["agents_online", "Agents online"]
];

const TABLES = [
  ["by_status", "By status", "status"],
  ["by_priority", "By priority", "priority"],
  ["by_language", "By language", "language"]
];

function renderStats() {
  const data = lastStats;
  if (!data) return;
  const head = $("stats-headline");
  clear(head);
  HEADLINE.forEach((item) => {
    const box = el("div", "stat");
    box.setAttribute("data-testid", "stat");
    box.setAttribute("data-key", item[0]);
    const value = Number(data[item[0]]) || 0;
    box.setAttribute("data-value", String(value));
    if ((item[0] === "breached" || item[0] === "at_risk") && value > 0) box.setAttribute("data-alarm", "true");
    box.appendChild(el("span", "stat__value", String(value)));
    box.appendChild(el("span", "stat__label", t(item[1])));
    head.appendChild(box);
  });
  const tables = $("stats-tables");
  clear(tables);
  TABLES.forEach((spec) => {
    const counts = data[spec[0]] || {};
    const section = el("section", "stats-table");
    section.setAttribute("data-testid", "stats-" + spec[0]);
    section.appendChild(el("h3", null, t(spec[1])));
    const table = el("table", "admin-table");
    const body = el("tbody");
    const keys = Object.keys(counts);
    if (!keys.length) {
      const tr = el("tr");
      tr.appendChild(el("td", "muted", t("none")));
      body.appendChild(tr);
    }
    keys.forEach((key) => {
      const tr = el("tr");
      tr.setAttribute("data-key", key);
      tr.appendChild(el("th", null, spec[2] === "language" ? languageName(key) : ctx.label(spec[2], key)));
      const count = el("td", "stat-count", String(Number(counts[key]) || 0));
      count.setAttribute("data-testid", "stat-count");
      tr.appendChild(count);
      body.appendChild(tr);
    });
    table.appendChild(body);
    section.appendChild(table);
    tables.appendChild(section);
  });
  $("stats-updated").textContent = t("Updated {time}", { time: formatTime(new Date().toISOString()) });
}

function languageName(code) {
  return code === "zh" ? "中文 (zh)" : code === "en" ? "English (en)" : code;
}

onLocale(() => {
  if (!ctx) return;
  renderStats();
  if (shown && tab === "agents") loadAgents();
});

// ----------------------------------------------------------------- agents

function showAgentsError(text) {
  $("agents-error").textContent = text || "";
  $("agents-error").hidden = !text;
}

function loadAgents() {
  if (!ctx) return Promise.resolve();
  return ctx.api("GET", "/agents").then((data) => {
    renderAgents((data && data.agents) || []);
  }, (error) => {
    showAgentsError(t("Could not load the agents: {why}", { why: error.message }));
  });
}

function renderAgents(agents) {
  const body = $("agents-list");
  clear(body);
  const me = ctx && ctx.me() ? ctx.me().name : "";
  agents.forEach((agent) => {
    const tr = el("tr");
    tr.setAttribute("data-testid", "agent-row");
    tr.setAttribute("data-name", String(agent.name));
    tr.setAttribute("data-active", agent.active === false ? "false" : "true");
    tr.appendChild(el("td", null, agent.name + (agent.name === me ? " (" + t("me") + ")" : "")));
    tr.appendChild(el("td", null, t(agent.role === "admin" ? "admin" : "agent")));
    const state = el("td", null, agent.active === false ? t("disabled") : t("active"));
    state.setAttribute("data-testid", "agent-state");
    tr.appendChild(state);
    tr.appendChild(el("td", null, formatTime(agent.created_at)));
    const actions = el("td", "admin-table__actions");
    if (agent.active === false) {
      actions.appendChild(agentButton(agent, "enable", t("Enable")));
    } else if (agent.name !== me) {
      actions.appendChild(agentButton(agent, "disable", t("Disable")));
    }
    actions.appendChild(agentButton(agent, "rotate", t("New token")));
    tr.appendChild(actions);
    body.appendChild(tr);
  });
}

function agentButton(agent, action, text) {
  const button = el("button", "secondary" + (action === "disable" ? " danger" : ""), text);
  button.type = "button";
  button.setAttribute("data-action", action);
  button.setAttribute("aria-label", text + " · " + agent.name);
  button.addEventListener("click", () => {
    button.disabled = true;
    const mine = ctx.me() && ctx.me().name === agent.name;
    ctx.api("POST", "/agents/" + enc(agent.id) + "/" + action).then((data) => {
      showAgentsError("");
      if (data && data.token && mine) ctx.replaceToken(String(data.token));
      if (data && data.token) showToken(agent.name, String(data.token));
      return loadAgents();
    }, (error) => {
      button.disabled = false;
      showAgentsError(t("Not done: {why}", { why: error.message }));
    });
  });
  return button;
}

function showToken(name, token) {
  $("token-for").textContent = t("New token for {name}", { name: name });
  $("token-value").textContent = token;
  const slot = $("token-copy-slot");
  clear(slot);
  slot.appendChild(copyButton(token, t("the token")));
  $("token-box").hidden = false;
  $("token-box").querySelector("button").focus();
}

function hideToken() {
  $("token-box").hidden = true;
  $("token-value").textContent = "";
  clear($("token-copy-slot"));
}

$("token-done").addEventListener("click", hideToken);

$("agent-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!ctx) return;
  const name = trim($("agent-new-name").value);
  if (!name) {
    showAgentsError(t("Give the agent a name."));
    return;
  }
  $("agent-add").disabled = true;
  ctx.api("POST", "/agents", { name: name, role: $("agent-new-role").value }).then((data) => {
    $("agent-add").disabled = false;
    $("agent-new-name").value = "";
    showAgentsError("");
    if (data && data.token) showToken(name, String(data.token));
    return loadAgents();
  }, (error) => {
    $("agent-add").disabled = false;
    showAgentsError(error.status === 409
      ? t("An agent called {name} already exists.", { name: name })
      : t("Not added: {why}", { why: error.message }));
  });
});
