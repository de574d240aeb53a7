"""Configuration errors: every problem found in a dial plan, with its place.

One ``ConfigIssue`` per problem; ``ConfigError`` carries all of them so that
an admin sees every mistake in one run of ``jono check``.
"""

from __future__ import annotations

from dataclasses import dataclass

PathItem = str | int
KeyPath = tuple[PathItem, ...]


def format_path(path: KeyPath) -> str:
    """``("users", "alice", "devices", 0, "kind")`` -> ``users.alice.devices[0].kind``."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{item}" if out else item
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigIssue:
    """One problem in a dial plan; ``line`` and ``column`` are 1-based (0 if unknown)."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The dial plan is invalid; ``issues`` lists every problem, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.column, i.path, i.message))
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)
