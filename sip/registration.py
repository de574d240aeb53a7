"""Registering Jono at a provider's registrar (a trunk that wants it).

RFC 3261 §10.2: the REGISTER's To and From are the address of record, the
Call-ID stays the same for every registration from this client and the CSeq
grows by one each time; the Contact says where the provider sends calls.
§22.2: a 401/407 is answered once with credentials (RFC 8760 digest); later
refreshes reuse the challenge with the next nonce count until the registrar
asks again. §10.2.4: the binding is refreshed before it expires (here at
half its lifetime); a refused or unanswered REGISTER is retried later.

The refresh is a timer as data: ``ua.arm(self, "refresh", delay)`` and the
user agent calls :meth:`OutboundRegistration.on_timer`.  Over TCP the
connection is kept open while the binding lives (RFC 5626).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from sip.auth import answer_challenge
from sip.dialog import new_call_id, new_tag
from sip.headers import SipUri
from sip.message import Headers, Request, Response
from sip.transport import Target
from sip.ua import UserAgent

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 30.0
MIN_REFRESH_S = 1.0
TIMER_REFRESH = "refresh"


class OutboundRegistration:
    """Keep one binding at ``registrar`` for ``username`` (start / stop)."""

    def __init__(
        self,
        ua: UserAgent,
        registrar_uri: str,
        target: Target,
        username: str,
        password: str,
        expires: int,
        *,
        on_change: Callable[[OutboundRegistration], None] | None = None,
    ) -> None:
        self.ua = ua
        self.registrar_uri = registrar_uri
        self.target = target
        self.username = username
        self.password = password
        self.expires = expires
        self.on_change = on_change
        self.domain = SipUri.parse(registrar_uri).host
        self.aor = f"sip:{username}@{self.domain}"
        self.contact = ua.contact(target.transport, username)
        self.call_id = new_call_id(ua.hostport())
        self.tag = new_tag()
        self.cseq = 0
        self.registered = False
        self.granted: int | None = None  # seconds the registrar granted
        self.last_status: int | None = None
        self._challenge: tuple[str, str] | None = None  # (header value, 401/407 name)
        self._nc = 0
        self._stopped = False

    def start(self) -> None:
        self._send(self.expires)

    def stop(self) -> None:
        """Remove the binding (Expires: 0) and stop refreshing."""
        self._stopped = True
        self.ua.disarm(self, TIMER_REFRESH)
        if self.registered:
            self._send(0)

    # -- requests -------------------------------------------------------------
    def _send(self, expires: int, fresh_challenge: bool = False) -> None:
        self.cseq += 1
        h = Headers()
        h.add("Via", self.ua.via(self.target.transport))
        h.add("Max-Forwards", "70")
        h.add("From", f"<{self.aor}>;tag={self.tag}")
        h.add("To", f"<{self.aor}>")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{self.cseq} REGISTER")
        h.add("Contact", self.contact)
        h.add("Expires", str(expires))
        if self._challenge is not None:
            value, name = self._challenge
            self._nc = 1 if fresh_challenge else self._nc + 1
            try:
                h.add(name, answer_challenge(
                    value, "REGISTER", self.registrar_uri, self.username, self.password,
                    cnonce=new_tag(), nc=self._nc,
                ))  # fmt: skip
            except ValueError as err:
                log.warning("registrar %s: cannot answer its challenge: %s", self.domain, err)
                self._challenge = None
        request = Request(method="REGISTER", uri=self.registrar_uri, headers=h)
        self.ua.send_request(request, self.target, functools.partial(
            self._on_response, expires=expires, answered_fresh=fresh_challenge,
        ))  # fmt: skip

    def _on_response(
        self, response: Response | None, why: str, expires: int, answered_fresh: bool
    ) -> None:
        if response is None:
            self._failed(408, f"no answer ({why})")
            return
        status = response.status
        if status < 200:
            return
        self.last_status = status
        if status in (401, 407) and not answered_fresh:
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            name = "Authorization" if status == 401 else "Proxy-Authorization"
            challenge = response.headers.get(header)
            if challenge is not None:
                self._challenge = (challenge, name)
                self._send(expires, fresh_challenge=True)
                return
        if 200 <= status < 300:
            if expires == 0:
                self._set(False, None)
                return
            granted = _granted(response, self.contact)
            lifetime = granted if granted is not None else expires
            self._set(True, lifetime)
            self.ua.keep_flow(self.target, lifetime or expires)
            self._schedule(max(MIN_REFRESH_S, (lifetime or expires) / 2))
            return
        self._failed(status, response.reason)

    def _failed(self, status: int, reason: str) -> None:
        self.last_status = status
        log.warning("registration of %s at %s failed: %s %s", self.aor, self.target.host,
                    status, reason)
        self._challenge = None
        self._set(False, None)
        if not self._stopped:
            self._schedule(RETRY_AFTER_FAILURE_S)

    def _set(self, registered: bool, granted: int | None) -> None:
        changed = registered != self.registered
        self.registered, self.granted = registered, granted
        if changed:
            log.info("%s at %s: %s", self.aor, self.target.host,
                     "registered" if registered else "not registered")
            if self.on_change is not None:
                self.on_change(self)

    def _schedule(self, delay: float) -> None:
        if not self._stopped:
            self.ua.arm(self, TIMER_REFRESH, delay)

    def on_timer(self, name: str, now: float) -> None:
        if name == TIMER_REFRESH and not self._stopped:
            self._send(self.expires)


def _granted(response: Response, our_contact: str) -> int | None:
    """§10.2.4: the expiry the registrar granted for our contact (its Contact
    ``expires`` parameter, else the Expires header)."""
    ours = our_contact.strip("<>")
    for contact in response.contacts:
        if contact.uri == ours:
            value = contact.params.get("expires")
            if value is not None and str(value).isdigit():
                return int(value)
    value = response.headers.get("Expires")
    if value is not None and value.strip().isdigit():
        return int(value.strip())
    return None
