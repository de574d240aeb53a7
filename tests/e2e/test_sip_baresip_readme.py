"""The README's baresip recipe works against the default settings (issue 11
point 2): Debian's baresip 1.0 (libre) gives up on any SHA-256 challenge,
so the default offers MD5 alone (SHA-256 answers are still accepted)."""

from __future__ import annotations

import re
from pathlib import Path

from peers.baresip import Baresip
from peers.jono import StartJono, base_config

README = Path(__file__).parents[2] / "README.md"


def _readme_account() -> tuple[str, str, str]:
    """The account line the README tells people to use, and its user and password."""
    found = re.search(r"`(<sip:(\w+)@127\.0\.0\.1:5060>;auth_pass=([^`\s]+))`", README.read_text())
    assert found is not None, "README: no baresip account line <sip:USER@127.0.0.1:5060>;auth_pass="
    return found.group(1), found.group(2), found.group(3)


def test_baresip_with_the_readme_account_line_registers_and_places_a_call(
    jono: StartJono, tmp_path: Path
) -> None:
    line, user, password = _readme_account()
    config = base_config(trunk=False)
    assert "digest_algorithms" not in config["server"]  # the default, as a new admin has it
    config["users"][user]["password"] = password
    server = jono(config)
    account = line.replace("127.0.0.1:5060", server.address)

    with Baresip(tmp_path / "baresip", account=account) as phone:
        phone.wait_registered(timeout=5)
        phone.dial(server.uri("1002"))  # bob has no phone registered: 480 after the digest
        closed = phone.wait_event("CALL_CLOSED", timeout=10)

    assert "480" in str(closed), closed
    log = server.log_text()
    assert "auth failed" not in log, log
