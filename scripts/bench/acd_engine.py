#!/usr/bin/env python3
"""Benchmark the pure ACD engine (acd.domain).

1. Decision latency: 200 queues, 2,000 agents (each in 5 queues, skills
   strategy with random levels), every agent busy and 10,000 callers
   waiting, plus (``--callbacks``, default 10,000) pending callback
   requests keeping their callers' places (a third with a window that
   opens later, all with a validity); then a steady mix of events (calls
   ending -> next caller or request rung, answers, rejections, joins,
   abandons, ring timeouts, callbacks requested, completed and retried),
   each timed alone.
2. A simulated contact-centre day: 100,000 calls with Poisson arrivals,
   answers, rejections, no-answers, abandons, wrap-up and pauses, driven by
   a virtual clock; wall time of the whole day.

Run: .venv/bin/python scripts/bench/acd_engine.py [--ops N] [--day-calls N] [--callbacks N]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from collections.abc import Callable, Sequence

from acd.domain import (
    AcdEngine,
    AgentConfig,
    Bridge,
    CancelRing,
    Decision,
    Device,
    MemberConfig,
    Overflow,
    QueueConfig,
    QueueEvent,
    Ring,
)


def build(
    rng: random.Random, n_queues: int, n_agents: int, per_agent: int, **queue_kw: object
) -> tuple[dict[str, QueueConfig], dict[str, AgentConfig]]:
    agents = {
        f"a{i}": AgentConfig(devices=(Device(id=f"a{i}/m", kind="mobile"),))
        for i in range(n_agents)
    }
    members: dict[str, dict[str, MemberConfig]] = {f"q{j}": {} for j in range(n_queues)}
    qids = sorted(members)
    for agent_id in agents:
        for qid in rng.sample(qids, per_agent):
            members[qid][agent_id] = MemberConfig(level=rng.randint(1, 5))
    queues = {
        qid: QueueConfig(members=m, priority=j % 3, **queue_kw)  # type: ignore[arg-type]
        for j, (qid, m) in enumerate(sorted(members.items()))
    }
    return queues, agents


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# ---------------------------------------------------------------- latency


def latency(ops: int, seed: int, callbacks: int = 0) -> dict[str, list[float]]:
    rng = random.Random(seed)
    queues, agents = build(rng, 200, 2000, 5, ring_time=15.0, retry_after=5.0)
    engine = AcdEngine(rng=random.Random(seed))
    engine.configure(queues, agents, 0.0)
    now = 0.0
    rings: dict[str, Ring] = {}
    on_call: dict[str, str] = {}  # call -> agent
    waiting: set[str] = set()
    seq = 0

    def track(decisions: Sequence[Decision]) -> None:
        for d in decisions:
            if isinstance(d, Ring):
                rings[d.offer_id] = d
            elif isinstance(d, CancelRing):
                rings.pop(d.offer_id, None)
            elif isinstance(d, Bridge):
                rings.pop(d.offer_id, None)
                on_call[d.call_id] = d.agent_id
                waiting.discard(d.call_id)
            elif isinstance(d, Overflow):
                waiting.discard(d.call_id)
            elif isinstance(d, QueueEvent) and d.kind in ("rejected", "no_answer"):
                rings.pop(str(d.data["offer_id"]), None)

    for agent_id in agents:
        track(engine.agent_login(agent_id, None, now))
    qids = sorted(queues)
    for _ in range(12000):
        seq += 1
        waiting.add(f"c{seq}")
        track(engine.caller_joined(f"c{seq}", qids[seq % len(qids)], now))
    for offer_id in list(rings):
        track(engine.offer_answered(offer_id, rings[offer_id].devices[0], now))
    assert len(waiting) >= 10000, len(waiting)
    # Callback requests at their callers' places, joined over the last hour.
    requests: set[str] = set()

    def request(now: float) -> tuple[str, str, float, float, float | None, float]:
        nonlocal seq
        seq += 1
        window = now + rng.uniform(60, 3600) if rng.random() < 1 / 3 else None
        return f"r{seq}", rng.choice(qids), now - rng.uniform(0, 3600), now, window, now + 14400

    for _ in range(callbacks):
        rid, qid, joined, at, window, expires = request(now)
        requests.add(rid)
        track(engine.callback_requested(rid, qid, joined, at, eligible_at=window,
                                        expires_at=expires))

    timings: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[..., list[Decision]], *args: object) -> None:
        t0 = time.perf_counter_ns()
        out = fn(*args)
        timings.setdefault(name, []).append((time.perf_counter_ns() - t0) / 1e3)
        track(out)

    for _ in range(ops):
        now += 0.01
        roll = rng.random()
        if len(waiting) < 10000 or not on_call:
            # Keep at least 10,000 callers waiting.
            seq += 1
            waiting.add(f"c{seq}")
            timed("caller_joined", engine.caller_joined, f"c{seq}", rng.choice(qids), now)
        elif callbacks and len(requests) - len(on_call.keys() & requests) < callbacks:
            # Keep the pending callback requests at their number.
            rid, qid, joined, at, window, expires = request(now)
            requests.add(rid)
            t0 = time.perf_counter_ns()
            out = engine.callback_requested(rid, qid, joined, at, eligible_at=window,
                                            expires_at=expires)
            timings.setdefault("callback_requested", []).append(
                (time.perf_counter_ns() - t0) / 1e3)
            track(out)
        elif roll < 0.35:
            call_id = next(iter(on_call))
            del on_call[call_id]
            if call_id not in requests:
                timed("call_ended -> ring next", engine.call_ended, call_id, now)
            elif rng.random() < 0.8:
                requests.discard(call_id)
                timed("callback_closed -> next", engine.callback_closed, call_id, "completed", now)
            else:
                timed("callback_retry -> next", engine.callback_retry, call_id, now + 300, now)
        elif roll < 0.65 and rings:
            offer_id = next(iter(rings))
            device = rings[offer_id].devices[0]
            timed("offer_answered", engine.offer_answered, offer_id, device, now)
        elif roll < 0.80 and rings:
            offer_id = next(iter(rings))
            timed("offer_failed -> ring next", engine.offer_failed, offer_id, None, "rejected", now)
        else:
            call_id = rng.choice(sorted(waiting)) if roll > 0.99 else waiting.pop()
            waiting.discard(call_id)
            if call_id in requests:  # a request's turn came as a caller's would
                continue
            timed("caller_left", engine.caller_left, call_id, now)
        deadline = engine.next_deadline()
        if deadline is not None and deadline <= now:
            timed("tick", engine.tick, now)
    timings["(all decisions)"] = [v for vs in timings.values() for v in vs]
    snapshot_times = []
    for qid in qids[:50]:
        t0 = time.perf_counter_ns()
        engine.queue_snapshot(qid, now)
        snapshot_times.append((time.perf_counter_ns() - t0) / 1e3)
    timings["queue_snapshot (query)"] = snapshot_times
    print(
        f"waiting at the end (callers and callback requests): "
        f"{sum(len(engine.queue_snapshot(q, now).waiting) for q in qids)}"
    )
    return timings


# -------------------------------------------------------------------- day


def day(calls: int, seed: int) -> tuple[float, dict[str, int]]:
    rng = random.Random(seed)
    queues, agents = build(
        rng,
        200,
        2000,
        5,
        ring_time=15.0,
        wrap_up=10.0,
        max_wait=900.0,
        overflow={"max_wait": "voicemail"},
        retry_after=5.0,
        auto_logout_after=5,
    )
    engine = AcdEngine(rng=random.Random(seed))
    engine.configure(queues, agents, 0.0)
    qids = sorted(queues)
    hours = 10.0
    rate = calls / (hours * 3600)
    events: list[tuple[float, int, str, str]] = []
    seq = 0

    def at(t: float, kind: str, key: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, key))

    t = 0.0
    for i in range(calls):
        t += rng.expovariate(rate)
        at(t, "join", f"c{i}")
    for agent_id in agents:
        at(rng.uniform(0, 600), "login", agent_id)
    waiting: set[str] = set()
    live_offers: set[str] = set()
    counts: dict[str, int] = {}

    def handle(now: float, decisions: Sequence[Decision]) -> None:
        for d in decisions:
            name = type(d).__name__
            counts[name] = counts.get(name, 0) + 1
            if isinstance(d, Ring):
                live_offers.add(d.offer_id)
                r = rng.random()
                if r < 0.85:
                    at(now + rng.uniform(2, 8), "answer", d.offer_id + "|" + d.devices[0])
                elif r < 0.92:
                    at(now + rng.uniform(1, 5), "reject", d.offer_id)
                # else: no answer, the engine's ring timeout fires
            elif isinstance(d, CancelRing):
                live_offers.discard(d.offer_id)
            elif isinstance(d, Bridge):
                live_offers.discard(d.offer_id)
                waiting.discard(d.call_id)
                at(now + rng.expovariate(1 / 240), "end", d.call_id)
                if rng.random() < 0.02:
                    at(now + 1, "pause_after", d.agent_id)
            elif isinstance(d, Overflow):
                waiting.discard(d.call_id)
            elif isinstance(d, QueueEvent) and d.kind in ("rejected", "no_answer"):
                live_offers.discard(str(d.data["offer_id"]))

    t0 = time.perf_counter()
    now = 0.0
    while events or engine.next_deadline() is not None:
        deadline = engine.next_deadline()
        if deadline is not None and (not events or deadline <= events[0][0]):
            now = deadline
            handle(now, engine.tick(now))
            continue
        now, _, kind, key = heapq.heappop(events)
        if kind == "join":
            waiting.add(key)
            handle(now, engine.caller_joined(key, rng.choice(qids), now))
            at(now + rng.expovariate(1 / 300), "abandon", key)
        elif kind == "abandon":
            if key in waiting:
                waiting.discard(key)
                handle(now, engine.caller_left(key, now))
        elif kind == "answer":
            offer_id, device = key.split("|")
            if offer_id in live_offers:
                handle(now, engine.offer_answered(offer_id, device, now))
        elif kind == "reject":
            if key in live_offers:
                handle(now, engine.offer_failed(key, None, "rejected", now))
        elif kind == "end":
            handle(now, engine.call_ended(key, now))
        elif kind == "login":
            handle(now, engine.agent_login(key, None, now))
        elif kind == "pause_after":
            handle(now, engine.agent_pause(key, "break", now))
            at(now + rng.uniform(300, 900), "unpause", key)
        elif kind == "unpause":
            handle(now, engine.agent_unpause(key, now))
        if now > hours * 3600 * 1.5:
            break
    return time.perf_counter() - t0, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=50000)
    parser.add_argument("--day-calls", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--callbacks", type=int, default=10000,
                        help="pending callback requests beside the waiting callers")
    args = parser.parse_args()

    timings = latency(args.ops, args.seed, args.callbacks)
    print(
        f"\nDecision latency: 200 queues, 2000 agents x 5 queues, 10000+ callers waiting, "
        f"{args.callbacks} callback requests pending"
    )
    print(f"{'operation':<28}{'count':>8}{'p50 us':>10}{'p99 us':>10}{'max us':>10}")
    for name, values in sorted(timings.items()):
        print(
            f"{name:<28}{len(values):>8}{pct(values, 50):>10.1f}{pct(values, 99):>10.1f}"
            f"{max(values):>10.1f}"
        )
    wall, counts = day(args.day_calls, args.seed)
    print(f"\nSimulated day: {args.day_calls} calls, 200 queues, 2000 agents")
    print(f"{'wall time':<28}{wall:>10.1f} s")
    for name, n in sorted(counts.items()):
        print(f"{name:<28}{n:>10}")


if __name__ == "__main__":
    main()
