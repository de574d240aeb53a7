"""``trunks:`` - SIP providers: inbound DIDs, registration, outbound gateway (P2)."""

from __future__ import annotations

import ipaddress
import re
import warnings
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from acd.config.base import Model
from acd.config.numbers import Number
from acd.config.types import Digits, IpNetwork, MediaMode, parse_source

TrunkReach = Literal["public_numbers", "public_numbers_and_extensions"]
REACH_DESCRIPTION = (
    "what a caller from this trunk may reach. public_numbers (default): only the "
    "numbers: entries that are not internal_only (DIDs and their menus, schedules "
    "and queues). public_numbers_and_extensions: also users' extensions dialled "
    "directly (a provider that delivers extension numbers). Never reachable from a "
    "trunk: internal_only numbers and feature codes (login, echo, ...)"
)


def _sip_target(value: str) -> str:
    if re.match(r"^sips?:\S+$", value) or re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", value):
        return value
    if re.fullmatch(r"\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?", value):
        return value
    raise ValueError(f"'{value}' is not a sip: URI or HOST[:PORT]")


SipTarget = Annotated[str, AfterValidator(_sip_target)]


class NumberRules(Model):
    """How the provider writes numbers, to turn them into E.164 (``+358...``)."""

    country_code: Digits = "358"
    national_prefix: Digits = "0"
    international_prefix: Digits = "00"

    def normalise(self, number: str) -> str:
        """E.164 for public numbers; short internal numbers are returned as written.

        ``"09 1234 567"`` -> ``"+35891234567"``, ``"0046..."`` -> ``"+46..."``.
        """
        digits = re.sub(r"[\s().-]", "", number)
        if digits.startswith("+"):
            return digits
        if self.international_prefix and digits.startswith(self.international_prefix):
            return "+" + digits[len(self.international_prefix) :]
        if self.national_prefix and digits.startswith(self.national_prefix):
            return "+" + self.country_code + digits[len(self.national_prefix) :]
        return digits


class TrunkRegistration(Model):
    registrar: SipTarget = Field(description="sip: URI or host:port of the provider's registrar")
    username: str
    password: str
    expires: int = Field(default=3600, ge=60)


class TrunkOutbound(Model):
    gateway: SipTarget = Field(description="sip: URI or host:port")
    username: str | None = None
    password: str | None = None
    caller_id: str | None = None
    from_domain: str | None = None


# ``register`` is the natural key name; it only shadows ABCMeta.register on the class.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class Trunk(Model):
    inbound_sources: tuple[IpNetwork, ...] = Field(
        default=(),
        description="IP addresses or CIDRs, optionally with a port ('127.0.0.1:5070', "
        "'[::1]:5070'); calls from them are trusted, not challenged, unless they carry "
        "credentials of one of the plan's users",
    )
    register: TrunkRegistration | None = None
    outbound: TrunkOutbound | None = None
    normalise: NumberRules = NumberRules()
    media: MediaMode | None = None
    reach: TrunkReach = Field(default="public_numbers", description=REACH_DESCRIPTION)

    def accepts(self, address: str, port: int | None = None) -> bool:
        """Whether a request from ``address`` and ``port`` comes from this trunk; a
        source written without a port matches every port, one with a port only
        that port (so not a call whose port is unknown)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        for source in self.inbound_sources:
            network, source_port = parse_source(source)
            if ip in network and (source_port is None or port == source_port):
                return True
        return False

    def may_reach_number(self, number: Number) -> bool:
        """The trunk-reach rule for a dialled ``numbers:`` entry (see ``reach``)."""
        return not number.internal_only

    @property
    def may_reach_extensions(self) -> bool:
        """Whether trunk callers may dial users' extensions directly (see ``reach``)."""
        return self.reach == "public_numbers_and_extensions"
