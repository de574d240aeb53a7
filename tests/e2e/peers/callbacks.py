"""A caller asking for a callback from a queue (B1, B4), as a pjsua2 phone does it."""

from __future__ import annotations

import time

from .audio import write_tone
from .jono import JonoServer
from .pjsua_client import PjsuaPhone


def ask_for_callback(
    server: JonoServer, caller: PjsuaPhone, *digits: str, number: str = "5000", key: str = "1"
) -> None:
    """Call the queue at ``number``, press the callback ``key``, answer the
    questions with ``digits``, be hung up.

    The phone plays a tone while it does: pjsua2 sends a second DTMF digit only
    while its audio stream runs."""
    caller.play(write_tone(server.workdir / f"{id(caller)}.wav", 300, 30, amplitude=0.05))
    caller.call(server.uri(number))
    caller.wait_state("CONFIRMED")
    caller.wait_rtp(10)
    caller.dtmf(key)
    time.sleep(1.5)  # the confirmation prompt starts
    for keys in digits:
        caller.dtmf(keys)
        time.sleep(0.5)
    assert caller.wait_state("DISCONNECTED", timeout=25)["code"] == 200
