// The agent desktop: my state, my queues, the queue call offered to me, my
// call, call-out (O1-O5) and my recent calls. Everything shown comes from the
// JSON API: the live stream's "agent" and "queue" views, and a few requests.
import {
  $, api, clock, connectionBadge, duration, el, everySecond, live, setText, since, stateLabel,
} from "./common.js";
import { startCallbacks } from "./callbacks.js";
import { setUpDeskPhone } from "./phone.js";

const user = document.body.dataset.user;
let me = null;
let agent = null;
const queues = new Map();
let chosen = null; // the search result picked for calling out

function message(selector, text, error = false) {
  const node = $(selector);
  node.textContent = text || "";
  node.classList.toggle("error", error);
}

async function act(body, okText) {
  try {
    await api("POST", `/api/agents/${encodeURIComponent(user)}/state`, body);
    message("#status-message", okText || "");
  } catch (err) {
    message("#status-message", err.message, true);
  }
}

// -- rendering ------------------------------------------------------------------
function render() {
  if (!agent) return;
  const status = $("#status");
  status.dataset.state = agent.state;
  const badge = $("#state");
  badge.textContent = stateLabel(agent);
  badge.dataset.state = agent.state;
  const s = agent.state;
  $("#ready").disabled = !["paused", "wrap_up", "logged_out"].includes(s);
  $("#pause").disabled = s === "logged_out" || s === "paused";
  $("#logout").disabled = s === "logged_out";
  $("#wrapup").hidden = s !== "wrap_up";
  $("#no-phone").hidden = agent.reachable || s === "logged_out";
  const busy = agent.presence === "busy";
  const presence = $("#presence");
  presence.textContent = busy ? "Busy (do not disturb)" : "Available";
  presence.setAttribute("aria-pressed", String(busy));
  presence.dataset.presence = agent.presence;
  renderOffer();
  renderCall();
  if (!agent.call) renderControlStatus(); // a transfer's outcome stays after the call
  renderCallout();
  renderQueues();
  tick(); // timers right away, not at the next second
}

function digits(list, values) {
  list.replaceChildren();
  for (const [key, value] of Object.entries(values || {})) {
    list.append(el("dt", {}, key.replace(/_/g, " ")), el("dd", { dataset: { variable: key } }, value));
  }
}

function renderOffer() {
  const offer = agent.offer;
  $("#offer").hidden = !offer;
  $("#idle").hidden = Boolean(offer || agent.call);
  if (!offer) return;
  setText("#offer-number", offer.number || "unknown");
  setText("#offer-name", offer.name || "");
  setText("#offer-queue", offer.queue);
  digits($("#offer-digits"), offer.digits);
}

function renderCall() {
  const call = agent.call;
  $("#call").hidden = !call;
  if (!call) return;
  const c = agent.callout;
  const mine = c && c.status !== "ended" && c.status !== "initiated";
  const title = call.kind === "queue" ? "On a queue call"
    : call.kind === "internal" ? "On an internal call"
      : call.direction === "outbound" ? "On a call out" : "On an incoming call";
  setText("#call-title", title);
  setText("#call-number", call.number || "unknown");
  setText("#call-name", mine && c.label !== c.number ? c.label : (call.name || ""));
  setText("#call-queue", call.queue || "—");
  digits($("#call-digits"), call.digits);
  renderControl();
}

// -- call control (O7): hold, transfer, consult, recording ---------------------------
const CONTROL_TEXT = {
  "hold/held": () => "The caller is on hold (music).",
  "hold/resumed": () => "You have the caller back.",
  "transfer/trying": (e) => `Transferring to ${e.message}…`,
  "transfer/ringing": (e) => `Transfer: ${e.message} is ringing…`,
  "transfer/done": (e) => `Transferred to ${e.message}.`,
  "transfer/failed": (e) => `Transfer failed: ${e.message}.`,
  "consult/ringing": (e) => `Calling ${e.message}; the caller is on hold.`,
  "consult/talking": (e) => `Talking with ${e.message}; the caller is on hold.`,
  "consult/completed": (e) => `Transferred to ${e.message}.`,
  "consult/cancelled": () => "Consultation ended: you have the caller back.",
  "consult/failed": (e) => `Consultation failed: ${e.message}.`,
  "record/on": () => "Recording.",
  "record/paused": () => "Recording paused.",
  "record/off": () => "Recording stopped.",
};

function renderControl() {
  const c = agent.control;
  const consulting = c && c.consulting;
  renderControlStatus();
  $("#call-control").hidden = !c || !c.call_id;
  if (!c || !c.call_id) return;
  setText("#call-hold", c.held ? "now" : (c.hold_seconds ? duration(c.hold_seconds) : "—"));
  const hold = $("#hold");
  hold.textContent = c.held ? "Resume" : "Hold";
  hold.setAttribute("aria-pressed", String(c.held));
  hold.disabled = Boolean(consulting);
  const record = $("#record");
  record.textContent = c.recording ? "Stop recording" : "Record";
  record.setAttribute("aria-pressed", String(Boolean(c.recording)));
  $("#transfer-form").hidden = !c.may_transfer || Boolean(consulting);
  $("#consult-complete").hidden = !(consulting && consulting.answered);
  $("#consult-cancel").hidden = !consulting;
}

function renderControlStatus() {
  const last = agent.control && agent.control.last;
  const node = $("#control-status");
  node.dataset.status = last ? `${last.op}/${last.status}` : "";
  const text = last && CONTROL_TEXT[`${last.op}/${last.status}`];
  node.textContent = text ? text(last) : "";
  node.classList.toggle("error", Boolean(last && last.status === "failed"));
}

async function control(method, path, body) {
  try {
    await api(method, `/api/desk/${path}`, body);
    message("#status-message", "");
  } catch (err) {
    message("#status-message", err.message, true);
  }
}

const CALLOUT_TEXT = {
  initiated: (c) => `Outgoing call initiated to ${c.label}: your queue call comes first.`,
  connecting: (c) => `Calling your phone for ${c.label}… answer it.`,
  ringing: (c) => `Ringing ${c.label}…`,
  talking: (c) => `Talking with ${c.label}.`,
  ended: (c) => `Call to ${c.label} ended (${(c.outcome || "").replace("_", " ")}).`,
};

function renderCallout() {
  const c = agent.callout;
  const node = $("#callout-status");
  const active = c && c.status !== "ended";
  node.dataset.status = c ? c.status : "";
  node.textContent = c ? CALLOUT_TEXT[c.status](c) : "";
  $("#callout-cancel").hidden = !active;
  $("#callout-cancel").textContent = c && c.status === "talking" ? "Hang up" : "Cancel";
  $("#callout-call").disabled = Boolean(active);
}

function renderQueues() {
  const list = $("#queues");
  const member = (agent && agent.member_of) || (me && me.member_of) || [];
  const items = member.map((name) => {
    const inQueue = agent && agent.queues.includes(name);
    const view = queues.get(name);
    return el("li", { dataset: { queue: name, in: String(Boolean(inQueue)) } },
      el("span", { class: "queue-name" }, name),
      el("span", { class: "queue-state" }, inQueue ? "logged in" : "logged out"),
      el("span", { class: "queue-waiting" }, view ? `${view.waiting} waiting` : ""),
      el("button", {
        type: "button", class: inQueue ? "queue-toggle secondary" : "queue-toggle go",
        onclick: () => act(inQueue ? { logout: [name] } : { login: [name] }),
      }, inQueue ? "Log out" : "Log in"));
  });
  list.replaceChildren(...items);
}

function tick() {
  if (!agent) return;
  setText("#state-since", since(agent.since));
  if (agent.offer) setText("#offer-wait", since(agent.offer.waiting_since));
  if (agent.call) setText("#call-timer", since(agent.call.since));
  if (agent.state === "wrap_up" && agent.wrap_up_until) {
    setText("#wrapup-left", duration(agent.wrap_up_until - clock.now()));
  }
}

// -- recent calls -----------------------------------------------------------------
const DIRECTIONS = { inbound: "↙ In", outbound: "↗ Out", missed: "✕ Missed" };

async function loadRecent() {
  try {
    const { calls } = await api("GET", "/api/desk/calls");
    const rows = calls.map((c) => el("tr", { dataset: { direction: c.direction } },
      el("td", {}, new Date(c.at * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false })),
      el("td", { class: `dir ${c.direction}` }, DIRECTIONS[c.direction] || c.direction),
      el("td", {}, c.number),
      el("td", {}, c.queue || ""),
      el("td", {}, c.seconds == null ? (c.disposition || "").replace("_", " ") : duration(c.seconds))));
    $("#recent tbody").replaceChildren(...rows);
  } catch (_) { /* shown empty; the next call reloads it */ }
}

// -- voicemail and forwarding (P4) ----------------------------------------------------
async function loadVoicemail() {
  try {
    const { messages } = await api("GET", "/api/desk/voicemail");
    $("#voicemail-empty").hidden = messages.length > 0;
    $("#voicemail").replaceChildren(...messages.map((m) => el("li", { dataset: { message: m.id, status: m.status } },
      el("span", {}, `${m.caller_name || m.caller} · ${new Date(m.received_at * 1000).toLocaleString()} · ${duration(m.seconds)}${m.status === "new" ? " · new" : ""}`),
      el("audio", { controls: "", preload: "none", src: `/api/desk/voicemail/${encodeURIComponent(m.id)}/audio` }),
      el("button", {
        type: "button", class: "secondary delete",
        onclick: () => api("DELETE", `/api/desk/voicemail/${encodeURIComponent(m.id)}`).then(loadVoicemail),
      }, "Delete"))));
  } catch (_) { /* no mailbox */ }
}

const FORWARD_LABELS = { always: "Always", busy: "When busy", no_answer: "When not answered" };

function showForwarding(view) {
  $("#forwarding").replaceChildren(...Object.entries(view).flatMap(([kind, where]) => [
    el("dt", {}, FORWARD_LABELS[kind] || kind), el("dd", { dataset: { kind } }, where || "off")]));
}

async function setForwarding(to) {
  try {
    showForwarding(await api("PUT", "/api/desk/forwarding", { kind: $("#forwarding-kind").value, to }));
    message("#forwarding-message", "");
  } catch (err) {
    message("#forwarding-message", err.message, true);
  }
}

// -- call-out -----------------------------------------------------------------------
let searchTimer = null;

function searchSoon() {
  clearTimeout(searchTimer);
  chosen = null;
  searchTimer = setTimeout(search, 200);
}

async function search() {
  const q = $("#callout-query").value.trim();
  const list = $("#callout-results");
  if (!q) { list.replaceChildren(); return; }
  const { results } = await api("GET", "/api/contacts?q=" + encodeURIComponent(q));
  list.replaceChildren(...results.map((r) => el("li", {},
    el("button", {
      type: "button", class: "result", dataset: { number: r.number, kind: r.kind },
      onclick: () => { chosen = r; $("#callout-query").value = `${r.name} (${r.number})`; list.replaceChildren(); },
    }, el("strong", {}, r.name), " ", r.number, r.company ? ` · ${r.company}` : "", r.kind === "user" ? " · colleague" : ""))));
}

async function callOut(event) {
  event.preventDefault();
  const typed = $("#callout-query").value.trim();
  const number = chosen ? chosen.number : typed;
  if (!number) return;
  const callerId = $("#callout-callerid").value || null;
  try {
    const label = chosen ? chosen.name : undefined;
    await api("POST", "/api/desk/callout", { number, caller_id: callerId, label });
    message("#callout-message", "");
  } catch (err) {
    message("#callout-message", err.message, true);
  }
}

async function loadCallerIds() {
  const select = $("#callout-callerid");
  try {
    const { caller_ids: ids, default: shown } = await api("GET", "/api/desk/caller-ids");
    const company = el("option", { value: "" }, "The company's number");
    select.replaceChildren(...(shown ? [] : [company]),
      ...ids.map((n) => el("option", { value: n }, n === shown ? `${n} (mine)` : `${n} (group)`)),
      ...(shown ? [company] : []));
    select.value = shown || "";
  } catch (_) {
    select.replaceChildren(el("option", { value: "" }, "The company's number"));
  }
}

// -- start ----------------------------------------------------------------------------
let callbacks = null;

function onEvent(event) {
  if (event.type === "callback") {
    if (callbacks) callbacks.event(event.request);
    return;
  }
  if (event.type === "queue") {
    queues.set(event.queue, event);
    renderQueues();
    return;
  }
  if (event.type !== "agent" || event.agent !== user) return;
  const before = agent;
  agent = event;
  render();
  const wasBusy = before && (before.call || (before.callout && before.callout.status !== "ended") || before.offer);
  const isBusy = agent.call || (agent.callout && agent.callout.status !== "ended") || agent.offer;
  if (wasBusy && !isBusy) {
    setTimeout(loadRecent, 800); // the record is written in the background
    setTimeout(loadVoicemail, 800); // a caller may have left a message meanwhile
  }
}

async function main() {
  me = await api("GET", "/api/me");
  $("#pause-reason").replaceChildren(...me.pause_reasons.map((r) => el("option", { value: r }, r)));
  $("#ready").addEventListener("click", () => act({ state: "ready" }));
  $("#pause").addEventListener("click", () => act({ state: "paused", reason: $("#pause-reason").value }));
  $("#logout").addEventListener("click", () => act({ state: "logged_out" }));
  $("#wrapup-end").addEventListener("click", () => act({ state: "ready" }));
  $("#wrapup-extend").addEventListener("click", () => act({ state: "paused", reason: $("#pause-reason").value }));
  $("#presence").addEventListener("click", () =>
    act({ presence: agent && agent.presence === "busy" ? "available" : "busy" }));
  $("#hangup").addEventListener("click", () => api("POST", "/api/desk/hangup").catch((e) => message("#status-message", e.message, true)));
  $("#hold").addEventListener("click", () =>
    control("POST", agent && agent.control && agent.control.held ? "resume" : "hold"));
  $("#record").addEventListener("click", () =>
    control("POST", "record", agent && agent.control && agent.control.recording
      ? { action: "stop" } : { action: "start", announce: $("#record-announce").checked }));
  $("#transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    control("POST", "transfer", { to: $("#transfer-to").value });
  });
  $("#consult").addEventListener("click", () => control("POST", "consult", { to: $("#transfer-to").value }));
  $("#consult-complete").addEventListener("click", () => control("POST", "consult/complete"));
  $("#consult-cancel").addEventListener("click", () => control("DELETE", "consult"));
  $("#forwarding-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setForwarding($("#forwarding-to").value.trim() || null);
  });
  $("#forwarding-off").addEventListener("click", () => setForwarding(null));
  $("#pin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api("PUT", "/api/desk/voicemail/pin", { pin: $("#pin").value })
      .then(() => { $("#pin").value = ""; message("#pin-message", "PIN set."); })
      .catch((err) => message("#pin-message", err.message, true));
  });
  api("GET", "/api/desk/forwarding").then(showForwarding).catch(() => {});
  loadVoicemail();
  $("#callout-query").addEventListener("input", searchSoon);
  $("#callout-form").addEventListener("submit", callOut);
  $("#callout-cancel").addEventListener("click", () => api("DELETE", "/api/desk/callout").catch(() => {}));
  await loadCallerIds();
  callbacks = startCallbacks(me);
  live({
    types: ["agent", "queue", "callback"],
    onSnapshot: (snapshot) => {
      if (callbacks) callbacks.snapshot(snapshot);
      agent = snapshot.agents.find((a) => a.agent === user) || null;
      queues.clear();
      for (const q of snapshot.queues) queues.set(q.queue, q);
      render();
      document.body.dataset.ready = "yes";
    },
    onEvent,
    onStatus: connectionBadge,
  });
  loadRecent();
  everySecond(tick);
  setUpDeskPhone({ root: $("#phone"), audio: $("#remote-audio"), toggle: $("#phone-use"),
    message: $("#phone-message") });
}

main();
