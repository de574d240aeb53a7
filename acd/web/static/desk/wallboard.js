// The supervisor wallboard (S1): queues, agents and ongoing calls, live from
// the event stream (a snapshot on every (re)connect, then "agent" and "queue"
// views). Only what changed is redrawn; timers count on the server's clock.
import {
  $, api, clock, connectionBadge, duration, el, everySecond, live, since, stateLabel,
} from "./common.js";

const body = document.body;
const supervises = new Set((body.dataset.supervises || "").split(",").filter(Boolean));
const admin = body.dataset.admin === "yes";
const agents = new Map();
const queues = new Map();
const cards = new Map();
let panelAgent = null;
let drawCalls = false;

function canSteer(queue) {
  return admin || supervises.has(queue);
}

// -- queues -----------------------------------------------------------------------
function percent(value) {
  return value == null ? "–" : `${Math.round(value * 100)}%`;
}

function figure(label, name, value, sinceAt) {
  return el("div", { class: "fig" }, el("span", { class: "label" }, label),
    el("span", { class: `value ${name}`, dataset: sinceAt ? { since: sinceAt } : {} }, value));
}

function queueTile(q) {
  const byState = Object.entries(q.agents)
    .map(([state, ids]) => el("span", { class: "count", dataset: { state } }, `${stateLabel({ state })} ${ids.length}`));
  const longest = q.callers.length ? Math.max(...q.callers.map((c) => clock.now() - c.since)) : 0;
  return el("article", { class: "queue", dataset: { queue: q.queue, busy: String(q.waiting > 0) } },
    el("h3", {}, q.queue),
    el("p", { class: "waiting" }, el("strong", {}, q.waiting), " waiting"),
    el("div", { class: "figures" },
      figure("Longest", "longest", q.waiting ? duration(longest) : "–",
        q.callers.length ? String(Math.min(...q.callers.map((c) => c.since))) : ""),
      figure("EWT", "ewt", q.ewt == null ? "–" : duration(q.ewt)),
      figure("SL today", "sl", percent(q.today.service_level)),
      figure("Answered", "answered", q.today.answered),
      figure("Abandoned", "abandoned", q.today.abandoned)),
    el("p", { class: "by-state" }, byState.length ? byState : "no agents logged in"));
}

function drawQueue(q) {
  const host = $("#queues");
  const old = host.querySelector(`[data-queue="${CSS.escape(q.queue)}"]`);
  const tile = queueTile(q);
  if (old) old.replaceWith(tile);
  else {
    const after = [...host.children].find((n) => n.dataset.queue > q.queue);
    host.insertBefore(tile, after || null);
  }
}

// -- agents -----------------------------------------------------------------------
function callText(a) {
  const call = a.call;
  if (call) return `☎ ${call.number || "?"}${call.queue ? " · " + call.queue : ""}`;
  if (a.offer) return `☎ ringing: ${a.offer.number || "?"} · ${a.offer.queue}`;
  if (a.callout && a.callout.status !== "ended") return `↗ ${a.callout.label} (${a.callout.status})`;
  return "";
}

function agentCard(a) {
  const steer = a.member_of.some(canSteer);
  return el("article", {
    class: "agent", tabindex: steer ? "0" : null, dataset: { agent: a.agent, state: a.state, presence: a.presence },
    onclick: steer ? () => openPanel(a.agent) : null,
    onkeydown: steer ? (e) => { if (e.key === "Enter") openPanel(a.agent); } : null,
  },
  el("span", { class: "name" }, a.name, a.presence === "busy" ? el("span", { class: "dnd" }, " · DND") : null),
  el("span", { class: "state" }, stateLabel(a)),
  el("span", { class: "since timer" }, since(a.since)),
  el("span", { class: "call" }, callText(a),
    el("span", { class: "call-timer timer" }, a.call ? ` ${since(a.call.since)}` : "")),
  el("span", { class: "handled" }, `${a.handled_today} today`));
}

function drawAgent(a) {
  const host = $("#agents");
  const card = agentCard(a);
  const old = cards.get(a.agent);
  if (old) old.replaceWith(card);
  else {
    const after = [...host.children].find((n) => agents.get(n.dataset.agent).name.localeCompare(a.name) > 0);
    host.insertBefore(card, after || null);
  }
  cards.set(a.agent, card);
}

// -- ongoing calls (queue calls and calls in or out; never agent-to-agent, O6) -------------------
function drawCallsSoon() {
  if (drawCalls) return;
  drawCalls = true;
  requestAnimationFrame(() => { drawCalls = false; drawCallRows(); });
}

function drawCallRows() {
  const rows = [];
  for (const q of queues.values()) {
    for (const c of q.callers) {
      rows.push({ id: c.call_id, queue: q.queue, number: c.number, state: c.ringing ? "ringing" : "waiting", agent: "", since: c.since });
    }
  }
  for (const a of agents.values()) {
    const call = a.call;
    if (!call || (call.kind === "internal" && !call.queue)) continue;
    rows.push({ id: call.call_id, queue: call.queue || `(${call.kind})`, number: call.number, state: "talking", agent: a.name, since: call.since });
  }
  rows.sort((x, y) => x.since - y.since);
  $("#calls tbody").replaceChildren(...rows.map((r) => el("tr", { dataset: { call: r.id, state: r.state } },
    el("td", {}, r.queue), el("td", {}, r.number || "unknown"), el("td", { class: "call-state" }, r.state),
    el("td", {}, r.agent), el("td", { class: "timer", dataset: { since: String(r.since) } }, since(r.since)))));
}

function drawTotals() {
  let waiting = 0;
  for (const q of queues.values()) waiting += q.waiting;
  const count = (state) => [...agents.values()].filter((a) => a.state === state).length;
  $("#totals").textContent = `${waiting} waiting · ${count("ready")} ready · ${count("on_call") + count("reserved")} on calls · ${count("paused")} paused`;
}

// -- supervisor actions (D1) ------------------------------------------------------
function openPanel(agentId) {
  panelAgent = agentId;
  drawPanel();
  const dialog = $("#agent-panel");
  if (!dialog.open) dialog.showModal();
}

function drawPanel() {
  const a = agents.get(panelAgent);
  if (!a) return;
  $("#panel-title").textContent = a.name;
  $("#panel-state").textContent = stateLabel(a);
  $("#panel-ready").hidden = a.state !== "paused";
  $("#panel-queues").replaceChildren(...a.member_of.filter(canSteer).map((q) => {
    const inQueue = a.queues.includes(q);
    return el("li", { dataset: { queue: q, in: String(inQueue) } },
      el("span", { class: "queue-name" }, q),
      el("span", { class: "queue-state" }, inQueue ? "logged in" : "logged out"),
      el("button", { type: "button", class: inQueue ? "queue-toggle secondary" : "queue-toggle go", onclick: () => steer(inQueue ? { logout: [q] } : { login: [q] }) },
        inQueue ? "Log out" : "Log in"));
  }));
}

async function steer(change) {
  try {
    await api("POST", `/api/agents/${encodeURIComponent(panelAgent)}/state`, change);
    $("#panel-message").textContent = "";
  } catch (err) {
    $("#panel-message").textContent = err.message;
  }
}

// -- live ---------------------------------------------------------------------------
function onEvent(event) {
  if (event.type === "queue") {
    queues.set(event.queue, event);
    drawQueue(event);
  } else if (event.type === "agent") {
    if (!event.member_of.length) return; // not an agent of any queue
    agents.set(event.agent, event);
    drawAgent(event);
    if (event.agent === panelAgent) drawPanel();
  }
  drawCallsSoon();
  drawTotals();
}

function onSnapshot(snapshot) {
  queues.clear();
  agents.clear();
  cards.clear();
  $("#queues").replaceChildren();
  $("#agents").replaceChildren();
  for (const q of snapshot.queues) { queues.set(q.queue, q); drawQueue(q); }
  const sorted = snapshot.agents.filter((a) => a.member_of.length)
    .sort((x, y) => x.name.localeCompare(y.name));
  for (const a of sorted) agents.set(a.agent, a);
  $("#agents").replaceChildren(...sorted.map((a) => { const card = agentCard(a); cards.set(a.agent, card); return card; }));
  drawCallRows();
  drawTotals();
  body.dataset.ready = "yes";
}

function tick() {
  for (const [id, card] of cards) {
    const a = agents.get(id);
    const timer = card.querySelector(".since");
    if (timer) timer.textContent = since(a.since);
    const callTimer = card.querySelector(".call-timer");
    if (callTimer) callTimer.textContent = a.call ? ` ${since(a.call.since)}` : "";
  }
  for (const node of document.querySelectorAll("#calls .timer, .queue .longest")) {
    if (node.dataset.since) node.textContent = since(Number(node.dataset.since));
  }
}

$("#panel-ready").addEventListener("click", () => steer({ state: "ready" }));
// Recordings of the queues I supervise (O7): each play is audited by the server.
async function loadRecordings() {
  try {
    const { recordings } = await api("GET", "/api/recordings");
    $("#recordings tbody").replaceChildren(...recordings.map((r) => el("tr", { dataset: { recording: r.id } },
      el("td", {}, new Date(r.started_at * 1000).toLocaleString()),
      el("td", {}, r.queue || ""),
      el("td", {}, r.started_by || "queue"),
      el("td", {}, `${Math.round(r.seconds)} s`),
      el("td", {}, el("audio", { controls: "", preload: "none", src: `/api/recordings/${r.id}/audio` })))));
  } catch (_) { /* none to show */ }
}

live({ types: ["agent", "queue"], onSnapshot, onEvent, onStatus: connectionBadge });
everySecond(tick);
loadRecordings();
setInterval(loadRecordings, 60_000);
