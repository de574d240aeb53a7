"""Dialogs (RFC 3261 §12): the state two user agents share for one call.

A :class:`Dialog` is pure data plus the rules to build requests inside it
(§12.2.1.1) and to check requests that arrive in it (§12.2.2).  Where the
requests physically go (the *flow*) is kept beside it by the user agent, so
phones behind NAT are reached on the address their packets came from.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import Enum

from sip.headers import NameAddr, parse_name_addr
from sip.message import Headers, Request, Response


class _RandomPool:
    """Cryptographically random hex, read from the OS 4 KiB at a time.

    RFC 3261 §19.3: tags "MUST be globally unique and cryptographically
    random with at least 32 bits of randomness".  One ``os.urandom`` call per
    tag and branch was a measurable share of the per-call cost.
    """

    def __init__(self) -> None:
        self._hex = ""
        self._pos = 0

    def take(self, chars: int) -> str:
        if self._pos + chars > len(self._hex):
            self._hex = secrets.token_hex(4096)
            self._pos = 0
        start = self._pos
        self._pos += chars
        return self._hex[start : self._pos]


_pool = _RandomPool()


def new_tag() -> str:
    return _pool.take(12)


def new_branch() -> str:
    # RFC 3261 §8.1.1.7: the branch MUST begin with the magic cookie z9hG4bK.
    return "z9hG4bK" + _pool.take(16)


def new_call_id(host: str) -> str:
    return f"{_pool.take(20)}@{host}"


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass(eq=False, kw_only=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # the From (UAC) / To (UAS) header value without tag
    remote_uri: str
    remote_target: str  # Request-URI for requests in the dialog
    local_seq: int
    remote_seq: int | None
    route_set: list[str] = field(default_factory=list)
    state: DialogState = DialogState.EARLY

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    # RFC 3261 §12.1.1: UAS behaviour.
    @classmethod
    def from_uas(cls, request: Request, local_tag: str) -> Dialog:
        """The dialog a UAS creates when answering ``request``.

        "The route set MUST be set to the list of URIs in the Record-Route
        header field from the request, taken in order and preserving all URI
        parameters.  ... The remote target MUST be set to the URI from the
        Contact header field of the request."
        """
        contacts = request.contacts
        remote_target = contacts[0].uri if contacts else request.from_.uri
        from_ = request.from_
        to = request.to
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=from_.tag or "",
            local_uri=_without_tag(to),
            remote_uri=_without_tag(from_),
            remote_target=remote_target,
            local_seq=0,
            remote_seq=request.cseq.number,
            route_set=request.headers.values("Record-Route"),
        )

    # RFC 3261 §12.1.2: UAC behaviour.
    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC creates from a 2xx/1xx-with-tag to ``request``.

        "The route set MUST be set to the list of URIs in the Record-Route
        header field from the response, taken in reverse order."
        """
        contacts = response.contacts
        remote_target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=response.to.tag or "",
            local_uri=_without_tag(request.from_),
            remote_uri=_without_tag(response.to),
            remote_target=remote_target,
            local_seq=request.cseq.number,
            remote_seq=None,
            route_set=list(reversed(response.headers.values("Record-Route"))),
        )

    def update_target(self, message: Request | Response) -> None:
        """A target refresh request or its 2xx replaces the remote target (§12.2)."""
        contacts = message.contacts
        if contacts:
            self.remote_target = contacts[0].uri

    # RFC 3261 §12.2.1.1: generating the request.
    def create_request(
        self,
        method: str,
        *,
        via: str,
        contact: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
        cseq: int | None = None,
    ) -> Request:
        """Build a request within the dialog.

        "The CSeq header field value MUST be ... the local sequence number
        incremented by one" - except for ACK and CANCEL, which reuse the
        number of the request they refer to (``cseq``).
        """
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("From", f"{self.local_uri};tag={self.local_tag}")
        headers.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        if contact is not None:
            headers.add("Contact", contact)
        for name, value in extra:
            headers.add(name, value)
        if content_type is not None and body:
            headers.add("Content-Type", content_type)
        return Request(method=method, uri=self.remote_target, headers=headers, body=body)

    # RFC 3261 §12.2.2: UAS behaviour for requests within a dialog.
    def check_remote_cseq(self, request: Request) -> bool:
        """True when the request's CSeq is acceptable.

        "If the remote sequence number was not empty, but the sequence number
        of the request is lower than the remote sequence number, the request
        is out of order and MUST be rejected with a 500 (Server Internal
        Error) response."  ACK and CANCEL carry the INVITE's number.
        """
        number = request.cseq.number
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and number < self.remote_seq:
            return False
        self.remote_seq = number
        return True


def _without_tag(addr: NameAddr) -> str:
    params = {k: v for k, v in addr.params.items() if k != "tag"}
    return str(NameAddr(display=addr.display, uri=addr.uri, params=params))


def strip_tag(value: str) -> str:
    """A From/To header value with its tag removed."""
    return _without_tag(parse_name_addr(value))
