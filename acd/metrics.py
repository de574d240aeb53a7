"""Prometheus metrics (``GET /metrics``, the official ``prometheus-client``).

Counters that move on the call path are plain integers the code keeps
anyway (calls started by kind in the call registry, SIP responses by code,
rows the store wrote); everything else is read when Prometheus scrapes:
calls in progress, registrations, each queue's waiting callers, longest
wait and agents by state, media legs and the media ticker's lateness, the
store's backlog. Nothing here runs per packet or per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from acd.domain import AgentState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queue: str
    waiting: int
    longest_wait: float
    agents: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sources:
    """Where each figure is read (wired by the composition root)."""

    calls_started: Callable[[], dict[str, int]]
    calls_active: Callable[[], dict[str, int]]
    sip_responses: Callable[[], dict[int, int]]
    registrations: Callable[[], int]
    queues: Callable[[], list[QueueFigures]]
    media: Callable[[], dict[str, float]]
    media_legs: Callable[[], int]
    store: Callable[[], dict[str, float]]


class JonoCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self.s = sources

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.s
        started = CounterMetricFamily("jono_calls", "Calls Jono has handled, by kind", labels=["kind"])
        for kind, n in sorted(s.calls_started().items()):
            started.add_metric([kind], n)
        yield started
        active = GaugeMetricFamily("jono_calls_in_progress", "Calls up now, by kind", labels=["kind"])
        for kind in ("inbound", "outbound", "internal"):
            active.add_metric([kind], s.calls_active().get(kind, 0))
        yield active
        responses = CounterMetricFamily(
            "jono_sip_responses", "SIP responses Jono sent, by status code", labels=["code"]
        )
        for code, n in sorted(s.sip_responses().items()):
            responses.add_metric([str(code)], n)
        yield responses
        yield GaugeMetricFamily(
            "jono_registrations", "Registered contacts (bindings)", value=s.registrations()
        )
        waiting = GaugeMetricFamily("jono_queue_waiting", "Callers waiting", labels=["queue"])
        longest = GaugeMetricFamily(
            "jono_queue_longest_wait_seconds", "Longest wait of a caller now", labels=["queue"]
        )
        agents = GaugeMetricFamily(
            "jono_queue_agents", "Logged-in agents by state", labels=["queue", "state"]
        )
        for q in s.queues():
            waiting.add_metric([q.queue], q.waiting)
            longest.add_metric([q.queue], q.longest_wait)
            for state in AgentState:
                if state is not AgentState.LOGGED_OUT:
                    agents.add_metric([q.queue, state.value], q.agents.get(state.value, 0))
        yield from (waiting, longest, agents)
        media = s.media()
        yield GaugeMetricFamily("jono_media_legs", "Media legs open", value=s.media_legs())
        yield GaugeMetricFamily(
            "jono_media_streams", "Prompts and music streams playing", value=media.get("streams", 0)
        )
        late = GaugeMetricFamily(
            "jono_media_ticker_lateness_seconds",
            "How late the media ticker woke over the last minute", labels=["quantile"],
        )
        for quantile, key in (("0.5", "late_p50_ms"), ("0.99", "late_p99_ms"), ("1", "late_max_ms")):
            late.add_metric([quantile], media.get(key, 0.0) / 1000)
        yield late
        yield CounterMetricFamily(
            "jono_media_ticker_stalls", "Event-loop stalls the ticker saw", value=media.get("stalls", 0)
        )
        store = s.store()
        yield GaugeMetricFamily(
            "jono_store_backlog", "Rows waiting for the store's writer",
            value=store.get("backlog", 0),
        )
        yield CounterMetricFamily(
            "jono_store_written", "Rows written", value=store.get("written", 0)
        )
        yield GaugeMetricFamily(
            "jono_store_last_batch_seconds", "How long the writer's last batch took (write lag)",
            value=store.get("last_batch_s", 0.0),
        )


def make_registry(sources: Sources) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JonoCollector(sources))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format Prometheus scrapes."""
    return generate_latest(registry)
