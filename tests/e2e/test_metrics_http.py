"""``GET /metrics`` on the running server (issue 11 point 7): what Prometheus
reads parses with Prometheus's own text parser, and the figures move when a
SIPp call goes through Jono and when a phone registers. Prometheus scrapes
with a supervisor's API token; without one the figures are not shown."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from peers.jono import JonoServer, StartJono, base_config
from peers.pjsua_client import PjsuaPhone
from peers.sipp import run_sipp, sipp_uas
from peers.webapi import api_token, set_password, wait_http, web_base
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e


SCRAPER_PASSWORD = "scrape-web-password"


def _scrape(server: JonoServer, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = httpx.get(
        f"{web_base(server)}/metrics", timeout=5, trust_env=False,
        headers={"authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain"), reply.headers
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def test_metrics_parse_and_move_with_a_call_and_a_registration(
    jono: StartJono, tmp_path: Path
) -> None:
    with sipp_uas("uas_answer", workdir=tmp_path / "uas") as uas:
        config = base_config(trunk=True, static_uas=f"sip:2000@{uas.contact}")
        config["users"]["watch"] = {
            "extension": "1998", "password": "watchpw", "roles": ["supervisor"]
        }
        server = jono(config)
        wait_http(server)
        anonymous = httpx.get(f"{web_base(server)}/metrics", timeout=5, trust_env=False)
        assert anonymous.status_code in (401, 403), anonymous.status_code
        assert "jono_calls_total" not in anonymous.text
        set_password(server, "watch", SCRAPER_PASSWORD, quick=True)
        token = api_token(server, "watch", SCRAPER_PASSWORD, role="supervisor")
        before = _scrape(server, token)
        caller = run_sipp(
            "uac_bye_caller", server.address, workdir=tmp_path / "uac", service="2000", timeout_s=8
        )
        assert caller.ok, caller.describe()
        uas.wait_calls(1, timeout_s=5)
        with PjsuaPhone(tmp_path, "alice") as alice:
            assert alice.register("alice", "alicepw", server.address) == 200
            after = _scrape(server, token)

    def value(name: str, **labels: str) -> float:
        return after.get((name, tuple(sorted(labels.items()))), 0.0)

    def was(name: str, **labels: str) -> float:
        return before.get((name, tuple(sorted(labels.items()))), 0.0)

    handled = {labels for name, labels in after if name == "jono_calls_total"}
    assert sum(after[("jono_calls_total", k)] for k in handled) >= 1, sorted(after)
    assert sum(before.get(("jono_calls_total", k), 0.0) for k in handled) == 0
    invite_200 = [
        k for k in after if k[0] == "jono_sip_responses_total" and ("code", "200") in k[1]
    ]
    assert invite_200 and sum(after[k] for k in invite_200) > sum(
        before.get(k, 0) for k in invite_200
    )
    assert value("jono_registrations") == was("jono_registrations") + 1
