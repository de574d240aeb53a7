"""``jono report``: service figures from the queue event log (S2).

Per queue (``--by queue``, the default), over ``[from, to)``:

* answered / abandoned / overflowed: callers that reached an agent, hung up
  while waiting, or left to an overflow destination (max wait, full, exit
  key, ...);
* service level: answered within N seconds (default 20) as a share of
  answered + abandoned calls (overflowed calls are reported apart);
* average wait: mean wait of answered calls, and of abandoned calls.

``--by agent``: offers, answers, rejections, no-answers and unreachable
offers per agent. ``--by hour`` / ``--by day``: the queue figures per
interval. ``--format text|csv|json``. With ``--config PLAN`` every queue
of the plan is listed, also those with no calls.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from acd.store import QueueEventRow, make_engine

DEFAULT_SERVICE_LEVEL_S = 20.0
Row = tuple[str, str | None, float | None]


@dataclass
class QueueFigures:
    queue: str
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    overflowed: int = 0
    wait_answered: float = 0.0
    wait_abandoned: float = 0.0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callbacks_expired: int = 0

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

    def row(self) -> dict[str, object]:
        return {
            "queue": self.queue, "answered": self.answered, "abandoned": self.abandoned,
            "overflowed": self.overflowed, "service_level": _round(self.service_level),
            "average_wait": _round(self.average_wait),
            "average_abandon_wait": _round(self.average_abandon_wait),
            "callbacks_requested": self.callbacks_requested,
            "callbacks_completed": self.callbacks_completed,
            "callbacks_expired": self.callbacks_expired,
        }


@dataclass
class AgentFigures:
    agent: str
    offered: int = 0
    answered: int = 0
    rejected: int = 0
    no_answer: int = 0
    unreachable: int = 0
    queues: set[str] = field(default_factory=set)

    def row(self) -> dict[str, object]:
        out = asdict(self)
        out["queues"] = " ".join(sorted(self.queues))
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def figures(rows: Iterable[Row], service_level_s: float) -> dict[str, QueueFigures]:
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
        elif kind == "callback_requested":
            f.callbacks_requested += 1
        elif kind == "callback_completed":
            f.callbacks_completed += 1
        elif kind == "callback_expired":
            f.callbacks_expired += 1
    return out


def agent_figures(rows: Iterable[tuple[str, str | None, str | None]]) -> dict[str, AgentFigures]:
    """``rows``: (kind, queue, agent) of queue events -> figures per agent."""
    out: dict[str, AgentFigures] = {}
    for kind, queue, agent in rows:
        if agent is None or kind not in ("offered", "answered", "rejected", "no_answer",
                                         "unreachable"):
            continue
        f = out.setdefault(agent, AgentFigures(agent))
        setattr(f, kind, getattr(f, kind) + 1)
        if queue is not None:
            f.queues.add(queue)
    return out


HEADERS = {
    "queue": ("answered", "abandoned", "overflowed", "service_level", "average_wait",
              "average_abandon_wait"),
    "agent": ("offered", "answered", "rejected", "no_answer", "unreachable", "queues"),
}


def render(result: dict[str, QueueFigures], service_level_s: float) -> str:
    head = (
        f"{'queue':<20} {'answered':>8} {'abandoned':>9} {'overflow':>8} "
        f"{f'SL {service_level_s:g}s':>8} {'avg wait':>9} {'avg abandon':>11} "
        f"{'callbacks asked/done/expired':>29}"
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
            f"{secs(f.average_abandon_wait):>11} "
            f"{f'{f.callbacks_requested}/{f.callbacks_completed}/{f.callbacks_expired}':>29}"
        )
    if not result:
        lines.append("(no queue events in this range)")
    return "\n".join(lines)


def render_agents(result: dict[str, AgentFigures]) -> str:
    head = (f"{'agent':<20} {'offered':>7} {'answered':>8} {'rejected':>8} "
            f"{'no answer':>9} {'unreach.':>8}  queues")
    lines = [head, "-" * len(head)]
    for name in sorted(result):
        f = result[name]
        lines.append(
            f"{name:<20} {f.offered:>7} {f.answered:>8} {f.rejected:>8} {f.no_answer:>9} "
            f"{f.unreachable:>8}  {' '.join(sorted(f.queues))}"
        )
    if not result:
        lines.append("(no offers to agents in this range)")
    return "\n".join(lines)


def as_records(rows: Sequence[dict[str, object]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(list(rows), indent=2)
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue().rstrip("\n")


# -- arguments -----------------------------------------------------------------


def _time(text: str) -> datetime:
    """An ISO time (UTC unless it says), or ``today`` / ``yesterday`` (local midnight)."""
    local_midnight = datetime.combine(datetime.now().date(), time(0)).astimezone()
    words = {"today": local_midnight, "yesterday": local_midnight - timedelta(days=1),
             "tomorrow": local_midnight + timedelta(days=1)}
    if text in words:
        return words[text].astimezone(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use ISO (2026-11-23 or 2026-11-23T08:00+02:00), "
            "today or yesterday"
        ) from None
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jono report",
        description="service figures per queue, agent or interval, from the store",
    )
    parser.add_argument("--db", default="sqlite:///var/jono.db", metavar="URL",
                        help="store URL (default: sqlite:///var/jono.db)")
    parser.add_argument("--config", metavar="PLAN",
                        help="a dial plan: list every queue of it, also those with no calls")
    parser.add_argument("--from", dest="start", type=_time, metavar="WHEN",
                        help="ISO time, today or yesterday (default: from the first event)")
    parser.add_argument("--to", dest="end", type=_time, metavar="WHEN",
                        help="ISO time, today or yesterday, exclusive (default: now)")
    parser.add_argument("--by", choices=("queue", "agent", "hour", "day"), default="queue",
                        help="figures per queue (default), per agent, or per queue and interval")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="a table for people (default), or CSV / JSON for tools")
    parser.add_argument(
        "--service-level", type=float, default=DEFAULT_SERVICE_LEVEL_S, metavar="SECONDS",
        help="answered within this many seconds counts as in time (default 20)",
    )
    return parser


def _missing_store(url: str) -> str | None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:" and not Path(path).is_file():
            return f"jono report: no store at {path} (give the server's --db URL)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    missing = _missing_store(args.db)
    if missing is not None:
        print(missing, file=sys.stderr)
        return 2
    plan_queues: list[str] = []
    if args.config:
        from acd.config import ConfigError, load

        try:
            plan_queues = sorted(load(args.config).queues)
        except ConfigError as err:
            print(str(err), file=sys.stderr)
            return 1
    engine = make_engine(args.db, migrate=False)
    event = QueueEventRow
    query = select(event.kind, event.queue_id, event.wait, event.agent_id, event.at)
    if args.start is not None:
        query = query.where(event.at >= args.start)
    if args.end is not None:
        query = query.where(event.at < args.end)
    try:
        with engine.connect() as conn:
            rows = [(r[0], r[1], r[2], r[3], r[4]) for r in conn.execute(query)]
    finally:
        engine.dispose()
    print(_output(args, rows, plan_queues))
    return 0


def _output(
    args: argparse.Namespace,
    rows: list[tuple[str, str | None, float | None, str | None, datetime]],
    plan_queues: list[str],
) -> str:
    if args.by == "agent":
        agents = agent_figures((k, q, a) for k, q, _, a, _ in rows)
        if args.format == "text":
            return render_agents(agents)
        return as_records([agents[name].row() for name in sorted(agents)], args.format)
    if args.by in ("hour", "day"):
        records: list[dict[str, object]] = []
        for start, bucket in _intervals(rows, args.by):
            result = figures(bucket, args.service_level)
            for name in sorted(result):
                records.append({"interval": start.isoformat(), **result[name].row()})
        if args.format == "text":
            if not records:
                return "(no queue events in this range)"
            head = list(records[0])
            return "\n".join(["  ".join(head)] + ["  ".join(str(r[h]) for h in head)
                                                  for r in records])
        return as_records(records, args.format)
    result = figures(((k, q, w) for k, q, w, _, _ in rows), args.service_level)
    for name in plan_queues:
        result.setdefault(name, QueueFigures(name))
    if args.format == "text":
        return render(result, args.service_level)
    return as_records([result[name].row() for name in sorted(result)], args.format)


def _intervals(
    rows: list[tuple[str, str | None, float | None, str | None, datetime]], by: str
) -> list[tuple[datetime, list[Row]]]:
    buckets: dict[datetime, list[Row]] = {}
    for kind, queue, wait, _, at in rows:
        when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        start = when.replace(minute=0, second=0, microsecond=0)
        if by == "day":
            start = start.replace(hour=0)
        buckets.setdefault(start, []).append((kind, queue, wait))
    return sorted(buckets.items())


if __name__ == "__main__":
    sys.exit(main())
