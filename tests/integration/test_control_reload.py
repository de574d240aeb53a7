"""``jono reload`` finds the running server by its control socket, from any
directory, and exits non-zero with the errors when the new plan is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acd.bootstrap import Jono, Settings, build
from acd.cli import main
from acd.config import load

PLAN = """
server: {listen: "127.0.0.1:5060", realm: test}
users:
  alice: {extension: "1001", password: alicepw}
"""


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Jono]:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    srv = build(load(plan), Settings(
        host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/t.db", realm="test",
        cache_dir=str(tmp_path / "cache"), http=("127.0.0.1", 0),
    ), config_path=str(plan))  # fmt: skip
    await srv.start()
    yield srv
    await srv.close()


async def test_reload_takes_a_good_plan_and_refuses_a_broken_one(
    server: Jono, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path.parent)  # not where the server runs
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN + '  bob: {extension: "1002", password: bobpw}\n')
    assert await asyncio.to_thread(main, ["reload"]) == 0
    assert set(server.plan.users) == {"alice", "bob"}
    plan.write_text(PLAN + "queues:\n  sales: {ring_time: -5}\n")
    listen = f"127.0.0.1:{server.ua.port}"
    assert await asyncio.to_thread(main, ["reload", "--listen", listen]) == 1
    err = capsys.readouterr().err
    assert "refused the new plan" in err and "queues.sales.ring_time" in err
    assert set(server.plan.users) == {"alice", "bob"}  # the running plan stays


async def test_no_running_server_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert main(["reload"]) == 1
    assert "no running server found" in capsys.readouterr().err
