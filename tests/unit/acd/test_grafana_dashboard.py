"""The sample Grafana dashboard (docs/grafana-dashboard.json) only asks for
metrics Jono exposes: a renamed metric cannot leave it silently empty."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from acd.metrics import QueueFigures, Sources, exposition, make_registry

DASHBOARD = Path(__file__).parents[3] / "docs" / "grafana-dashboard.json"


def _exposed() -> set[str]:
    sources = Sources(
        calls_started=lambda: {"inbound": 1},
        calls_active=lambda: {},
        sip_responses=lambda: {200: 1},
        registrations=lambda: 0,
        queues=lambda: [QueueFigures(queue="q", waiting=0, longest_wait=0.0, agents={})],
        media=lambda: {},
        media_legs=lambda: 0,
        store=lambda: {},
    )
    text = exposition(make_registry(sources)).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_panel_asks_for_metrics_jono_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exposed = _exposed()
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(jono_\w+)", target["expr"])
    }
    assert asked, "no metrics in the dashboard"
    assert asked <= exposed, sorted(asked - exposed)
