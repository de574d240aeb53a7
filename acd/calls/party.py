"""One side of a call: its SIP leg and, when media is anchored, Jono's media leg."""

from __future__ import annotations

from collections.abc import Callable

from acd.calls.ports import IncomingLeg, OutgoingLeg
from media.api import MediaLegApi

ROLES = ("caller", "callee", "agent")


class Party:
    """``role``: caller (who started the call, or the agent of an originate),
    callee (whoever was dialled), agent (a queue offer that was answered).
    ``user``: the dial plan user this party is, if any; ``device``: which of
    the user's devices answered (acd.telephony.directory ids). ``managed``:
    the ACD tracks this party's agent itself (a queue offer), so the call
    registry does not report it as busy with other work. ``answer_sdp``: the
    far end's answer when media passes through Jono untouched."""

    __slots__ = ("role", "leg", "media", "user", "device", "managed", "answer_sdp", "ack")

    def __init__(
        self,
        role: str,
        leg: IncomingLeg | OutgoingLeg,
        media: MediaLegApi | None = None,
        *,
        user: str | None = None,
        device: str | None = None,
        managed: bool = False,
        answer_sdp: bytes | None = None,
        ack: Callable[[bytes], None] | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"party role {role!r} must be one of {ROLES}")
        self.role = role
        self.leg = leg
        self.media = media
        self.user = user
        self.device = device
        self.managed = managed
        self.answer_sdp = answer_sdp
        # Its 2xx carried the offer (our INVITE had none): our ACK carries the answer.
        self.ack = ack

    def __repr__(self) -> str:
        return f"<Party {self.role} {self.user or ''} {self.leg.call_id}>"
