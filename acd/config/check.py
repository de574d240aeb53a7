"""``jono check FILE``: validate a dial plan without starting anything."""

from __future__ import annotations

import argparse
import sys

from acd.config.errors import ConfigError
from acd.config.loader import load


def summary(counts: dict[str, int]) -> str:
    return "ok: " + ", ".join(f"{n} {name}" for name, n in counts.items())


def check_main(argv: list[str]) -> int:
    """Exit status 0 and a summary when the file is valid; 1 and every issue if not."""
    parser = argparse.ArgumentParser(prog="jono check", description=__doc__)
    parser.add_argument("file", help="the dial plan (YAML)")
    args = parser.parse_args(argv)
    try:
        plan = load(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        count = len(exc.issues)
        print(f"{count} error{'s' if count != 1 else ''} in {args.file}", file=sys.stderr)
        return 1
    counts = {
        "users": len(plan.users),
        "queues": len(plan.queues),
        "numbers": len(plan.numbers),
        "trunks": len(plan.trunks),
        "menus": len(plan.menus),
        "schedules": len(plan.schedules),
        "announcements": len(plan.announcements),
    }
    print(summary(counts))
    return 0
