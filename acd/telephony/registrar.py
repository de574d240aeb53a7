"""REGISTER from phones (RFC 3261 §10.3): authenticate, authorise, bind."""

from __future__ import annotations

import time

import structlog

from acd.telephony.access import Access
from acd.telephony.directory import DeviceDirectory
from sip.dialog import new_tag
from sip.errors import SipError
from sip.message import Request
from sip.registrar import LocationService
from sip.transport import Target
from sip.ua import UserAgent

log = structlog.stdlib.get_logger("jono.registrar")


class Registrar:
    def __init__(self, location: LocationService) -> None:
        self.location = location

    def register(
        self,
        ua: UserAgent,
        access: Access,
        directory: DeviceDirectory,
        request: Request,
        txn: object,
        source: Target,
    ) -> None:
        now = time.time()
        # §10.3 steps 1-4: the registrar authenticates the UAC.
        username = access.authenticate(ua, request, txn, now, source=source)
        if username is None:
            return
        try:
            aor_user = request.to.sip_uri.user
        except SipError:
            ua.respond(txn, request, 400, "Bad To")
            return
        # §10.3 step 5: the authenticated user must be allowed to register the AOR.
        if not directory.may_register(username, aor_user):
            ua.respond(txn, request, 403)
            return
        response = self.location.process_register(
            request, username, source, now, to_tag=new_tag(), transport=source.transport
        )
        ua.send_response(txn, response)
        self.log_changes(source)

    def log_changes(self, source: Target | None = None) -> int:
        """Log each binding added, refreshed or removed since the last call."""
        events = self.location.pop_events()
        for event in events:
            binding = event.binding
            # Refreshes come every few minutes from every phone: not at info.
            emit = log.debug if event.kind == "refreshed" else log.info
            emit(
                f"registration {event.kind}", user=binding.aor, contact=binding.contact,
                source=f"{source.host}:{source.port}" if source is not None else None,
                expires_in=max(0, round(binding.expires_at - time.time())),
                user_agent=binding.user_agent,
            )
        return len(events)
