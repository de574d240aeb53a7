"""Small value types shared by the dial-plan models: destinations, digits, modes."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

MediaMode = Literal["anchor", "passthrough"]

DestinationKind = Literal[
    "queue",
    "menu",
    "user",
    "schedule",
    "announcement",
    "number",
    "hangup",
    "voicemail",
    "echo",
    "callback",
]

# Kinds that name another object of the dial plan (checked by crossref).
NAMED_KINDS: tuple[str, ...] = (
    "queue",
    "menu",
    "user",
    "schedule",
    "announcement",
    "voicemail",
    "callback",
)
BARE_KINDS: tuple[str, ...] = ("hangup", "echo")
ALL_KINDS: tuple[str, ...] = (*NAMED_KINDS, "number", *BARE_KINDS)
# Kinds ``jono check`` refuses until the server carries them out (crossref.NOT_YET).
NOT_YET_KINDS: tuple[str, ...] = ()
# Kinds a plan that passes ``jono check`` may use: each needs a call-flow handler.
ACCEPTED_KINDS: tuple[str, ...] = tuple(k for k in ALL_KINDS if k not in NOT_YET_KINDS)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_PHONE = re.compile(r"^\+?[0-9]+$")
DESTINATION_PATTERN = (
    r"^((queue|menu|user|schedule|announcement|voicemail|callback):[A-Za-z0-9][A-Za-z0-9_.+-]*"
    r"|number:\+?[0-9]+|hangup|echo)$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Where a call goes next, written ``kind:target`` (``queue:sales``) or ``hangup``."""

    kind: DestinationKind
    target: str | None = None

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}:{self.target}"

    @classmethod
    def parse(cls, text: str) -> Destination:
        kind, sep, target = text.strip().partition(":")
        if kind not in ALL_KINDS:
            expected = ", ".join(ALL_KINDS)
            raise ValueError(f"'{text}' is not a destination (kinds: {expected})")
        if kind in BARE_KINDS:
            if sep:
                raise ValueError(f"'{text}': {kind} takes no target")
            return cls(kind=kind)  # type: ignore[arg-type]
        if not target:
            raise ValueError(f"'{text}': {kind} needs a target, e.g. '{kind}:NAME'")
        if kind == "number":
            target = re.sub(r"[\s().-]", "", target)
            if not _PHONE.match(target):
                raise ValueError(f"'{text}': '{target}' is not a phone number")
        elif not _NAME.match(target):
            raise ValueError(f"'{text}': '{target}' is not a valid name")
        return cls(kind=kind, target=target)  # type: ignore[arg-type]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Destination:
            if isinstance(value, Destination):
                return value
            if not isinstance(value, str):
                raise ValueError("a destination must be a string like 'queue:sales'")
            return cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": DESTINATION_PATTERN,
            "description": "kind:target, e.g. queue:sales, menu:main, user:alice, "
            "schedule:office, announcement:closed, number:+358401234567, voicemail:alice, "
            "callback:sales, or hangup / echo",
        }


HANGUP = Destination(kind="hangup")


def _digits(value: str) -> str:
    if not value.isdigit() or not value.isascii():
        raise ValueError(f"'{value}' must be digits only")
    return value


def _dial_string(value: str) -> str:
    if not value or not re.fullmatch(r"[0-9*#]+", value):
        raise ValueError(f"'{value}' must be digits, '*' or '#'")
    return value


def _dtmf_key(value: str) -> str:
    if len(value) != 1 or value not in "0123456789*#":
        raise ValueError(f"'{value}' is not a key: use one of 0-9, * or #")
    return value


def _number_key(value: str) -> str:
    if not re.fullmatch(r"\+?[0-9*#][0-9*# ().-]*", value):
        raise ValueError(f"'{value}' is not a number: digits, optionally starting with +")
    return value


def _name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"'{value}' is not a valid name (letters, digits, _ . + -)")
    return value


def parse_hhmm(text: str) -> int:
    """``"08:30"`` -> 510 minutes after midnight; ``"24:00"`` -> 1440."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a time HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"'{text}' is not a time HH:MM")
    return hours * 60 + minutes


def parse_range(text: str) -> tuple[int, int]:
    """``"08:00-16:00"`` -> (480, 960); the end must be after the start."""
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ValueError(f"'{text}' is not a time range HH:MM-HH:MM")
    start, end = parse_hhmm(start_text), parse_hhmm(end_text)
    if end <= start:
        raise ValueError(f"'{text}': the end must be after the start")
    return start, end


def _time_range(value: str) -> str:
    parse_range(value)
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone (e.g. Europe/Helsinki)") from None
    return value


IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_source(text: str) -> tuple[IpNet, int | None]:
    """A trunk source: ``"203.0.113.0/24"``, ``"127.0.0.1:5070"``, ``"[::1]:5070"``
    or ``"2001:db8::/32"`` -> (network, port or None for any port)."""
    value = text.strip()
    port: str | None = None
    if value.startswith("["):
        inner, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"'{text}' is not an IP address or CIDR, optionally with :PORT")
        value, port = inner, (rest[1:] if rest else None)
    elif value.count(":") == 1:
        value, port = value.split(":")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(
            f"'{text}' is not an IP address or CIDR, optionally with :PORT"
        ) from None
    if port is None:
        return network, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}': '{port}' is not a port (1-65535)")
    return network, int(port)


def _ip_network(value: str) -> str:
    parse_source(value)
    return value


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


Digits = Annotated[str, AfterValidator(_digits)]
DialString = Annotated[str, AfterValidator(_dial_string)]
DtmfKey = Annotated[str, AfterValidator(_dtmf_key)]
Name = Annotated[str, AfterValidator(_name)]
NumberKey = Annotated[str, AfterValidator(_number_key)]
TimeRange = Annotated[str, AfterValidator(_time_range)]
TimeZoneName = Annotated[str, AfterValidator(_zone)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]
