"""The transaction layer: matching (RFC 3261 §17.1.3, §17.2.3, §9.2) and timers."""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError, SipParseError
from sip.message import Headers, Request, Response, make_response
from sip.transaction import (
    InviteServerTransaction,
    LayerEvent,
    NonInviteServerTransaction,
    RequestReceived,
    ResponseReceived,
    SendMessage,
    ServerTransaction,
    State,
    StrayResponse,
    Transaction,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    TransportError,
    make_branch,
)

PHONE = ("203.0.113.5", 5060)
PBX = ("192.0.2.1", 5060)


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bKl1",
    host: str = "203.0.113.5",
    cseq: int = 1,
    call_id: str = "layer-1",
    to_tag: str | None = None,
    uri: str = "sip:sales@pbx.example.com",
) -> Request:
    via = f"SIP/2.0/UDP {host}:5060" + (f";branch={branch}" if branch is not None else "")
    to = "<sip:sales@pbx.example.com>" + (f";tag={to_tag}" if to_tag else "")
    headers = Headers(
        [
            ("Via", via),
            ("Max-Forwards", "70"),
            ("From", "<sip:dave@example.net>;tag=d1"),
            ("To", to),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
    )
    return Request(method=method, uri=uri, headers=headers)


def reply(req: Request, status: int, tag: str = "p1") -> Response:
    return make_response(req, status, to_tag=tag if status > 100 else None)


def server_txn(events: list[LayerEvent]) -> ServerTransaction:
    """The transaction of the (single) RequestReceived among ``events``."""
    [received] = only(events, RequestReceived)
    assert isinstance(received, RequestReceived) and received.transaction is not None
    return received.transaction


def state_of(txn: Transaction) -> State:
    return txn.state  # a call, so mypy does not keep the narrowed state


def only(events: list[LayerEvent], kind: type) -> list[LayerEvent]:
    return [e for e in events if isinstance(e, kind)]


# -- RFC 3261 §17.1.3: Matching responses to client transactions ------------------


class TestClientMatching:
    def test_full_udp_invite_over_layer_with_timers(self) -> None:
        layer = TransactionLayer()
        inv = request()
        txn, events = layer.send_request(inv, PBX, False, 0.0)
        assert events == [SendMessage(message=inv, target=PBX)]
        assert layer.next_deadline() == 0.5
        assert layer.advance(0.4) == []
        assert layer.advance(0.5) == [SendMessage(message=inv, target=PBX)]
        ringing = reply(inv, 180)
        assert layer.receive_response(ringing, 0.7) == [
            ResponseReceived(response=ringing, transaction=txn)
        ]
        assert layer.next_deadline() is None  # A and B stopped
        busy = reply(inv, 486)
        events = layer.receive_response(busy, 1.0)
        assert len(events) == 2
        assert isinstance(events[0], SendMessage) and events[0].message.method == "ACK"  # type: ignore[union-attr]
        assert events[1] == ResponseReceived(response=busy, transaction=txn)
        assert layer.next_deadline() == 33.0
        assert layer.advance(33.0) == [TransactionTerminated(transaction=txn)]
        assert len(layer) == 0
        late = reply(inv, 486)
        assert layer.receive_response(late, 34.0) == [StrayResponse(response=late)]

    def test_response_matches_on_branch_and_cseq_method(self) -> None:
        layer = TransactionLayer()
        inv = request()
        ict, _ = layer.send_request(inv, PBX, False, 0.0)
        cancel = request("CANCEL")  # same branch as the INVITE (RFC 3261 §9.1)
        nict, _ = layer.send_request(cancel, PBX, False, 0.1)
        assert ict is not nict and len(layer) == 2
        ok_cancel = reply(cancel, 200)
        assert layer.receive_response(ok_cancel, 0.2) == [
            ResponseReceived(response=ok_cancel, transaction=nict)
        ]
        other = reply(request(branch="z9hG4bKnope"), 200)
        assert layer.receive_response(other, 0.3) == [StrayResponse(response=other)]

    def test_2xx_retransmission_after_ict_is_gone_reaches_tu_as_stray(self) -> None:
        layer = TransactionLayer()
        inv = request()
        txn, _ = layer.send_request(inv, PBX, True, 0.0)
        ok = reply(inv, 200)
        assert layer.receive_response(ok, 0.5) == [ResponseReceived(response=ok, transaction=txn)]
        assert layer.advance(32.5) == [TransactionTerminated(transaction=txn)]
        again = reply(inv, 200)
        assert layer.receive_response(again, 33.0) == [StrayResponse(response=again)]

    def test_timer_b_reports_timeout_then_termination(self) -> None:
        layer = TransactionLayer()
        txn, _ = layer.send_request(request(), PBX, True, 0.0)
        assert layer.advance(32.0) == [
            TransactionTimeout(transaction=txn),
            TransactionTerminated(transaction=txn),
        ]

    def test_send_request_refuses_ack_duplicate_and_cookieless_branch(self) -> None:
        layer = TransactionLayer()
        with pytest.raises(LocalProtocolError):
            layer.send_request(request("ACK"), PBX, False, 0.0)
        with pytest.raises(LocalProtocolError):
            layer.send_request(request(branch="1234"), PBX, False, 0.0)
        layer.send_request(request(), PBX, False, 0.0)
        with pytest.raises(LocalProtocolError):
            layer.send_request(request(), PBX, False, 0.0)

    def test_response_without_via_is_a_parse_error(self) -> None:
        layer = TransactionLayer()
        with pytest.raises(SipParseError):
            layer.receive_response(Response(status=200, headers=Headers([("CSeq", "1 BYE")])), 0)

    def test_transport_error_reported_and_transaction_forgotten(self) -> None:
        layer = TransactionLayer()
        txn, _ = layer.send_request(request("REGISTER"), PBX, False, 0.0)
        assert layer.transport_error(txn, 0.1) == [
            TransportError(transaction=txn),
            TransactionTerminated(transaction=txn),
        ]
        assert len(layer) == 0 and layer.next_deadline() is None

    def test_branch_helper_makes_unique_rfc3261_branches(self) -> None:
        branches = {make_branch() for _ in range(100)}
        assert len(branches) == 100
        assert all(b.startswith("z9hG4bK") for b in branches)


# -- RFC 3261 §17.2.3: Matching requests to server transactions -------------------


class TestServerMatching:
    def test_new_invite_creates_transaction_sends_100_to_source_and_reaches_tu(self) -> None:
        layer = TransactionLayer()
        inv = request()
        events = layer.receive_request(inv, PHONE, False, 0.0)
        assert len(events) == 2
        assert isinstance(events[0], SendMessage) and events[0].target == PHONE
        assert events[0].message.status == 100  # type: ignore[union-attr]
        received = events[1]
        assert isinstance(received, RequestReceived)
        assert received.request is inv and received.source == PHONE
        assert isinstance(received.transaction, InviteServerTransaction)

    def test_retransmitted_invite_is_answered_with_last_response_not_passed_to_tu(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        txn = server_txn(events)
        ringing = reply(txn.request, 180)
        assert layer.send_response(txn, ringing, 0.1) == [
            SendMessage(message=ringing, target=PHONE)
        ]
        assert layer.receive_request(request(), PHONE, False, 0.5) == [
            SendMessage(message=ringing, target=PHONE)
        ]

    def test_retransmitted_bye_is_answered_with_the_last_response(self) -> None:
        layer = TransactionLayer()
        bye = request("BYE", cseq=2, to_tag="p1")
        [received] = layer.receive_request(bye, PHONE, False, 0.0)
        assert isinstance(received, RequestReceived)
        assert isinstance(received.transaction, NonInviteServerTransaction)
        ok = reply(bye, 200)
        assert layer.send_response(received.transaction.key, ok, 0.1) == [  # type: ignore[arg-type]
            SendMessage(message=ok, target=PHONE)
        ]
        assert layer.receive_request(request("BYE", cseq=2, to_tag="p1"), PHONE, False, 1.0) == [
            SendMessage(message=ok, target=PHONE)
        ]

    def test_different_sent_by_or_method_is_a_different_transaction(self) -> None:
        layer = TransactionLayer()
        layer.receive_request(request(), PHONE, False, 0.0)
        other_host = layer.receive_request(request(host="203.0.113.99"), PHONE, False, 0.1)
        assert only(other_host, RequestReceived)
        options = layer.receive_request(request("OPTIONS"), PHONE, False, 0.2)
        assert only(options, RequestReceived)
        assert len(layer) == 3

    def test_ack_for_non_2xx_matches_the_invite_transaction_and_is_absorbed(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        txn = server_txn(events)
        layer.send_response(txn, reply(txn.request, 486), 0.1)
        assert layer.receive_request(request("ACK", to_tag="p1"), PHONE, False, 0.2) == []
        assert state_of(txn) is State.CONFIRMED
        assert layer.advance(5.2) == [TransactionTerminated(transaction=txn)]
        assert len(layer) == 0

    def test_ack_for_2xx_has_its_own_branch_and_goes_to_tu_without_transaction(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        txn = server_txn(events)
        layer.send_response(txn, reply(txn.request, 200), 0.1)
        ack = request("ACK", branch="z9hG4bKnewack", to_tag="p1")
        assert layer.receive_request(ack, PHONE, False, 0.2) == [
            RequestReceived(request=ack, transaction=None, source=PHONE)
        ]
        # An INVITE retransmission in Accepted is absorbed.
        assert layer.receive_request(request(), PHONE, False, 0.3) == []
        assert layer.advance(32.1) == [TransactionTerminated(transaction=txn)]

    def test_ack_with_the_invite_branch_in_accepted_is_passed_to_tu(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        txn = server_txn(events)
        layer.send_response(txn, reply(txn.request, 200), 0.1)
        ack = request("ACK", to_tag="p1")
        assert layer.receive_request(ack, PHONE, False, 0.2) == [
            RequestReceived(request=ack, transaction=txn, source=PHONE)
        ]

    def test_timer_h_reports_timeout_without_ack(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        txn = server_txn(events)
        busy = reply(txn.request, 486)
        layer.send_response(txn, busy, 0.0)
        events = layer.advance(40.0)
        assert only(events, SendMessage) == [SendMessage(message=busy, target=PHONE)]
        assert events[-2:] == [
            TransactionTimeout(transaction=txn),
            TransactionTerminated(transaction=txn),
        ]

    def test_send_response_to_unknown_key_is_a_local_protocol_error(self) -> None:
        layer = TransactionLayer()
        with pytest.raises(LocalProtocolError):
            layer.send_response(("z9hG4bKx", "h", None, "BYE"), reply(request("BYE"), 200), 0.0)


# -- RFC 3261 §9.2: Server behaviour for CANCEL ---------------------------------------


class TestCancelMatching:
    def test_cancel_gets_its_own_transaction_and_finds_the_invite_it_cancels(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(), PHONE, False, 0.0)
        ist = server_txn(events)
        cancel = request("CANCEL")
        [received] = layer.receive_request(cancel, PHONE, False, 0.5)
        assert isinstance(received, RequestReceived)
        assert isinstance(received.transaction, NonInviteServerTransaction)
        assert layer.find_invite_server_for_cancel(cancel) is ist
        assert layer.find_invite_server_for_cancel(request("CANCEL", branch="z9hG4bKzz")) is None

    def test_rfc2543_cancel_finds_the_invite_by_its_fields(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(branch=None), PHONE, False, 0.0)
        ist = server_txn(events)
        cancel = request("CANCEL", branch=None)
        assert layer.find_invite_server_for_cancel(cancel) is ist
        assert layer.find_invite_server_for_cancel(request("CANCEL", branch=None, cseq=9)) is None


# -- RFC 3261 §17.2.3: RFC 2543 backwards-compatible matching ---------------------------


class TestRfc2543Matching:
    def test_invite_without_magic_cookie_matches_on_uri_tags_call_id_cseq_and_via(self) -> None:
        layer = TransactionLayer()
        layer.receive_request(request(branch="old1"), PHONE, False, 0.0)
        assert only(layer.receive_request(request(branch="old1"), PHONE, False, 0.5), SendMessage)
        assert len(layer) == 1
        for changed in (
            request(branch="old1", uri="sip:other@pbx.example.com"),
            request(branch="old1", call_id="different"),
            request(branch="old1", cseq=2),
            request(branch="old2"),
            request(branch="old1", to_tag="zz"),
        ):
            assert only(layer.receive_request(changed, PHONE, False, 1.0), RequestReceived)
        assert len(layer) == 6

    def test_ack_matches_when_its_to_tag_equals_the_response_to_tag(self) -> None:
        layer = TransactionLayer()
        events = layer.receive_request(request(branch=None), PHONE, False, 0.0)
        txn = server_txn(events)
        layer.send_response(txn, reply(txn.request, 404, tag="r404"), 0.1)
        stray_ack = request("ACK", branch=None, to_tag="wrong")
        assert layer.receive_request(stray_ack, PHONE, False, 0.2) == [
            RequestReceived(request=stray_ack, transaction=None, source=PHONE)
        ]
        assert state_of(txn) is State.COMPLETED
        assert (
            layer.receive_request(request("ACK", branch=None, to_tag="r404"), PHONE, False, 0.3)
            == []
        )
        assert state_of(txn) is State.CONFIRMED


# -- timers and memory ----------------------------------------------------------------


class TestTimersAndMemory:
    def test_timers_of_many_transactions_fire_in_deadline_order(self) -> None:
        layer = TransactionLayer()
        a, _ = layer.send_request(request("OPTIONS", branch="z9hG4bKa"), PBX, False, 0.0)
        b, _ = layer.send_request(request("OPTIONS", branch="z9hG4bKb"), PBX, False, 0.2)
        events = layer.advance(0.7)
        assert [e.message.headers.get("Via") for e in events] == [  # type: ignore[union-attr]
            "SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKa",
            "SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKb",
        ]
        # A fired late (at 0.7) restarts from then: 0.7 + 2*T1.
        assert layer.next_deadline() == 1.7

    def test_terminated_transactions_are_removed_and_heap_stays_bounded(self) -> None:
        layer = TransactionLayer()
        for i in range(5000):
            now = i * 0.001
            inv = request(branch=f"z9hG4bKm{i}", call_id=f"c{i}")
            layer.send_request(inv, PBX, False, now)
            # An immediate 2xx cancels A and B: two dead heap entries each.
            layer.receive_response(reply(inv, 200), now)
            [received] = layer.receive_request(
                request("BYE", branch=f"z9hG4bKs{i}", call_id=f"c{i}"), PHONE, False, now
            )
            layer.send_response(received.transaction, reply(received.request, 200), now)  # type: ignore[union-attr, arg-type]
        assert len(layer) == 10000
        assert layer.timer_entries <= 2 * 10000 + 1024
        events = layer.advance(100.0)
        assert len(only(events, TransactionTerminated)) == 10000
        assert len(layer) == 0
        assert layer.next_deadline() is None
        assert layer.timer_entries == 0


# -- a UAC and a UAS layer over a lossy fake link ---------------------------------------


class FakeLink:
    """Delivers SendMessage events between two layers, dropping chosen ones."""

    def __init__(self, drop: set[int]) -> None:
        self.drop = drop
        self.count = 0
        self.uac = TransactionLayer()
        self.uas = TransactionLayer()
        self.tu_uac: list[LayerEvent] = []
        self.tu_uas: list[LayerEvent] = []

    def route(self, events: list[LayerEvent], now: float, from_uac: bool) -> None:
        for event in events:
            if not isinstance(event, SendMessage):
                (self.tu_uac if from_uac else self.tu_uas).append(event)
                continue
            self.count += 1
            if self.count in self.drop:
                continue
            msg = event.message
            if from_uac:
                assert isinstance(msg, Request)
                self.route(self.uas.receive_request(msg, PHONE, False, now), now, False)
            else:
                assert isinstance(msg, Response)
                self.route(self.uac.receive_response(msg, now), now, True)

    def run_until_idle(self, now: float) -> float:
        while True:
            deadlines = [d for d in (self.uac.next_deadline(), self.uas.next_deadline()) if d]
            if not deadlines:
                return now
            now = min(deadlines)
            self.route(self.uac.advance(now), now, True)
            self.route(self.uas.advance(now), now, False)


def test_lost_request_and_lost_final_response_are_recovered_by_retransmission() -> None:
    # Message 1 (the BYE) and message 3 (the first 200) are lost.
    link = FakeLink(drop={1, 3})
    bye = request("BYE", to_tag="p1")
    _, events = link.uac.send_request(bye, PBX, False, 0.0)
    link.route(events, 0.0, True)
    assert link.tu_uas == []
    now = link.uac.next_deadline()
    assert now == 0.5
    link.route(link.uac.advance(now), now, True)  # retransmission 2 arrives
    [received] = link.tu_uas
    assert isinstance(received, RequestReceived)
    link.route(link.uas.send_response(received.transaction, reply(bye, 200), 0.6), 0.6, False)  # type: ignore[arg-type]
    assert link.tu_uac == []  # the 200 was lost
    link.run_until_idle(0.6)
    finals = [e.response.status for e in link.tu_uac if isinstance(e, ResponseReceived)]
    assert finals == [200]
    assert len(only(link.tu_uas, RequestReceived)) == 1  # retransmissions stayed below the TU
    assert len(link.uac) == 0 and len(link.uas) == 0


def test_rfc2543_ack_for_a_reinvite_matches_with_the_dialog_to_tag() -> None:
    layer = TransactionLayer()
    events = layer.receive_request(request(branch=None, to_tag="dlg", cseq=5), PHONE, False, 0.0)
    txn = server_txn(events)
    layer.send_response(txn, reply(txn.request, 488, tag="dlg"), 0.1)
    ack = request("ACK", branch=None, to_tag="dlg", cseq=5)
    assert layer.receive_request(ack, PHONE, False, 0.2) == []
    assert state_of(txn) is State.CONFIRMED


def test_uri_parameter_named_tag_is_not_taken_for_the_to_tag() -> None:
    layer = TransactionLayer()
    inv = request(branch=None)
    inv.headers.set("To", "<sip:sales@pbx.example.com;tag=uri-param>")
    layer.receive_request(inv, PHONE, False, 0.0)
    again = request(branch=None)
    again.headers.set("To", "<sip:sales@pbx.example.com;tag=uri-param>")
    assert only(layer.receive_request(again, PHONE, False, 0.1), SendMessage)
    assert len(layer) == 1
