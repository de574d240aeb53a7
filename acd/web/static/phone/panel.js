// The phone's controls, for any page that hosts a BrowserPhone (the agent
// desktop, /phone): registered indicator, caller, answer / hang up, mute,
// keypad, dial box, microphone and speaker choice. Plain DOM, no framework.
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

export function mountPhonePanel(root, phone) {
  const status = el("span", { class: "phone-status", "data-testid": "phone-status" }, "connecting…");
  const caller = el("div", { class: "phone-caller", "data-testid": "phone-caller" });
  const answer = el("button", { class: "phone-answer", "data-testid": "phone-answer",
    onclick: () => phone.answer() }, "Answer");
  const hangup = el("button", { class: "phone-hangup", "data-testid": "phone-hangup",
    onclick: () => phone.hangup() }, "Hang up");
  const mute = el("button", { class: "phone-mute", "data-testid": "phone-mute",
    "aria-pressed": "false", onclick: () => phone.mute(!phone.muted) }, "Mute");
  const keypad = el("div", { class: "phone-keypad", "data-testid": "phone-keypad" },
    ...KEYS.map((key) => el("button", { "data-key": key, onclick: () => phone.dtmf(key) }, key)));
  const number = el("input", { class: "phone-number", "data-testid": "phone-number",
    placeholder: "Extension or number", inputmode: "tel", "aria-label": "Number to call" });
  const dial = el("button", { class: "phone-dial", "data-testid": "phone-dial",
    onclick: () => {
      const target = number.value.trim();
      if (!target) return;
      number.value = "";
      phone.call(target);
    } }, "Call");
  const mic = el("select", { class: "phone-mic", "data-testid": "phone-mic",
    "aria-label": "Microphone", onchange: () => phone.setMicrophone(mic.value) });
  const speaker = el("select", { class: "phone-speaker", "data-testid": "phone-speaker",
    "aria-label": "Speaker", onchange: () => phone.setSpeaker(speaker.value) });

  root.classList.add("phone-panel");
  root.append(
    el("div", { class: "phone-head" }, el("strong", {}, "Browser phone"), status),
    caller,
    el("div", { class: "phone-actions" }, answer, hangup, mute),
    keypad,
    el("div", { class: "phone-dialer" }, number, dial),
    el("label", {}, "Microphone ", mic),
    el("label", {}, "Speaker ", speaker),
  );

  async function listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [select, kind] of [[mic, "audioinput"], [speaker, "audiooutput"]]) {
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, "Default"),
        ...devices.filter((d) => d.kind === kind && d.deviceId !== "default")
          .map((d) => el("option", { value: d.deviceId }, d.label || kind)));
      select.value = chosen;
    }
  }
  navigator.mediaDevices.addEventListener("devicechange", listDevices);
  listDevices();

  function render(state) {
    status.textContent = state.registered ? "registered" : "not registered";
    status.dataset.registered = String(state.registered);
    root.dataset.call = state.call;
    caller.textContent = state.call === "ringing" ? `Incoming call from ${state.caller}`
      : state.call === "talking" ? "On a call" : state.call === "calling" ? "Calling…" : "";
    answer.disabled = state.call !== "ringing";
    hangup.disabled = state.call === "idle";
    mute.disabled = state.call !== "talking";
    mute.setAttribute("aria-pressed", String(state.muted));
    mute.textContent = state.muted ? "Unmute" : "Mute";
    for (const key of keypad.querySelectorAll("button")) key.disabled = state.call !== "talking";
    dial.disabled = !state.registered || state.call !== "idle";
    if (state.call === "talking") listDevices();
  }
  phone.addEventListener("state", (event) => render(event.detail));
  render({ registered: false, call: "idle", muted: false });
}
