"""The callers waiting in one queue, in order.

Positions are strictly FIFO by caller priority (higher first) then join
order. A caller who is being offered to agents stays in the list, so that a
failed offer leaves it at the same position (D12). The list is kept sorted
with :mod:`bisect`; keys are unique (they end with a join sequence number).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

WaitKey = tuple[int, float, int]


def wait_key(priority: int, joined_at: float, seq: int) -> WaitKey:
    return (-priority, joined_at, seq)


class WaitingList:
    __slots__ = ("_keys", "_calls")

    def __init__(self) -> None:
        self._keys: list[WaitKey] = []
        self._calls: dict[WaitKey, str] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: WaitKey, call_id: str) -> None:
        if key in self._calls:
            raise ValueError(f"duplicate waiting key {key!r}")
        self._calls[key] = call_id
        # Joins are usually in time order, so the append fast path is common.
        if not self._keys or self._keys[-1] < key:
            self._keys.append(key)
        else:
            insort(self._keys, key)

    def remove(self, key: WaitKey) -> None:
        i = bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            raise KeyError(key)
        del self._keys[i]
        del self._calls[key]

    def position(self, key: WaitKey) -> int:
        """1-based position of the caller with ``key``."""
        i = bisect_left(self._keys, key)
        if i == len(self._keys) or self._keys[i] != key:
            raise KeyError(key)
        return i + 1

    def __iter__(self) -> Iterator[str]:
        """Call ids, first in line first."""
        calls = self._calls
        for key in self._keys:
            yield calls[key]

    def head(self) -> str | None:
        return self._calls[self._keys[0]] if self._keys else None
