"""RFC 3261 §12: dialog creation on both sides and requests within a dialog."""

from sip.dialog import Dialog, new_branch
from sip.message import Headers, Request, Response


def _invite() -> Request:
    h = Headers()
    h.add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc")
    h.add("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>")
    h.add("From", '"Alice" <sip:alice@example.com>;tag=a1')
    h.add("To", "<sip:bob@example.com>")
    h.add("Call-ID", "c1@10.0.0.1")
    h.add("CSeq", "7 INVITE")
    h.add("Contact", "<sip:alice@10.0.0.1:5060>")
    return Request(method="INVITE", uri="sip:bob@example.com", headers=h)


def _ok(invite: Request) -> Response:
    h = Headers()
    for name, value in invite.headers:
        if name in ("Via", "From", "Call-ID", "CSeq", "Record-Route"):
            h.add(name, value)
    h.add("To", "<sip:bob@example.com>;tag=b2")
    h.add("Contact", "<sip:bob@10.0.0.2:5062>")
    return Response(status=200, reason="OK", headers=h)


def test_uas_dialog_takes_route_set_in_order_and_target_from_contact() -> None:
    dialog = Dialog.from_uas(_invite(), "b2")
    assert dialog.key == ("c1@10.0.0.1", "b2", "a1")
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert dialog.remote_target == "sip:alice@10.0.0.1:5060"
    assert dialog.remote_seq == 7


def test_uac_dialog_takes_route_set_reversed_from_response() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _ok(invite))
    assert dialog.key == ("c1@10.0.0.1", "a1", "b2")
    assert dialog.route_set == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert dialog.remote_target == "sip:bob@10.0.0.2:5062"
    assert dialog.local_seq == 7


def test_request_in_dialog_increments_cseq_and_carries_tags_and_routes() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _ok(invite))
    bye = dialog.create_request("BYE", via=f"SIP/2.0/UDP 10.0.0.1;branch={new_branch()}")
    assert bye.uri == "sip:bob@10.0.0.2:5062"
    assert bye.cseq.number == 8 and bye.cseq.method == "BYE"
    assert bye.from_.tag == "a1" and bye.to.tag == "b2"
    assert bye.headers.values("Route") == dialog.route_set


def test_ack_reuses_invite_cseq_number() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _ok(invite))
    ack = dialog.create_request("ACK", via="SIP/2.0/UDP h;branch=z9hG4bKx", cseq=7)
    assert str(ack.cseq) == "7 ACK"
    assert dialog.local_seq == 7


def test_lower_remote_cseq_is_out_of_order() -> None:
    dialog = Dialog.from_uas(_invite(), "b2")
    h = _invite().headers.copy()
    h.set("CSeq", "6 BYE")
    old = Request(method="BYE", uri="sip:x@y", headers=h)
    assert dialog.check_remote_cseq(old) is False
    h.set("CSeq", "8 BYE")
    assert dialog.check_remote_cseq(Request(method="BYE", uri="sip:x@y", headers=h)) is True
    assert dialog.remote_seq == 8
