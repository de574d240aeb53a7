"""SIP legs made on the running user agent (the real ``LegFactory``)."""

from __future__ import annotations

from collections.abc import Sequence

from sip.legs import Credentials, IncomingCall, OutgoingCall
from sip.message import Request
from sip.transport import Target
from sip.ua import UserAgent


class SipLegs:
    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua

    def incoming(self, request: Request, txn: object, source: Target) -> IncomingCall:
        return IncomingCall(self.ua, request, txn, source)

    def outgoing(
        self,
        targets: Sequence[tuple[str, Target]],
        *,
        from_uri: str,
        to_uri: str,
        from_display: str | None = None,
        sdp: bytes | None = None,
        headers: Sequence[tuple[str, str]] = (),
        credentials: Credentials | None = None,
        max_forwards: int = 70,
    ) -> OutgoingCall:
        return OutgoingCall(
            self.ua, targets, from_uri=from_uri, to_uri=to_uri, from_display=from_display,
            sdp=sdp, headers=headers, credentials=credentials, max_forwards=max_forwards,
        )
