"""Where a user's devices are: the one device directory (D7, P1).

A user's devices are their registered contacts (each reached on the
address its REGISTER came from, so phones behind NAT work), their static
contacts and their mobiles (through a trunk), from the dial plan.

Device ids, as the ACD knows them (see acd.contact.mapping):

* ``reg``: every registered contact of the user (desk phone, softphone,
  browser), forked together;
* ``browser``: when the user has a ``browser`` device, the contacts
  registered over WebSocket (RFC 7118: the browser phone) are that device
  instead of part of ``reg``, so a queue can ring desk phones, browsers or
  both (D7);
* ``static<i>`` / ``mobile<i>``: the user's i-th device in the dial plan,
  when it is of that kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from acd.config import Dialplan, User
from acd.telephony.targets import BROWSER, REGISTERED, DialTarget, target_of_uri
from acd.telephony.trunks import TrunkRoutes
from sip.registrar import LocationService
from sip.transport import Target

__all__ = ["BROWSER", "REGISTERED", "DeviceDirectory", "DialTarget", "device_ids"]

REGISTERING_KINDS = ("phone", "softphone", "browser")
WEBSOCKET = ("ws", "wss")


def device_ids(user: User) -> list[tuple[str, str]]:
    """``(device id, kind)`` of the user's devices, as the ACD rings them."""
    kinds = [str(d.kind) for d in user.devices]
    out: list[tuple[str, str]] = []
    browser = BROWSER in kinds
    registering = [k for k in kinds if k in REGISTERING_KINDS and not (browser and k == BROWSER)]
    if registering:
        out.append((REGISTERED, registering[0]))
    if browser:
        out.append((BROWSER, BROWSER))
    for index, kind in enumerate(kinds):
        if kind in ("static", "mobile"):
            out.append((f"{kind}{index}", kind))
    return out


def has_browser_device(user: User) -> bool:
    """Whether the user's browser phone is a device of its own (D7)."""
    return any(d.kind == BROWSER for d in user.devices)


class DeviceDirectory:
    def __init__(
        self,
        dialplan: Dialplan,
        location: LocationService,
        trunks: TrunkRoutes,
        clock: Callable[[], float],
    ) -> None:
        self.users = dialplan.users
        self.location = location
        self.trunks = trunks
        self.clock = clock
        self.by_extension: dict[str, str] = {}
        for name, user in dialplan.users.items():
            self.by_extension[str(user.extension)] = name
            self.by_extension.setdefault(name, name)

    def user_for(self, dialled: str) -> str | None:
        """The user a dialled extension or username reaches."""
        return self.by_extension.get(dialled)

    def may_register(self, username: str, aor_user: str | None) -> bool:
        """RFC 3261 §10.3 step 5: may ``username`` register this address of record?"""
        if aor_user is None:
            return False
        return aor_user == username or self.by_extension.get(aor_user) == username

    def has_registration(self, user: str, device: str = REGISTERED) -> bool:
        """Whether ``device`` (``reg`` or ``browser``) of ``user`` has a live registration."""
        conf = self.users.get(user)
        split = conf is not None and has_browser_device(conf)
        for binding in self.location.lookup(user, self.clock()):
            over_websocket = binding.transport in WEBSOCKET
            if device == BROWSER and over_websocket:
                return True
            if device == REGISTERED and not (split and over_websocket):
                return True
        return False

    def targets(self, user: str, devices: Sequence[str] | None = None) -> list[DialTarget]:
        """Every contact to ring for ``user``'s ``devices`` (None: all of them)."""
        conf = self.users.get(user)
        if conf is None:
            return []
        out: list[DialTarget] = []
        if devices is None or REGISTERED in devices:
            out += self._registered(user, browser=False if has_browser_device(conf) else None)
        if has_browser_device(conf) and (devices is None or BROWSER in devices):
            out += self._registered(user, browser=True)
        for index, device in enumerate(conf.devices):
            device_id = f"{device.kind}{index}"
            if devices is not None and device_id not in devices:
                continue
            if device.kind == "static" and device.contact:
                out.append(DialTarget(device.contact, target_of_uri(device.contact), device_id))
            elif device.kind == "mobile" and device.number and device.trunk:
                route = self.trunks.via(device.number, device.trunk)
                if route is not None:
                    out.append(DialTarget(route.uri, route.target, device_id))
        return out

    def _registered(self, user: str, browser: bool | None = None) -> list[DialTarget]:
        """Registered contacts: all (``browser`` None), over WebSocket only (True) or
        the others (False)."""
        out: list[DialTarget] = []
        device = BROWSER if browser else REGISTERED
        for binding in self.location.lookup(user, self.clock()):
            if browser is not None and (binding.transport in WEBSOCKET) != browser:
                continue
            source = binding.source
            if isinstance(source, Target) and binding.prefers_source():
                out.append(DialTarget(binding.contact, source, device))
            else:
                try:
                    out.append(DialTarget(binding.contact, target_of_uri(binding.contact), device))
                except Exception:
                    continue
        return out
