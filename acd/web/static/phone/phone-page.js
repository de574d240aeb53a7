// /phone: the browser phone on a page of its own, for the signed-in user (the
// agent desktop embeds the same panel). Its SIP credentials come from the
// session (POST /api/phone/token); no SIP password is typed or shown here.
import { BrowserPhone } from "/static/phone/phone.js";
import { mountPhonePanel } from "/static/phone/panel.js";

const start = document.getElementById("start");
const message = document.getElementById("phone-message");
start.addEventListener("click", async () => {
  start.disabled = true;
  try {
    const me = await fetch("/api/me", { credentials: "same-origin" });
    if (!me.ok) throw new Error(`not signed in (HTTP ${me.status})`);
    const { csrf_token: csrfToken } = await me.json();
    const phone = await BrowserPhone.fromSession({
      audio: document.getElementById("remote-audio"), csrfToken,
    });
    start.hidden = true;
    const root = document.getElementById("phone");
    root.hidden = false;
    mountPhonePanel(root, phone);
    window.jonoPhone = phone; // for tests and the console
    window.addEventListener("pagehide", () => phone.stop().catch(() => {}));
    await navigator.mediaDevices.getUserMedia({ audio: true })
      .then((s) => s.getTracks().forEach((t) => t.stop())).catch(() => {});
    await phone.start();
  } catch (err) {
    message.textContent = String(err.message || err);
    start.disabled = false;
  }
});
