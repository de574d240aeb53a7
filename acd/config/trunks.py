"""``trunks:`` - SIP providers: inbound DIDs, registration, outbound gateway (P2)."""

from __future__ import annotations

import ipaddress
import re
import warnings
from typing import Annotated

from pydantic import AfterValidator, Field

from acd.config.base import Model
from acd.config.types import Digits, IpNetwork, MediaMode


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
        default=(), description="IP addresses or CIDRs; calls from them are trusted, not challenged"
    )
    register: TrunkRegistration | None = None
    outbound: TrunkOutbound | None = None
    normalise: NumberRules = NumberRules()
    media: MediaMode | None = None

    def accepts(self, address: str) -> bool:
        """Whether a request from ``address`` comes from this trunk."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(s, strict=False) for s in self.inbound_sources)
