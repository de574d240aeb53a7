"""RFC 3261 section 11: Jono answers OPTIONS on UDP and TCP, echoing the request's identity."""

from __future__ import annotations

from pathlib import Path

import pytest
from peers.jono import StartJono, base_config
from peers.sipp import run_sipp

pytestmark = pytest.mark.e2e

TRANSPORTS = [pytest.param("un", id="udp"), pytest.param("t1", id="tcp")]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_options_is_answered_200_with_matching_identity(
    jono: StartJono, tmp_path: Path, transport: str
) -> None:
    server = jono(base_config(trunk=False))

    result = run_sipp(
        "options", server.address, workdir=tmp_path, calls=3, rate=50, transport=transport
    )

    assert result.ok, result.describe()
    assert result.successful == 3
    requests = {r.header("call-id"): r for r in result.sent()}
    assert len(result.received()) == 3, result.describe()
    for response in result.received():
        request = requests[response.header("call-id")]
        # Section 8.2.6.2: Call-ID, CSeq, From (with tag) and Via are copied.
        for name in ("call-id", "cseq", "from", "via"):
            assert (response.header(name) or "").startswith(request.header(name) or "?"), name
        # Section 8.2.6.2: the UAS adds a To tag.
        assert ";tag=" in (response.header("to") or ""), response.text
