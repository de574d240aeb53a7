// Shared by the desktop and the wallboard: the JSON API, the live event
// stream, the server's clock, and small DOM helpers. Plain ES module; every
// value from the server is put into the page as text (never as HTML).

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function toSignIn() {
  location.assign("/login?next=" + encodeURIComponent(location.pathname));
}

// One call of the JSON API; state-changing ones carry the session's CSRF token.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const options = { method, headers, credentials: "same-origin" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    toSignIn();
    throw new ApiError(401, "signed out");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.error) || response.statusText);
  }
  return data;
}

// The server's clock: durations are counted from the server's timestamps.
export const clock = {
  offset: 0,
  sync(serverNow) {
    this.offset = serverNow - Date.now() / 1000;
  },
  now() {
    return Date.now() / 1000 + this.offset;
  },
};

// The live stream: a snapshot first (on every (re)connect), then events.
export function live({ types, onSnapshot, onEvent, onStatus }) {
  let source = null;
  let retry = 1000;
  const open = () => {
    source = new EventSource("/api/events?types=" + types.join(","));
    source.addEventListener("snapshot", (e) => {
      const snapshot = JSON.parse(e.data);
      clock.sync(snapshot.now);
      retry = 1000;
      onSnapshot(snapshot);
      onStatus("live");
    });
    for (const type of types) {
      source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
    }
    source.onerror = () => {
      onStatus("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. 401): find out whether we are still signed in.
        fetch("/api/me", { credentials: "same-origin" }).then((r) => {
          if (r.status === 401) toSignIn();
          else setTimeout(open, retry);
          retry = Math.min(retry * 2, 15000);
        }, () => setTimeout(open, retry));
      }
    };
  };
  open();
  return { close: () => source && source.close() };
}

// "75" -> "1:15"; "3725" -> "1:02:05".
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

export function since(timestamp) {
  return timestamp == null ? "" : duration(clock.now() - timestamp);
}

// el("li", {class: "x", dataset: {queue: "sales"}}, "text", child) -> element.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function setText(selector, text, root = document) {
  const node = $(selector, root);
  if (node && node.textContent !== String(text)) node.textContent = String(text);
}

// What each agent state is called on screen (colour is never the only sign).
export const STATE_LABELS = {
  logged_out: "Logged out",
  ready: "Ready",
  reserved: "Ringing",
  on_call: "On call",
  wrap_up: "Wrap-up",
  paused: "Paused",
};

export function stateLabel(agent) {
  let label = STATE_LABELS[agent.state] || agent.state;
  if (agent.state === "on_call" && agent.call_kind) label += ` (${agent.call_kind})`;
  if (agent.state === "paused" && agent.pause_reason) label += `: ${agent.pause_reason}`;
  return label;
}

export function connectionBadge(status) {
  const badge = $("#connection");
  if (!badge) return;
  badge.dataset.status = status;
  badge.textContent = status === "live" ? "● Live" : "○ Reconnecting…";
}

// A 1-second tick that refreshes the timers on screen (no request is made).
export function everySecond(fn) {
  fn();
  return setInterval(fn, 1000);
}
