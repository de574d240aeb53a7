"""acd.gc_pacing: automatic full collections off, paced ones on."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from acd import gc_pacing


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


class Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_no_automatic_full_collection_but_a_paced_one_frees_cycles(
    restore_gc: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="jono.gc")
    task = gc_pacing.start(every_s=0.05)
    try:
        assert gc.get_threshold()[2] == gc_pacing.NO_AUTOMATIC_FULL
        assert gc.get_freeze_count() > 0  # start-up objects are out of the way
        for _ in range(100):
            Cycle()  # garbage only a collection can free
        for _ in range(100):
            if "full collection freed" in caplog.text:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert "full collection freed" in caplog.text


def test_a_collection_that_frees_a_lot_warns_of_cycles(
    restore_gc: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="jono.gc")
    gc.collect()
    gc.disable()  # or the young generation frees them first
    try:
        for _ in range(gc_pacing.LEAK_HINT + 10):
            Cycle()
        freed = gc_pacing.collect_full()
    finally:
        gc.enable()
    assert freed > gc_pacing.LEAK_HINT
    assert "reference cycles" in caplog.text
