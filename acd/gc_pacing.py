"""Keep CPython's full garbage collections from stalling the media ticker.

A full (generation 2) collection walks every live object. With 500 callers
waiting it took 40-110 ms on the benchmark machine, and 250 ms when it also
had a minute of cyclic garbage to free (BENCHMARKS.md): every waiting caller
heard the gap. Calls free themselves by reference counting instead (legs drop
their listeners, media legs their callbacks, sessions their end hooks), so a
full collection finds next to nothing. So the server:

* freezes what start-up allocated (it lives as long as the process);
* stops the automatic full collections (the young generations still run);
* runs one full collection every ``every_s`` seconds, timed and logged, so
  whatever still forms a cycle (an exception's traceback, say) is freed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

log = logging.getLogger("jono.gc")

FULL_EVERY_S = 600.0
NO_AUTOMATIC_FULL = 1_000_000_000  # gen-1 collections before an automatic full one
LEAK_HINT = 10_000  # objects freed by one paced collection worth a warning


def start(every_s: float = FULL_EVERY_S) -> asyncio.Task[None]:
    """Freeze start-up objects, pace full collections; returns the pacing task."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NO_AUTOMATIC_FULL)
    return asyncio.get_running_loop().create_task(_pace(every_s))


async def _pace(every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        collect_full()


def collect_full() -> int:
    """One timed full collection; the number of objects it freed."""
    started = time.perf_counter()
    freed = gc.collect()
    took_ms = (time.perf_counter() - started) * 1000
    if freed > LEAK_HINT:
        log.warning("full collection freed %d objects in %.0f ms: something keeps "
                    "forming reference cycles", freed, took_ms)
    else:
        # Every ten minutes: debug, not info (the log is for what happened).
        log.debug("full collection freed %d objects in %.0f ms", freed, took_ms)
    return freed
