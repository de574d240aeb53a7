#!/usr/bin/env python3
"""Server CPU per B2BUA call in the SIP core, without sockets or asyncio.

Replays the message work Jono does for one call of scripts/bench/sip_calls.py
(SIPp uac -> Jono -> SIPp uas, SIPp's built-in scenarios over UDP):

    caller -> INVITE   parse, stamp Via, receive_request (IST; 100 encoded)
    Jono   -> INVITE   build, send_request (ICT), encode
    callee -> 180      parse, receive_response;  180 to caller: make_response, encode
    callee -> 200      parse, receive_response, ACK built and encoded
    Jono   -> 200      make_response to the caller, send_response, encode
    caller -> ACK      parse, stamp Via, receive_request (no transaction: to the TU)
    caller -> BYE      parse, receive_request (NIST); 200 encoded
    Jono   -> BYE      build, send_request (NICT), encode
    callee -> 200      parse, receive_response

plus the header look-ups the UA and leg code make on each message (tags,
Call-ID, CSeq, top Via branch, Contact, Record-Route) and the timers firing
as the clock moves on 1 ms per call (1000 calls/s).  The SIPp side of every
message is prepared before timing starts.

"gc on" is what a server pays; "gc off" is the message work alone: the
difference is the cyclic collector walking the live transactions (at
1000 calls/s about 32 s of calls stay alive, 64*T1 timers) and is cut by
allocating fewer container objects per message.

Run: .venv/bin/python scripts/bench/sip_messages.py [--calls 3000] [--runs 7]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence

from sip.headers import Via
from sip.message import Headers, Request, Response, make_response
from sip.parser import parse_message
from sip.transaction import (
    RequestReceived,
    ResponseReceived,
    SendMessage,
    TransactionLayer,
)

JONO = "127.0.0.1:5060"
CALLER = ("127.0.0.1", 5061)
CALLEE = ("127.0.0.1", 5062)
SDP = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
    b"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _wire(lines: list[str], body: bytes = b"") -> bytes:
    head = "\r\n".join([*lines, f"Content-Length: {len(body)}"])
    return head.encode() + b"\r\n\r\n" + body


def _ids(i: int) -> dict[str, str]:
    """What Jono puts in the outgoing leg of call ``i`` (deterministic here)."""
    return {
        "branch": f"z9hG4bK{i:020x}",
        "bye_branch": f"z9hG4bK{i:019x}b",
        "call_id": f"{i:016x}@jono",
        "tag": f"{i:08x}",
    }


def _callee_headers(ids: dict[str, str], branch: str, to: str, cseq: str) -> Headers:
    """The first headers of every request Jono sends the callee of call ``ids``."""
    h = Headers()
    h.add("Via", f"SIP/2.0/UDP {JONO};rport;branch={branch}")
    h.add("Max-Forwards", "70")
    h.add("From", f"<sip:jono@{JONO}>;tag={ids['tag']}")
    h.add("To", to)
    h.add("Call-ID", ids["call_id"])
    h.add("CSeq", cseq)
    return h


def caller_messages(i: int) -> tuple[bytes, bytes, bytes]:
    """INVITE, ACK and BYE as SIPp's uac sends them."""
    common = [
        f"From: sipp <sip:sipp@127.0.0.1:5061>;tag={i}SIPpTag001",
        "To: service <sip:service@127.0.0.1:5060>{to_tag}",
        f"Call-ID: {i}-4242@127.0.0.1",
    ]

    def msg(method: str, branch: int, cseq: int, to_tag: str, body: bytes = b"") -> bytes:
        lines = [
            f"{method} sip:service@127.0.0.1:5060 SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-{i}-{branch}",
            common[0],
            common[1].format(to_tag=to_tag),
            common[2],
            f"CSeq: {cseq} {method}",
            "Contact: sip:sipp@127.0.0.1:5061",
            "Max-Forwards: 70",
            "Subject: Performance Test",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        return _wire(lines, body)

    return (
        msg("INVITE", 0, 1, "", SDP),
        msg("ACK", 5, 1, ";tag=jono"),
        msg("BYE", 7, 2, ";tag=jono"),
    )


def callee_messages(i: int) -> tuple[bytes, bytes, bytes]:
    """180 and 200 to Jono's INVITE, 200 to its BYE, as SIPp's uas sends them."""
    ids = _ids(i)
    via = f"Via: SIP/2.0/UDP {JONO};rport;branch={ids['branch']}"
    common = [
        f"From: <sip:jono@{JONO}>;tag={ids['tag']}",
        f"To: <sip:service@127.0.0.1:5062>;tag={i}SIPpTag011",
        f"Call-ID: {ids['call_id']}",
    ]
    r180 = _wire(["SIP/2.0 180 Ringing", via, *common, "CSeq: 1 INVITE",
                  "Contact: <sip:127.0.0.1:5062;transport=UDP>"])
    r200 = _wire(["SIP/2.0 200 OK", via, *common, "CSeq: 1 INVITE",
                  "Contact: <sip:127.0.0.1:5062;transport=UDP>",
                  "Content-Type: application/sdp"], SDP)
    bye_via = f"Via: SIP/2.0/UDP {JONO};rport;branch={ids['bye_branch']}"
    ok_bye = _wire(["SIP/2.0 200 OK", bye_via, *common, "CSeq: 2 BYE",
                    "Contact: <sip:127.0.0.1:5062;transport=UDP>"])
    return r180, r200, ok_bye


class B2bua:
    """The SIP-core work of ua.py/legs.py/dialog.py for one call, inlined."""

    def __init__(self) -> None:
        self.layer = TransactionLayer()
        self.sent = 0

    # -- what the UA does for every message ---------------------------------
    def send(self, events: Sequence[object]) -> list[object]:
        rest: list[object] = []
        for event in events:
            if isinstance(event, SendMessage):
                self.sent += len(event.message.encode())
            else:
                rest.append(event)
        return rest

    def receive_request(self, data: bytes, now: float) -> RequestReceived:
        request = parse_message(data)
        assert isinstance(request, Request)
        # ua._stamp_received: RFC 3581 on the top Via.
        values = request.headers.values("Via")
        top = values[0]
        via = Via.parse(top)
        if ";rport" in top.lower() or via.host != CALLER[0]:
            request.headers.pop_first_value("Via")
            request.headers.prepend("Via", str(via))
        events = self.send(self.layer.receive_request(request, CALLER, False, now))
        (event,) = events
        assert isinstance(event, RequestReceived)
        # ua._dispatch_request / _acceptable / _in_dialog look-ups.
        to_tag = request.to.tag
        if to_tag:
            _key = (request.call_id, to_tag, request.from_.tag or "")
            _number = request.cseq.number
        else:
            request.headers.get("Max-Forwards")
            request.headers.values("Require")
            _merge = (request.from_.tag or "", request.call_id, request.headers.get("CSeq"))
            _branch = request.top_via.branch
        return event

    def receive_response(self, data: bytes, now: float) -> Response:
        response = parse_message(data)
        assert isinstance(response, Response)
        events = self.send(self.layer.receive_response(response, now))
        (event,) = events
        assert isinstance(event, ResponseReceived)
        _tag = response.to.tag or ""
        return response

    def respond(self, txn: object, request: Request, status: int, body: bytes, now: float) -> None:
        extra: list[tuple[str, str]] = []
        if status > 100:
            extra.append(("Contact", f"<sip:jono@{JONO}>"))
        if body:
            extra.append(("Content-Type", "application/sdp"))
        response = make_response(request, status, to_tag="jono", headers=extra, body=body)
        if "Server" not in response.headers:
            response.headers.add("Server", "Jono")
        self.send(self.layer.send_response(txn, response, now))  # type: ignore[arg-type]

    def send_request(self, request: Request, now: float) -> object:
        if "User-Agent" not in request.headers:
            request.headers.add("User-Agent", "Jono")
        txn, events = self.layer.send_request(request, CALLEE, False, now)
        self.send(events)
        return txn

    # -- one call -----------------------------------------------------------
    def call(self, i: int, caller: tuple[bytes, bytes, bytes],
             callee: tuple[bytes, bytes, bytes], now: float) -> None:
        invite_in, ack_in, bye_in = caller
        r180, r200, ok_bye = callee
        ids = _ids(i)
        # Caller's INVITE; the leg code reads the dialog fields (Dialog.from_uas).
        inv = self.receive_request(invite_in, now)
        request, ist = inv.request, inv.transaction
        _uas = (request.contacts, request.from_, request.to, request.call_id,
                request.cseq.number, request.headers.values("Record-Route"))
        # Outgoing INVITE (legs.OutgoingLeg._invite).
        h = _callee_headers(ids, ids["branch"], "<sip:service@127.0.0.1:5062>", "1 INVITE")
        h.add("Contact", f"<sip:jono@{JONO}>")
        h.add("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS")
        h.add("Content-Type", "application/sdp")
        out_invite = Request(method="INVITE", uri="sip:service@127.0.0.1:5062", headers=h,
                             body=SDP)
        self.send_request(out_invite, now)
        # 180 from the callee, relayed as 180 to the caller.
        self.receive_response(r180, now)
        self.respond(ist, request, 180, b"", now)
        # 200 from the callee: dialog (Dialog.from_uac), ACK, 200 to the caller.
        ok = self.receive_response(r200, now)
        _uac = (out_invite.call_id, out_invite.from_.tag, ok.to.tag, out_invite.from_,
                ok.to, ok.contacts, out_invite.cseq.number, ok.headers.values("Record-Route"))
        ack = _callee_headers(ids, ids["branch"] + "a", ok.headers.get("To") or "", "1 ACK")
        self.send(self.layer.send_stateless(
            Request(method="ACK", uri="sip:127.0.0.1:5062", headers=ack), CALLEE))
        self.respond(ist, request, 200, SDP, now)
        # Caller's ACK and BYE; Jono answers the BYE and hangs up the callee.
        self.receive_request(ack_in, now)
        bye = self.receive_request(bye_in, now)
        self.respond(bye.transaction, bye.request, 200, b"", now)
        bh = _callee_headers(ids, ids["bye_branch"], ok.headers.get("To") or "", "2 BYE")
        self.send_request(Request(method="BYE", uri="sip:127.0.0.1:5062", headers=bh), now)
        self.receive_response(ok_bye, now)


def run(calls: int, offset: int, b2bua: B2bua, start: float) -> float:
    """Seconds of CPU for ``calls`` calls (messages prepared beforehand)."""
    caller = [caller_messages(offset + i) for i in range(calls)]
    callee = [callee_messages(offset + i) for i in range(calls)]
    layer = b2bua.layer
    t0 = time.process_time()
    for i in range(calls):
        now = start + i * 0.001
        b2bua.call(offset + i, caller[i], callee[i], now)
        b2bua.send(layer.advance(now))
    return time.process_time() - t0


def measure(b2bua: B2bua, calls: int, runs: int, first: int) -> list[float]:
    per_call = []
    for r in range(runs):
        offset = (first + r) * calls
        gc.collect()
        seconds = run(calls, offset, b2bua, offset * 0.001)
        per_call.append(seconds / calls * 1e6)
    return per_call


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    b2bua = B2bua()
    # Warm-up: caches, and a timer heap with live transactions behind it.
    run(args.calls, 0, b2bua, 0.0)
    with_gc = measure(b2bua, args.calls, args.runs, 1)
    gc.disable()
    without_gc = measure(b2bua, args.calls, args.runs, 1 + args.runs)
    gc.enable()
    for label, per_call in (("gc on ", with_gc), ("gc off", without_gc)):
        print(
            f"{label}: {statistics.median(per_call):6.1f} us per call (median of {args.runs} "
            f"runs of {args.calls} calls; min {min(per_call):.1f}, max {max(per_call):.1f})"
        )
    print(f"{len(b2bua.layer)} live transactions, {b2bua.layer.timer_entries} timer entries")


if __name__ == "__main__":
    main()
