"""Run-wide reporting only: where the browser tests left their screenshots.

Loaded by the controlling pytest process too (also under ``-n 2``, whose
workers' own summaries are not shown), so the folder is printed once at the
end of every run that took screenshots. The folder is the one
``tests/e2e/peers/browser.py`` writes to: ``$JONO_SCREENSHOTS`` or
``<tmp>/jono-screenshots``; CI keeps it as an artifact.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    root = Path(
        os.environ.get("JONO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "jono-screenshots"
    )
    if not root.is_dir():
        return
    fresh = [p for p in root.glob("*/*.png") if p.stat().st_mtime >= _STARTED]
    if fresh:
        terminalreporter.write_line(f"browser screenshots ({len(fresh)} this run): {root}")
