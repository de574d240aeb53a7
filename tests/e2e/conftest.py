"""Fixtures for end-to-end tests: the real Jono server against real SIP peers.

Every test gets its own ports (``free_port``) and its own directory
(``tmp_path``), so the suite runs in parallel (``pytest -n 2``). A missing
tool fails the test with the command that installs it; nothing is skipped.
When a test fails, the log of every Jono it started is attached to the
report ("jono log" section).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from peers.jono import JonoServer, JonoStartError, StartJono
from peers.ports import free_port as _free_port

_SERVERS_KEY = pytest.StashKey[list[JonoServer]]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed:
        servers: list[JonoServer] = item.stash.get(_SERVERS_KEY, [])
        for index, server in enumerate(servers):
            report.sections.append(
                (
                    f"jono log #{index} ({server.address}) [{report.when}]",
                    server.log_text()[-20000:],
                )
            )


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()``: a port free for both UDP and TCP on 127.0.0.1."""
    return _free_port


@pytest.fixture
def jono(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StartJono]:
    """Factory: ``jono(config) -> JonoServer`` (started, answering OPTIONS).

    ``server.listen`` is filled in with a free port; the database and the
    log live in the test's tmp dir. Servers are stopped at teardown.
    """
    servers: list[JonoServer] = []
    request.node.stash[_SERVERS_KEY] = servers

    def start(
        config: dict[str, Any], args: Sequence[str] = (), plan: Path | None = None
    ) -> JonoServer:
        server = JonoServer(config, tmp_path / f"jono{len(servers)}", args=args, plan=plan)
        servers.append(server)
        try:
            return server.start()
        except JonoStartError as exc:
            error = str(exc)
        pytest.fail(error, pytrace=False)

    yield start
    for server in servers:
        server.stop()
