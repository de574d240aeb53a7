"""Find the external programs the e2e tests drive; fail (never skip) when one is missing."""

from __future__ import annotations

import shutil

import pytest

_INSTALL_HINT = {
    "sipp": "apt-get install sip-tester",
    "baresip": "apt-get install baresip-core",
    "sox": "apt-get install sox",
}


def require_tool(name: str) -> str:
    """Absolute path of ``name``; fails the test with the command that installs it."""
    path = shutil.which(name)
    if path is None:
        hint = _INSTALL_HINT.get(name, f"install {name}")
        pytest.fail(
            f"{name} not found: {hint} (or run `make test` as root, which runs "
            "scripts/install_test_tools)",
            pytrace=False,
        )
    return path


def require_pjsua2() -> None:
    """Fail with the install hint when the pjsua2 wheel is not importable."""
    try:
        import pjsua2  # noqa: F401
    except ImportError:
        pytest.fail(
            "pjsua2 not importable: pip install pjsua2-python (it is in the [test] extra; "
            "run `make test`)",
            pytrace=False,
        )
