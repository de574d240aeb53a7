"""SIPp caller -> Jono -> SIPp callee (extension 2000, a static contact).

127.0.0.1 is a trunk in these configs, so SIPp's INVITEs are not challenged.
Every test checks both ends: the caller's scenario and what the callee saw.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

import pytest
from peers.jono import JonoServer, StartJono, base_config
from peers.rtpengine import Rtpengine
from peers.sipp import SippBackground, SippResult, SipTrace, run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

TRANSPORTS = [pytest.param("un", id="udp"), pytest.param("t1", id="tcp")]


def _start(jono: StartJono, uas: SippBackground, transport: str) -> JonoServer:
    suffix = ";transport=tcp" if transport == "t1" else ""
    return jono(base_config(trunk=True, static_uas=f"sip:2000@{uas.contact}{suffix}"))


def _call(server: JonoServer, scenario: str, workdir: Path, transport: str) -> SippResult:
    return run_sipp(
        scenario, server.address, workdir=workdir, service="2000", transport=transport, timeout_s=8
    )


def _both(caller: SippResult, callee: SippResult) -> str:
    return f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_caller_bye_ends_both_legs(jono: StartJono, tmp_path: Path, transport: str) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas", transport=transport) as uas:
        server = _start(jono, uas, transport)
        caller = _call(server, "uac_bye_caller", tmp_path / "uac", transport)
        callee = uas.wait_calls(1, timeout_s=5)

    assert caller.ok, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)
    assert len(callee.received(method="BYE")) == 1, _both(caller, callee)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_callee_bye_ends_both_legs(jono: StartJono, tmp_path: Path, transport: str) -> None:
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas", transport=transport) as uas:
        server = _start(jono, uas, transport)
        caller = _call(server, "uac_wait_bye", tmp_path / "uac", transport)
        callee = uas.wait_calls(1, timeout_s=5)

    assert caller.ok, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)
    assert len(caller.received(method="BYE")) == 1, _both(caller, callee)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_gets_200_and_invite_gets_487_on_both_legs(
    jono: StartJono, tmp_path: Path, transport: str
) -> None:
    with sipp_uas("uas_ring", workdir=tmp_path / "uas", transport=transport) as uas:
        server = _start(jono, uas, transport)
        caller = _call(server, "invite_cancel", tmp_path / "uac", transport)
        callee = uas.wait_calls(1, timeout_s=5)

    assert caller.ok, _both(caller, callee)
    # RFC 3261 section 9.2: the callee's leg is cancelled too.
    assert len(callee.received(method="CANCEL")) == 1, _both(caller, callee)
    assert len(callee.received(method="ACK")) == 1, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)


def test_retransmitted_invite_does_not_make_a_second_call(jono: StartJono, tmp_path: Path) -> None:
    """RFC 3261 section 17.2.3: a retransmission matches the existing server transaction."""
    with sipp_uas(
        "uas_ring_then_answer", workdir=tmp_path / "uas", transport="un", extra=["-aa"]
    ) as uas:
        server = _start(jono, uas, "un")
        caller = _call(server, "invite_retransmit", tmp_path / "uac", "un")
        callee = uas.wait_calls(1, timeout_s=5)

    assert caller.ok, _both(caller, callee)
    assert len(caller.sent(method="INVITE")) >= 2, _both(caller, callee)
    assert len(callee.received(method="INVITE")) == 1, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)
    # Section 17.2.1: the copy of the INVITE is answered with the latest provisional.
    assert len(caller.received(status=180)) >= 2, _both(caller, callee)


def test_200_is_retransmitted_until_the_ack_arrives(jono: StartJono, tmp_path: Path) -> None:
    """RFC 3261 section 13.3.1.4 (RFC 6026): the UAS core re-sends its 2xx until ACKed."""
    with sipp_uas("uas_answer", workdir=tmp_path / "uas", transport="un") as uas:
        server = _start(jono, uas, "un")
        caller = _call(server, "uac_no_ack", tmp_path / "uac", "un")
        callee = uas.wait_calls(1, timeout_s=5)

    assert caller.ok, _both(caller, callee)
    invite_200s = [m for m in caller.received(status=200) if "INVITE" in (m.header("cseq") or "")]
    assert len(invite_200s) >= 2, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)


@pytest.mark.parametrize("media", ["anchor", "passthrough"])
def test_a_caller_that_never_acks_is_given_up_and_the_callee_hung_up_at_once(
    jono: StartJono, tmp_path: Path, media: str
) -> None:
    """Issue 10: after 64*T1 without the ACK the caller is BYE'd, and the callee
    with it at once, the record saying why (T1 100 ms here: 6.4 s)."""
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        config = base_config(trunk=True, static_uas=f"sip:2000@{uas.contact}")
        config["server"] |= {"media": media, "sip_t1_ms": 100}
        server = jono(config)
        caller = run_sipp(
            "uac_never_ack", server.address, workdir=tmp_path / "uac", service="2000",
            timeout_s=20,
        )
        callee = uas.wait_calls(1, timeout_s=3)
    assert caller.ok, _both(caller, callee)
    assert len(callee.received(method="BYE")) == 1, _both(caller, callee)
    server.stop()
    with sqlite3.connect(server.db_path) as db:
        [(ended_by, reason)] = db.execute("SELECT ended_by, end_reason FROM cdrs").fetchall()
    assert (ended_by, reason) == ("caller", "no ACK")


def _body(message: SipTrace) -> str:
    _, _, body = message.text.replace("\r\n", "\n").partition("\n\n")
    return body


@pytest.mark.parametrize("media", ["anchor", "passthrough", "rtpengine"])
def test_a_late_offer_is_answered_in_the_ack(jono: StartJono, tmp_path: Path, media: str) -> None:
    """Issue 10 (RFC 3261 section 13.2.1): an INVITE without SDP gets the offer
    in the 200 and answers it in the ACK. Anchored, Jono makes the offer
    itself (with rtpengine as the media plane, through rtpengine, issue 16);
    passed through, the callee is asked without SDP too and the caller's
    answer reaches it in Jono's ACK."""
    with contextlib.ExitStack() as stack:
        uas = stack.enter_context(sipp_uas("uas_answer", workdir=tmp_path / "uas"))
        config = base_config(trunk=True, static_uas=f"sip:2000@{uas.contact}")
        config["server"]["media"] = media
        if media == "rtpengine":
            rtp = stack.enter_context(Rtpengine(tmp_path / "rtpengine"))
            config["server"]["media"] = {"engine": "rtpengine", "ng": rtp.ng}
        server = jono(config)
        caller = run_sipp(
            "uac_late_offer", server.address, workdir=tmp_path / "uac", service="2000", timeout_s=8
        )
        callee = uas.wait_calls(1, timeout_s=5)
    assert caller.ok, _both(caller, callee)
    assert callee.successful == 1 and callee.failed == 0, _both(caller, callee)
    [invite] = callee.received(method="INVITE")
    [ack] = callee.received(method="ACK")
    if media in ("anchor", "rtpengine"):
        assert "m=audio" in _body(invite), _both(caller, callee)
        assert "m=audio" not in _body(ack), _both(caller, callee)
        if media == "rtpengine":  # the callee is offered rtpengine's port
            port = re.search(r"m=audio (\d+)", _body(invite))
            assert port is not None and int(port.group(1)) in rtp.ports, _body(invite)
    else:
        assert "m=audio" not in _body(invite), _both(caller, callee)
        assert "m=audio" in _body(ack), _both(caller, callee)
    assert len(callee.received(method="BYE")) == 1, _both(caller, callee)
    server.stop()
    with sqlite3.connect(server.db_path) as db:
        [(ended_by, answered)] = db.execute("SELECT ended_by, answered_at FROM cdrs").fetchall()
    assert ended_by == "caller" and answered is not None


def test_max_forwards_goes_down_by_one_across_jono(jono: StartJono, tmp_path: Path) -> None:
    """Issue 10: Jono carries the caller's Max-Forwards on, less one, so two
    servers that route a number to each other stop instead of ringing forever."""
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = _start(jono, uas, "un")
        caller = _call(server, "uac_bye_caller", tmp_path / "uac", "un")
        callee = uas.wait_calls(1, timeout_s=5)
    assert caller.ok, _both(caller, callee)
    [invite] = callee.received(method="INVITE")
    assert invite.header("max-forwards") == "69", _both(caller, callee)


def test_an_invite_with_no_hops_left_gets_483(jono: StartJono, tmp_path: Path) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = _start(jono, uas, "un")
        caller = _call(server, "uac_no_hops_left", tmp_path / "uac", "un")
        callee = uas.stop()
    assert caller.ok, _both(caller, callee)
    assert callee.received(method="INVITE") == [], _both(caller, callee)
