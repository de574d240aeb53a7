"""The inbound dispatch table: every new call goes to one handler by kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from acd_fakes import invite
from acd_plans import office

from acd.config import load
from acd.telephony.access import Access
from acd.telephony.directory import DeviceDirectory
from acd.telephony.inbound import InboundDispatch, InboundInvite, InboundPlan
from acd.telephony.registrar import Registrar
from acd.telephony.trunks import TrunkRoutes
from sip.registrar import LocationService
from sip.transport import Target
from sip.ua import UserAgent

TRUNK = Target("udp", "127.0.0.1", 5999)


def dispatch(tmp_path: Path, contact_user: str | None = None) -> tuple[InboundDispatch, list[InboundInvite]]:
    path = tmp_path / "plan.yaml"
    path.write_text(office(tmp_path))
    plan = load(path, env={})
    location = LocationService()
    directory = DeviceDirectory(plan, location, TrunkRoutes(plan), lambda: 0.0)
    seen: list[InboundInvite] = []
    table = InboundDispatch(Registrar(location), InboundPlan(
        access=Access("jono", plan.users, plan.trunks), directory=directory,
        feature_codes=plan.feature_codes, trunk_contacts=lambda trunk: contact_user,
    ))
    for kind in ("feature", "extension", "number"):
        table.handle(kind, seen.append)  # type: ignore[arg-type]
    return table, seen


@pytest.mark.parametrize(
    ("dialled", "kind"),
    [("1002", "extension"), ("bob", "extension"), ("600", "extension"),
     ("+35891234567", "number"), ("9000", "number"), ("*21", "number")],
)
def test_a_trunk_call_goes_to_the_handler_of_its_kind(
    tmp_path: Path, dialled: str, kind: str
) -> None:
    table, seen = dispatch(tmp_path)
    table.on_request(UserAgent(table), invite(dialled), object(), TRUNK)
    [call] = seen
    assert (call.kind, call.dialled, call.caller.kind, call.feature) == (kind, dialled, "trunk", None)


def test_a_call_to_the_contact_registered_at_the_trunk_is_for_the_number_in_to(
    tmp_path: Path,
) -> None:
    table, seen = dispatch(tmp_path, contact_user="35891234567")
    request = invite("35891234567")
    request.headers.set("To", "<sip:+35891234567@127.0.0.1>")
    table.on_request(UserAgent(table), request, object(), TRUNK)
    assert [(c.kind, c.dialled) for c in seen] == [("number", "+35891234567")]


def test_every_kind_needs_a_handler_before_the_server_starts(tmp_path: Path) -> None:
    table = InboundDispatch(Registrar(LocationService()))
    table.handle("feature", lambda invite: None)
    with pytest.raises(RuntimeError, match="extension, number"):
        table.check_complete()
