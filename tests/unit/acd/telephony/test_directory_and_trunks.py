"""One device directory for every call, and trunk routes out (D7, P2)."""

from __future__ import annotations

from pathlib import Path

from acd.config import load
from acd.telephony.directory import REGISTERED, DeviceDirectory, device_ids
from acd.telephony.trunks import TrunkRoutes
from sip.registrar import LocationService

PLAN = """
users:
  dave:
    extension: "1004"
    password: d
    devices:
      - {kind: phone}
      - {kind: static, contact: "sip:dave@127.0.0.1:5080;transport=tcp"}
      - {kind: mobile, number: "0401234567", trunk: provider}
trunks:
  provider:
    inbound_sources: ["192.0.2.1"]
    outbound: {gateway: "127.0.0.1:5070", username: u, password: p, caller_id: "+35891234567"}
"""


def directory(tmp_path: Path) -> tuple[DeviceDirectory, TrunkRoutes]:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    plan = load(path, env={})
    trunks = TrunkRoutes(plan)
    return DeviceDirectory(plan, LocationService(), trunks, lambda: 0.0), trunks


def test_a_users_devices_are_its_static_contacts_and_its_mobile_through_the_trunk(
    tmp_path: Path,
) -> None:
    found, _ = directory(tmp_path)
    targets = found.targets("dave")
    assert [(t.uri, t.target.transport, t.target.port, t.device) for t in targets] == [
        ("sip:dave@127.0.0.1:5080;transport=tcp", "tcp", 5080, "static1"),
        ("sip:+358401234567@127.0.0.1:5070", "udp", 5070, "mobile2"),
    ]
    assert [t.device for t in found.targets("dave", ["mobile2"])] == ["mobile2"]
    assert found.targets("dave", [REGISTERED]) == []  # nothing registered
    assert found.targets("nobody") == []


def test_the_acd_knows_the_same_device_ids(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN)
    assert device_ids(load(path, env={}).users["dave"]) == [
        ("reg", "phone"), ("static1", "static"), ("mobile2", "mobile"),
    ]


def test_a_user_may_register_their_name_or_extension_only(tmp_path: Path) -> None:
    found, _ = directory(tmp_path)
    assert found.may_register("dave", "dave")
    assert found.may_register("dave", "1004")
    assert not found.may_register("dave", "1005")
    assert not found.may_register("dave", None)


def test_a_number_out_is_normalised_and_carries_the_trunks_credentials(tmp_path: Path) -> None:
    _, trunks = directory(tmp_path)
    route = trunks.outbound("0401234567")
    assert route is not None
    assert route.uri == "sip:+358401234567@127.0.0.1:5070"
    assert route.credentials is not None and route.credentials.username == "u"
    assert route.from_uri("1001") == "sip:+35891234567@127.0.0.1"
    assert trunks.via("0401234567", "nope") is None


BROWSER_PLAN = """
users:
  erin:
    extension: "1005"
    password: e
    devices: [{kind: phone}, {kind: browser}]
  fred:
    extension: "1006"
    password: f
"""


def _bind(location: LocationService, user: str, transport: str, port: int) -> None:
    from sip.registrar import Binding
    from sip.transport import Target

    location.put(Binding(
        aor=user, contact=f"sip:{user}@h{port}.invalid;transport={transport}", expires_at=100.0,
        call_id=f"c{port}", cseq=1, source=Target(transport, "127.0.0.1", port),
        transport=transport, received_at=0.0,
    ))  # fmt: skip


def test_a_browser_device_is_what_registers_over_websocket_and_rings_apart(
    tmp_path: Path,
) -> None:
    """D7: with a browser device, WebSocket registrations are that device, so a
    queue can ring the desk phone, the browser, or both."""
    path = tmp_path / "plan.yaml"
    path.write_text(BROWSER_PLAN)
    plan = load(path, env={})
    location = LocationService()
    found = DeviceDirectory(plan, location, TrunkRoutes(plan), lambda: 0.0)
    assert device_ids(plan.users["erin"]) == [("reg", "phone"), ("browser", "browser")]
    _bind(location, "erin", "wss", 40001)
    assert found.has_registration("erin", "browser")
    assert not found.has_registration("erin", "reg")
    _bind(location, "erin", "udp", 40002)
    assert found.has_registration("erin", "reg")
    assert [(t.device, t.target.transport) for t in found.targets("erin", ["browser"])] == [
        ("browser", "wss")]
    assert [(t.device, t.target.transport) for t in found.targets("erin", ["reg"])] == [
        ("reg", "udp")]
    assert sorted(t.device for t in found.targets("erin")) == ["browser", "reg"]
    # Without a browser device, a browser phone is one more registered contact.
    _bind(location, "fred", "ws", 40003)
    assert found.has_registration("fred", "reg")
    assert [(t.device, t.target.transport) for t in found.targets("fred")] == [("reg", "ws")]
