"""A pjsua2 phone in its own process, driven by JSON lines on stdin/stdout.

pjsua2 allows one Endpoint per process and 4 calls per process, so every
phone of a test is one ``python -m peers.pjsua_phone`` (or, from the repo
root, ``python -m tests.e2e.peers.pjsua_phone``) process. The pytest side
uses :class:`peers.pjsua_client.PjsuaPhone`.

Commands (one JSON object per line, ``"id"`` echoed back in the reply):
  {"cmd": "register", "user", "password", "registrar": "host:port", "transport": "udp"|"tcp"|"tls",
   "mwi": false}                     mwi: subscribe to message-summary (RFC 3842)
  {"cmd": "call", "uri"}             -> reply carries "call"
  {"cmd": "answer", "code": 200}     answers the newest incoming call
  {"cmd": "auto_answer", "code": 200}
  {"cmd": "hangup", "call": n}       that call, or all calls without "call"
  {"cmd": "hold", "call": n} / {"cmd": "unhold", "call": n}   re-INVITE sendonly / sendrecv
  {"cmd": "xfer", "call": n, "uri"}  blind transfer: REFER (RFC 3515)
  {"cmd": "xfer_replaces", "call": n, "to": m}  attended: REFER on n replacing call m
  {"cmd": "play", "path", "loop": true}
  {"cmd": "record", "path"} / {"cmd": "stop_record"}
  {"cmd": "dtmf", "digits"}
  {"cmd": "rtp_stats"}               -> reply carries "rx", "tx" (RTP packets)
  {"cmd": "quit"}
Commands without "call" act on the newest active call.
Replies: {"event": "ok"|"error", "id", ...}. Events:
  ready(port), registered(code, reason), incoming(call, from),
  state(call, state, code, reason), media(call, active, dir), dtmf(call, digit),
  media_status(call, status): ACTIVE, LOCAL_HOLD, REMOTE_HOLD, NONE or ERROR,
  xfer_status(call, code, reason, final) (NOTIFYs of a REFER we sent),
  mwi(state, body) (message-summary NOTIFYs, subscribed or unsolicited).

The process polls ``libHandleEvents`` from its main loop (no pjsua threads).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import sys
from typing import Any

import pjsua2 as pj

STATE_NAMES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}

MEDIA_STATUS = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
    pj.PJSUA_CALL_MEDIA_ERROR: "ERROR",
}

_out = sys.stdout


def emit(event: str, **fields: Any) -> None:
    _out.write(json.dumps({"event": event, **fields}) + "\n")
    _out.flush()


class PhoneCall(pj.Call):  # type: ignore[misc]
    def __init__(self, phone: Phone, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(account, call_id)
        self.phone = phone
        self.number = phone.next_number()

    def onCallState(self, prm: Any) -> None:  # noqa: N802 (pjsua2 callback name)
        info = self.getInfo()
        state = STATE_NAMES.get(info.state, str(info.state))
        emit(
            "state",
            call=self.number,
            state=state,
            code=int(info.lastStatusCode),
            reason=str(info.lastReason),
        )
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.phone.finished.append(self)

    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            emit("media_status", call=self.number, status=MEDIA_STATUS.get(media.status, "?"))
            if media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                self.phone.connect_audio(self.getAudioMedia(index))
                emit("media", call=self.number, active=True, dir=int(media.dir))
            elif media.status in (pj.PJSUA_CALL_MEDIA_LOCAL_HOLD, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                held = "local" if media.status == pj.PJSUA_CALL_MEDIA_LOCAL_HOLD else "remote"
                emit("media", call=self.number, active=False, hold=held)

    def onCallTransferStatus(self, prm: Any) -> None:  # noqa: N802
        emit(
            "xfer_status", call=self.number, code=int(prm.statusCode), reason=str(prm.reason),
            final=bool(prm.finalNotify),
        )

    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802
        emit("dtmf", call=self.number, digit=str(prm.digit))


class PhoneAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, phone: Phone) -> None:
        super().__init__()
        self.phone = phone

    def onRegState(self, prm: Any) -> None:  # noqa: N802
        emit("registered", code=int(prm.code), reason=str(prm.reason), expires=int(prm.expiration))

    def onMwiInfo(self, prm: Any) -> None:  # noqa: N802
        message = str(prm.rdata.wholeMsg)
        body = message.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in message else ""
        emit("mwi", state=int(prm.state), body=body)

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
        call = PhoneCall(self.phone, self, prm.callId)
        self.phone.calls.append(call)
        emit("incoming", call=call.number, **{"from": str(call.getInfo().remoteUri)})
        if self.phone.auto_answer_code is not None:
            op = pj.CallOpParam()
            op.statusCode = self.phone.auto_answer_code
            call.answer(op)
        else:
            op = pj.CallOpParam()
            op.statusCode = 180
            call.answer(op)


class Phone:
    def __init__(self, port: int, rtp_port: int, log_path: str | None) -> None:
        self.port = port
        self.rtp_port = rtp_port
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.logConfig.consoleLevel = 0
        cfg.logConfig.level = 5 if log_path else 0
        if log_path:
            cfg.logConfig.filename = log_path
        cfg.medConfig.clockRate = 8000
        cfg.medConfig.sndClockRate = 8000
        cfg.medConfig.noVad = True
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        self.transports: dict[str, int] = {}
        for name, kind in (("udp", pj.PJSIP_TRANSPORT_UDP), ("tcp", pj.PJSIP_TRANSPORT_TCP)):
            tcfg = pj.TransportConfig()
            tcfg.port = port
            tcfg.boundAddress = "127.0.0.1"
            tcfg.publicAddress = "127.0.0.1"
            self.transports[name] = self.ep.transportCreate(kind, tcfg)
        # TLS on an ephemeral port (TCP has ``port``): a client of Jono's TLS
        # listener, which calls it back over the connection it registered on.
        tcfg = pj.TransportConfig()
        tcfg.port = 0
        tcfg.boundAddress = "127.0.0.1"
        tcfg.publicAddress = "127.0.0.1"
        self.transports["tls"] = self.ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, tcfg)
        self.ep.libStart()
        self.accounts: list[PhoneAccount] = []
        self.calls: list[PhoneCall] = []
        self.finished: list[PhoneCall] = []
        self.auto_answer_code: int | None = None
        self.player: pj.AudioMediaPlayer | None = None
        self.recorder: pj.AudioMediaRecorder | None = None
        self._numbers = 0
        self.local = self.make_account(f"sip:phone@127.0.0.1:{port}", None, None, None, "udp")

    def next_number(self) -> int:
        self._numbers += 1
        return self._numbers

    def make_account(
        self,
        id_uri: str,
        registrar: str | None,
        user: str | None,
        password: str | None,
        transport: str,
        mwi: bool = False,
    ) -> PhoneAccount:
        acfg = pj.AccountConfig()
        acfg.idUri = id_uri
        acfg.mwiConfig.enabled = mwi
        acfg.sipConfig.transportId = self.transports[transport]
        acfg.mediaConfig.transportConfig.port = self.rtp_port
        acfg.mediaConfig.transportConfig.portRange = 40
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        if registrar is not None:
            acfg.regConfig.registrarUri = registrar
            acfg.regConfig.timeoutSec = 300
            acfg.regConfig.retryIntervalSec = 0
        if user is not None and password is not None:
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        account = PhoneAccount(self)
        account.create(acfg, True)
        self.accounts.append(account)
        return account

    def connect_audio(self, media: pj.AudioMedia) -> None:
        if self.player is not None:
            self.player.startTransmit(media)
        if self.recorder is not None:
            media.startTransmit(self.recorder)

    def active_audio(self) -> list[pj.AudioMedia]:
        found = []
        for call in self.calls:
            if not call.isActive() or not call.hasMedia():
                continue
            info = call.getInfo()
            for index, media in enumerate(info.media):
                if (
                    media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                ):
                    found.append(call.getAudioMedia(index))
        return found

    # ---- commands -------------------------------------------------------
    def cmd_register(self, msg: dict[str, Any]) -> dict[str, Any]:
        transport = msg.get("transport", "udp")
        host = msg["registrar"]
        suffix = f";transport={transport}" if transport in ("tcp", "tls") else ""
        account = self.make_account(
            f"sip:{msg['user']}@{host}",
            f"sip:{host}{suffix}",
            msg["user"],
            msg["password"],
            transport,
            bool(msg.get("mwi", False)),
        )
        self.default = account
        return {}

    def find_call(self, msg: dict[str, Any]) -> PhoneCall:
        """The call numbered msg["call"], else the newest active one."""
        wanted = msg.get("call")
        active = [c for c in self.calls if c.isActive() and c not in self.finished]
        if wanted is not None:
            active = [c for c in active if c.number == int(wanted)]
        if not active:
            raise RuntimeError(f"no active call {wanted if wanted is not None else ''}")
        return active[-1]

    def cmd_hold(self, msg: dict[str, Any]) -> dict[str, Any]:
        call = self.find_call(msg)
        call.setHold(pj.CallOpParam(True))
        return {"call": call.number}

    def cmd_unhold(self, msg: dict[str, Any]) -> dict[str, Any]:
        call = self.find_call(msg)
        op = pj.CallOpParam(True)
        op.opt.flag = pj.PJSUA_CALL_UNHOLD
        call.reinvite(op)
        return {"call": call.number}

    def cmd_xfer(self, msg: dict[str, Any]) -> dict[str, Any]:
        call = self.find_call(msg)
        call.xfer(msg["uri"], pj.CallOpParam(True))
        return {"call": call.number}

    def cmd_xfer_replaces(self, msg: dict[str, Any]) -> dict[str, Any]:
        call = self.find_call(msg)
        other = self.find_call({"call": msg["to"]})
        call.xferReplaces(other, pj.CallOpParam(True))
        return {"call": call.number}

    def cmd_call(self, msg: dict[str, Any]) -> dict[str, Any]:
        account = getattr(self, "default", self.local)
        call = PhoneCall(self, account)
        self.calls.append(call)
        call.makeCall(msg["uri"], pj.CallOpParam(True))
        return {"call": call.number}

    def cmd_answer(self, msg: dict[str, Any]) -> dict[str, Any]:
        ringing = [c for c in self.calls if c.isActive() and c not in self.finished]
        if not ringing:
            raise RuntimeError("no call to answer")
        op = pj.CallOpParam()
        op.statusCode = int(msg.get("code", 200))
        ringing[-1].answer(op)
        return {"call": ringing[-1].number}

    def cmd_auto_answer(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.auto_answer_code = int(msg.get("code", 200))
        return {}

    def cmd_hangup(self, msg: dict[str, Any]) -> dict[str, Any]:
        if msg.get("call") is None:
            self.ep.hangupAllCalls()
            return {}
        self.find_call(msg).hangup(pj.CallOpParam(True))
        return {}

    def cmd_play(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.player = pj.AudioMediaPlayer()
        options = 0 if msg.get("loop", True) else pj.PJMEDIA_FILE_NO_LOOP
        self.player.createPlayer(msg["path"], options)
        for media in self.active_audio():
            self.player.startTransmit(media)
        return {}

    def cmd_record(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.recorder = pj.AudioMediaRecorder()
        self.recorder.createRecorder(msg["path"])
        for media in self.active_audio():
            media.startTransmit(self.recorder)
        return {}

    def cmd_stop_record(self, msg: dict[str, Any]) -> dict[str, Any]:
        # Deleting the recorder writes the final WAV header.
        self.recorder = None
        return {}

    def cmd_rtp_stats(self, msg: dict[str, Any]) -> dict[str, Any]:
        """RTP packets received/sent on the newest call's audio stream (0 without media)."""
        for call in reversed(self.calls):
            if not call.isActive():
                continue
            info = call.getInfo()  # keep alive: .media points into it (SWIG)
            for index, media in enumerate(info.media):
                if media.type == pj.PJMEDIA_TYPE_AUDIO:
                    stat = call.getStreamStat(index)
                    return {"rx": int(stat.rtcp.rxStat.pkt), "tx": int(stat.rtcp.txStat.pkt)}
        return {"rx": 0, "tx": 0}

    def cmd_dtmf(self, msg: dict[str, Any]) -> dict[str, Any]:
        self.find_call(msg).dialDtmf(msg["digits"])
        return {}

    def handle(self, msg: dict[str, Any]) -> None:
        name = msg.get("cmd", "")
        handler = getattr(self, f"cmd_{name}", None)
        try:
            if handler is None:
                raise ValueError(f"unknown command {name!r}")
            emit("ok", id=msg.get("id"), cmd=name, **handler(msg))
        except Exception as exc:  # reported to the test, which fails on it
            emit("error", id=msg.get("id"), cmd=name, message=f"{type(exc).__name__}: {exc}")

    def reap(self) -> None:
        """Drop disconnected calls outside pjsua callbacks."""
        while self.finished:
            call = self.finished.pop()
            if call in self.calls:
                self.calls.remove(call)

    def shutdown(self) -> None:
        self.ep.hangupAllCalls()
        # Let the BYEs/CANCELs go out and be answered (at most 1 s).
        for _ in range(100):
            self.ep.libHandleEvents(10)
            self.reap()
            if not any(call.isActive() for call in self.calls):
                break
        # pjsua2: every Call/Account/media object must go before libDestroy.
        self.calls.clear()
        self.finished.clear()
        self.player = None
        self.recorder = None
        for account in self.accounts:
            account.shutdown()
        self.accounts.clear()
        self.local = None  # type: ignore[assignment]
        self.__dict__.pop("default", None)
        # Bindings of a test server need no unREGISTER: skip the network at exit.
        self.ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="SIP port, UDP and TCP")
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--log", default=None, help="pjsua log file")
    args = parser.parse_args()
    phone = Phone(args.port, args.rtp_port, args.log)
    emit("ready", port=args.port)
    buffer = b""
    stdin = sys.stdin.fileno()
    running = True
    while running:
        phone.ep.libHandleEvents(5)
        phone.reap()
        readable, _, _ = select.select([stdin], [], [], 0.005)
        if not readable:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            msg = json.loads(line)
            if msg.get("cmd") == "quit":
                running = False
                emit("ok", id=msg.get("id"), cmd="quit")
                break
            phone.handle(msg)
    phone.shutdown()
    emit("exited")


if __name__ == "__main__":
    main()
