"""Frozen settings the ACD engine runs on.

The YAML/pydantic layer (outside the domain) maps dial plans to these
objects. They are validated in ``__post_init__`` so that a bad value never
reaches the engine; errors name the field and the value.

A call keeps the :class:`QueueConfig` object it joined with (a snapshot, it
is frozen), so a reload changes only calls that join afterwards. Strategy and
membership are read from the *current* configuration when agents are picked:
an agent removed from a queue is never offered its calls again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from acd.domain.errors import ConfigError

Strategy = Literal["skills", "sequential", "longest_idle", "random"]
AmongEquals = Literal["longest_idle", "random"]

STRATEGIES: frozenset[str] = frozenset({"skills", "sequential", "longest_idle", "random"})
AMONG_EQUALS: frozenset[str] = frozenset({"longest_idle", "random"})

#: Device kinds that have no registration: they are always reachable (D7).
#: A mobile is reached through the trunk; a static device is a fixed address.
ALWAYS_REACHABLE_KINDS: frozenset[str] = frozenset({"mobile", "static"})

#: Overflow reasons the engine emits; ``QueueConfig.overflow`` maps them to
#: destinations (opaque strings the flow layer understands).
OVERFLOW_REASONS: frozenset[str] = frozenset(
    {
        "max_callers",
        "no_agents_logged_in",
        "no_agents_available",
        "max_wait",
        "ring_attempts",
        "exit_key",
        "callback",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberConfig:
    """An agent's membership of one queue.

    D3: ``level`` 1 is best, default 3. D2: ``order`` is the place in the
    ring-in-order list; members without one ring last.
    """

    level: int = 3
    order: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 9:
            raise ConfigError(f"member level {self.level!r} must be 1..9")
        if self.order is not None and self.order < 0:
            raise ConfigError(f"member order {self.order!r} must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """One of an agent's phones (D7): desk, softphone, browser, mobile, static."""

    id: str
    kind: str

    def __post_init__(self) -> None:
        if not self.id:
            raise ConfigError("device id must not be empty")
        if not self.kind:
            raise ConfigError(f"device {self.id!r}: kind must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    devices: tuple[Device, ...] = ()
    languages: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"agent devices {ids!r} have duplicate ids")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    """Everything the engine needs to know about one queue.

    Times are seconds. ``None`` means "no limit" for ``max_wait``,
    ``max_callers``, ``ring_attempts``, ``auto_logout_after`` and
    ``ring_at_once`` (ring all eligible agents).
    """

    strategy: Strategy = "skills"
    among_equals: AmongEquals = "longest_idle"
    # D5: how many agents ring at once (None = all).
    ring_at_once: int | None = 1
    # D6: ring time per member before moving on.
    ring_time: float = 20.0
    # Q6: how many ring rounds before overflow (None = unlimited).
    ring_attempts: int | None = None
    members: Mapping[str, MemberConfig] = field(default_factory=dict)
    # D7: device kinds that ring for this queue (empty = every kind).
    device_kinds: frozenset[str] = frozenset()
    # D8: a presence-busy agent gets no calls from this queue.
    presence_blocks: bool = False
    # D9: wrap-up after each call.
    wrap_up: float = 0.0
    # D10: log the agent out after this many unanswered offers in a row.
    auto_logout_after: int | None = None
    # Q5
    max_wait: float | None = None
    max_callers: int | None = None
    # Q5/Q6/Q7: reason -> destination. A reason without a destination does
    # not overflow (the caller keeps waiting) except max_wait, ring_attempts
    # and exit_key, which always leave the queue (destination None).
    overflow: Mapping[str, str] = field(default_factory=dict)
    # Q7
    exit_key: str | None = None
    # Across queues, an agent who frees up serves the higher priority first.
    priority: int = 0
    # Q3: handle time assumed when there is no history.
    default_handle_time: float = 180.0
    # An agent who rejected or missed a call is not offered the same call
    # again until this many seconds have passed (other agents go first).
    retry_after: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r} must be one of {sorted(STRATEGIES)}")
        if self.among_equals not in AMONG_EQUALS:
            raise ConfigError(
                f"among_equals {self.among_equals!r} must be one of {sorted(AMONG_EQUALS)}"
            )
        _at_least("ring_at_once", self.ring_at_once, 1)
        _at_least("ring_attempts", self.ring_attempts, 1)
        _at_least("auto_logout_after", self.auto_logout_after, 1)
        _at_least("max_callers", self.max_callers, 0)
        if self.ring_time <= 0:
            raise ConfigError(f"ring_time {self.ring_time!r} must be > 0")
        if self.wrap_up < 0:
            raise ConfigError(f"wrap_up {self.wrap_up!r} must be >= 0")
        if self.max_wait is not None and self.max_wait <= 0:
            raise ConfigError(f"max_wait {self.max_wait!r} must be > 0")
        if self.default_handle_time <= 0:
            raise ConfigError(f"default_handle_time {self.default_handle_time!r} must be > 0")
        if self.retry_after < 0:
            raise ConfigError(f"retry_after {self.retry_after!r} must be >= 0")
        for reason in self.overflow:
            if reason not in OVERFLOW_REASONS:
                raise ConfigError(
                    f"overflow reason {reason!r} must be one of {sorted(OVERFLOW_REASONS)}"
                )
        if self.exit_key is not None and (
            len(self.exit_key) != 1 or self.exit_key not in "0123456789*#"
        ):
            raise ConfigError(f"exit_key {self.exit_key!r} must be one DTMF digit 0-9, * or #")


def _at_least(name: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        raise ConfigError(f"{name} {value!r} must be >= {low}")
