"""One continuous outgoing stream per leg, whatever feeds it (RFC 3550 5.1)."""

from media.bridge import StreamRewriter
from media.rtp import seq_diff, ts_diff


def steps(packets):
    pairs = zip(packets, packets[1:], strict=False)
    return {(seq_diff(b[0], a[0]), ts_diff(b[1], a[1])) for a, b in pairs}


def test_timestamps_continue_across_prompt_a_prompt_b_and_bridged_audio():
    out = StreamRewriter(ssrc=1, seq=65530, ts=0xFFFFFF00)
    sent = [out.next_local(160) for _ in range(5)]  # prompt A
    sent += [out.next_local(160) for _ in range(5)]  # prompt B
    # Bridged audio from a phone with its own, unrelated numbering.
    sent += [out.relay(("peer", 0xAB), 1000 + i, 480000 + 160 * i, 160) for i in range(5)]
    assert steps([(s, t) for s, t, _ in sent]) == {(1, 160)}
    markers = [m for _, _, m in sent]
    assert markers == [True] + [False] * 9 + [True] + [False] * 4


def test_source_switch_back_to_a_prompt_after_relay_continues():
    out = StreamRewriter(ssrc=1, seq=0, ts=0)
    sent = [out.relay(("peer", 1), 500 + i, 9000 + 160 * i, 160) for i in range(3)]
    sent += [out.next_local(160) for _ in range(3)]
    sent += [out.relay(("peer", 2), 7 + i, 123 + 160 * i, 160) for i in range(3)]  # new SSRC
    assert [(s, t) for s, t, _ in sent] == [(i, 160 * i) for i in range(9)]


def test_relay_preserves_the_sources_own_gaps_and_reordering():
    out = StreamRewriter(ssrc=1, seq=100, ts=1000)
    a = out.relay("src", 10, 0, 160)
    lost_one = out.relay("src", 12, 320, 160)  # 11 was lost
    late = out.relay("src", 11, 160, 160)  # arrives late
    assert [(a[0], a[1]), lost_one[:2], late[:2]] == [(100, 1000), (102, 1320), (101, 1160)]
    assert (out.seq, out.ts) == (103, 1480)


def test_relay_handles_sequence_wrap_of_the_source():
    out = StreamRewriter(ssrc=1, seq=10, ts=0)
    got = [out.relay("src", s & 0xFFFF, 160 * i, 160)[0] for i, s in enumerate(range(65534, 65538))]
    assert got == [10, 11, 12, 13]
