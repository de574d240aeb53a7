"""``jono check FILE``: validate a dial plan without starting anything."""

from __future__ import annotations

import argparse
import sys

from acd.config.errors import ConfigError, ConfigIssue
from acd.config.loader import load


def summary(counts: dict[str, int]) -> str:
    return "ok: " + ", ".join(f"{n} {name}" for name, n in counts.items())


def check_main(argv: list[str]) -> int:
    """Exit status 0 and a summary when the file is valid; 1 and every issue if not.

    Warnings (legal but probably not meant) go to stderr, one per line,
    prefixed ``warning:``; they do not change the exit status."""
    parser = argparse.ArgumentParser(prog="jono check", description=__doc__)
    parser.add_argument("file", help="the dial plan (YAML)")
    parser.add_argument(
        "--allow-empty", action="store_true",
        help="accept a plan with no users and no numbers (same as 'allow_empty: true')",
    )
    args = parser.parse_args(argv)
    warnings: list[ConfigIssue] = []
    try:
        plan = load(args.file, allow_empty=args.allow_empty, warnings=warnings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        count = len(exc.issues)
        print(f"{count} error{'s' if count != 1 else ''} in {args.file}", file=sys.stderr)
        return 1
    for warning in sorted(warnings, key=lambda w: (w.file, w.line, w.column, w.path)):
        print(f"warning: {warning}", file=sys.stderr)
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
