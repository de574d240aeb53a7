"""Trunks out: a number to the provider's gateway, with its rules (P2).

Numbers are normalised by the trunk's rules (``0401234567`` ->
``+358401234567``); the request goes to the outbound gateway with the
trunk's credentials for its digest challenge. Mobiles are rung this way too
(D7).
"""

from __future__ import annotations

from dataclasses import dataclass

from acd.config import Dialplan, NumberRules, Trunk
from acd.telephony.targets import DialTarget, target_of_uri
from sip.legs import Credentials
from sip.transport import Target


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRoute:
    """A number out through one trunk: request URI, gateway, credentials, caller ID."""

    trunk: str
    uri: str
    target: Target
    credentials: Credentials | None
    caller_id: str | None
    from_domain: str

    def dial_target(self) -> DialTarget:
        return DialTarget(self.uri, self.target, f"trunk:{self.trunk}")

    def from_uri(self, fallback_caller: str, *, presented: str | None = None) -> str:
        """From of the INVITE out: the number the plan presents for the
        caller (``presented``, N3), else the trunk's caller ID, else the caller's."""
        return f"sip:{presented or self.caller_id or fallback_caller}@{self.from_domain}"


class TrunkRoutes:
    def __init__(self, dialplan: Dialplan) -> None:
        self.trunks = dialplan.trunks

    def via(self, number: str, trunk_name: str) -> OutboundRoute | None:
        """``number`` out through ``trunk_name``'s gateway; None if it has none."""
        trunk = self.trunks.get(trunk_name)
        if trunk is None or trunk.outbound is None:
            return None
        return _route(trunk_name, trunk, number)

    def outbound(self, number: str, trunk: str | None = None) -> OutboundRoute | None:
        """``number`` out through ``trunk``, or the first trunk with an outbound gateway."""
        if trunk is not None:
            return self.via(number, trunk)
        for name, conf in self.trunks.items():
            if conf.outbound is not None:
                return _route(name, conf, number)
        return None

    def rules_of(self, trunk: str | None) -> NumberRules | None:
        """The number rules of the trunk ``outbound`` would use."""
        if trunk is not None:
            conf = self.trunks.get(trunk)
            return conf.normalise if conf is not None else None
        return next((t.normalise for t in self.trunks.values() if t.outbound is not None), None)


def _route(name: str, trunk: Trunk, number: str) -> OutboundRoute:
    out = trunk.outbound
    assert out is not None
    gateway = str(out.gateway)
    target = target_of_uri(gateway if gateway.startswith("sip") else f"sip:{gateway}")
    dialled = trunk.normalise.normalise(number)
    credentials = (
        Credentials(username=out.username, password=out.password or "") if out.username else None
    )
    return OutboundRoute(
        trunk=name,
        uri=f"sip:{dialled}@{target.host}:{target.port}",
        target=target,
        credentials=credentials,
        caller_id=out.caller_id,
        from_domain=out.from_domain or target.host,
    )
