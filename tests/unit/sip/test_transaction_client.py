"""INVITE and non-INVITE client transactions (RFC 3261 §17.1, RFC 6026 §7.2).

Every step asserts the whole effect list and the state after it.
"""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError
from sip.message import Headers, Request, Response, make_response
from sip.timers import TimerConfig
from sip.transaction import (
    CancelTimer,
    Deliver,
    InviteClientTransaction,
    NonInviteClientTransaction,
    Send,
    StartTimer,
    State,
    Terminated,
    TimedOut,
    Transaction,
    TransportFailed,
)

PEER = ("192.0.2.7", 5060)


def state_of(txn: Transaction) -> State:
    return txn.state  # a call, so mypy does not keep the narrowed state


def request(method: str = "INVITE", *, branch: str = "z9hG4bKc1", route: bool = False) -> Request:
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP 10.0.0.1:5060;branch={branch}"),
            ("Via", "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKbelow"),
            ("Max-Forwards", "70"),
            ("From", "<sip:alice@example.com>;tag=a1"),
            ("To", "<sip:bob@example.com>"),
            ("Call-ID", "call-1@10.0.0.1"),
            ("CSeq", f"7 {method}"),
            ("Contact", "<sip:alice@10.0.0.1>"),
        ]
    )
    if route:
        headers.add("Route", "<sip:proxy1.example.com;lr>")
        headers.add("Route", "<sip:proxy2.example.com;lr>")
    return Request(method=method, uri="sip:bob@example.com", headers=headers)


def response(req: Request, status: int, tag: str = "b1") -> Response:
    return make_response(req, status, to_tag=tag if status > 100 else None)


def ict(reliable: bool = False, route: bool = False) -> InviteClientTransaction:
    return InviteClientTransaction(request(route=route), PEER, reliable=reliable)


def nict(reliable: bool = False) -> NonInviteClientTransaction:
    return NonInviteClientTransaction(request("BYE"), PEER, reliable=reliable)


# -- RFC 3261 §17.1.1.2: INVITE client transaction, formal description --------


class TestInviteClientTransaction:
    def test_invite_is_sent_and_timers_a_and_b_start_over_udp(self) -> None:
        t = ict()
        assert t.start(0.0) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="A", deadline=0.5),
            StartTimer(name="B", deadline=32.0),
        ]
        assert state_of(t) is State.CALLING

    def test_timer_a_retransmits_and_doubles_without_cap_until_timer_b(self) -> None:
        t = ict()
        t.start(0.0)
        fired = []
        deadline = 0.5
        while deadline < 32.0:
            effects = t.timer_fired("A", deadline)
            next_deadline = deadline + (deadline + 0.5)  # interval doubles: 0.5, 1, 2, 4 ...
            assert effects == [
                Send(message=t.request, target=PEER),
                StartTimer(name="A", deadline=next_deadline),
            ]
            fired.append(deadline)
            deadline = next_deadline
        assert fired == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
        # "If the client transaction is still in the "Calling" state when
        # timer B fires, the client transaction SHOULD inform the TU"
        assert t.timer_fired("B", 32.0) == [TimedOut(), Terminated()]
        assert state_of(t) is State.TERMINATED
        assert t.timer_fired("A", 63.5) == []

    def test_provisional_in_calling_stops_retransmission_and_reaches_tu(self) -> None:
        t = ict()
        t.start(0.0)
        ringing = response(t.request, 180)
        assert t.receive_response(ringing, 0.2) == [
            CancelTimer(name="A"),
            CancelTimer(name="B"),
            Deliver(message=ringing),
        ]
        assert state_of(t) is State.PROCEEDING
        assert t.timer_fired("A", 0.5) == []
        again = response(t.request, 183)
        assert t.receive_response(again, 0.3) == [Deliver(message=again)]

    def test_full_udp_exchange_180_then_486_then_retransmitted_486(self) -> None:
        t = ict()
        assert len(t.start(0.0)) == 3
        assert t.timer_fired("A", 0.5) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="A", deadline=1.5),
        ]
        assert t.timer_fired("A", 1.5) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="A", deadline=3.5),
        ]
        ringing = response(t.request, 180)
        assert t.receive_response(ringing, 2.0) == [
            CancelTimer(name="A"),
            CancelTimer(name="B"),
            Deliver(message=ringing),
        ]
        busy = response(t.request, 486)
        effects = t.receive_response(busy, 3.0)
        ack = t.ack
        assert ack is not None
        assert effects == [
            Send(message=ack, target=PEER),
            Deliver(message=busy),
            StartTimer(name="D", deadline=35.0),
        ]
        assert state_of(t) is State.COMPLETED
        # "Any retransmissions of the final response that are received while
        # in the "Completed" state MUST cause the ACK to be re-passed to the
        # transport layer for retransmission, but the newly received
        # response MUST NOT be passed up to the TU."
        assert t.receive_response(response(t.request, 486), 4.0) == [Send(message=ack, target=PEER)]
        fork_ok = response(t.request, 200, tag="fork2")
        assert t.receive_response(fork_ok, 4.5) == [Deliver(message=fork_ok)]
        assert t.timer_fired("A", 3.5) == []  # stale: cancelled at the 180
        # "If timer D fires while the client transaction is in the
        # "Completed" state, the client transaction MUST move to the
        # terminated state."
        assert t.timer_fired("D", 35.0) == [Terminated()]
        assert state_of(t) is State.TERMINATED
        assert t.receive_response(response(t.request, 486), 36.0) == []

    def test_failure_in_calling_stops_timers_acks_and_starts_d(self) -> None:
        t = ict()
        t.start(0.0)
        busy = response(t.request, 603)
        effects = t.receive_response(busy, 0.1)
        assert t.ack is not None
        assert effects == [
            CancelTimer(name="A"),
            CancelTimer(name="B"),
            Send(message=t.ack, target=PEER),
            Deliver(message=busy),
            StartTimer(name="D", deadline=32.1),
        ]

    def test_timer_d_is_zero_over_reliable_transport(self) -> None:
        t = ict(reliable=True)
        assert t.start(0.0) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="B", deadline=32.0),
        ]
        busy = response(t.request, 486)
        effects = t.receive_response(busy, 1.0)
        assert t.ack is not None
        assert effects == [
            CancelTimer(name="B"),
            Send(message=t.ack, target=PEER),
            Deliver(message=busy),
            Terminated(),
        ]
        assert state_of(t) is State.TERMINATED

    def test_reliable_transport_never_retransmits(self) -> None:
        t = ict(reliable=True)
        t.start(0.0)
        assert t.timer_fired("A", 0.5) == []
        assert t.timer_fired("B", 32.0) == [TimedOut(), Terminated()]

    def test_timer_values_follow_the_configured_t1(self) -> None:
        t = InviteClientTransaction(
            request(), PEER, reliable=False, config=TimerConfig(t1=0.1, t2=1.0, t4=2.0)
        )
        assert t.start(10.0)[1:] == [
            StartTimer(name="A", deadline=10.1),
            StartTimer(name="B", deadline=10.0 + 6.4),
        ]


# -- RFC 3261 Appendix A: Table of Timer Values -------------------------------------


class TestTimerValues:
    def test_defaults_are_t1_500ms_t2_4s_t4_5s(self) -> None:
        c = TimerConfig()
        assert (c.t1, c.t2, c.t4) == (0.5, 4.0, 5.0)
        assert [c.timer_b(), c.timer_f(), c.timer_h(), c.timer_l(), c.timer_m()] == [32.0] * 5
        assert (c.timer_a(), c.timer_e(), c.timer_g()) == (0.5, 0.5, 0.5)

    def test_timers_d_i_j_k_are_zero_for_reliable_transports(self) -> None:
        c = TimerConfig()
        assert (c.timer_d(False), c.timer_i(False), c.timer_j(False), c.timer_k(False)) == (
            32.0,
            5.0,
            32.0,
            5.0,
        )
        assert (c.timer_d(True), c.timer_i(True), c.timer_j(True), c.timer_k(True)) == (0, 0, 0, 0)

    def test_timer_d_is_at_least_32_seconds(self) -> None:
        assert TimerConfig(t1=0.1).timer_d(False) == 32.0
        assert TimerConfig(t1=1.0).timer_d(False) == 64.0

    def test_nonsense_values_are_rejected(self) -> None:
        with pytest.raises(ValueError):
            TimerConfig(t1=0)
        with pytest.raises(ValueError):
            TimerConfig(t1=2.0, t2=1.0)


# -- RFC 3261 §17.1.1.3: Construction of the ACK request -----------------------


class TestAckConstruction:
    def test_ack_copies_uri_call_id_from_cseq_number_top_via_route_and_response_to(self) -> None:
        t = ict(route=True)
        t.start(0.0)
        busy = response(t.request, 486, tag="xyz")
        t.receive_response(busy, 0.1)
        ack = t.ack
        assert ack is not None
        assert ack.method == "ACK"
        assert ack.uri == "sip:bob@example.com"
        assert ack.headers.get_all("Via") == ["SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKc1"]
        assert ack.call_id == "call-1@10.0.0.1"
        assert ack.headers.get("From") == "<sip:alice@example.com>;tag=a1"
        assert ack.headers.get("To") == "<sip:bob@example.com>;tag=xyz"
        assert ack.headers.get("CSeq") == "7 ACK"
        assert ack.headers.get_all("Route") == [
            "<sip:proxy1.example.com;lr>",
            "<sip:proxy2.example.com;lr>",
        ]
        assert "Contact" not in ack.headers
        assert ack.body == b""

    def test_the_same_ack_is_resent_for_every_retransmitted_final_response(self) -> None:
        t = ict()
        t.start(0.0)
        t.receive_response(response(t.request, 500), 0.1)
        first = t.ack
        t.receive_response(response(t.request, 500), 0.6)
        assert t.ack is first


# -- RFC 6026 §8.4: the ICT "Accepted" state -----------------------------------


class TestInviteClientAccepted:
    def test_2xx_moves_to_accepted_and_starts_timer_m(self) -> None:
        t = ict()
        t.start(0.0)
        ok = response(t.request, 200)
        assert t.receive_response(ok, 1.0) == [
            CancelTimer(name="A"),
            CancelTimer(name="B"),
            Deliver(message=ok),
            StartTimer(name="M", deadline=33.0),
        ]
        assert state_of(t) is State.ACCEPTED
        assert t.ack is None  # the TU ACKs a 2xx itself

    def test_every_2xx_in_accepted_including_other_forks_reaches_the_tu(self) -> None:
        t = ict()
        t.start(0.0)
        t.receive_response(response(t.request, 180), 0.5)
        ok = response(t.request, 200)
        assert t.receive_response(ok, 1.0) == [
            Deliver(message=ok),
            StartTimer(name="M", deadline=33.0),
        ]
        again = response(t.request, 200)
        fork = response(t.request, 200, tag="other-fork")
        assert t.receive_response(again, 1.5) == [Deliver(message=again)]
        assert t.receive_response(fork, 1.6) == [Deliver(message=fork)]
        assert t.receive_response(response(t.request, 486, tag="f3"), 1.7) == []
        assert t.receive_response(response(t.request, 180, tag="f4"), 1.8) == []
        assert t.timer_fired("M", 33.0) == [Terminated()]
        assert t.receive_response(response(t.request, 200), 34.0) == []


# -- RFC 3261 §17.1.4: Handling transport errors --------------------------------


class TestClientTransportErrors:
    @pytest.mark.parametrize("kind", ["ict", "nict"])
    def test_transport_failure_informs_tu_and_terminates(self, kind: str) -> None:
        t = ict() if kind == "ict" else nict()
        t.start(0.0)
        assert t.transport_error(0.1) == [TransportFailed(), Terminated()]
        assert state_of(t) is State.TERMINATED
        assert t.transport_error(0.2) == []

    def test_transport_failure_in_proceeding_or_completed_terminates(self) -> None:
        for kind, status in (("ict", None), ("ict", 486), ("nict", None)):
            t = ict() if kind == "ict" else nict()
            t.start(0.0)
            t.receive_response(response(t.request, 100), 0.1)
            if status is not None:
                t.receive_response(response(t.request, status), 0.2)
            assert t.transport_error(0.3) == [TransportFailed(), Terminated()]

    def test_tu_may_abandon_a_proceeding_invite(self) -> None:
        t = ict()
        t.start(0.0)
        t.receive_response(response(t.request, 180), 0.1)
        assert t.terminate(40.0) == [Terminated()]
        assert t.terminate(41.0) == []


# -- RFC 3261 §17.1.2.2: non-INVITE client transaction, formal description -----


class TestNonInviteClientTransaction:
    def test_request_is_sent_and_timers_e_and_f_start_over_udp(self) -> None:
        t = nict()
        assert t.start(0.0) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="E", deadline=0.5),
            StartTimer(name="F", deadline=32.0),
        ]
        assert state_of(t) is State.TRYING

    def test_timer_e_doubles_up_to_t2_in_trying(self) -> None:
        t = nict()
        t.start(0.0)
        deadlines = [0.5]
        for _ in range(6):
            now = deadlines[-1]
            effects = t.timer_fired("E", now)
            assert effects[0] == Send(message=t.request, target=PEER)
            assert isinstance(effects[1], StartTimer)
            deadlines.append(effects[1].deadline)
        assert deadlines == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5]

    def test_timer_e_is_reset_to_t2_in_proceeding(self) -> None:
        t = nict()
        t.start(0.0)
        trying = response(t.request, 100)
        assert t.receive_response(trying, 0.1) == [Deliver(message=trying)]
        assert state_of(t) is State.PROCEEDING
        assert t.timer_fired("E", 0.5) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="E", deadline=4.5),
        ]
        assert t.timer_fired("E", 4.5) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="E", deadline=8.5),
        ]

    def test_final_response_reaches_tu_once_and_timer_k_absorbs_retransmissions(self) -> None:
        t = nict()
        t.start(0.0)
        ok = response(t.request, 200)
        assert t.receive_response(ok, 1.0) == [
            CancelTimer(name="E"),
            CancelTimer(name="F"),
            Deliver(message=ok),
            StartTimer(name="K", deadline=6.0),
        ]
        assert state_of(t) is State.COMPLETED
        assert t.receive_response(response(t.request, 200), 1.1) == []
        assert t.receive_response(response(t.request, 100), 1.2) == []
        assert t.timer_fired("E", 1.5) == []
        assert t.timer_fired("K", 6.0) == [Terminated()]

    def test_final_response_in_proceeding_moves_to_completed(self) -> None:
        for status in (202, 481):
            t = nict()
            t.start(0.0)
            t.receive_response(response(t.request, 100), 0.1)
            final = response(t.request, status)
            assert t.receive_response(final, 0.2) == [
                CancelTimer(name="E"),
                CancelTimer(name="F"),
                Deliver(message=final),
                StartTimer(name="K", deadline=5.2),
            ]
            assert state_of(t) is State.COMPLETED

    def test_timer_f_times_out_in_trying_and_in_proceeding(self) -> None:
        for provisional in (False, True):
            t = nict()
            t.start(0.0)
            if provisional:
                t.receive_response(response(t.request, 100), 0.1)
            assert t.timer_fired("F", 32.0) == [TimedOut(), Terminated()]
            assert state_of(t) is State.TERMINATED

    def test_timer_k_is_zero_over_reliable_transport(self) -> None:
        t = nict(reliable=True)
        assert t.start(0.0) == [
            Send(message=t.request, target=PEER),
            StartTimer(name="F", deadline=32.0),
        ]
        bad = response(t.request, 404)
        assert t.receive_response(bad, 0.2) == [
            CancelTimer(name="F"),
            Deliver(message=bad),
            Terminated(),
        ]

    def test_early_or_unknown_timer_firings_are_ignored(self) -> None:
        t = nict()
        t.start(0.0)
        assert t.timer_fired("E", 0.4) == []
        assert t.timer_fired("B", 40.0) == []
        assert state_of(t) is State.TRYING

    def test_status_outside_100_to_699_is_rejected(self) -> None:
        t = nict()
        t.start(0.0)
        with pytest.raises(LocalProtocolError):
            t.receive_response(Response(status=99, reason="x", headers=t.request.headers), 0.1)
