"""The ``jono`` command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("jono: not yet", file=sys.stderr)
    return 1
