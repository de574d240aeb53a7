"""Fixtures shared by the application's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from acd_fakes import FakeServer
from acd_plans import office


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FakeServer]:
    """A server built by acd.bootstrap on the ``office`` plan, with fake legs and store."""
    srv = FakeServer(tmp_path, office(tmp_path))
    yield srv
    await srv.close()
