"""Registrar and location service (RFC 3261 §10.3), sans-I/O.

Theory of operation
-------------------
:class:`LocationService` maps an address-of-record (``"alice"``) to its
:class:`Binding` objects, one per device (desk phone, softphone, browser,
mobile app).  :meth:`LocationService.process_register` runs steps 6-8 of
RFC 3261 §10.3 on a REGISTER and returns the response to send; steps 1-5
(Request-URI domain, Require, authentication, the AOR the user may
register, AOR exists) are the caller's job: it passes the resolved ``aor``.

Time is passed in.  ``now`` must be wall-clock seconds (``time.time()``):
bindings are persisted by the optional :class:`BindingStore` and restored
after a restart, so their ``expires_at`` must survive one.

Binding identity: a Contact carrying ``+sip.instance`` (RFC 5626 §4.1) is
the same binding as any earlier one from that instance, so a mobile app
that changes address replaces its old contact instead of adding a second;
other contacts are matched by URI (scheme and host case-insensitive,
RFC 3261 §19.1.4, simplified: parameters compared as text).

Deviations, on purpose:

- §10.3 step 7 says a REGISTER whose CSeq is not higher than a binding's
  with the same Call-ID aborts the whole update.  Here that one binding
  update is ignored, the others proceed, and the answer is still a 200
  listing the current bindings: a late retransmission of an old REGISTER
  then does no harm and gets a sensible answer.
- Per-AOR bindings are bounded (``max_bindings``, default 10); a new one
  beyond the bound replaces the least recently registered binding.

NAT (RFC 3581, RFC 5626-lite): each binding remembers ``source``, where
the REGISTER really came from; :meth:`Binding.prefers_source` says when to
send requests there rather than to the Contact.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Literal, Protocol

from sip.errors import SipParseError
from sip.headers import SipUri, parse_name_addr
from sip.message import Request, Response, make_response
from sip.transport_types import CONNECTION_TRANSPORTS

# RFC 3261 §20.19 (via §10.2.1.1): delta-seconds above 2**32-1 mean 2**32-1.
_MAX_DELTA = 2**32 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """One contact registered for an address-of-record."""

    aor: str
    contact: str
    expires_at: float
    q: float = 1.0
    call_id: str
    cseq: int
    source: object = None
    transport: str = "udp"
    instance_id: str | None = None
    user_agent: str | None = None
    received_at: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.q <= 1.0:
            raise ValueError(f"binding q {self.q} must be between 0 and 1")

    @property
    def key(self) -> str:
        """Identity within the AOR: the instance id, else the normalised URI."""
        if self.instance_id:
            return "instance:" + self.instance_id
        return "uri:" + contact_key(self.contact)

    def remaining(self, now: float) -> int:
        """Whole seconds left, rounded up, never negative."""
        return max(0, math.ceil(self.expires_at - now - 1e-9))

    def prefers_source(self) -> bool:
        """True when requests should go to ``source`` rather than the Contact.

        RFC 5626 §5.3 / RFC 7118 §5: over a connection-oriented transport,
        reuse the flow the REGISTER arrived on.  RFC 3581 spirit: a Contact
        whose host is a non-global (private, CGNAT, loopback ...) address, or an
        ``.invalid`` name (SIP.js, JsSIP), cannot be reached directly.
        """
        if self.transport.lower() in CONNECTION_TRANSPORTS:
            return True
        return contact_is_unroutable(self.contact)


BindingEventKind = Literal["added", "refreshed", "removed", "expired"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BindingEvent:
    """A change to the location service, for presence of devices."""

    kind: BindingEventKind
    binding: Binding


class BindingStore(Protocol):
    """Persistence hook; the SQL implementation lives in ``acd``."""

    def save(self, binding: Binding) -> None: ...

    def delete(self, aor: str, contact: str) -> None: ...

    def load_all(self) -> Iterable[Binding]: ...


def contact_key(contact: str) -> str:
    """Normalised contact URI for matching (RFC 3261 §19.1.4, simplified)."""
    try:
        uri = SipUri.parse(contact)
    except SipParseError:
        return contact.strip()
    return str(uri.with_(scheme=uri.scheme.lower(), host=uri.host.lower()))


def contact_is_unroutable(contact: str) -> bool:
    """Whether a Contact's host is a non-global IP address or an ``.invalid`` name."""
    try:
        host = SipUri.parse(contact).host
    except SipParseError:
        return True
    host = host.strip("[]").lower()
    if host.endswith(".invalid") or host == "invalid":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # Private, loopback, link-local, carrier-grade NAT (100.64/10), ...
    return not address.is_global


class RegisterError(Exception):
    """A REGISTER that must be refused; carries the response to send."""

    def __init__(self, status: int, reason: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


@dataclass(frozen=True, slots=True, kw_only=True)
class _Update:
    contact: str
    expires: int
    q: float
    instance_id: str | None


class LocationService:
    """In-memory location service with an optional persistence hook."""

    def __init__(
        self,
        store: BindingStore | None = None,
        *,
        max_bindings: int = 10,
        record_events: bool = False,
    ) -> None:
        if max_bindings < 1:
            raise ValueError(f"max_bindings {max_bindings} must be >= 1")
        self._store = store
        self._max_bindings = max_bindings
        self._by_aor: dict[str, dict[str, Binding]] = {}
        self._record_events = record_events
        self._events: list[BindingEvent] = []

    # -- queries ----------------------------------------------------------------

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """Unexpired bindings of ``aor``: highest q first, then most recent."""
        bindings = [b for b in self._by_aor.get(aor, {}).values() if b.expires_at > now]
        bindings.sort(key=lambda b: (-b.q, -b.received_at))
        return bindings

    def all_bindings(self) -> list[Binding]:
        return [b for per_aor in self._by_aor.values() for b in per_aor.values()]

    def pop_events(self) -> list[BindingEvent]:
        """Changes since the last call (only with ``record_events=True``)."""
        events, self._events = self._events, []
        return events

    # -- changes ------------------------------------------------------------------

    def put(self, binding: Binding) -> None:
        """Add or replace a binding (same AOR and key), enforcing the per-AOR bound."""
        per_aor = self._by_aor.setdefault(binding.aor, {})
        old = per_aor.get(binding.key)
        if old is None and len(per_aor) >= self._max_bindings:
            oldest = min(per_aor.values(), key=lambda b: b.received_at)
            self._drop(oldest, "removed")
        if old is not None and old.contact != binding.contact and self._store is not None:
            self._store.delete(old.aor, old.contact)
        per_aor[binding.key] = binding
        if self._store is not None:
            self._store.save(binding)
        self._emit("added" if old is None else "refreshed", binding)

    def remove(self, binding: Binding) -> None:
        self._drop(binding, "removed")

    def expire(self, now: float) -> list[Binding]:
        """Remove and return every binding whose time is up."""
        gone = [b for b in self.all_bindings() if b.expires_at <= now]
        for binding in gone:
            self._drop(binding, "expired")
        return gone

    def restore(self, now: float) -> int:
        """Load persisted bindings, dropping expired ones from the store; returns count."""
        if self._store is None:
            return 0
        loaded = 0
        expired: list[Binding] = []
        for binding in list(self._store.load_all()):
            if binding.expires_at <= now:
                expired.append(binding)
                continue
            self._by_aor.setdefault(binding.aor, {})[binding.key] = binding
            loaded += 1
        for binding in expired:
            self._store.delete(binding.aor, binding.contact)
        return loaded

    def _drop(self, binding: Binding, kind: BindingEventKind) -> None:
        per_aor = self._by_aor.get(binding.aor)
        if per_aor is None or per_aor.get(binding.key) is not binding:
            return
        del per_aor[binding.key]
        if not per_aor:
            del self._by_aor[binding.aor]
        if self._store is not None:
            self._store.delete(binding.aor, binding.contact)
        self._emit(kind, binding)

    def _emit(self, kind: BindingEventKind, binding: Binding) -> None:
        if self._record_events:
            self._events.append(BindingEvent(kind=kind, binding=binding))

    # -- REGISTER -----------------------------------------------------------------

    def process_register(
        self,
        request: Request,
        aor: str,
        source: object,
        now: float,
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        to_tag: str | None = None,
        transport: str = "udp",
    ) -> Response:
        """Apply a REGISTER for ``aor`` (RFC 3261 §10.3 steps 6-8) and answer it."""
        try:
            self._apply(
                request, aor, source, now, min_expires, max_expires, default_expires, transport
            )
        except RegisterError as exc:
            return make_response(
                request, exc.status, exc.reason, to_tag=to_tag, headers=exc.headers
            )
        # RFC 3261 §10.3 step 8: the 200 lists all current bindings, each
        # with an "expires" parameter; a Date header SHOULD be included.
        headers = [("Contact", _render_contact(b, now)) for b in self.lookup(aor, now)]
        headers.append(("Date", formatdate(now, usegmt=True)))
        return make_response(request, 200, to_tag=to_tag, headers=headers)

    def _apply(
        self,
        request: Request,
        aor: str,
        source: object,
        now: float,
        min_expires: int,
        max_expires: int,
        default_expires: int,
        transport: str,
    ) -> None:
        try:
            cseq = request.cseq.number
        except SipParseError as exc:
            raise RegisterError(400, "Bad Request: invalid CSeq") from exc
        call_id = request.call_id
        if not call_id:
            raise RegisterError(400, "Bad Request: missing Call-ID")
        header_expires = _expires_header(request)
        raw_contacts = request.headers.values("Contact")
        if not raw_contacts:
            # RFC 3261 §10.2.3 / §10.3 step 6: no Contact is a query.
            return
        if any(c.strip() == "*" for c in raw_contacts):
            # RFC 3261 §10.3 step 6: "*" needs Expires 0 and no other Contact,
            # else the request is invalid and the server MUST return a 400.
            if len(raw_contacts) != 1 or header_expires != 0:
                raise RegisterError(400, "Bad Request: wildcard Contact needs Expires: 0 alone")
            for binding in list(self._by_aor.get(aor, {}).values()):
                # §10.3 step 7: same Call-ID needs a higher CSeq.
                if binding.call_id == call_id and cseq <= binding.cseq:
                    continue
                self.remove(binding)
            return

        updates = [
            _parse_contact(raw, header_expires, default_expires, max_expires)
            for raw in raw_contacts
        ]
        # RFC 3261 §10.3 step 6: "If and only if the requested expiration
        # interval is greater than zero AND smaller than one hour AND less than
        # a registrar-configured minimum, the registrar MAY reject the
        # registration with a response of 423".  Checked before any change so
        # the update stays atomic.
        if any(0 < u.expires < min_expires for u in updates):
            raise RegisterError(423, "Interval Too Brief", (("Min-Expires", str(min_expires)),))
        user_agent = request.headers.get("User-Agent")
        for update in updates:
            candidate = Binding(
                aor=aor,
                contact=update.contact,
                expires_at=now + update.expires,
                q=update.q,
                call_id=call_id,
                cseq=cseq,
                source=source,
                transport=transport.lower(),
                instance_id=update.instance_id,
                user_agent=user_agent,
                received_at=now,
            )
            existing = self._by_aor.get(aor, {}).get(candidate.key)
            # RFC 3261 §10.3 step 7: "If they are the same, the registrar
            # compares the CSeq value.  If the value is higher than that of
            # the existing binding, it MUST update or remove the binding".
            # (Not higher: ignored here; see the module docstring.)
            if existing is not None and existing.call_id == call_id and cseq <= existing.cseq:
                continue
            if update.expires == 0:
                if existing is not None:
                    self.remove(existing)
                continue
            self.put(candidate)


def _expires_header(request: Request) -> int | None:
    value = request.headers.get("Expires")
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        raise RegisterError(400, f"Bad Request: invalid Expires {value!r}")
    return min(int(value), _MAX_DELTA)


def _parse_contact(
    raw: str, header_expires: int | None, default_expires: int, max_expires: int
) -> _Update:
    try:
        addr = parse_name_addr(raw)
    except SipParseError as exc:
        raise RegisterError(400, f"Bad Request: invalid Contact ({exc.reason})") from exc
    # RFC 3261 §10.3 step 6: the "expires" parameter wins over the Expires
    # header, which wins over the locally configured default.
    expires_param = addr.params.get("expires")
    if expires_param is not None:
        if not expires_param.strip().isdigit():
            raise RegisterError(400, f"Bad Request: invalid expires {expires_param!r}")
        expires = min(int(expires_param), _MAX_DELTA)
    elif header_expires is not None:
        expires = header_expires
    else:
        expires = default_expires
    # §10.3 step 6: the registrar MAY shorten a too long interval.
    expires = min(expires, max_expires)
    q_param = addr.params.get("q")
    q = 1.0
    if q_param is not None:
        try:
            q = float(q_param)
        except ValueError:
            q = -1.0
        # RFC 3261 §20.10: qvalue is between 0 and 1.
        if not 0.0 <= q <= 1.0:
            raise RegisterError(400, f"Bad Request: invalid q {q_param!r}")
    instance = addr.params.get("+sip.instance")
    return _Update(contact=addr.uri, expires=expires, q=q, instance_id=instance or None)


def _render_contact(binding: Binding, now: float) -> str:
    out = f"<{binding.contact}>;expires={binding.remaining(now)}"
    if binding.q != 1.0:
        out += f";q={binding.q:g}"
    if binding.instance_id:
        out += f';+sip.instance="{binding.instance_id}"'
    return out
