"""Call flows on a server built with fakes: menus, users, forwarding, numbers out."""

from __future__ import annotations

from pathlib import Path

import pytest
from acd_fakes import FakeServer, invite, until
from acd_plans import office

from acd.config import load
from acd.config.types import ACCEPTED_KINDS
from acd.flows.runner import FlowRunner
from acd.telephony.access import Caller
from acd.telephony.inbound import InboundInvite
from sip.transport import Target

TRUNK = Target("udp", "127.0.0.1", 5999)


def dial(server: FakeServer, number: str) -> None:
    jono = server.jono
    jono.dispatch.on_request(jono.ua, invite(number), object(), TRUNK)


async def test_a_menu_choice_rings_the_user_and_connects_the_caller(server: FakeServer) -> None:
    dial(server, "+35891234567")
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)  # the menu answers to play its prompt
    caller.info_digit("1")
    bob = await server.legs.next_outgoing()
    assert bob.uris == ["sip:bob@127.0.0.1:5072"]
    assert bob.from_uri == "sip:+358401234567@jono"
    bob.answer()
    [call] = server.jono.registry.of_user("bob")
    assert call.variables == {"menu_main": "1"}
    bob.bye()
    assert caller.what()[-1] == "bye"
    [record] = server.store.cdrs
    assert record["detail"] == '{"menu_main": "1"}'


async def test_a_busy_user_forwards_to_the_next_destination(server: FakeServer) -> None:
    dial(server, "1002")
    bob = await server.legs.next_outgoing()
    bob.fail(486)
    carol = await server.legs.next_outgoing(2)
    assert carol.uris == ["sip:carol@127.0.0.1:5073"]


async def test_no_answer_without_forwarding_tells_the_caller_480(server: FakeServer) -> None:
    dial(server, "1003")  # carol: no forwarding, rings 20 s; she declines
    carol = await server.legs.next_outgoing()
    carol.fail(603)
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.finalised)
    assert caller.sent[-1] == ("reject", 603)  # what the callee said reaches the caller
    await until(lambda: len(server.store.cdrs) == 1)
    assert server.store.cdrs[0]["disposition"] == "rejected"


async def test_bobs_ring_time_runs_out(server: FakeServer) -> None:
    dial(server, "1002")  # bob: 1 s, then nothing for no answer
    bob = await server.legs.next_outgoing()
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.finalised, timeout=4)
    assert bob.cancelled
    assert caller.sent[-1] == ("reject", 480)


@pytest.mark.parametrize("number", ["+35800000000", "9000"])
async def test_unknown_and_internal_only_numbers_are_not_in_service_from_the_trunk(
    server: FakeServer, number: str
) -> None:
    dial(server, number)
    caller = server.legs.incoming_legs[-1]
    assert caller.sent == [("reject", 404)]
    [record] = server.store.cdrs
    assert (record["status"], record["disposition"]) == (404, "not_in_service")
    assert len(server.jono.registry) == 0


async def test_a_number_goes_out_through_the_trunk_normalised_with_its_caller_id(
    server: FakeServer,
) -> None:
    dial(server, "+35891234567")
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    caller.info_digit("2")
    out = await server.legs.next_outgoing()
    assert out.uris == ["sip:+358401234567@127.0.0.1:5070"]
    assert out.from_uri == "sip:+35891234567@127.0.0.1"
    out.answer()
    [call] = list(server.jono.registry)
    assert call.kind == "inbound"  # from the trunk, out through it


async def test_a_plan_whose_destination_kinds_are_not_all_handled_does_not_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(office(tmp_path))
    server = FakeServer(tmp_path, office(tmp_path))
    try:
        running = server.jono.inbound.runner
        assert running is not None
        running.check_complete(ACCEPTED_KINDS)  # the server's own runner has them all
        runner = FlowRunner(
            load(path, env={}), directory=running.directory, trunks=running.trunks,
            announcements=running.announcements, clock=server.jono.clock,
        )
        with pytest.raises(RuntimeError, match="queue"):
            runner.check_complete(ACCEPTED_KINDS)
    finally:
        await server.close()


def user_calls(server: FakeServer, user: str, dialled: str) -> None:
    request = invite(dialled, caller=user)
    server.jono.inbound.number(InboundInvite(  # as if its digest was checked
        "number", request, object(), Target("udp", "127.0.0.1", 5999), Caller("user", user),
        dialled,
    ))


async def test_a_user_calls_out_through_the_trunk_in_e164(server: FakeServer) -> None:
    user_calls(server, "alice", "0401234567")
    out = await server.legs.next_outgoing()
    assert out.uris == ["sip:+358401234567@127.0.0.1:5070"]
    assert out.from_uri == "sip:+35891234567@127.0.0.1"  # the trunk's caller ID
    out.answer()
    [call] = server.jono.registry.of_user("alice")
    assert call.kind == "outbound"


async def test_a_call_out_the_rules_refuse_gets_403_and_no_leg(server: FakeServer) -> None:
    user_calls(server, "alice", "0046812345678")  # national class by default
    caller = server.legs.incoming_legs[-1]
    assert caller.sent == [("reject", 403)]
    assert server.legs.outgoing_legs == []
    assert server.store.cdrs[0]["disposition"] == "refused"


async def test_records_name_people_one_way_and_say_what_happened(server: FakeServer) -> None:
    dial(server, "+35891234567")  # the menu; the caller leaves while it plays
    caller = server.legs.incoming_legs[-1]
    await until(lambda: caller.answered)
    caller.bye()
    user_dials_extension(server, "alice", "1003")  # carol declines, alice hears 603
    (await server.legs.next_outgoing()).fail(603)
    await until(lambda: len(server.store.cdrs) == 2)
    menu, declined = server.store.cdrs
    assert (menu["caller"], menu["caller_name"], menu["callee"]) == (
        "+358401234567", menu["caller_name"], "+35891234567",
    )
    assert menu["caller_name"].startswith("Caller")
    assert (menu["status"], menu["disposition"], menu["ended_by"]) == (200, "abandoned", "caller")
    assert (declined["caller"], declined["callee"], declined["disposition"]) == (
        "alice", "carol", "rejected",
    )


def user_dials_extension(server: FakeServer, user: str, dialled: str) -> None:
    request = invite(dialled, caller=user)
    server.jono.inbound.extension(InboundInvite(
        "extension", request, object(), Target("udp", "127.0.0.1", 5999), Caller("user", user),
        dialled,
    ))


async def test_by_default_a_trunk_reaches_only_public_numbers(tmp_path: Path) -> None:
    """Trunk reach (issue 10): no extension, no internal-only number, no echo
    code from outside; the plan's public numbers only."""
    server = FakeServer(tmp_path, office(tmp_path, reach="public_numbers"))
    try:
        for dialled in ("1002", "600", "9000"):
            dial(server, dialled)
            assert server.legs.incoming_legs[-1].sent == [("reject", 404)], dialled
        dial(server, "+35891234567")  # the main number's menu answers
        caller = server.legs.incoming_legs[-1]
        await until(lambda: caller.answered)
    finally:
        await server.close()
