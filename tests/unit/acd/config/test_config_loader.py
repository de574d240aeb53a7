"""Loading: includes, ${VAR} substitution, YAML scalars, the example plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.config import ConfigError, Destination, Dialplan, load

ROOT = Path(__file__).parents[4]
FIXTURES = ROOT / "tests" / "fixtures" / "config"


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_example_plan_loads_with_the_documented_contact_centre() -> None:
    plan = load(ROOT / "config" / "example.yaml", env={})
    assert isinstance(plan, Dialplan)
    assert plan.server.listen_host == "127.0.0.1"
    assert plan.server.listen_port == 5060
    assert {n: u.extension for n, u in plan.users.items()} == {
        "alice": "1001",
        "bob": "1002",
        "carol": "1003",
    }
    provider = plan.trunks["provider"]
    assert provider.accepts("127.0.0.1", 5070) and not provider.accepts("127.0.0.1", 40000)
    assert plan.numbers["+35891234567"].destination == Destination(kind="schedule", target="office")
    assert str(plan.schedules["office"].open) == "menu:main"
    assert str(plan.schedules["office"].closed) == "announcement:closed"
    options = {k: str(v) for k, v in plan.menus["main"].options.items()}
    assert options == {"1": "queue:sales", "2": "queue:support", "0": "user:alice"}
    assert plan.numbers["9000"].internal_only
    assert plan.feature_codes.echo == "600"
    assert set(plan.queues) == {"sales", "support"}
    assert set(plan.queues["sales"].members) == {"alice", "bob"}


def test_includes_merge_into_the_sections_and_substitute_env() -> None:
    plan = load(FIXTURES / "include" / "main.yaml", env={"ALICE_PASSWORD": "pw"})
    assert set(plan.queues) == {"sales", "support"}
    assert plan.queues["support"].ring_time == 15
    assert plan.users["alice"].password == "pw"
    assert plan.users["bob"].password == "bob-default"
    assert set(plan.numbers) == {"9000", "9001"}


def test_an_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    main = write(tmp_path, "include: [more/q.yaml]\n")
    write(tmp_path, "queues:\n  q:\n    ring_time: 0\n", "more/q.yaml")
    with pytest.raises(ConfigError) as caught:
        load(main, allow_empty=True)
    assert str(caught.value) == f"{tmp_path}/more/q.yaml:3:16: queues.q.ring_time: 0 must be >= 1"


def test_included_files_build_one_plan(tmp_path: Path) -> None:
    write(tmp_path, 'include: ["queues/*.yaml"]\nusers:\n  alice: {extension: 1, password: a}\n')
    write(tmp_path, "queues:\n  sales: {members: [alice]}\n", "queues/sales.yaml")
    write(tmp_path, "queues:\n  support: {ring_time: 7}\n", "queues/support.yaml")
    plan = load(tmp_path / "plan.yaml")
    assert set(plan.queues) == {"sales", "support"}
    assert plan.queues["support"].ring_time == 7
    assert plan.queues["sales"].members["alice"].level == 3


def test_duplicate_names_across_included_files_are_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ConfigError) as caught:
        load("include_dup/main.yaml", env={})
    assert str(caught.value).splitlines() == [
        "include_dup/main.yaml:1:24: include[1]: 'missing.yaml' matches no file",
        "include_dup/more/a.yaml:2:3: queues.sales: duplicate key 'sales'"
        " (first at include_dup/main.yaml:3:3)",
        "include_dup/more/b.yaml:2:3: queues.support: duplicate key 'support'"
        " (first at include_dup/more/a.yaml:3:3)",
    ]


def test_a_file_including_itself_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "include: [plan.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:1:11: include[0]: 'plan.yaml' includes itself"


def test_env_values_reach_the_model(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users:\n  alice: {extension: 1001, password: '${PW}'}\n"
        "  bob: {extension: 1002, password: '${BOB:-fallback}'}\n"
        "  carol: {extension: 1003, password: 'a$${PW}'}\n",
    )
    plan = load(path, env={"PW": "s3cret"})
    assert plan.users["alice"].password == "s3cret"
    assert plan.users["bob"].password == "fallback"
    assert plan.users["carol"].password == "a${PW}"


def test_env_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JONO_TEST_PW", "from-env")
    path = write(tmp_path, "users:\n  alice: {extension: 1001, password: '${JONO_TEST_PW}'}\n")
    assert load(path).users["alice"].password == "from-env"


def test_every_missing_variable_is_named_once(tmp_path: Path) -> None:
    path = write(tmp_path, "server:\n  realm: ${A}\n  db: ${B}\n")
    with pytest.raises(ConfigError) as caught:
        load(path, env={})
    assert [i.message for i in caught.value.issues] == [
        "environment variable A is not set",
        "environment variable B is not set",
    ]


def test_a_substituted_value_is_never_shown_in_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "queues:\n  sales: {ring_time: '${RING}'}\n")
    with pytest.raises(ConfigError) as caught:
        load(path, env={"RING": "very-secret"}, allow_empty=True)
    text = str(caught.value)
    assert "very-secret" not in text
    assert text == f"{path}:2:22: queues.sales.ring_time: '${{RING}}' must be a whole number"


def test_yaml_12_scalars_keep_numbers_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users:\n  alice: {extension: 0100, password: no}\n"
        "numbers:\n  +35891234567: {destination: 'number:0401234567'}\n"
        "trunks:\n  t: {outbound: {gateway: 'h:1'}}\n",
    )
    plan = load(path)
    assert plan.users["alice"].extension == "0100"
    assert plan.users["alice"].password == "no"
    assert str(plan.numbers["+35891234567"].destination) == "number:0401234567"


def test_prompt_and_announcement_files_resolve_to_absolute_paths() -> None:
    plan = load(FIXTURES / "prompts" / "main.yaml", allow_empty=True)
    base = (FIXTURES / "prompts").resolve()
    assert plan.announcements["closed"].file == str(base / "sounds" / "closed.wav")
    assert plan.announcements["hello"].file == str(base / "audio" / "hello.wav")
    assert plan.menus["main"].prompt == str(base / "sounds" / "menu.wav")


def test_members_may_be_a_list_or_empty_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "users:\n  a: {extension: 1, password: x}\n  b: {extension: 2, password: y}\n"
        "queues:\n  q1: {members: [a, b]}\n  q2:\n    members:\n      a:\n      b: {level: 1}\n",
    )
    plan = load(path)
    assert plan.queues["q1"].members["b"].level == 3
    assert plan.queues["q2"].members["a"].level == 3
    assert plan.queues["q2"].members["b"].level == 1


def test_schedules_without_timezone_use_the_server_timezone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "server: {timezone: Europe/Stockholm}\nschedules:\n  s: {open: hangup, closed: hangup}\n",
    )
    assert load(path, allow_empty=True).schedules["s"].timezone == "Europe/Stockholm"


def test_the_loaded_plan_is_frozen(tmp_path: Path) -> None:
    plan = load(write(tmp_path, "allow_empty: true\nqueues:\n  q: {}\n"))
    with pytest.raises(ValueError, match="frozen"):
        plan.queues["q"].ring_time = 5


def test_empty_file_allowed_explicitly_is_an_empty_plan(tmp_path: Path) -> None:
    plan = load(write(tmp_path, ""), allow_empty=True)
    assert plan == Dialplan()
    assert plan.server.listen == "127.0.0.1:5060"
    assert plan.feature_codes.login == "*21"


def test_absolute_includes_outside_the_directory_are_read(tmp_path: Path) -> None:
    other = write(tmp_path, "queues:\n  q: {ring_time: 9}\n", "elsewhere/q.yaml")
    main = write(tmp_path, f"include: ['{other}']\n", "conf/plan.yaml")
    assert load(main, allow_empty=True).queues["q"].ring_time == 9
