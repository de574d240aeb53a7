"""Bencode and the ng control protocol client (against a fake rtpengine on a UDP
socket: cookies, retransmission, error replies)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.rtpengine.bencode import BencodeError, decode, encode
from media.rtpengine.ng import NgClient, NgError, NgTimeout

HOST = "127.0.0.1"


def test_bencode_examples_from_the_rtpengine_readme():
    # README, "The ng Control Protocol": 5323_1 d7:command4:pinge / d6:result4:ponge
    assert encode({"command": "ping"}) == b"d7:command4:pinge"
    assert decode(b"d6:result4:ponge") == {"result": b"pong"}


def test_bencode_integers_lists_and_sorted_keys():
    assert encode({"b": [1, -2, "x"], "a": b"\x00\xff"}) == b"d1:a2:\x00\xff1:bli1ei-2e1:xee"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"i12", "truncated integer"),
        (b"ixe", "bad integer"),
        (b"5:abc", "truncated string"),
        (b"l4:spam", "truncated"),
        (b"di1e1:ae", "key is not a string"),
        (b"4:spamx", "trailing"),
        (b"x", "unexpected byte"),
    ],
)
def test_bencode_rejects_malformed_input_with_the_reason(data, reason):
    with pytest.raises(BencodeError, match=reason):
        decode(data)


def test_bencode_has_no_booleans():
    with pytest.raises(BencodeError, match="booleans"):
        encode({"flag": True})


values = st.recursive(
    st.integers() | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_bencode_round_trips(value):
    assert decode(encode(value)) == value


class FakeRtpengine(asyncio.DatagramProtocol):
    """Answers ng requests; can ignore the first copy of each (a lost datagram)."""

    def __init__(self, drop_first: bool = False, reply: bytes = b"d6:result2:oke") -> None:
        self.drop_first = drop_first
        self.reply = reply
        self.seen: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.seen.append(data)
        cookie, _, _ = data.partition(b" ")
        if self.drop_first and self.seen.count(data) == 1:
            return
        assert self.transport is not None
        self.transport.sendto(cookie + b" " + self.reply, addr)


async def _fake(protocol: FakeRtpengine) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=(HOST, 0))
    return transport, transport.get_extra_info("sockname")[1]


async def test_a_lost_request_is_sent_again_with_the_same_cookie():
    fake = FakeRtpengine(drop_first=True)
    transport, port = await _fake(fake)
    client = await NgClient.connect(HOST, port, timeout=0.05)
    try:
        reply = await client.request("query", {"call-id": "abc"})
        assert reply == {"result": b"ok"}
        assert len(fake.seen) == 2 and fake.seen[0] == fake.seen[1]
        cookie, _, body = fake.seen[0].partition(b" ")
        assert decode(body) == {"call-id": b"abc", "command": b"query"}
        assert client.retransmissions == 1
    finally:
        client.close()
        transport.close()


async def test_an_error_reply_raises_with_rtpengines_reason():
    fake = FakeRtpengine(reply=encode({"result": "error", "error-reason": "Unknown call-id"}))
    transport, port = await _fake(fake)
    client = await NgClient.connect(HOST, port)
    try:
        with pytest.raises(NgError, match="rtpengine delete: Unknown call-id"):
            await client.request("delete", {"call-id": "x"})
    finally:
        client.close()
        transport.close()


async def test_silence_gives_a_timeout_after_every_attempt():
    fake = FakeRtpengine()
    fake.datagram_received = lambda data, addr: fake.seen.append(data)  # type: ignore[method-assign]
    transport, port = await _fake(fake)
    client = await NgClient.connect(HOST, port, timeout=0.02, attempts=3)
    try:
        with pytest.raises(NgTimeout, match="no reply in 3 attempts"):
            await client.ping()
        assert len(fake.seen) == 3
    finally:
        client.close()
        transport.close()
