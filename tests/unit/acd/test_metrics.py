"""Prometheus metrics: the exposition parses, and the figures move with calls."""

from __future__ import annotations

from acd_fakes import FakeServer, invite
from prometheus_client.parser import text_string_to_metric_families

from sip.transport import Target


def samples(server: FakeServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = server.jono.metrics_text().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_a_call_moves_the_counters_and_the_gauges(server: FakeServer) -> None:
    before = samples(server)
    assert before[("jono_calls_in_progress", (("kind", "inbound"),))] == 0
    assert before[("jono_queue_waiting", (("queue", "sales"),))] == 0
    assert ("jono_media_ticker_lateness_seconds", (("quantile", "0.99"),)) in before
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite("1002"), object(), Target("udp", "127.0.0.1", 5999))
    bob = await server.legs.next_outgoing()
    bob.answer()
    during = samples(server)
    assert during[("jono_calls_total", (("kind", "inbound"),))] == 1
    assert during[("jono_calls_in_progress", (("kind", "inbound"),))] == 1
    assert during[("jono_media_legs", ())] == 2
    bob.bye()
    after = samples(server)
    assert after[("jono_calls_in_progress", (("kind", "inbound"),))] == 0
    assert after[("jono_calls_total", (("kind", "inbound"),))] == 1


async def test_queue_gauges_show_agents_by_state(server: FakeServer) -> None:
    server.jono.commands.login("bob")
    figures = samples(server)
    assert figures[("jono_queue_agents", (("queue", "sales"), ("state", "ready")))] == 1
    assert figures[("jono_queue_agents", (("queue", "sales"), ("state", "paused")))] == 0
