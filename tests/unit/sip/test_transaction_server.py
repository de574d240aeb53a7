"""INVITE and non-INVITE server transactions (RFC 3261 §17.2, RFC 6026 §7.1).

Every step asserts the whole effect list and the state after it.
"""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError
from sip.message import Headers, Request, Response, make_response
from sip.transaction import (
    CancelTimer,
    Deliver,
    InviteServerTransaction,
    NonInviteServerTransaction,
    Send,
    StartTimer,
    State,
    Terminated,
    TimedOut,
    Transaction,
    TransportFailed,
)

SOURCE = ("198.51.100.4", 40000)


def state_of(txn: Transaction) -> State:
    return txn.state  # a call, so mypy does not keep the narrowed state


def request(method: str = "INVITE", *, timestamp: str | None = None) -> Request:
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 198.51.100.4:5060;branch=z9hG4bKs1;rport"),
            ("Max-Forwards", "70"),
            ("From", "<sip:carol@example.org>;tag=c1"),
            ("To", "<sip:queue@pbx.example.com>"),
            ("Call-ID", "srv-call-1"),
            ("CSeq", f"1 {method}"),
        ]
    )
    if timestamp is not None:
        headers.add("Timestamp", timestamp)
    return Request(method=method, uri="sip:queue@pbx.example.com", headers=headers)


def ack_for(req: Request) -> Request:
    headers = Headers([(n, v) for n, v in req.headers if n != "CSeq"])
    headers.set("To", "<sip:queue@pbx.example.com>;tag=t1")
    headers.add("CSeq", "1 ACK")
    return Request(method="ACK", uri=req.uri, headers=headers)


def answer(req: Request, status: int) -> Response:
    return make_response(req, status, to_tag="t1")


def ist(reliable: bool = False, timestamp: str | None = None) -> InviteServerTransaction:
    return InviteServerTransaction(request(timestamp=timestamp), SOURCE, reliable=reliable)


def nist(reliable: bool = False) -> NonInviteServerTransaction:
    return NonInviteServerTransaction(request("OPTIONS"), SOURCE, reliable=reliable)


def sent(effect: object) -> Response:
    assert isinstance(effect, Send)
    assert effect.target == SOURCE
    assert isinstance(effect.message, Response)
    return effect.message


# -- RFC 3261 §17.2.1: INVITE server transaction ------------------------------


class TestInviteServerTransaction:
    def test_server_transaction_must_generate_100_trying_and_pass_invite_to_tu(self) -> None:
        t = ist(timestamp="54")
        effects = t.start(0.0)
        assert len(effects) == 2
        trying = sent(effects[0])
        assert (trying.status, trying.reason) == (100, "Trying")
        # RFC 3261 §8.2.6.1: the Timestamp is copied into the 100 (Trying).
        assert trying.headers.get("Timestamp") == "54"
        assert trying.headers.get("To") == "<sip:queue@pbx.example.com>"
        assert effects[1] == Deliver(message=t.request)
        assert state_of(t) is State.PROCEEDING
        assert t.last_response is trying

    def test_request_retransmission_in_proceeding_resends_latest_provisional(self) -> None:
        t = ist()
        trying = sent(t.start(0.0)[0])
        assert t.receive_request(request(), 0.5) == [Send(message=trying, target=SOURCE)]
        ringing = answer(t.request, 180)
        assert t.send_response(ringing, 0.6) == [Send(message=ringing, target=SOURCE)]
        assert t.receive_request(request(), 1.0) == [Send(message=ringing, target=SOURCE)]
        assert state_of(t) is State.PROCEEDING

    def test_failure_from_tu_starts_g_and_h_and_g_retransmits_up_to_t2(self) -> None:
        t = ist()
        t.start(0.0)
        busy = answer(t.request, 486)
        assert t.send_response(busy, 1.0) == [
            Send(message=busy, target=SOURCE),
            StartTimer(name="G", deadline=1.5),
            StartTimer(name="H", deadline=33.0),
        ]
        assert state_of(t) is State.COMPLETED
        resend = Send(message=busy, target=SOURCE)
        assert t.timer_fired("G", 1.5) == [resend, StartTimer(name="G", deadline=2.5)]
        assert t.timer_fired("G", 2.5) == [resend, StartTimer(name="G", deadline=4.5)]
        assert t.timer_fired("G", 4.5) == [resend, StartTimer(name="G", deadline=8.5)]
        assert t.timer_fired("G", 8.5) == [resend, StartTimer(name="G", deadline=12.5)]
        assert t.timer_fired("G", 12.5) == [resend, StartTimer(name="G", deadline=16.5)]
        # "while in the "Completed" state, if a request retransmission is
        # received, the server SHOULD pass the response to the transport"
        assert t.receive_request(request(), 13.0) == [resend]

    def test_ack_in_completed_confirms_stops_g_and_h_and_is_absorbed(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 486), 1.0)
        assert t.receive_request(ack_for(t.request), 1.2) == [
            CancelTimer(name="G"),
            CancelTimer(name="H"),
            StartTimer(name="I", deadline=6.2),
        ]
        assert state_of(t) is State.CONFIRMED
        # Confirmed absorbs further ACKs and INVITEs.
        assert t.receive_request(ack_for(t.request), 1.3) == []
        assert t.receive_request(request(), 1.4) == []
        assert t.timer_fired("G", 1.5) == []
        # "Once timer I fires, the server MUST transition to the "Terminated" state."
        assert t.timer_fired("I", 6.2) == [Terminated()]
        assert state_of(t) is State.TERMINATED

    def test_timer_h_without_ack_indicates_transaction_failure(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 404), 0.0)
        assert t.timer_fired("H", 32.0) == [TimedOut(), Terminated()]
        assert state_of(t) is State.TERMINATED

    def test_reliable_transport_sends_no_g_and_timer_i_is_zero(self) -> None:
        t = ist(reliable=True)
        t.start(0.0)
        busy = answer(t.request, 486)
        assert t.send_response(busy, 1.0) == [
            Send(message=busy, target=SOURCE),
            StartTimer(name="H", deadline=33.0),
        ]
        assert t.receive_request(ack_for(t.request), 1.1) == [CancelTimer(name="H"), Terminated()]
        assert state_of(t) is State.TERMINATED

    def test_transport_failure_in_proceeding_or_completed_informs_tu_and_terminates(
        self,
    ) -> None:
        for final in (None, 500):
            t = ist()
            t.start(0.0)
            if final is not None:
                t.send_response(answer(t.request, final), 0.1)
            assert t.transport_error(0.2) == [TransportFailed(), Terminated()]
            assert state_of(t) is State.TERMINATED

    def test_provisional_after_final_is_a_local_protocol_error(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 486), 0.1)
        with pytest.raises(LocalProtocolError):
            t.send_response(answer(t.request, 180), 0.2)
        with pytest.raises(LocalProtocolError):
            t.send_response(answer(t.request, 200), 0.2)
        assert state_of(t) is State.COMPLETED
        assert set(t.armed) == {"G", "H"}

    def test_status_code_outside_range_is_a_local_protocol_error(self) -> None:
        t = ist()
        t.start(0.0)
        with pytest.raises(LocalProtocolError):
            t.send_response(answer(t.request, 700), 0.1)


# -- RFC 6026 §8.5-§8.7: the IST "Accepted" state --------------------------------


class TestInviteServerAccepted:
    def test_2xx_from_tu_is_sent_and_moves_to_accepted_with_timer_l(self) -> None:
        t = ist()
        t.start(0.0)
        ok = answer(t.request, 200)
        assert t.send_response(ok, 2.0) == [
            Send(message=ok, target=SOURCE),
            StartTimer(name="L", deadline=34.0),
        ]
        assert state_of(t) is State.ACCEPTED

    def test_invite_retransmissions_in_accepted_are_absorbed(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 200), 2.0)
        assert t.receive_request(request(), 2.5) == []
        assert state_of(t) is State.ACCEPTED

    def test_2xx_retransmissions_from_tu_are_passed_to_transport(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 200), 2.0)
        again = answer(t.request, 200)
        assert t.send_response(again, 2.5) == [Send(message=again, target=SOURCE)]
        with pytest.raises(LocalProtocolError):
            t.send_response(answer(t.request, 486), 2.6)

    def test_acks_in_accepted_are_passed_to_the_tu(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 200), 2.0)
        ack = ack_for(t.request)
        assert t.receive_request(ack, 2.1) == [Deliver(message=ack)]
        assert t.timer_fired("L", 34.0) == [Terminated()]
        assert t.receive_request(request(), 35.0) == []

    def test_transport_error_in_accepted_informs_tu_and_keeps_absorbing(self) -> None:
        t = ist()
        t.start(0.0)
        t.send_response(answer(t.request, 200), 2.0)
        assert t.transport_error(2.1) == [TransportFailed()]
        assert state_of(t) is State.ACCEPTED


# -- RFC 3261 §17.2.2: non-INVITE server transaction ----------------------------


class TestNonInviteServerTransaction:
    def test_request_is_passed_to_tu_and_retransmissions_in_trying_are_discarded(self) -> None:
        t = nist()
        assert t.start(0.0) == [Deliver(message=t.request)]
        assert state_of(t) is State.TRYING
        assert t.receive_request(request("OPTIONS"), 0.5) == []

    def test_provisional_moves_to_proceeding_and_is_resent_on_retransmission(self) -> None:
        t = nist()
        t.start(0.0)
        trying = answer(t.request, 100)
        assert t.send_response(trying, 0.1) == [Send(message=trying, target=SOURCE)]
        assert state_of(t) is State.PROCEEDING
        assert t.receive_request(request("OPTIONS"), 0.5) == [Send(message=trying, target=SOURCE)]

    def test_final_response_in_proceeding_moves_to_completed(self) -> None:
        for status in (200, 603):
            t = nist()
            t.start(0.0)
            t.send_response(answer(t.request, 100), 0.1)
            final = answer(t.request, status)
            assert t.send_response(final, 0.2) == [
                Send(message=final, target=SOURCE),
                StartTimer(name="J", deadline=32.2),
            ]
            assert state_of(t) is State.COMPLETED
            assert t.send_response(answer(t.request, 200), 0.3) == []

    def test_final_response_starts_j_and_answers_retransmissions(self) -> None:
        t = nist()
        t.start(0.0)
        ok = answer(t.request, 200)
        assert t.send_response(ok, 1.0) == [
            Send(message=ok, target=SOURCE),
            StartTimer(name="J", deadline=33.0),
        ]
        assert state_of(t) is State.COMPLETED
        assert t.receive_request(request("OPTIONS"), 2.0) == [Send(message=ok, target=SOURCE)]
        # "Any other final responses passed by the TU to the server
        # transaction MUST be discarded while in the "Completed" state."
        assert t.send_response(answer(t.request, 500), 3.0) == []
        assert t.receive_request(request("OPTIONS"), 4.0) == [Send(message=ok, target=SOURCE)]
        assert t.timer_fired("J", 33.0) == [Terminated()]
        assert state_of(t) is State.TERMINATED

    def test_timer_j_is_zero_over_reliable_transport(self) -> None:
        t = nist(reliable=True)
        t.start(0.0)
        ok = answer(t.request, 200)
        assert t.send_response(ok, 1.0) == [Send(message=ok, target=SOURCE), Terminated()]

    def test_transport_error_informs_tu_and_terminates(self) -> None:
        t = nist()
        t.start(0.0)
        assert t.transport_error(0.05) == []  # nothing was sent yet in Trying
        t.send_response(answer(t.request, 100), 0.06)
        assert t.transport_error(0.07) == [TransportFailed(), Terminated()]
        t = nist()
        t.start(0.0)
        t.send_response(answer(t.request, 200), 0.1)
        assert t.transport_error(0.2) == [TransportFailed(), Terminated()]
        with pytest.raises(LocalProtocolError):
            t.send_response(answer(t.request, 200), 0.3)
