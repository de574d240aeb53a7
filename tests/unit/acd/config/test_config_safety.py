"""Dial-plan safety (issue 10 items 7-9): an empty plan is refused, a reload
that removes most of the PBX is refused, every error comes out in one run,
and legal-but-risky plans are warned about."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.config import ConfigError, ConfigIssue, check_main, load
from acd.config.dialplan import Dialplan
from acd.config.numbers import Number
from acd.config.reload_guard import ReloadRefused, check_reload
from acd.config.trunks import Trunk
from sip.auth import ThrottleLimits
from sip.tcp_guard import TcpLimits

EMPTY_MESSAGE = (
    "the plan has no users and no numbers (an empty or half-written file?); add them, or set "
    "'allow_empty: true' (jono check --allow-empty) if that is meant"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


# -- item 7: an empty plan ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [("", "1:1"), ("# only a comment\n# and another\n", "1:1"), ("users: {}\n", "1:1"),
     ("server: {realm: x}\nusers: {}\nnumbers: {}\n", "2:1")],
)
def test_plan_without_users_and_numbers_is_refused_naming_the_file(
    tmp_path: Path, text: str, where: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:{where}: {EMPTY_MESSAGE}"


def test_empty_plan_is_accepted_when_the_file_or_the_caller_says_so(tmp_path: Path) -> None:
    assert load(write(tmp_path, "allow_empty: true\n")).users == {}
    assert load(write(tmp_path, "users: {}\n"), allow_empty=True).users == {}


def test_plan_with_only_numbers_or_only_users_is_not_empty(tmp_path: Path) -> None:
    assert load(write(tmp_path, 'numbers: {"600": {destination: echo}}\n')).numbers
    assert load(write(tmp_path, "users: {a: {extension: 1, password: p}}\n")).users


def test_jono_check_refuses_an_empty_file_and_accepts_it_with_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "# nothing yet\n")
    assert check_main([str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:1:1: {EMPTY_MESSAGE}", f"1 error in {path}",
    ]
    assert check_main([str(path), "--allow-empty"]) == 0
    assert capsys.readouterr().out.startswith("ok: 0 users")


# -- item 7: a reload that removes most of the plan ------------------------------------


def _plan(users: int, numbers: int = 0, share: float | None = None) -> Dialplan:
    data: dict[str, object] = {
        "users": {f"u{i}": {"extension": str(100 + i), "password": "p"} for i in range(users)},
        "numbers": {str(900 + i): {"destination": "echo"} for i in range(numbers)},
    }
    if share is not None:
        data["server"] = {"reload_max_removed_share": share}
    return Dialplan.model_validate(data)


def test_reload_removing_more_than_half_of_the_users_is_refused_with_what_and_why() -> None:
    with pytest.raises(ReloadRefused) as caught:
        check_reload(_plan(10, 2), _plan(3, 2), source="plan.yaml")
    assert str(caught.value) == (
        "reload refused: plan.yaml removes 7 of 10 users (70%: u3, u4, u5, u6, u7 and 2 more), "
        "more than 50% (server.reload_max_removed_share); the running plan stays. "
        "If that is meant, reload with force (jono reload --force)."
    )
    assert [r.section for r in caught.value.removals] == ["users"]


def test_reload_that_empties_the_numbers_is_refused_and_forced_reload_passes() -> None:
    with pytest.raises(ReloadRefused, match="removes 2 of 2 numbers"):
        check_reload(_plan(2, 2), _plan(2, 0))
    removed = check_reload(_plan(2, 2), _plan(2, 0), force=True)
    assert [(r.section, len(r.removed)) for r in removed] == [("users", 0), ("numbers", 2)]


def test_reload_removing_half_or_adding_is_allowed() -> None:
    check_reload(_plan(10, 4), _plan(5, 2))
    check_reload(_plan(1, 0), _plan(30, 30))
    check_reload(Dialplan(), _plan(0, 0))


def test_the_allowed_share_comes_from_the_running_plan() -> None:
    check_reload(_plan(10, share=0.9), _plan(2, share=0.1))
    with pytest.raises(ReloadRefused):
        check_reload(_plan(10, share=0.1), _plan(8, share=1.0))
    check_reload(_plan(10), _plan(1), max_share=1.0)


# -- item 8: every error in one run --------------------------------------------------


def test_a_field_error_and_a_reference_error_in_the_same_entry_come_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users:\n  alice: {extension: 1001, password: x}\n"
        "queues:\n  support: {members: {ghost: {}}, ring_time: -1}\n"
        "  sales: {schedule: nightly, strategy: roundrobin, members: [alice]}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert [f"{i.path}: {i.message}" for i in caught.value.issues] == [
        "queues.support.members.ghost: unknown user 'ghost'",
        "queues.support.ring_time: -1 must be >= 1",
        "queues.sales.schedule: unknown schedule 'nightly'",
        "queues.sales.strategy: 'roundrobin' must be one of 'skills', 'sequential', "
        "'longest_idle' or 'random'",
    ]


def test_a_bad_device_does_not_hide_the_users_other_mistakes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users:\n  alice:\n    extension: 1001\n    password: x\n"
        "    devices: [{kind: pager}]\n    forward_busy: 'user:nobody'\n",
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    messages = [f"{i.path}: {i.message}" for i in caught.value.issues]
    assert "users.alice.forward_busy: unknown user 'nobody'" in messages
    assert any(m.startswith("users.alice.devices[0].kind:") for m in messages)
    assert len(messages) == 2  # no knock-on errors from the device set aside


def test_a_bad_server_field_does_not_hide_reference_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "server: {media: bogus}\nusers:\n  alice: {extension: 1001, password: x}\n"
        'numbers:\n  "9000": {destination: "queue:nope"}\n',
    )
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert [i.path for i in caught.value.issues] == ["server.media", "numbers.9000.destination"]


# -- item 9: warnings, trunk sources with ports, trunk reach ----------------------------


def _warnings(tmp_path: Path, text: str) -> list[str]:
    found: list[ConfigIssue] = []
    load(write(tmp_path, text), warnings=found)
    return [f"{w.line}:{w.column}: {w.path}: {w.message}" for w in found]


def test_a_number_that_shadows_a_feature_code_is_warned_about(tmp_path: Path) -> None:
    assert _warnings(tmp_path, 'numbers:\n  "600": {destination: echo}\n') == [
        "2:3: numbers.600: number '600' is also feature_codes.echo: users dialling it get the "
        "feature code; only trunk callers can reach this number (if not internal_only)"
    ]


@pytest.mark.parametrize(
    ("listen", "source", "what"),
    [("127.0.0.1:5060", "127.0.0.1", "loopback"), ("127.0.0.1:5060", "127.0.0.0/8", "loopback"),
     ("192.0.2.10:5060", "192.0.2.0/24", "the listen host"), ("[::1]:5060", "::1", "loopback")],
)
def test_a_trunk_source_where_phones_register_is_warned_about(
    tmp_path: Path, listen: str, source: str, what: str
) -> None:
    found = _warnings(
        tmp_path,
        f'server: {{listen: "{listen}"}}\nusers: {{a: {{extension: 1, password: p}}}}\n'
        f'trunks:\n  provider: {{inbound_sources: ["{source}"]}}\n',
    )
    assert len(found) == 1
    assert found[0].startswith("4:32: trunks.provider.inbound_sources[0]: ")
    assert f"covers {what}, where phones register from" in found[0]


def test_a_trunk_source_with_a_port_or_elsewhere_is_not_warned_about(tmp_path: Path) -> None:
    assert _warnings(
        tmp_path,
        'users: {a: {extension: 1, password: p}}\n'
        'trunks:\n  provider: {inbound_sources: ["127.0.0.1:5070", "203.0.113.0/24", "[::1]:5071"]}\n',
    ) == []


def test_trunk_sources_match_by_address_and_port() -> None:
    trunk = Trunk.model_validate({"inbound_sources": ["127.0.0.1:5070", "[::1]:5071", "192.0.2.0/24"]})
    assert trunk.accepts("127.0.0.1", 5070)
    assert not trunk.accepts("127.0.0.1", 5060)
    assert not trunk.accepts("127.0.0.1")  # port unknown: a port-bound source does not match
    assert trunk.accepts("::1", 5071) and not trunk.accepts("::1", 5060)
    assert trunk.accepts("192.0.2.7", 1234) and trunk.accepts("192.0.2.7")
    plan = Dialplan.model_validate({"trunks": {"p": {"inbound_sources": ["127.0.0.1:5070"]}}})
    assert plan.trunk_for_source("127.0.0.1", 5070) == ("p", plan.trunks["p"])
    assert plan.trunk_for_source("127.0.0.1", 5060) is None


@pytest.mark.parametrize("bad", ["127.0.0.1:0", "127.0.0.1:99999", "[::1]x", "host:5070", "1.2.3.4:ab"])
def test_a_bad_trunk_source_is_an_error(bad: str) -> None:
    with pytest.raises(ValueError):
        Trunk.model_validate({"inbound_sources": [bad]})


def test_trunk_reach_defaults_to_public_numbers_only() -> None:
    trunk = Trunk()
    assert trunk.reach == "public_numbers" and not trunk.may_reach_extensions
    assert trunk.may_reach_number(Number.model_validate({"destination": "queue:q"}))
    assert not trunk.may_reach_number(
        Number.model_validate({"destination": "echo", "internal_only": True})
    )
    assert Trunk(reach="public_numbers_and_extensions").may_reach_extensions
    described = Trunk.model_fields["reach"].description or ""
    assert "internal_only numbers and feature codes" in described


# -- settings the SIP layer takes as they are --------------------------------------------


def test_server_settings_default_to_the_sip_layers_defaults() -> None:
    server = Dialplan().server
    assert TcpLimits(**server.tcp.model_dump()) == TcpLimits()
    assert ThrottleLimits(**server.auth_throttle.model_dump()) == ThrottleLimits()
    assert server.digest_algorithms == ("MD5",)
    assert server.reload_max_removed_share == 0.5
