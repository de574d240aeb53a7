"""``jono report``: per-queue service figures from the queue event log (S2).

For each queue, over ``[from, to)``:

* answered / abandoned / overflowed: callers that reached an agent, hung up
  while waiting, or left to an overflow destination (max wait, full, ...);
* service level: answered within N seconds (default 20) as a share of
  answered + abandoned calls (overflowed calls are reported apart);
* average wait: mean wait of answered calls, and of abandoned calls.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from acd.store import QueueEventRow, make_engine

DEFAULT_SERVICE_LEVEL_S = 20.0


@dataclass
class QueueFigures:
    queue: str
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    overflowed: int = 0
    wait_answered: float = 0.0
    wait_abandoned: float = 0.0

    @property
    def service_level(self) -> float | None:
        offered = self.answered + self.abandoned
        return None if offered == 0 else self.answered_in_time / offered

    @property
    def average_wait(self) -> float | None:
        return None if self.answered == 0 else self.wait_answered / self.answered

    @property
    def average_abandon_wait(self) -> float | None:
        return None if self.abandoned == 0 else self.wait_abandoned / self.abandoned


def figures(
    rows: Iterable[tuple[str, str | None, float | None]], service_level_s: float
) -> dict[str, QueueFigures]:
    """``rows``: (kind, queue, wait) of queue events -> figures per queue."""
    out: dict[str, QueueFigures] = {}
    for kind, queue, wait in rows:
        if queue is None:
            continue
        f = out.setdefault(queue, QueueFigures(queue))
        w = wait or 0.0
        if kind == "answered":
            f.answered += 1
            f.wait_answered += w
            if w <= service_level_s:
                f.answered_in_time += 1
        elif kind == "abandoned":
            f.abandoned += 1
            f.wait_abandoned += w
        elif kind in ("overflowed", "exited_by_key"):
            f.overflowed += 1
    return out


def render(result: dict[str, QueueFigures], service_level_s: float) -> str:
    head = (
        f"{'queue':<20} {'answered':>8} {'abandoned':>9} {'overflow':>8} "
        f"{f'SL {service_level_s:g}s':>8} {'avg wait':>9} {'avg abandon':>11}"
    )
    lines = [head, "-" * len(head)]

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}s"

    for name in sorted(result):
        f = result[name]
        lines.append(
            f"{name:<20} {f.answered:>8} {f.abandoned:>9} {f.overflowed:>8} "
            f"{pct(f.service_level):>8} {secs(f.average_wait):>9} "
            f"{secs(f.average_abandon_wait):>11}"
        )
    if not result:
        lines.append("(no queue events in this range)")
    return "\n".join(lines)


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jono report", description="per-queue service level, answered/abandoned, wait"
    )
    parser.add_argument("--db", default="sqlite:///var/jono.db", help="store URL")
    parser.add_argument("--from", dest="start", type=_time, help="ISO time (default: all)")
    parser.add_argument("--to", dest="end", type=_time, help="ISO time, exclusive")
    parser.add_argument(
        "--service-level",
        type=float,
        default=DEFAULT_SERVICE_LEVEL_S,
        help="answered within this many seconds counts as in time (default 20)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = make_engine(args.db)
    query = select(QueueEventRow.kind, QueueEventRow.queue_id, QueueEventRow.wait)
    if args.start is not None:
        query = query.where(QueueEventRow.at >= args.start)
    if args.end is not None:
        query = query.where(QueueEventRow.at < args.end)
    try:
        with engine.connect() as conn:
            rows = [(r[0], r[1], r[2]) for r in conn.execute(query)]
    finally:
        engine.dispose()
    print(render(figures(rows, args.service_level), args.service_level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
