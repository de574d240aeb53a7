"""Trunks that register Jono at their provider (P2): one outbound
registration each, kept in step with the dial plan across reloads."""

from __future__ import annotations

from typing import Any

from acd.telephony.targets import target_of_uri
from sip.registration import OutboundRegistration
from sip.ua import UserAgent

Key = tuple[str, str, str, int]


class TrunkRegistrations:
    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        self.active: dict[str, tuple[Key, OutboundRegistration]] = {}
        self._wanted: dict[str, Key] = {}
        self._started = False

    def configure(self, trunks: dict[str, Any]) -> None:
        """The registrations the plan asks for; changed or removed ones are
        ended, new ones start (at once when the server is running)."""
        self._wanted = {}
        for name, trunk in trunks.items():
            reg = getattr(trunk, "register", None)
            if reg is not None:
                uri = str(reg.registrar)
                uri = uri if uri.startswith("sip") else f"sip:{uri}"
                self._wanted[name] = (uri, reg.username, reg.password, int(reg.expires))
        for name, (key, registration) in list(self.active.items()):
            if self._wanted.get(name) != key:
                registration.stop()
                del self.active[name]
        if self._started:
            self._start_missing()

    def start(self) -> None:
        self._started = True
        self._start_missing()

    def stop(self) -> None:
        self._started = False
        for _, registration in self.active.values():
            registration.stop()
        self.active.clear()

    def contact_user(self, trunk: str) -> str | None:
        """The user part of the Contact Jono registered for ``trunk``: a call
        to it is a call to the number in To."""
        key = self._wanted.get(trunk)
        return key[1] if key is not None else None

    def _start_missing(self) -> None:
        for name, key in self._wanted.items():
            if name in self.active:
                continue
            uri, username, password, expires = key
            registration = OutboundRegistration(
                self.ua, uri, target_of_uri(uri), username, password, expires
            )
            self.active[name] = (key, registration)
            registration.start()
