// Jono's browser phone: SIP over WebSocket (RFC 7118) with SIP.js from npm
// (/static/vendor/sip.js, installed by `make vendor`), WebRTC media terminated
// by Jono. One class, no framework: the page (the agent desktop or /phone)
// gives it credentials and an <audio> element, and shows its events.
//
//   const phone = new BrowserPhone({ server, aor, user, password, audio });
//   or, in a signed-in page, with a short-lived token from the session (the page
//   never shows it): BrowserPhone.fromSession({ audio, csrfToken })
//   phone.addEventListener("state", e => ...)      // e.detail: {registered, call}
//   await phone.start();  phone.answer();  phone.hangup();  phone.mute(true);
//   phone.dtmf("5");  phone.call("1002");  phone.setMicrophone(id);  phone.setSpeaker(id);
import {
  Inviter,
  Registerer,
  RegistererState,
  SessionState,
  UserAgent,
} from "/static/vendor/sip.js/index.js";

const RING_ON_MS = 1000;
const RING_OFF_MS = 2000;

export class BrowserPhone extends EventTarget {
  constructor({ server, aor, user, password, audio, displayName }) {
    super();
    this.server = server;
    this.aor = aor;
    this.audio = audio;
    this.microphone = undefined;
    this.registered = false;
    this.session = null;
    this.incoming = false;
    this.muted = false;
    this.callState = "idle"; // idle, ringing, calling, talking
    this._ring = null;
    this.ua = new UserAgent({
      uri: UserAgent.makeURI(aor),
      displayName,
      authorizationUsername: user,
      authorizationPassword: password,
      transportOptions: { server, keepAliveInterval: 25 },
      userAgentString: "Jono browser phone (SIP.js)",
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: [] },
        iceGatheringTimeout: 1000,
      },
      logBuiltinEnabled: false,
      delegate: {
        onInvite: (invitation) => this._incoming(invitation),
        onDisconnect: () => this._setRegistered(false),
      },
    });
    this.registerer = new Registerer(this.ua, { expires: 300 });
    this.registerer.stateChange.addListener((state) =>
      this._setRegistered(state === RegistererState.Registered));
  }

  // Credentials from the signed-in session (POST /api/phone/token), renewed
  // before they expire; the SIP password is never in the page.
  static async fromSession({ audio, csrfToken, displayName }) {
    const token = await BrowserPhone._token(csrfToken);
    const phone = new BrowserPhone({
      server: token.server, aor: token.aor, user: token.auth_user, password: token.secret,
      audio, displayName,
    });
    phone._renewWith(csrfToken, token.expires_in);
    return phone;
  }

  static async _token(csrfToken) {
    const response = await fetch("/api/phone/token", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken || "" },
    });
    if (!response.ok) throw new Error(`no phone credentials: HTTP ${response.status}`);
    return response.json();
  }

  _renewWith(csrfToken, expiresIn) {
    const every = Math.max(30, expiresIn / 2) * 1000;
    this._renewal = setInterval(async () => {
      try {
        const token = await BrowserPhone._token(csrfToken);
        this.ua.configuration.authorizationUsername = token.auth_user;
        this.ua.configuration.authorizationPassword = token.secret;
      } catch (e) {
        this.dispatchEvent(new CustomEvent("error", { detail: { message: String(e) } }));
      }
    }, every);
  }

  async start() {
    await this.ua.start();
    await this.registerer.register();
  }

  async stop() {
    clearInterval(this._renewal);
    this._stopRing();
    try { await this.registerer.unregister(); } catch (e) { /* gone already */ }
    await this.ua.stop();
  }

  // ---- calls -------------------------------------------------------------
  async answer() {
    if (!this.session || !this.incoming || this.callState !== "ringing") return;
    this._stopRing();
    await this.session.accept({ sessionDescriptionHandlerOptions: this._mediaOptions() });
  }

  async hangup() {
    const session = this.session;
    if (!session) return;
    this._stopRing();
    if (session.state === SessionState.Established) await session.bye();
    else if (this.incoming) await session.reject();
    else await session.cancel();
  }

  async call(target) {
    if (this.session) return;
    const host = UserAgent.makeURI(this.aor).host;
    const uri = UserAgent.makeURI(`sip:${target}@${host}`);
    if (!uri) throw new Error(`cannot call ${target}`);
    const inviter = new Inviter(this.ua, uri, { sessionDescriptionHandlerOptions: this._mediaOptions() });
    this._track(inviter, false);
    this._setCall("calling");
    await inviter.invite();
  }

  mute(on) {
    this.muted = on;
    for (const sender of this._peer()?.getSenders() ?? []) {
      if (sender.track) sender.track.enabled = !on;
    }
    this._emit();
  }

  // RFC 4733 telephone events on the media path; SIP INFO when the call has none.
  dtmf(digit) {
    const session = this.session;
    if (!session || session.state !== SessionState.Established) return false;
    const sender = this._peer()?.getSenders().find((s) => s.dtmf);
    if (sender && sender.dtmf.canInsertDTMF) {
      sender.dtmf.insertDTMF(digit, 100, 70);
    } else {
      session.info({ requestOptions: { body: {
        contentDisposition: "render", contentType: "application/dtmf-relay",
        content: `Signal=${digit}\r\nDuration=100`,
      } } });
    }
    this.dispatchEvent(new CustomEvent("dtmf", { detail: { digit } }));
    return true;
  }

  async setMicrophone(deviceId) {
    this.microphone = deviceId || undefined;
    const pc = this._peer();
    if (!pc) return;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: this._audioConstraint() });
    const track = stream.getAudioTracks()[0];
    track.enabled = !this.muted;
    for (const sender of pc.getSenders()) {
      if (sender.track && sender.track.kind === "audio") {
        sender.track.stop();
        await sender.replaceTrack(track);
      }
    }
  }

  async setSpeaker(deviceId) {
    if (this.audio && this.audio.setSinkId) await this.audio.setSinkId(deviceId || "");
  }

  // ---- internals ---------------------------------------------------------
  _mediaOptions() {
    return { constraints: { audio: this._audioConstraint(), video: false } };
  }

  _audioConstraint() {
    return this.microphone ? { deviceId: { exact: this.microphone } } : true;
  }

  _peer() {
    return this.session?.sessionDescriptionHandler?.peerConnection;
  }

  _incoming(invitation) {
    if (this.session) {
      invitation.reject({ statusCode: 486 });
      return;
    }
    this._track(invitation, true);
    const from = invitation.remoteIdentity;
    this.caller = from.displayName || from.uri.user;
    this._setCall("ringing");
    this._startRing();
  }

  _track(session, incoming) {
    this.session = session;
    this.incoming = incoming;
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) {
        this._stopRing();
        this._attachAudio();
        this._setCall("talking");
      } else if (state === SessionState.Terminated) {
        this._stopRing();
        this.session = null;
        this.muted = false;
        if (this.audio) this.audio.srcObject = null;
        this._setCall("idle");
      }
    });
  }

  _attachAudio() {
    const pc = this._peer();
    if (!pc || !this.audio) return;
    const stream = new MediaStream();
    for (const receiver of pc.getReceivers()) {
      if (receiver.track) stream.addTrack(receiver.track);
    }
    this.audio.srcObject = stream;
    this.audio.play().catch(() => {});
  }

  // A ring in the page (WebAudio, no file): 425 Hz, 1 s on, 2 s off.
  _startRing() {
    this._stopRing();
    try {
      const ctx = new AudioContext();
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(ctx.destination);
      const osc = ctx.createOscillator();
      osc.frequency.value = 425;
      osc.connect(gain);
      osc.start();
      let on = false;
      const toggle = () => {
        on = !on;
        gain.gain.value = on ? 0.2 : 0;
        ring.timer = setTimeout(toggle, on ? RING_ON_MS : RING_OFF_MS);
      };
      const ring = { ctx, timer: null };
      this._ring = ring;
      toggle();
    } catch (e) {
      this._ring = null;
    }
  }

  _stopRing() {
    const ring = this._ring;
    this._ring = null;
    if (!ring) return;
    clearTimeout(ring.timer);
    ring.ctx.close();
  }

  _setRegistered(on) {
    if (this.registered === on) return;
    this.registered = on;
    this._emit();
  }

  _setCall(state) {
    this.callState = state;
    this._emit();
  }

  _emit() {
    this.dispatchEvent(new CustomEvent("state", { detail: {
      registered: this.registered, call: this.callState, muted: this.muted,
      caller: this.caller || null, ringing: !!this._ring,
    } }));
  }
}
