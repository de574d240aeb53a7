#!/usr/bin/env python3
"""The call-leg layer's own cost: INVITE -> IncomingCall.answer -> ACK -> BYE,
in process (the UA's sockets are bound but nothing answers), N calls.

Runs against whatever ``sip`` is first on the path, so two trees can be
compared in one sitting (here: the 2xx retransmitter as a loop timer per
call before issue 9, as data in the UA's timer queue after):

    PYTHONPATH=/tmp/before .venv/bin/python scripts/bench/sip_legs.py
    .venv/bin/python scripts/bench/sip_legs.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path

from sip.legs import IncomingCall
from sip.message import Request
from sip.parser import parse_message
from sip.transport import Target
from sip.ua import UserAgent

SOURCE = Target("udp", "127.0.0.1", 5999)
SDP = b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


class Answer:
    last: IncomingCall | None = None

    def on_request(self, ua: UserAgent, request: Request, txn: object, source: Target) -> None:
        call = IncomingCall(ua, request, txn, source)
        call.answer(SDP)
        Answer.last = call


def invite(i: int) -> bytes:
    return (
        f"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{i:012d};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f{i}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c{i}\r\n"
        f"CSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:5999>\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n\r\n"
    ).encode() + SDP


def ack(i: int, tag: str) -> bytes:
    return (
        f"ACK sip:a@127.0.0.1:5999 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKa{i:012d}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=f{i}\r\nTo: <sip:x@127.0.0.1>;tag={tag}\r\n"
        f"Call-ID: c{i}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def one_run(calls: int) -> float:
    ua = UserAgent(Answer(), public_host="127.0.0.1")
    await ua.start("127.0.0.1", 0)
    invites = [parse_message(invite(i)) for i in range(calls)]
    gc.disable()
    started = time.perf_counter()
    for i, message in enumerate(invites):
        ua._on_message(message, SOURCE)
        call = Answer.last
        assert call is not None
        ua._on_message(parse_message(ack(i, call.local_tag)), SOURCE)
        call.hangup()
        if i % 500 == 0:
            await asyncio.sleep(0)  # let due timers run, as a busy server would
    elapsed = time.perf_counter() - started
    gc.enable()
    ua.close()
    return elapsed / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import sip

    results = [asyncio.run(one_run(args.calls)) for _ in range(args.runs)]
    print(f"sip from {Path(sip.__file__).parent}: median {statistics.median(results):.1f} us "
          f"per call (runs: {', '.join(f'{r:.1f}' for r in results)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
