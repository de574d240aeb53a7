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

from collections.abc import Iterable, Iterator, Sequence
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


def _compute_canonical(name: str) -> str:
    low = name.lower()
    if len(low) == 1 and low in COMPACT_FORMS:
        return COMPACT_FORMS[low]
    known = _CANONICAL.get(low)
    if known is not None:
        return known
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


# Exact name as written -> canonical name; seeded with every spelling the
# code itself uses, grown (bounded) by whatever else is asked for.
_CANON_CACHE: dict[str, str] = {}
# Exact name -> the key Headers compares on (its canonical name lower-cased),
# so that "Via", "v", "VIA" and "via" all find the same fields.
_KEY_CACHE: dict[str, str] = {}
_NAME_CACHE_LIMIT = 2048


def canonical_name(name: str) -> str:
    """The long, conventionally capitalised form of a header name."""
    known = _CANON_CACHE.get(name)
    if known is not None:
        return known
    canonical = _compute_canonical(name)
    if len(_CANON_CACHE) < _NAME_CACHE_LIMIT:
        _CANON_CACHE[name] = canonical
    return canonical


def header_key(name: str) -> str:
    """What :class:`Headers` compares names on: the canonical name, lower-cased."""
    key = _KEY_CACHE.get(name)
    if key is not None:
        return key
    key = canonical_name(name).lower()
    if len(_KEY_CACHE) < _NAME_CACHE_LIMIT:
        _KEY_CACHE[name] = key
    return key


for _name in (*_CANONICAL.values(), *_CANONICAL, *COMPACT_FORMS, *COMPACT_FORMS.values()):
    header_key(_name)
    header_key(_name.upper())
del _name


class Headers:
    """Ordered, case-insensitive list of header fields.

    ``_items`` holds the ``(canonical name, value)`` pairs in order and
    ``_keys`` the matching comparison keys (:func:`header_key`), so that a
    look-up is one C-level ``tuple.index``/``in`` over short strings.  Both
    are tuples, not lists: a server keeps every message of a live
    transaction (tens of thousands), and tuples of strings drop out of the
    cyclic garbage collector's sight where lists would be walked on every
    full collection.  Changes rebuild the tuples; messages have few fields.
    """

    __slots__ = ("_items", "_keys")

    _items: tuple[tuple[str, str], ...]
    _keys: tuple[str, ...]

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = tuple([(canonical_name(n), v) for n, v in items])
        self._keys = tuple([header_key(n) for n, _ in self._items])

    @classmethod
    def from_canonical(
        cls, items: Sequence[tuple[str, str]], keys: Sequence[str] | None = None
    ) -> Headers:
        """Wrap ``items`` whose names are already canonical (the parser's fast path).

        ``keys``, when given, must be ``[header_key(name) for name, _ in items]``.
        """
        new = cls.__new__(cls)
        new._items = tuple(items)
        new._keys = tuple([header_key(n) for n, _ in items] if keys is None else keys)
        return new

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return header_key(name) in self._keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def copy(self) -> Headers:
        new = Headers.__new__(Headers)
        new._items = self._items
        new._keys = self._keys
        return new

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        key = header_key(name)
        keys = self._keys
        if key not in keys:
            return default
        return self._items[keys.index(key)][1]

    def get_all(self, name: str) -> list[str]:
        """Every field line of ``name``, in order, not split at commas."""
        key = header_key(name)
        keys = self._keys
        count = keys.count(key)
        if count <= 1:
            return [self._items[keys.index(key)][1]] if count else []
        return [it[1] for k, it in zip(keys, self._items, strict=True) if k == key]

    def values(self, name: str) -> list[str]:
        """Every value of a multi-value header, split at top-level commas."""
        out: list[str] = []
        for line in self.get_all(name):
            out.extend(split_header_values(line))
        return out

    def add(self, name: str, value: str) -> None:
        self._items += ((canonical_name(name), value),)
        self._keys += (header_key(name),)

    def prepend(self, name: str, value: str) -> None:
        """Insert before the first field of the same name (or at the top)."""
        key = header_key(name)
        keys = self._keys
        i = keys.index(key) if key in keys else 0
        items = self._items
        self._items = (*items[:i], (canonical_name(name), value), *items[i:])
        self._keys = (*keys[:i], key, *keys[i:])

    def set(self, name: str, value: str) -> None:
        """Replace every field of ``name`` by one field with ``value``."""
        key = header_key(name)
        keys = self._keys
        item = (canonical_name(name), value)
        if key not in keys:
            self._items += (item,)
            self._keys += (key,)
            return
        i = keys.index(key)
        pairs = [(k, it) for k, it in zip(keys, self._items, strict=True) if k != key]
        pairs.insert(i, (key, item))
        self._keys = tuple([k for k, _ in pairs])
        self._items = tuple([it for _, it in pairs])

    def remove(self, name: str) -> None:
        key = header_key(name)
        if key not in self._keys:
            return
        pairs = [(k, it) for k, it in zip(self._keys, self._items, strict=True) if k != key]
        self._keys = tuple([k for k, _ in pairs])
        self._items = tuple([it for _, it in pairs])

    def pop_first_value(self, name: str) -> str | None:
        """Remove and return the first value of a multi-value header (e.g. the top Via)."""
        key = header_key(name)
        keys = self._keys
        if key not in keys:
            return None
        i = keys.index(key)
        items = self._items
        n, v = items[i]
        parts = split_header_values(v)
        if len(parts) <= 1:
            self._items = items[:i] + items[i + 1 :]
            self._keys = keys[:i] + keys[i + 1 :]
        else:
            self._items = (*items[:i], (n, ", ".join(parts[1:])), *items[i + 1 :])
        return parts[0] if parts else None


@dataclass(eq=False, slots=True)
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # -- common structured views ------------------------------------------
    # Parsed on demand; sip.headers caches the parse of each distinct line,
    # so repeated access costs a header look-up and a dict hit.
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
        line = self.headers.get("Via") or ""
        if "," in line or '"' in line:
            first = split_header_values(line)
            line = first[0] if first else ""
        return Via.parse(line.strip())

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


@dataclass(eq=False, slots=True)
class Request(Message):
    method: str = ""
    uri: str = ""
    version: str = "SIP/2.0"

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.call_id!r}>"


@dataclass(eq=False, slots=True)
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
    488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "Unknown")


# RFC 3261 §8.2.6.2: headers a response copies from its request.
_COPIED_TO_RESPONSE = frozenset(("Via", "From", "To", "Call-ID", "CSeq"))


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
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    copy_record_route = 100 < status < 300
    for key, item in zip(request.headers._keys, request.headers._items, strict=True):
        name = item[0]
        if name in _COPIED_TO_RESPONSE:
            if name == "To" and to_tag and "tag=" not in item[1].lower():
                item = (name, f"{item[1]};tag={to_tag}")
        elif name != "Record-Route" or not copy_record_route:
            continue
        items.append(item)
        keys.append(key)
    out = Headers.from_canonical(items, keys)
    for name, value in headers:
        out.add(name, value)
    return Response(
        headers=out, body=body, status=status, reason=reason or reason_phrase(status)
    )
