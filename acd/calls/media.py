"""Offer/answer between a SIP leg and Jono's media leg for it (RFC 3264)."""

from __future__ import annotations

import logging

from acd.calls.ports import SipLeg
from media.leg import MediaLeg
from media.sdp import NoCommonCodec, SdpError
from sip.leg_events import ReInvite

log = logging.getLogger("jono.calls")

SdpProblem = (NoCommonCodec, SdpError)


def answer_locally(leg: SipLeg, media: MediaLeg, event: ReInvite) -> None:
    """Answer a re-INVITE from the media leg it concerns (RFC 3264 §8)."""
    if not event.sdp:
        # An offerless re-INVITE: our offer goes in the 2xx (RFC 3261 §14.2).
        leg.answer_reinvite(event, 200, media.make_offer())
        return
    try:
        sdp = media.local_sdp_answer(event.sdp)
    except SdpProblem:
        # RFC 3261 §14.2: an unacceptable offer in a re-INVITE gets 488 and
        # the session stays as it was.
        leg.answer_reinvite(event, 488)
        return
    leg.answer_reinvite(event, 200, sdp)


def relay_reinvite(origin: SipLeg, other: SipLeg, event: ReInvite) -> None:
    """Media passes through: the other side answers the re-INVITE's offer."""

    def done(status: int, sdp: bytes | None) -> None:
        origin.answer_reinvite(event, status if status >= 200 else 500, sdp)

    other.reinvite(event.sdp, done)
