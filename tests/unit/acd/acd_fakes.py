"""Fakes swapped in at the composition root (acd.bootstrap.Parts) for unit tests."""

from __future__ import annotations

from typing import Any


class FakeStore:
    """Keeps rows in lists instead of a database; no bindings persistence."""

    bindings = None

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.cdrs: list[dict[str, Any]] = []

    def add_queue_event(self, **fields: Any) -> None:
        self.rows.append(fields)

    def add_cdr(self, **fields: Any) -> None:
        self.cdrs.append(fields)

    def close(self) -> None:
        pass
