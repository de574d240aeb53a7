"""``outbound:`` - what users may dial out through a trunk (P2).

Each user has a class of service (``users.NAME.dial``, default here):
``internal`` (no calls out), ``national`` (numbers in the trunk's own
country) or ``international``. Emergency numbers are always allowed, in
every class, and never blocked; numbers starting with a blocked prefix
(premium rate, ...) are refused in every class. Numbers are normalised to
E.164 by the trunk's rules before they are checked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from acd.config.base import Model
from acd.config.types import NumberKey

DialClass = Literal["internal", "national", "international"]
DIAL_CLASSES: tuple[DialClass, ...] = ("internal", "national", "international")


class Outbound(Model):
    trunk: str | None = Field(
        default=None, description="trunk for users' calls out (default: the first with outbound)"
    )
    default_class: DialClass = Field(
        default="national", description="class of service of users that set no 'dial'"
    )
    emergency: tuple[NumberKey, ...] = Field(
        default=("112",), description="always allowed, in every class; never blocked"
    )
    blocked_prefixes: tuple[NumberKey, ...] = Field(
        default=(), description="E.164 prefixes refused in every class, e.g. premium rate"
    )
