// The browser phone on the agent desktop (issue 15): SIP credentials from this
// page's session (POST /api/phone/token, never shown), SIP.js over /sip, the
// panel of /static/phone. "Use this browser as my phone" starts ticked when the
// plan gives the user a browser device (then a new agent only has to allow the
// microphone); the agent's own choice is remembered per browser.
import { csrfToken } from "./common.js";
import { BrowserPhone } from "/static/phone/phone.js";
import { mountPhonePanel } from "/static/phone/panel.js";

const KEY = "jono.browserPhone";

export function setUpDeskPhone({ root, audio, toggle, message }) {
  let phone = null;
  const say = (text, error = false) => {
    message.textContent = text || "";
    message.classList.toggle("error", error);
  };

  async function start() {
    say("");
    try {
      phone = await BrowserPhone.fromSession({ audio, csrfToken: csrfToken() });
    } catch (err) {
      say(`The browser phone cannot start: ${err.message}`, true);
      return;
    }
    root.replaceChildren();
    mountPhonePanel(root, phone);
    phone.addEventListener("error", (e) => say(e.detail.message, true));
    window.jonoPhone = phone; // for tests and the console
    try {
      await phone.start();
    } catch (err) {
      say(`Not registered: ${err.message}`, true);
    }
  }

  async function stop() {
    const old = phone;
    phone = null;
    window.jonoPhone = null;
    root.replaceChildren();
    if (old) await old.stop().catch(() => {});
  }

  const chosen = localStorage.getItem(KEY);
  toggle.checked = chosen ? chosen === "on" : document.body.dataset.browserPhone === "on";
  toggle.addEventListener("change", () => {
    localStorage.setItem(KEY, toggle.checked ? "on" : "off");
    if (toggle.checked) start(); else stop();
  });
  window.addEventListener("pagehide", () => { if (phone) phone.stop().catch(() => {}); });
  if (toggle.checked) start();
}
