"""Reloading the dial plan under live calls (issue 5; SPEC S3, S4).

SIGHUP makes the server re-read its file. Calls in progress keep going and
end normally from either side; new calls use the new plan: a removed number
answers 404 "Not In Service", an added one works. A broken file is refused
with its errors logged and the running plan stays.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from peers.dialplan_helpers import (
    dialplan_config,
    reload_broken,
    reload_config,
    wait_for_sipp_message,
)
from peers.jono import JonoServer, StartJono
from peers.sipp import SippBackground, SippResult, run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

CALLER = "0401234567"
TALK_MS = "6000"  # the live calls outlast the reload and the calls made after it


def _call(server: JonoServer, scenario: str, number: str, workdir: Path) -> SippResult:
    return run_sipp(
        scenario, server.address, workdir=workdir, service=number,
        keys={"caller": CALLER}, extra=["-d", "200"], timeout_s=8,
    )  # fmt: skip


def _plan(uas: str, uas2: str, numbers: dict[str, Any]) -> dict[str, Any]:
    config = dialplan_config(uas_contact=uas, numbers=numbers)
    config["users"]["uas2"] = {
        "extension": "2001",
        "password": "x",
        "devices": [{"kind": "static", "contact": f"sip:2001@{uas2}"}],
    }
    return config


def test_live_calls_survive_a_reload_and_new_calls_use_the_new_plan(
    jono: StartJono, tmp_path: Path
) -> None:
    with (
        sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas,
        sipp_uas("dp_uas_bye_later", workdir=tmp_path / "uas2", extra=["-d", TALK_MS]) as uas2,
    ):
        old = {"7000": {"destination": "user:uas"}, "7002": {"destination": "user:uas2"}}
        config = _plan(uas.contact, uas2.contact, old)
        server = jono(config)
        # Call A: the caller hangs up later. Call B: the callee hangs up later.
        call_a = SippBackground(
            "dp_uac_call", server.address, workdir=tmp_path / "a", name="a", calls=1,
            service="7000", keys={"caller": CALLER}, extra=["-d", TALK_MS], timeout_s=15,
        )  # fmt: skip
        call_b = SippBackground(
            "uac_wait_bye", server.address, workdir=tmp_path / "b", name="b", calls=1,
            service="7002", timeout_s=15,
        )  # fmt: skip
        wait_for_sipp_message(tmp_path / "uas", "uas", "ACK ")
        wait_for_sipp_message(tmp_path / "uas2", "uas", "ACK ")

        new = copy.deepcopy(config)
        new["numbers"] = {"7001": {"destination": "echo"}, "7002": {"destination": "user:uas2"}}
        reload_config(server, new)
        removed = _call(server, "dp_uac_404", "7000", tmp_path / "removed")
        added = _call(server, "dp_uac_call", "7001", tmp_path / "added")
        assert call_a.running() and call_b.running(), "a live call ended at the reload"

        result_a, result_b = call_a.wait(15), call_b.wait(15)
        callee_a, callee_b = uas.wait_calls(1), uas2.wait_calls(1)

    assert removed.ok, removed.describe()
    assert "Not In Service" in removed.received(status=404)[0].start_line, removed.describe()
    assert added.ok, added.describe()
    # Call A: the caller's BYE crossed the server to the callee.
    assert result_a.ok, result_a.describe()
    assert len(callee_a.received(method="BYE")) == 1, callee_a.describe()
    # Call B: the callee's BYE crossed the server to the caller.
    assert result_b.ok, result_b.describe()
    assert len(result_b.received(method="BYE")) == 1, result_b.describe()
    assert callee_b.successful == 1, callee_b.describe()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "numbers:\n  '7001': {destination: echo}\n  '7009': {destinaton: echo}\n",
            "jono.yaml:3:12: numbers.7009.destinaton: unknown key 'destinaton'; "
            "did you mean 'destination'?",
            id="unknown-key",
        ),
        pytest.param(
            "numbers:\n  '7001': {destination: 'menu:nowhere'}\n",
            "nowhere",
            id="cross-reference",
        ),
        pytest.param("numbers: [this is: not, a mapping\n", "jono.yaml:", id="yaml-syntax"),
    ],
)
def test_broken_file_on_reload_keeps_the_running_plan(
    jono: StartJono, tmp_path: Path, text: str, expected: str
) -> None:
    server = jono(dialplan_config(numbers={"7001": {"destination": "echo"}}))

    logged = reload_broken(server, text)
    still = _call(server, "dp_uac_call", "7001", tmp_path / "still")

    assert expected in logged, logged
    assert still.ok, still.describe()
    assert server.running()


def test_reload_after_a_refused_file_takes_the_fixed_file(
    jono: StartJono, tmp_path: Path
) -> None:
    config = dialplan_config(numbers={"7001": {"destination": "echo"}})
    server = jono(config)
    reload_broken(server, "numbers: [this is: not, a mapping\n")
    fixed = copy.deepcopy(config)
    fixed["numbers"]["7003"] = {"destination": "echo"}
    reload_config(server, fixed)

    added = _call(server, "dp_uac_call", "7003", tmp_path / "added")
    assert added.ok, added.describe()
