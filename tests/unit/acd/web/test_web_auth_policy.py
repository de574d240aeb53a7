"""Who may change whose state, see which queue, reload (pure policy) and over HTTP."""

from __future__ import annotations

import pytest
from webauth_site import ORIGIN, signed_in

from acd.web.auth.policy import (
    Principal,
    Role,
    RoleError,
    UserRoles,
    may_change_agent_queue,
    may_change_agent_state,
    may_reload,
    may_see_queue,
    role_table,
    token_principal,
)


def _p(user: str, *roles: Role, supervises: tuple[str, ...] = ()) -> Principal:
    return Principal(user=user, roles=frozenset(roles), supervises=frozenset(supervises))


def test_agent_changes_only_their_own_state():
    alice = _p("alice", Role.AGENT)
    assert may_change_agent_state(alice, "alice", ["sales"])
    assert not may_change_agent_state(alice, "bob", ["sales"])


def test_supervisor_changes_state_of_agents_in_their_queues_only():
    sue = _p("sue", Role.SUPERVISOR, supervises=("sales",))
    assert may_change_agent_state(sue, "bob", ["support", "sales"])
    assert not may_change_agent_state(sue, "carol", ["support"])
    assert may_change_agent_queue(sue, "carol", "sales")
    assert not may_change_agent_queue(sue, "carol", "support")


def test_admin_may_do_everything_and_only_admin_reloads():
    ada = _p("ada", Role.ADMIN)
    assert may_change_agent_state(ada, "carol", [])
    assert may_see_queue(ada, "support", [])
    assert may_reload(ada)
    assert not may_reload(_p("sue", Role.SUPERVISOR, supervises=("sales",)))
    assert not may_reload(_p("alice", Role.AGENT))


def test_queues_are_seen_by_their_members_and_supervisors():
    assert may_see_queue(_p("alice", Role.AGENT), "sales", ["alice", "bob"])
    assert not may_see_queue(_p("carol", Role.AGENT), "sales", ["alice", "bob"])
    assert may_see_queue(_p("sue", Role.SUPERVISOR, supervises=("sales",)), "sales", [])


def test_token_role_caps_the_owners_roles():
    owner = UserRoles(roles=frozenset({Role.ADMIN, Role.SUPERVISOR}), supervises=frozenset({"s"}))
    p = token_principal("ada", owner, "supervisor", "t1")
    assert p.roles == {Role.SUPERVISOR} and p.supervises == {"s"} and p.via == "token"
    agent_only = token_principal("ada", owner, "agent", "t2")
    assert agent_only.roles == frozenset() and agent_only.supervises == frozenset()


def test_role_table_rejects_unknown_roles_and_queues_for_non_supervisors():
    with pytest.raises(RoleError, match="unknown role 'boss'"):
        role_table({"x": (["boss"], [])})
    with pytest.raises(RoleError, match="no supervisor"):
        role_table({"x": (["agent"], ["sales"])})


async def _set_state(client, csrf, agent):
    return await client.post(
        f"/api/agents/{agent}/state",
        json={"state": "paused"},
        headers={"origin": ORIGIN, "x-csrf-token": csrf},
    )


async def test_over_http_an_agent_cannot_change_another_agents_state(site, client_for):
    client = client_for()
    csrf = await signed_in(client, "alice")
    assert (await _set_state(client, csrf, "bob")).status_code == 403
    assert site.states == {}
    assert (await _set_state(client, csrf, "alice")).status_code == 200


async def test_over_http_a_supervisor_changes_state_of_their_queues_agents(site, client_for):
    client = client_for()
    csrf = await signed_in(client, "sue")
    assert (await _set_state(client, csrf, "bob")).status_code == 200
    assert (await _set_state(client, csrf, "carol")).status_code == 403
    assert site.states == {"bob": "paused"}


async def test_over_http_only_an_admin_reloads(site, client_for):
    for user, status in [("alice", 403), ("sue", 403), ("ada", 200)]:
        client = client_for()
        csrf = await signed_in(client, user)
        response = await client.post(
            "/api/reload", headers={"origin": ORIGIN, "x-csrf-token": csrf}
        )
        assert response.status_code == status, user
    assert site.reloads == 1


async def test_a_user_removed_from_the_plan_loses_their_session(site, client_for):
    client = client_for()
    await signed_in(client, "carol")
    site.auth.roles = lambda user: None if user == "carol" else UserRoles(roles=frozenset())
    assert (await client.get("/api/queues")).status_code == 401
