// The callback list on the agent desktop (B5): requests of my queues, live;
// sortable by each column, filtered by queue and status. Open (claim) an item,
// call it (my phone rings first, then the customer), then write what happened:
// "Done" closes it, "No answer" puts it back in line. Supervisors of the queue
// re-assign or close items. Everything comes from /api/callbacks and the live
// stream's "callback" events; values go into the page as text only.
import { $, api, duration, el, clock } from "./common.js";

const STATUS_LABELS = {
  pending: "Unhandled", requeued: "Re-queued", calling: "Calling", done: "Done",
  failed: "Failed", expired: "Expired", cancelled: "Closed",
};
const OPEN = ["pending", "requeued", "calling"];
const COLUMNS = [
  ["requested_at", "Requested"], ["window", "Window"], ["queue", "Queue"], ["number", "Number"],
  ["digits", "Caller input"], ["handler", "Handler"], ["status", "Status"], ["note", "Latest note"],
];

let me = null;
const items = new Map();
let sortKey = "requested_at";
let ascending = true;
let owed = null; // the request whose note I owe
let members = {}; // queue -> its agents (for re-assigning)

function message(text, error = false) {
  const node = $("#cb-message");
  node.textContent = text || "";
  node.classList.toggle("error", error);
}

async function act(id, verb, body) {
  try {
    const view = await api("POST", `/api/callbacks/${encodeURIComponent(id)}/${verb}`, body);
    update(view);
    message("");
    return true;
  } catch (err) {
    message(err.message, true);
    return false;
  }
}

function time(ts) {
  return ts == null ? "" : new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function cellValue(item, key) {
  if (key === "digits") return Object.values(item.digits || {}).join(" ");
  if (key === "number") return item.name ? `${item.number} ${item.name}` : item.number;
  return item[key] == null ? "" : item[key];
}

function visible(item) {
  const queue = $("#cb-queue").value;
  const status = $("#cb-status").value;
  if (queue && item.queue !== queue) return false;
  if (status === "open") return OPEN.includes(item.status);
  if (status) return item.status === status;
  return true;
}

function mine(item) {
  return item.claimed_by === me.user && (item.note_owed || (item.claimed_until || 0) > clock.now());
}

function heldByOther(item) {
  return item.claimed_by && item.claimed_by !== me.user
    && (item.note_owed || (item.claimed_until || 0) > clock.now());
}

function manages(queue) {
  return me.roles.includes("admin") || (me.roles.includes("supervisor") && me.supervises.includes(queue));
}

function actions(item) {
  if (!OPEN.includes(item.status)) return [];
  const buttons = [];
  if (heldByOther(item)) {
    buttons.push(el("span", { class: "lock" }, `🔒 Open by ${item.claimed_by}`));
  } else if (!mine(item) && me.member_of.includes(item.queue) && item.status !== "calling") {
    const blocked = owed && owed !== item.id;
    buttons.push(el("button", {
      type: "button", class: "go cb-claim", disabled: Boolean(blocked),
      title: blocked ? "Write what happened on your last callback first" : null,
      onclick: () => act(item.id, "claim"),
    }, "Open"));
  } else if (mine(item)) {
    buttons.push(el("span", { class: "lock mine" }, "Open by you"));
  }
  if (manages(item.queue) && !item.calling) {
    const choose = el("select", { class: "cb-assign-to", "aria-label": "Assign to" },
      el("option", { value: "" }, "Assign to…"),
      ...(members[item.queue] || []).map((a) => el("option", { value: a }, a)));
    choose.addEventListener("change", () => choose.value && act(item.id, "assign", { agent: choose.value }));
    buttons.push(choose, el("button", {
      type: "button", class: "secondary cb-close",
      onclick: () => {
        const note = prompt("Why is this request closed?");
        if (note) act(item.id, "close", { note });
      },
    }, "Close"));
  }
  return buttons;
}

// A request called from the list shows as being called until the call is over.
function shownStatus(item) {
  const status = item.calling && !item.call_outcome && OPEN.includes(item.status) ? "calling" : item.status;
  return el("span", { class: "cb-badge", dataset: { status } }, STATUS_LABELS[status] || status);
}

function render() {
  const header = $("#cb-table thead tr");
  header.replaceChildren(...COLUMNS.map(([key, label]) => el("th", {
    scope: "col", dataset: { sort: key },
    "aria-sort": key === sortKey ? (ascending ? "ascending" : "descending") : "none",
  }, el("button", {
    type: "button", class: "sort", onclick: () => {
      ascending = key === sortKey ? !ascending : true;
      sortKey = key;
      render();
    },
  }, label, key === sortKey ? (ascending ? " ▲" : " ▼") : "")), el("th", { scope: "col" }, "")));
  const rows = [...items.values()].filter(visible).sort((a, b) => {
    const x = cellValue(a, sortKey);
    const y = cellValue(b, sortKey);
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return ascending ? order : -order;
  });
  $("#cb-table tbody").replaceChildren(...rows.map((item) => el("tr", {
    dataset: { id: item.id, status: item.status, claimed: item.claimed_by || "" },
  },
  el("td", {}, time(item.requested_at)),
  el("td", {}, item.window || "As soon as possible"),
  el("td", {}, item.queue),
  el("td", { class: "cb-number" }, item.number, item.name ? el("span", { class: "muted" }, ` ${item.name}`) : ""),
  el("td", { class: "cb-digits" }, cellValue(item, "digits")),
  el("td", {}, item.handler || ""),
  el("td", { class: "cb-status" }, shownStatus(item),
    item.attempts ? ` (${item.attempts} tried)` : ""),
  el("td", { class: "cb-note" }, item.note || ""),
  el("td", { class: "cb-actions" }, ...actions(item)))));
  $("#cb-empty").hidden = rows.length > 0;
  renderWork();
}

// The item I hold: call it, give it back, or (after the call) write what happened.
function renderWork() {
  const item = [...items.values()].find((i) => OPEN.includes(i.status) && mine(i));
  const panel = $("#cb-work");
  panel.hidden = !item;
  if (!item) return;
  panel.dataset.id = item.id;
  $("#cb-work-number").textContent = item.number + (item.name ? ` (${item.name})` : "");
  const digits = Object.entries(item.digits || {}).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(", ");
  $("#cb-work-digits").textContent = digits;
  const afterCall = item.note_owed;
  const talking = afterCall && !item.call_outcome;
  $("#cb-call").hidden = afterCall;
  $("#cb-release").hidden = afterCall;
  $("#cb-note-form").hidden = !afterCall;
  $("#cb-work-status").textContent = !afterCall
    ? `Yours for ${duration((item.claimed_until || 0) - clock.now())}: call now or give it back.`
    : talking ? "Calling… write what happened when the call is over."
      : `Call ended (${(item.call_outcome || "").replace("_", " ")}). Write what happened to take the next item.`;
  for (const button of ["#cb-done", "#cb-noanswer"]) $(button).disabled = talking;
}

// Each second: the claim's countdown; the list again when a claim ran out
// (the request is free from then on, on every page, without a new event).
function tick() {
  const now = clock.now();
  let lapsed = false;
  for (const item of items.values()) {
    if (item.claimed_by && !item.note_owed && item.claimed_until && item.claimed_until <= now) {
      item.claimed_by = null;
      lapsed = true;
    }
  }
  if (lapsed) render();
  else renderWork();
}

function update(view) {
  const known = items.get(view.id);
  if (known && known.seq > view.seq) return; // an answer that was overtaken by a live event
  items.set(view.id, view);
  if (view.note_owed && view.claimed_by === me.user) owed = view.id;
  else if (owed === view.id) owed = null;
  render();
}

async function load() {
  try {
    const { requests, owed: mineOwed } = await api("GET", "/api/callbacks");
    items.clear();
    for (const item of requests) items.set(item.id, item);
    owed = mineOwed;
    render();
  } catch (err) {
    message(err.message, true);
  }
}

async function finish(outcome) {
  const id = $("#cb-work").dataset.id;
  const note = $("#cb-note").value.trim();
  if (!note) {
    message("Write a short description of the call first.", true);
    $("#cb-note").focus();
    return;
  }
  if (await act(id, "finish", { outcome, note })) $("#cb-note").value = "";
}

export function startCallbacks(who, snapshotAgents) {
  me = who;
  if (!me.member_of.length && !me.supervises.length && !me.roles.includes("admin")) return null;
  $("#callbacks-card").hidden = false;
  const queues = new Set([...me.member_of, ...me.supervises]);
  $("#cb-queue").replaceChildren(el("option", { value: "" }, "All my queues"),
    ...[...queues].sort().map((q) => el("option", { value: q }, q)));
  $("#cb-queue").addEventListener("change", render);
  $("#cb-status").addEventListener("change", render);
  $("#cb-call").addEventListener("click", () => act($("#cb-work").dataset.id, "call"));
  $("#cb-release").addEventListener("click", () => act($("#cb-work").dataset.id, "release"));
  $("#cb-done").addEventListener("click", () => finish("done"));
  $("#cb-noanswer").addEventListener("click", () => finish("no_answer"));
  setInterval(tick, 1000);
  return {
    snapshot(snapshot) {
      members = {};
      for (const agent of snapshot.agents) {
        for (const q of agent.member_of || []) (members[q] = members[q] || []).push(agent.agent);
      }
      load();
    },
    event(view) { update(view); },
  };
}
