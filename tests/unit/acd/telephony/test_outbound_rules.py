"""Users' calls out: class of service, blocked prefixes, emergency numbers (P2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.config import ConfigError, load
from acd.telephony.outbound import OutboundRules
from acd.telephony.trunks import TrunkRoutes

PLAN = """
users:
  ann: {extension: "1001", password: a, dial: internal}
  ben: {extension: "1002", password: b}
  cid: {extension: "1003", password: c, dial: international, caller_id: "+35891234568"}
trunks:
  provider:
    outbound: {gateway: "127.0.0.1:5070", caller_id: "+35891234567"}
    normalise: {country_code: "358", national_prefix: "0", international_prefix: "00"}
numbers:
  "+35891234568": {destination: "user:cid"}
outbound:
  emergency: ["112"]
  blocked_prefixes: ["+358700", "0600"]
"""


def rules(tmp_path: Path, plan: str = PLAN) -> OutboundRules:
    path = tmp_path / "plan.yaml"
    path.write_text(plan)
    loaded = load(path, env={})
    return OutboundRules(loaded, TrunkRoutes(loaded))


@pytest.mark.parametrize(
    ("user", "dialled", "allowed", "number", "reason"),
    [
        ("ben", "0401234567", True, "+358401234567", "national"),
        ("ben", "+358 40 123 4567", True, "+358401234567", "national"),
        ("ben", "004681234567", False, "+4681234567", "international calls not allowed"),
        ("cid", "004681234567", True, "+4681234567", "international"),
        ("ann", "0401234567", False, "+358401234567", "calls out not allowed"),
        ("ann", "112", True, "112", "emergency"),
        ("cid", "0700123456", False, "+358700123456", "number blocked"),
        ("ben", "0600123", False, "+358600123", "number blocked"),
    ],
)
def test_each_class_calls_what_it_may(
    tmp_path: Path, user: str, dialled: str, allowed: bool, number: str, reason: str
) -> None:
    decision = rules(tmp_path).decide(user, dialled)
    assert decision is not None
    assert (decision.allowed, decision.number, decision.reason) == (allowed, number, reason)
    if not allowed:
        assert decision.status == 403


def test_the_call_goes_out_as_e164_with_the_users_own_number(tmp_path: Path) -> None:
    decision = rules(tmp_path).decide("cid", "0401234567")
    assert decision is not None and decision.route is not None
    assert decision.route.uri == "sip:+358401234567@127.0.0.1:5070"
    assert decision.caller_id == "+35891234568"
    emergency = rules(tmp_path).decide("ann", "112")
    assert emergency is not None and emergency.route is not None
    assert emergency.route.uri == "sip:112@127.0.0.1:5070"


def test_something_that_is_not_a_number_is_not_a_call_out(tmp_path: Path) -> None:
    assert rules(tmp_path).decide("ben", "*99") is None


def test_a_caller_id_that_is_not_the_users_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN.replace('caller_id: "+35891234568"', 'caller_id: "+35891234999"'))
    with pytest.raises(ConfigError, match="must be a number of this plan that reaches user"):
        load(path, env={})
