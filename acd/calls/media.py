"""Offer/answer between a SIP leg and Jono's media leg for it (RFC 3264)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import numpy as np
import structlog

from acd.calls.ports import SipLeg
from media.api import MediaLegApi
from media.leg import MediaLeg
from media.rtpengine.ng import NgError
from media.sdp import NoCommonCodec, SdpError
from sip.leg_events import ReInvite

log = structlog.stdlib.get_logger("jono.calls")

SdpProblem = (NoCommonCodec, SdpError)

RINGBACK_REPEATS = 12


def ringback_tone(seconds: float = 5.0, rate: int = 8000) -> np.ndarray:
    """425 Hz, 1 s on / 4 s off (the European ringback cadence, ITU-T E.180)."""
    t = np.arange(int(rate * 1.0)) / rate
    on = (0.3 * 32767 * np.sin(2 * np.pi * 425 * t)).astype(np.int16)
    off = np.zeros(int(rate * (seconds - 1.0)), dtype=np.int16)
    return np.concatenate([on, off])


def play_ringback(media: MediaLegApi) -> None:
    """A minute of ringback to a party waiting for another to answer (Q4, O2)."""
    media.play([ringback_tone()] * RINGBACK_REPEATS, interruptible=False, cache_key="ringback")


def answer_locally(leg: SipLeg, media: MediaLegApi, event: ReInvite) -> None:
    """Answer a re-INVITE from the media leg it concerns (RFC 3264 §8): the
    built-in leg at once, rtpengine's after an ng round trip."""
    if isinstance(media, MediaLeg):
        _answer_now(leg, media, event)
    else:
        background(_answer_later(leg, media, event))


def _answer_now(leg: SipLeg, media: MediaLeg, event: ReInvite) -> None:
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


async def _answer_later(leg: SipLeg, media: MediaLegApi, event: ReInvite) -> None:
    try:
        if not event.sdp:
            sdp = await media.create_offer()
        else:
            sdp = await media.answer_offer(event.sdp)
    except SdpProblem:
        leg.answer_reinvite(event, 488)  # RFC 3261 §14.2, as above
        return
    except NgError as err:
        log.warning("media plane refused a re-INVITE", error=str(err))
        leg.answer_reinvite(event, 500)
        return
    leg.answer_reinvite(event, 200, sdp)


_pending: set[asyncio.Task[None]] = set()


def background(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a short offer/answer step with the media plane (one ng round trip);
    the task is held until it ends."""
    task = asyncio.get_running_loop().create_task(coroutine)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def relay_reinvite(origin: SipLeg, other: SipLeg, event: ReInvite) -> None:
    """Media passes through: the other side answers the re-INVITE's offer."""

    def done(status: int, sdp: bytes | None) -> None:
        origin.answer_reinvite(event, status if status >= 200 else 500, sdp)

    other.reinvite(event.sdp, done)
