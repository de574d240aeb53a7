"""``users:`` - people with an extension and one or more devices (D7, P1, P4)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from acd.config.base import Model
from acd.config.outbound import DialClass
from acd.config.types import Destination, Digits, MediaMode, Name

DeviceKind = Literal["phone", "softphone", "browser", "mobile", "static"]
DEVICE_KINDS: tuple[DeviceKind, ...] = ("phone", "softphone", "browser", "mobile", "static")
# Kinds that register with a password (the others are reached by address or trunk).
REGISTERING_KINDS: tuple[DeviceKind, ...] = ("phone", "softphone", "browser")
# What a user may do on the web (acd.web.auth.policy): their own desktop (agent),
# the wallboard and agents of the queues they supervise (supervisor), everything (admin).
WebRole = Literal["agent", "supervisor", "admin"]

# RFC 7616 section 3.4.2 (RFC 8760): HA1 = H(username ":" realm ":" password),
# 32 hex digits for MD5, 64 for SHA-256.
_HA1_LENGTHS = {"MD5": 32, "SHA-256": 64}


def _sip_uri(value: str) -> str:
    if not re.match(r"^sips?:[^\s]+$", value):
        raise ValueError(f"'{value}' is not a sip: or sips: URI")
    return value


SipUri = Annotated[str, AfterValidator(_sip_uri)]


class Device(Model):
    """One way to reach a user; ``phone``, ``softphone`` and ``browser`` register."""

    kind: DeviceKind
    contact: SipUri | None = Field(default=None, description="fixed address; required for static")
    number: str | None = Field(default=None, description="number to call; required for mobile")
    media: MediaMode | None = Field(default=None, description="overrides the user's media")
    trunk: str | None = Field(
        default=None, description="trunk to call through; required for mobile"
    )


class Voicemail(Model):
    """``voicemail:`` of a user (P4): ``true`` for the defaults, or these settings."""

    pin: Digits | None = Field(
        default=None, description="PIN asked when the user dials the voicemail code (*97); "
        "one set on the web overrides it; none: no PIN asked from the user's own phone",
    )
    unsolicited_mwi: bool = Field(
        default=False, description="also send message-waiting NOTIFYs to the user's "
        "registered phones that did not subscribe (for phones that expect them)",
    )
    max_message_seconds: int = Field(default=180, ge=5, le=3600)
    silence_seconds: int = Field(
        default=5, ge=1, le=60, description="a message ends after this much silence",
    )


class User(Model):
    extension: Digits
    password: str | None = None
    password_ha1: dict[str, str] | None = Field(
        default=None, description='instead of password: {"MD5": hex, "SHA-256": hex}'
    )
    display_name: str | None = None
    devices: tuple[Device, ...] = (Device(kind="phone"),)
    languages: tuple[str, ...] = ()
    forward_always: Destination | None = Field(
        default=None, description="every call goes here; the user's phones do not ring",
    )
    forward_no_answer: Destination | None = None
    forward_busy: Destination | None = None
    voicemail: Voicemail | None = Field(
        default=None, description="a mailbox (true, or its settings): callers leave messages "
        "when forwarded to voicemail:NAME",
    )
    no_answer_message: str | None = Field(
        default=None, description="announcement played on no answer"
    )
    no_answer_timeout: int = Field(default=20, ge=1)
    media: MediaMode | None = None
    dial: DialClass | None = Field(
        default=None, description="class of service for calls out (default: outbound.default_class)"
    )
    caller_id: str | None = Field(
        default=None, description="number shown on calls out: the user's DID, or a number "
        "with allow_member_presentation of a queue the user is in (N3)",
    )
    roles: tuple[WebRole, ...] = Field(
        default=("agent",),
        description="web roles: agent, supervisor, admin; [] = no web sign-in",
    )
    supervises: tuple[Name, ...] = Field(
        default=(), description="queues a supervisor sees on the wallboard and steers (D1, S1)"
    )

    @model_validator(mode="after")
    def _supervisor_of_queues(self) -> User:
        if self.supervises and not {"supervisor", "admin"} & set(self.roles):
            raise ValueError("supervises needs the supervisor (or admin) role in roles")
        return self

    @field_validator("voicemail", mode="before")
    @classmethod
    def _voicemail_shorthand(cls, value: object) -> object:
        # ``voicemail: true`` is a mailbox with the defaults; ``false`` none.
        if value is True:
            return {}
        if value is False:
            return None
        return value

    @field_validator("password_ha1")
    @classmethod
    def _check_ha1(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        for algorithm, digest in value.items():
            if algorithm not in _HA1_LENGTHS:
                raise ValueError(f"'{algorithm}' is not a digest algorithm: use MD5 or SHA-256")
            length = _HA1_LENGTHS[algorithm]
            if not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", digest):
                raise ValueError(f"the {algorithm} HA1 must be {length} hex digits")
        return value
