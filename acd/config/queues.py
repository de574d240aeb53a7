"""``queues:`` - ACD queues with every distribution and caller-experience setting.

Requirement IDs (SPEC.md) are noted by the fields that implement them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from acd.config.base import Model
from acd.config.outbound import DialClass
from acd.config.types import Destination, DtmfKey, Name, TimeRange
from acd.config.users import DEVICE_KINDS, DeviceKind


class Member(Model):
    level: int = Field(default=3, ge=1, le=9, description="skill level, 1 is best (D3)")
    order: int | None = Field(default=None, description="position for sequential ringing (D2)")


class CallbackInterval(Model):
    """A time the caller may choose to be called back in, with its own prompt (B4)."""

    window: TimeRange = Field(description='"12:00-14:00", in the queue\'s schedule time zone')
    prompt: str | None = Field(
        default=None, description="announcement that names this choice; else spoken times"
    )


class CallbackSettings(Model):
    """Callback instead of waiting (B1-B6); minutes unless named otherwise."""

    key: DtmfKey = Field(default="1", description="the key a waiting caller presses (B1)")
    order: Literal["agent_first", "caller_first"] = "agent_first"
    ring_time: int = Field(default=30, ge=1, description="seconds ringing the caller back (B2)")
    attempts: int = Field(default=3, ge=1)
    retry_after: int = Field(default=5, ge=0, description="minutes between attempts (B2)")
    validity: int = Field(default=1440, ge=1, description="minutes a request stays valid")
    dial: DialClass = Field(
        default="national", description="what numbers a caller may key in (P2 classes)"
    )
    offer_announcement: str | None = None
    agent_announcement: str | None = None
    metadata_text: str = "callback request"
    offer_after_open_minutes: int = Field(default=0, ge=0, le=1440, description="B3; 0 = off")
    offer_when_waiting_over: int = Field(default=0, ge=0, description="calls waiting; 0 = off")
    offer_when_longest_wait_over_min: int = Field(default=0, ge=0)
    offer_when_ewt_over_min: int = Field(default=0, ge=0)
    stop_before_close_min: int = Field(default=0, ge=0)
    window: TimeRange | None = Field(default=None, description='offer only within "08:00-16:00"')
    intervals: tuple[CallbackInterval, ...] = Field(
        default=(), description="callback times to choose (B4); \"as soon as possible\" is "
        "always the first choice",
    )
    auto_activate_avg_wait_min: int = Field(default=0, ge=0, description="B6; 0 = off")

    @field_validator("intervals", mode="before")
    @classmethod
    def _interval_shorthand(cls, value: Any) -> Any:
        # ``intervals: ["12:00-14:00"]`` is a window without its own prompt.
        if isinstance(value, list | tuple):
            return [{"window": v} if isinstance(v, str) else v for v in value]
        return value


class Queue(Model):
    strategy: Literal["skills", "sequential", "longest_idle", "random"] = "skills"
    among_equals: Literal["longest_idle", "random"] = "longest_idle"  # D4
    ring_at_once: int | Literal["all"] = 1  # D5
    ring_time: int = Field(default=20, ge=1, description="seconds per offer (D6)")
    ring_attempts: int | None = Field(
        default=None, ge=1, description="offers before on_ring_attempts"
    )
    members: dict[Name, Member] = Field(
        default_factory=dict, description="users answering this queue (D1)"
    )
    device_kinds: tuple[DeviceKind, ...] = DEVICE_KINDS  # D7
    presence_blocks: bool = False  # D8
    wrap_up: int = Field(default=0, ge=0, description="seconds after each call (D9)")
    auto_logout_after: int | None = Field(default=None, ge=1, description="unanswered offers (D10)")
    schedule: str | None = Field(default=None, description="opening hours, for callback timing")
    max_wait: int | None = Field(default=None, ge=1, description="seconds (Q5)")
    max_callers: int | None = Field(default=None, ge=1)
    on_max_wait: Destination | None = None
    on_max_callers: Destination | None = None
    on_no_agents_logged_in: Destination | None = None  # Q6
    on_no_agents_available: Destination | None = None
    on_ring_attempts: Destination | None = None
    exit_key: DtmfKey | None = None  # Q7
    exit_destination: Destination | None = None
    entry_announcement: str | None = None  # Q1
    moh_class: str = "default"
    announce_position: bool = False  # Q3
    announce_ewt: bool = False
    announce_every: int = Field(default=60, ge=0, description="seconds between position/EWT")
    still_in_queue_every: int = Field(default=0, ge=0, description="seconds; 0 = off (Q2)")
    ringback_while_ringing: bool = False  # Q4
    whisper: bool | str = Field(default=False, description="announce the queue to the agent")
    record: bool = Field(default=False, description="record every answered call (O7)")
    record_announcement: str | None = Field(
        default=None, description="announcement that tells callers calls are recorded, "
        "played on entry when record is on",
    )
    default_handle_time: int = Field(
        default=180, ge=1, description="seconds, for EWT with no history"
    )
    priority: int = 0
    language: str | None = None
    callback: CallbackSettings | None = None

    @field_validator("ring_at_once", mode="before")
    @classmethod
    def _check_ring_at_once(cls, value: Any) -> Any:
        if value == "all":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{value!r} must be a number >= 1 or 'all'")
        return value

    @field_validator("whisper", mode="before")
    @classmethod
    def _check_whisper(cls, value: Any) -> Any:
        if not isinstance(value, bool | str):
            raise ValueError("must be true, false or an announcement name")
        return value

    @field_validator("members", mode="before")
    @classmethod
    def _members_shorthand(cls, value: Any) -> Any:
        # ``members: [alice, bob]`` and ``alice:`` (empty) both mean default settings.
        if isinstance(value, list):
            return {str(name): {} for name in value}
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value
