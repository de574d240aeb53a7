// /phone: the browser phone on its own (the agent desktop embeds the same panel).
import { BrowserPhone } from "/static/phone/phone.js";
import { mountPhonePanel } from "/static/phone/panel.js";

const form = document.getElementById("signin");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const phone = new BrowserPhone({
    server: `${scheme}://${location.host}/sip`,
    aor: `sip:${data.get("user")}@${location.hostname}`,
    user: data.get("user"),
    password: data.get("password"),
    audio: document.getElementById("remote-audio"),
  });
  form.reset();
  form.hidden = true;
  const root = document.getElementById("phone");
  root.hidden = false;
  mountPhonePanel(root, phone);
  window.jonoPhone = phone; // for tests and the console
  await navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop())).catch(() => {});
  await phone.start();
});
