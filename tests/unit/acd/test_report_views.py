"""``jono report``: per agent, per interval, CSV and JSON, every plan queue, no silent new store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from acd.report import main
from acd.store import Store


def store_with_events(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'jono.db'}"
    store = Store(url)
    now = datetime.now(UTC).replace(minute=30)
    for minutes, kind, agent, wait in [
        (-70, "offered", "bob", None), (-70, "answered", "bob", 5.0),
        (-10, "offered", "carol", None), (-10, "no_answer", "carol", None),
        (-9, "offered", "bob", None), (-9, "answered", "bob", 30.0),
    ]:
        store.add_queue_event(
            at=now + timedelta(minutes=minutes), kind=kind, queue_id="sales", call_id="c",
            agent_id=agent, wait=wait, position=1, reason=None, detail=None,
        )
    store.flush()
    store.close()
    return url


def test_per_agent_figures_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = store_with_events(tmp_path)
    assert main(["--db", url, "--by", "agent", "--format", "json"]) == 0
    rows = {r["agent"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["bob"]["offered"], rows["bob"]["answered"]) == (2, 2)
    assert (rows["carol"]["offered"], rows["carol"]["no_answer"]) == (1, 1)


def test_per_hour_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = store_with_events(tmp_path)
    assert main(["--db", url, "--by", "hour", "--format", "csv", "--from", "yesterday"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("interval,queue,answered,abandoned")
    assert [line.split(",")[2] for line in lines[1:]] == ["1", "1"]  # one answer each hour


def test_every_queue_of_the_plan_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store_with_events(tmp_path)
    plan = tmp_path / "plan.yaml"
    plan.write_text("users:\n  bob: {extension: '1002', password: b}\n"
                    "queues:\n  sales: {members: [bob]}\n  support: {members: [bob]}\n")
    assert main(["--db", url, "--config", str(plan), "--format", "json"]) == 0
    assert [r["queue"] for r in json.loads(capsys.readouterr().out)] == ["sales", "support"]


def test_a_store_that_does_not_exist_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["--db", f"sqlite:///{missing}"]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not missing.exists()


def test_today_and_yesterday_are_times(tmp_path: Path) -> None:
    url = store_with_events(tmp_path)
    assert main(["--db", url, "--from", "yesterday", "--to", "today"]) == 0
    with pytest.raises(SystemExit):
        main(["--db", url, "--from", "last week"])
