"""Opening hours on the real server with a pinned clock (issue 5; SPEC N5).

``jono serve --schedule-time`` pins the time schedules are evaluated on. Open goes to
user ``uas`` (a SIPp UAS that answers and hangs up); closed plays the
``closed`` announcement (a 1300 Hz tone) and hangs up. Which branch ran is
read from the outcome: the UAS was rung, or the caller heard the tone and
got the server's BYE without anyone being rung.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from peers.audio import dominant_frequency
from peers.dialplan_helpers import dialplan_config, pin_clock, tone_prompt
from peers.jono import StartJono
from peers.pjsua_client import PjsuaPhone
from peers.sipp import run_sipp, sipp_uas

pytestmark = pytest.mark.e2e

DID = "+35891234567"
CLOSED_HZ = 1300


def _config(tmp_path: Path, uas_contact: str, schedule: dict[str, Any]) -> dict[str, Any]:
    closed = tone_prompt(tmp_path / "prompts", "closed", CLOSED_HZ, seconds=1.5)
    return dialplan_config(
        uas_contact=uas_contact,
        numbers={DID: {"destination": "schedule:office"}},
        schedules={"office": {**schedule, "open": "user:uas", "closed": "announcement:closed"}},
        announcements={"closed": {"file": closed, "then": "hangup"}},
    )


OFFICE = {
    "timezone": "Europe/Helsinki",
    "hours": {"mon-fri": "08:00-16:00"},
    "exceptions": {"2026-12-24": "closed", "2026-12-31": "08:00-12:00"},
}
# 2026-03-29 (a Sunday) Helsinki leaves EET (+02) for EEST (+03) at 01:00 UTC:
# local 03:00-04:00 does not exist that night.
DST_NIGHT = {"timezone": "Europe/Helsinki", "hours": {"sun": "04:00-05:00"}}

CASES = [
    pytest.param(OFFICE, "2026-12-23T10:00:00+02:00", True, id="weekday-open"),
    pytest.param(OFFICE, "2026-12-23T16:00:00+02:00", False, id="weekday-after-hours"),
    pytest.param(OFFICE, "2026-12-23T07:30:00+00:00", True, id="utc-clock-09:30-local"),
    pytest.param(OFFICE, "2026-12-24T10:00:00+02:00", False, id="holiday-closed"),
    pytest.param(OFFICE, "2026-12-31T11:59:00+02:00", True, id="short-day-open"),
    pytest.param(OFFICE, "2026-12-31T12:00:00+02:00", False, id="short-day-closed"),
    # 01:30 UTC is 04:30 EEST (open); a fixed +02 would say 03:30 (closed).
    pytest.param(DST_NIGHT, "2026-03-29T01:30:00+00:00", True, id="dst-after-switch-open"),
    # 02:30 UTC is 05:30 EEST (closed); a fixed +02 would say 04:30 (open).
    pytest.param(DST_NIGHT, "2026-03-29T02:30:00+00:00", False, id="dst-closed"),
    # 00:59 UTC is still 02:59 EET (closed); a fixed +03 would say 03:59.
    pytest.param(
        {"timezone": "Europe/Helsinki", "hours": {"sun": "03:00-04:00"}},
        "2026-03-29T00:59:00+00:00", False, id="dst-before-switch-closed",
    ),
]


@pytest.mark.parametrize(("schedule", "now", "is_open"), CASES)
def test_schedule_sends_the_call_to_the_open_or_closed_branch(
    jono: StartJono,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    schedule: dict[str, Any],
    now: str,
    is_open: bool,
) -> None:
    pin_clock(monkeypatch, now)
    with sipp_uas("uas_bye_callee", workdir=tmp_path / "uas") as uas:
        server = jono(_config(tmp_path, uas.contact, schedule))
        caller = run_sipp("uac_wait_bye", server.address, workdir=tmp_path / "uac",
                          service=DID, timeout_s=8)
        callee = uas.wait_calls(1, timeout_s=2 if not is_open else 5)

    flow = f"--- caller ---\n{caller.describe()}\n--- callee ---\n{callee.describe()}"
    assert caller.ok, flow  # answered, then a BYE from the UAS or the server
    assert len(callee.received(method="INVITE")) == (1 if is_open else 0), flow


def test_caller_hears_the_closed_announcement_on_a_holiday(
    jono: StartJono, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_clock(monkeypatch, "2026-12-24T10:00:00+02:00")
    heard = tmp_path / "heard.wav"
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        server = jono(_config(tmp_path, uas.contact, OFFICE))
        with PjsuaPhone(tmp_path, "caller") as phone:
            phone.record(heard)
            phone.call(server.uri(DID))
            assert phone.wait_state("CONFIRMED")["code"] == 200, phone.history
            # announcement: closed, then: hangup -> the server ends the call.
            phone.wait_state("DISCONNECTED", timeout=8)
            phone.stop_record()
        callee = uas.wait_calls(1, timeout_s=1)

    assert callee.received(method="INVITE") == [], callee.describe()
    assert abs(dominant_frequency(heard, skip_s=0.3) - CLOSED_HZ) < 25
