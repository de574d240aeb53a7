"""Dial plan -> engine settings; SIP statuses -> offer failure reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.calls.status import acd_failure_reason, outcome_of
from acd.config import load
from acd.contact.mapping import REGISTERED, agent_config, engine_config, queue_config

PLAN = """
server: {listen: "127.0.0.1:5060"}
users:
  bob: {extension: "1002", password: x}
  carol:
    extension: "1003"
    password: x
    devices:
      - {kind: softphone}
      - {kind: static, contact: "sip:carol@127.0.0.1:5099"}
  dave: {extension: "1004", password: x, devices: [{kind: static, contact: "sip:d@127.0.0.1"}]}
numbers:
  "5000": {destination: "queue:sales"}
queues:
  sales:
    strategy: sequential
    ring_at_once: all
    ring_time: 7
    members: {bob: {level: 1, order: 2}, carol: {}}
    device_kinds: [phone, static]
    wrap_up: 5
    max_wait: 60
    on_max_wait: "user:dave"
    exit_key: "0"
    exit_destination: hangup
"""


def plan(tmp_path: Path) -> object:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    return load(path, env={})


def test_queue_settings_reach_the_engine_config(tmp_path: Path) -> None:
    dialplan = plan(tmp_path)
    cfg = queue_config(dialplan.queues["sales"])  # type: ignore[attr-defined]
    assert cfg.strategy == "sequential"
    assert cfg.ring_at_once is None  # "all"
    assert cfg.ring_time == 7.0
    assert cfg.members["bob"].level == 1 and cfg.members["bob"].order == 2
    assert cfg.members["carol"].level == 3 and cfg.members["carol"].order is None
    assert cfg.device_kinds == frozenset({"phone", "static"})
    assert cfg.wrap_up == 5.0 and cfg.max_wait == 60.0
    assert dict(cfg.overflow) == {"max_wait": "user:dave", "exit_key": "hangup"}
    assert cfg.exit_key == "0"


def test_registered_phones_are_one_device_and_static_ones_are_numbered(tmp_path: Path) -> None:
    dialplan = plan(tmp_path)
    users = dialplan.users  # type: ignore[attr-defined]
    assert [(d.id, d.kind) for d in agent_config(users["bob"]).devices] == [(REGISTERED, "phone")]
    assert [(d.id, d.kind) for d in agent_config(users["carol"]).devices] == [
        (REGISTERED, "softphone"),
        ("static1", "static"),
    ]
    assert [(d.id, d.kind) for d in agent_config(users["dave"]).devices] == [("static0", "static")]


def test_every_user_is_an_agent(tmp_path: Path) -> None:
    queues, agents = engine_config(plan(tmp_path))
    assert set(queues) == {"sales"}
    assert set(agents) == {"bob", "carol", "dave"}


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (486, "rejected"),
        (603, "rejected"),
        (600, "rejected"),
        (408, "no_answer"),
        (487, "no_answer"),
        (480, "unreachable"),
        (503, "unreachable"),
        (404, "unreachable"),
    ],
)
def test_final_status_maps_to_the_engine_failure_reason(status: int, reason: str) -> None:
    assert acd_failure_reason(outcome_of(status)) == reason
