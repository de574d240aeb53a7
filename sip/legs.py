"""Call legs: the B2BUA's API to the application.

An :class:`IncomingCall` is the UAS half of a call (a phone or trunk
calling in); it can ring, be answered, rejected or redirected.  An
:class:`OutgoingCall` is the UAC half; it forks to several contacts at
once, the first 2xx wins and the other branches are cancelled.  Both
report :mod:`sip.leg_events` to one listener and end the dialog with BYE.

The pieces: :mod:`sip.leg_dialog` (in-dialog requests, how a leg ends),
:mod:`sip.leg_uas`, :mod:`sip.leg_uac`, and their timers as data in
:mod:`sip.leg_timers`.
"""

from __future__ import annotations

from sip.leg_dialog import SDP, DialogLeg, ReInviteResult
from sip.leg_events import (
    Acked,
    Answered,
    Cancelled,
    Ended,
    Failed,
    Info,
    ReInvite,
    Ringing,
)
from sip.leg_uac import Credentials, OutgoingCall
from sip.leg_uas import IncomingCall

__all__ = [
    "SDP", "Acked", "Answered", "Cancelled", "Credentials", "DialogLeg", "Ended", "Failed",
    "IncomingCall", "Info", "OutgoingCall", "ReInvite", "ReInviteResult", "Ringing",
]
