"""SIP message model: requests, responses and their header list (RFC 3261 §7).

Theory of operation
-------------------
A message is a start line, an ordered list of ``(name, value)`` header
fields and a body of bytes.  Header names are stored in their canonical
long form (compact forms such as ``v`` and ``i`` are expanded by the parser,
RFC 3261 §7.3.3) and compared case-insensitively.  Values are kept as the
text that arrived, so that a message relayed unchanged serialises to the
same bytes; structured views (Via, CSeq, From/To) are parsed on demand by
:mod:`sip.headers`.

Serialising always recomputes ``Content-Length`` from the body (§20.14), so
a message can never announce a body it does not carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sip.headers import CSeq, NameAddr, Via, parse_name_addr, split_header_values

# RFC 3261 §7.3.3: compact forms of header field names.
COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
    "x": "Session-Expires",
    "a": "Accept-Contact",
    "j": "Reject-Contact",
    "d": "Request-Disposition",
    "y": "Identity",
}

_CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info",
        "Contact", "Content-Disposition", "Content-Encoding", "Content-Language",
        "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event",
        "Expires", "From", "In-Reply-To", "Max-Forwards", "Min-Expires", "MIME-Version",
        "Organization", "P-Asserted-Identity", "Priority", "Proxy-Authenticate",
        "Proxy-Authorization", "Proxy-Require", "RAck", "Record-Route", "Refer-To",
        "Referred-By", "Reply-To", "Require", "Retry-After", "Route", "RSeq",
        "Server", "Session-Expires", "Subject", "Subscription-State", "Supported",
        "Timestamp", "To", "Unsupported", "User-Agent", "Via", "Warning",
        "WWW-Authenticate",
    )
}

# Header fields whose values may be combined into one comma-separated line
# (RFC 3261 §7.3.1).  Others (notably the auth headers) never are.
MULTI_VALUE = frozenset(
    {
        "via", "route", "record-route", "contact", "allow", "supported", "require",
        "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
        "content-encoding", "content-language", "allow-events", "in-reply-to", "warning",
        "alert-info", "call-info", "error-info", "reply-to",
    }
)


def canonical_name(name: str) -> str:
    """The long, conventionally capitalised form of a header name."""
    low = name.lower()
    if len(low) == 1 and low in COMPACT_FORMS:
        return COMPACT_FORMS[low]
    known = _CANONICAL.get(low)
    if known is not None:
        return known
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


class Headers:
    """Ordered, case-insensitive list of header fields."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in items]

    @classmethod
    def from_canonical(cls, items: list[tuple[str, str]]) -> Headers:
        """Wrap ``items`` whose names are already canonical (the parser's fast path)."""
        new = cls()
        new._items = items
        return new

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        low = canonical_name(name).lower()
        return any(n.lower() == low for n, _ in self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        return new

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        low = canonical_name(name).lower()
        for n, v in self._items:
            if n.lower() == low:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every field line of ``name``, in order, not split at commas."""
        low = canonical_name(name).lower()
        return [v for n, v in self._items if n.lower() == low]

    def values(self, name: str) -> list[str]:
        """Every value of a multi-value header, split at top-level commas."""
        out: list[str] = []
        for line in self.get_all(name):
            out.extend(split_header_values(line))
        return out

    def add(self, name: str, value: str) -> None:
        self._items.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first field of the same name (or at the top)."""
        cname = canonical_name(name)
        low = cname.lower()
        for i, (n, _) in enumerate(self._items):
            if n.lower() == low:
                self._items.insert(i, (cname, value))
                return
        self._items.insert(0, (cname, value))

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` by one field with ``value``."""
        cname = canonical_name(name)
        low = cname.lower()
        for i, (n, _) in enumerate(self._items):
            if n.lower() == low:
                self._items[i] = (cname, value)
                self._items[i + 1 :] = [it for it in self._items[i + 1 :] if it[0].lower() != low]
                return
        self._items.append((cname, value))

    def remove(self, name: str) -> None:
        low = canonical_name(name).lower()
        self._items = [it for it in self._items if it[0].lower() != low]

    def pop_first_value(self, name: str) -> str | None:
        """Remove and return the first value of a multi-value header (e.g. the top Via)."""
        low = canonical_name(name).lower()
        for i, (n, v) in enumerate(self._items):
            if n.lower() == low:
                parts = split_header_values(v)
                if len(parts) <= 1:
                    del self._items[i]
                else:
                    self._items[i] = (n, ", ".join(parts[1:]))
                return parts[0] if parts else None
        return None


@dataclass(eq=False)
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # -- common structured views (parsed on demand, never cached) --------
    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.values("Via")]

    @property
    def top_via(self) -> Via:
        first = self.headers.values("Via")
        return Via.parse(first[0] if first else "")

    @property
    def from_(self) -> NameAddr:
        return parse_name_addr(self.headers.get("From") or "")

    @property
    def to(self) -> NameAddr:
        return parse_name_addr(self.headers.get("To") or "")

    @property
    def contacts(self) -> list[NameAddr]:
        return [parse_name_addr(v) for v in self.headers.values("Contact") if v.strip() != "*"]

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()

    def start_line(self) -> str:
        raise NotImplementedError

    def encode(self) -> bytes:
        """Serialise to wire bytes (RFC 3261 §7), Content-Length recomputed."""
        lines = [self.start_line()]
        lines.extend(f"{n}: {v}" for n, v in self.headers if n != "Content-Length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.encode()


@dataclass(eq=False)
class Request(Message):
    method: str = ""
    uri: str = ""
    version: str = "SIP/2.0"

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.call_id!r}>"


@dataclass(eq=False)
class Response(Message):
    status: int = 200
    reason: str = "OK"
    version: str = "SIP/2.0"

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} call-id={self.call_id!r}>"


REASON_PHRASES: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy",
    380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    421: "Extension Required", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
    485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 493: "Undecipherable",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "Unknown")


# RFC 3261 §8.2.6.2: headers a response copies from its request.
_COPIED_TO_RESPONSE = ("Via", "From", "To", "Call-ID", "CSeq")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to ``request`` (RFC 3261 §8.2.6).

    Via, From, To, Call-ID and CSeq are copied; a To tag is added when given
    and the request's To has none (§8.2.6.2).  Record-Route is copied for
    2xx/18x to dialog-creating requests (§12.1.1).
    """
    out = Headers()
    for name, value in request.headers:
        if name in _COPIED_TO_RESPONSE:
            if name == "To" and to_tag and "tag=" not in value.lower():
                value = f"{value};tag={to_tag}"
            out.add(name, value)
        elif name == "Record-Route" and 100 < status < 300:
            out.add(name, value)
    for name, value in headers:
        out.add(name, value)
    return Response(
        headers=out, body=body, status=status, reason=reason or reason_phrase(status)
    )
