#!/usr/bin/env python3
"""Summarise a py-spy raw (folded) profile: where the samples' innermost Python line
is, grouped by function and by line, as shares of all samples.

    .venv/bin/python scripts/bench/folded_top.py profile.folded [--lines 25]

With ``py-spy record --idle`` a sample taken while the GIL is released (a socket
syscall, epoll) still carries the Python line that made the call, so a line like
``data = self.recv(...)`` holds the kernel's receive cost, and the event loop's own
line (``Runner.run``) holds the waits and uvloop's C code.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+):(?P<line>\d+)\)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--lines", type=int, default=25)
    args = parser.parse_args()
    by_line: Counter[str] = Counter()
    by_func: Counter[str] = Counter()
    total = 0
    for raw in args.profile.read_text().splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        leaf = stack.split(";")[-1]
        match = FRAME.match(leaf)
        func = match["func"] if match else leaf
        source = ""
        if match:
            path = Path(match["file"])
            try:
                text = path.read_text().splitlines()[int(match["line"]) - 1].strip()
            except (OSError, IndexError):
                text = ""
            source = f"{path.name}:{match['line']}  {text[:60]}"
        by_func[func] += n
        by_line[source or leaf] += n
    print(f"{total} samples")
    print("by function (innermost Python frame):")
    for func, n in by_func.most_common(args.lines):
        print(f"  {100 * n / total:5.1f}%  {func}")
    print("by line:")
    for line, n in by_line.most_common(args.lines):
        print(f"  {100 * n / total:5.1f}%  {line}")


if __name__ == "__main__":
    main()
