"""Refuse a reload that would take most of a working PBX away (issue 10).

A half-written or truncated file can be perfectly valid YAML and still
drop most users and numbers: every phone then gets 401 and every DID 404.
:func:`check_reload` compares the running plan with the new one, a pure
function the application's reload calls before it swaps plans; the share
allowed comes from the *running* plan (``server.reload_max_removed_share``),
since the new file is what is in doubt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from acd.config.dialplan import Dialplan


@dataclass(frozen=True, slots=True, kw_only=True)
class Removal:
    section: str  # "users" or "numbers"
    removed: tuple[str, ...]
    running: int

    @property
    def share(self) -> float:
        return len(self.removed) / self.running if self.running else 0.0


class ReloadRefused(Exception):
    """The new plan removes too much; ``str()`` says what and how to force it."""

    def __init__(self, message: str, removals: list[Removal]) -> None:
        super().__init__(message)
        self.removals = removals


def removals(running: Dialplan, new: Dialplan) -> list[Removal]:
    """Which users and numbers of ``running`` are missing from ``new``."""
    return [
        Removal(section=name, removed=tuple(k for k in old if k not in fresh), running=len(old))
        for name, old, fresh in (
            ("users", running.users, new.users),
            ("numbers", running.numbers, new.numbers),
        )
    ]


def check_reload(
    running: Dialplan,
    new: Dialplan,
    *,
    force: bool = False,
    source: str = "the new plan",
    max_share: float | None = None,
) -> list[Removal]:
    """Raise :class:`ReloadRefused` when ``new`` removes more than the allowed
    share of ``running``'s users or numbers (and ``force`` is not set);
    otherwise return what it removes (for the log)."""
    limit = running.server.reload_max_removed_share if max_share is None else max_share
    found = removals(running, new)
    too_many = [r for r in found if r.removed and r.share > limit]
    if too_many and not force:
        parts = [
            f"{len(r.removed)} of {r.running} {r.section} ({r.share:.0%}: {_names(r.removed)})"
            for r in too_many
        ]
        raise ReloadRefused(
            f"reload refused: {source} removes {' and '.join(parts)}, more than "
            f"{limit:.0%} (server.reload_max_removed_share); the running plan stays. "
            "If that is meant, reload with force (jono reload --force).",
            too_many,
        )
    return found


def _names(names: Iterable[str], shown: int = 5) -> str:
    listed = list(names)
    head = ", ".join(listed[:shown])
    return head + (f" and {len(listed) - shown} more" if len(listed) > shown else "")
