"""Where a new call goes: the dialled number to a user's devices.

For now a number is a user's extension (or username), or a dial-plan
number whose destination is a user.  A user's devices are their registered
contacts (each reached on the address its REGISTER came from, so phones
behind NAT work) and their static contacts from the dial plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acd.access import Caller
from sip.headers import SipUri
from sip.message import Request
from sip.registrar import LocationService
from sip.transport import Target


@dataclass
class Route:
    kind: str = "user"  # "user" or "echo"
    media: str = "anchor"  # "anchor" or "passthrough"
    status: int | None = None
    reason: str | None = None
    targets: list[tuple[str, Target]] = field(default_factory=list)
    from_uri: str = ""
    from_display: str | None = None
    to_uri: str = ""
    ring_timeout: float | None = None


def target_of_uri(uri: str) -> Target:
    """Where to send a request for a static contact URI (no DNS: IP literals)."""
    parsed = SipUri.parse(uri)
    transport = parsed.transport
    default_port = 5061 if parsed.scheme == "sips" else 5060
    host = parsed.host.strip("[]")
    return Target("tcp" if transport == "tcp" else "udp", host, parsed.port or default_port)


class Router:
    def __init__(self, dialplan: Any, location: LocationService) -> None:
        self.dialplan = dialplan
        self.location = location
        self.by_extension: dict[str, str] = {}
        for name, user in dialplan.users.items():
            self.by_extension[str(user.extension)] = name
            self.by_extension.setdefault(name, name)
        self.host = "jono"

    def is_extension(self, dialled: str) -> bool:
        """A user's extension/username or the echo code: routed without a flow."""
        if dialled in self.by_extension:
            return True
        codes = getattr(self.dialplan, "feature_codes", None)
        return codes is not None and dialled == codes.echo

    def caller_number(self, request: Request, caller: Caller) -> str:
        """The caller's number as shown to whoever we call (the From user)."""
        if caller.kind == "user":
            return str(self.dialplan.users[caller.name].extension)
        try:
            return request.from_.sip_uri.user or "anonymous"
        except Exception:
            return "anonymous"

    def may_register(self, username: str, aor_user: str | None) -> bool:
        if aor_user is None:
            return False
        return aor_user == username or self.by_extension.get(aor_user) == username

    def user_for_number(self, number: str, caller: Caller) -> tuple[str | None, int]:
        """The user a number reaches: ``(name, 200)``, ``("", 200)`` for the echo
        test, or ``(None, status)`` when it reaches nobody."""
        name = self.by_extension.get(number)
        if name is not None:
            return name, 200
        codes = getattr(self.dialplan, "feature_codes", None)
        if codes is not None and number == codes.echo:
            return "", 200
        numbers = getattr(self.dialplan, "numbers", {}) or {}
        entry = numbers.get(number)
        if entry is None:
            return None, 404
        if getattr(entry, "internal_only", False) and caller.kind == "trunk":
            return None, 404
        destination = entry.destination
        kind = getattr(destination, "kind", None)
        if kind == "user":
            return destination.target, 200
        if kind == "echo":
            return "", 200
        return None, 480

    def media_mode(self, caller: Caller, callee: str | None) -> str:
        """Per-user, then per-trunk/caller, then server-wide media handling."""
        if callee:
            mode = getattr(self.dialplan.users[callee], "media", None)
            if mode:
                return str(mode)
        table = self.dialplan.users if caller.kind == "user" else self.dialplan.trunks
        entry = table.get(caller.name)
        mode = getattr(entry, "media", None)
        if mode:
            return str(mode)
        server = getattr(self.dialplan, "server", None)
        return str(getattr(server, "media", "anchor"))

    def targets_for(self, username: str, now: float) -> list[tuple[str, Target]]:
        targets: list[tuple[str, Target]] = []
        for binding in self.location.lookup(username, now):
            source = binding.source
            if isinstance(source, Target) and binding.prefers_source():
                targets.append((binding.contact, source))
            else:
                try:
                    targets.append((binding.contact, target_of_uri(binding.contact)))
                except Exception:
                    continue
        user = self.dialplan.users[username]
        for device in getattr(user, "devices", ()) or ():
            kind = getattr(device, "kind", None)
            if kind == "static" and device.contact:
                targets.append((device.contact, target_of_uri(device.contact)))
            elif kind == "mobile" and device.number and device.trunk:
                mobile = self.via_trunk(device.number, device.trunk)
                if mobile is not None:
                    targets.append(mobile)
        return targets

    def via_trunk(self, number: str, trunk_name: str) -> tuple[str, Target] | None:
        """The request URI and address for ``number`` out through a trunk's
        gateway, normalised by its rules (P2); how mobiles are rung too (D7)."""
        trunk = self.dialplan.trunks.get(trunk_name)
        outbound = getattr(trunk, "outbound", None)
        if outbound is None:
            return None
        gateway = str(outbound.gateway)
        target = target_of_uri(gateway if gateway.startswith("sip") else f"sip:{gateway}")
        dialled = trunk.normalise.normalise(number) if trunk.normalise else number
        host = f"{target.host}:{target.port}"
        return (f"sip:{dialled}@{host}", target)

    def route(self, request: Request, caller: Caller, now: float) -> Route:
        try:
            dialled = SipUri.parse(request.uri).user or ""
        except Exception:
            return Route(status=416)
        callee, status = self.user_for_number(dialled, caller)
        if callee is None:
            return Route(status=status, reason="Not Found" if status == 404 else None)
        if callee == "":
            return Route(kind="echo", media="anchor")
        user = self.dialplan.users[callee]
        from_ = request.from_
        if caller.kind == "user":
            me = self.dialplan.users[caller.name]
            from_user = str(me.extension)
            display = getattr(me, "display_name", None) or from_.display
        else:
            try:
                from_user = from_.sip_uri.user or "anonymous"
            except Exception:
                from_user = "anonymous"
            display = from_.display
        return Route(
            media=self.media_mode(caller, callee),
            targets=self.targets_for(callee, now),
            from_uri=f"sip:{from_user}@{self.host}",
            from_display=display,
            to_uri=f"sip:{user.extension}@{self.host}",
            ring_timeout=float(getattr(user, "no_answer_timeout", 0) or 0) or None,
        )
