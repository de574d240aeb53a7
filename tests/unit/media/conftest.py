"""Fixtures for the media engine tests on 127.0.0.1: an engine and a phone factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from rtp_phone import HOST, Phone

from media.engine import MediaEngine


@pytest.fixture
async def engine() -> AsyncIterator[MediaEngine]:
    eng = MediaEngine(HOST, (31000, 33000), dead_after=60)
    yield eng
    await eng.close()


@pytest.fixture
async def phones() -> AsyncIterator[Callable[[], Awaitable[Phone]]]:
    opened: list[Phone] = []

    async def make() -> Phone:
        phone = await Phone.open()
        opened.append(phone)
        return phone

    yield make
    for phone in opened:
        phone.close()


