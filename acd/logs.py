"""structlog set-up, done once at start-up (JSON or console output).

Standard-library loggers (the SIP and media layers use them, and uvicorn)
are routed through structlog's formatter so every line has one shape: an
ISO 8601 time with its zone, the level, the logger, the event and its
fields. Per-call context (call_id, caller, callee, queue, agent) is bound
with ``structlog.contextvars`` in the task that runs a call, so every line
that call's flow writes carries it.
"""

from __future__ import annotations

import logging
import sys

import structlog

_JONO = logging.getLogger("jono")


def info_enabled() -> bool:
    """Whether info lines are written: hot paths skip building them otherwise."""
    return _JONO.isEnabledFor(logging.INFO)


QUIET = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "alembic.runtime.migration")


def configure(fmt: str = "console", level: str = "INFO") -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    threshold = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        # A line under the level is a no-op call: nothing is formatted (every
        # call logs several lines; at WARNING they must cost nothing).
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
