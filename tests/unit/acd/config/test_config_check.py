"""``jono check`` and the exported JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acd.config import check_main, export_schema
from acd.config.schema import schema_text

ROOT = Path(__file__).parents[4]


def test_committed_schema_equals_a_fresh_export(tmp_path: Path) -> None:
    export_schema(tmp_path / "schema.json")
    fresh = (tmp_path / "schema.json").read_text()
    committed = (ROOT / "config" / "jono.schema.json").read_text()
    hint = "regenerate with acd.config.export_schema('config/jono.schema.json')"
    assert committed == fresh, hint


def test_schema_describes_every_section_and_include() -> None:
    schema = json.loads(schema_text())
    assert set(schema["properties"]) == {
        "allow_empty",
        "server",
        "users",
        "trunks",
        "numbers",
        "schedules",
        "menus",
        "announcements",
        "queues",
        "feature_codes",
        "outbound",
        "include",
    }
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Queue"]["properties"]["ring_time"]["minimum"] == 1


def test_check_of_the_example_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_main([str(ROOT / "config" / "example.yaml")]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "ok: 3 users, 2 queues, 2 numbers, 1 trunks, 1 menus, 1 schedules, 7 announcements\n"
    )
    assert captured.err == ""  # the shipped plan has nothing to warn about


def test_check_of_a_broken_plan_prints_every_issue_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text("queues:\n  sales:\n    ring_time: -5\n    ring_tme: 3\nallow_empty: true\n")
    assert check_main([str(path)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{path}:3:16: queues.sales.ring_time: -5 must be >= 1",
        f"{path}:4:5: queues.sales.ring_tme: unknown key 'ring_tme'; did you mean 'ring_time'?",
        f"2 errors in {path}",
    ]
