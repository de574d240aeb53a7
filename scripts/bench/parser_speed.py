"""Microseconds per parse/encode of a typical INVITE and 200 OK (sip.parser).

"parse" re-parses one message, so its Via/From/To/Contact lines hit the
parser's cache of lines already checked, as the messages of one transaction
or dialog do; "cold" clears that cache first (every line new).

Run: .venv/bin/python scripts/bench/parser_speed.py
"""

from __future__ import annotations

import timeit
from pathlib import Path

from sip import parser
from sip.parser import StreamParser, parse_message

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sip" / "valid"


def _per_call_us(func: object, number: int) -> float:
    timer = timeit.Timer(func)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    for name in ("invite_sdp_deskphone", "resp_200_ok_sdp", "register_softphone"):
        data = (FIXTURES / f"{name}.sip").read_bytes()
        message = parse_message(data)

        def stream_one(data: bytes = data) -> None:
            parser = StreamParser()
            parser.feed(data)
            parser.next_message()

        def parse_cold(data: bytes = data) -> None:
            parser._CHECKED.clear()  # as if every Via/From/To/Contact were new
            parse_message(data)

        parse_us = _per_call_us(lambda data=data: parse_message(data), 20000)
        cold_us = _per_call_us(parse_cold, 20000)
        encode_us = _per_call_us(message.encode, 20000)
        stream_us = _per_call_us(stream_one, 20000)
        print(
            f"{name:24s} {len(data):5d} B  parse {parse_us:5.1f} us (cold {cold_us:5.1f})  "
            f"stream {stream_us:6.1f} us  encode {encode_us:6.1f} us"
        )


if __name__ == "__main__":
    main()
