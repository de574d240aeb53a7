"""RFC 3261 message parser: bytes in, :class:`Request`/:class:`Response` out.

Theory of operation
-------------------
Sans-I/O, in the manner of h11: nothing here reads a socket or a clock.

* :func:`parse_message` takes one whole datagram (UDP, RFC 3261 §18.3:
  the body is delimited by Content-Length when present, the rest of the
  datagram otherwise).
* :class:`StreamParser` frames a byte stream (TCP/TLS, RFC 3261 §18.3:
  Content-Length is mandatory).  ``feed()`` only buffers; ``next_message()``
  returns a message or ``None`` when it needs more bytes.  Feeding one
  byte at a time gives the same messages as feeding everything at once.
* :func:`parse_error_response` turns a :class:`SipParseError` into the
  stateless response a transport sends back (or ``None``: drop and log).

Everything a transaction or dialog needs blindly (Via, CSeq, Call-ID,
From, To) is checked here, so that later layers can use the structured
views of :mod:`sip.message` without guarding against garbage.  Any input,
however hostile, raises :class:`SipParseError` and nothing else; sizes are
bounded (message 64 KiB, 256 header fields, lines of 8 KiB).

The hot path avoids per-character Python loops: the header block is found
with ``bytes.find``, decoded once (UTF-8 with ``surrogateescape``, so
non-UTF-8 bytes survive a round trip) and split with ``str.split``.
"""

from __future__ import annotations

import hashlib
import re
from itertools import islice

from sip.errors import SipParseError
from sip.headers import CSeq, SipUri, Via, parse_name_addr, split_header_values
from sip.message import Headers, Request, Response, canonical_name, header_key

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE",
    "MAX_MESSAGE",
    "StreamParser",
    "parse_error_response",
    "parse_message",
]

MAX_MESSAGE = 65536
MAX_HEADERS = 256
MAX_LINE = 8192

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_MANDATORY = ("To", "From", "CSeq", "Call-ID", "Via")
_SINGLE = frozenset(("To", "From", "CSeq", "Call-ID", "Max-Forwards"))
_REQUEST_URI_SCHEMES = frozenset(("sip", "sips", "tel"))
_PING = b"\r\n\r\n"
_WSP = frozenset((" ", "\t"))
_STRUCTURED = frozenset(("Via", "Contact", "Route", "Record-Route"))
# (name, line) pairs already found well-formed; bounded, cleared when full.
_CHECKED: dict[tuple[str, str], None] = {}
_CHECKED_LIMIT = 4096

# Raw header name as it arrived -> (canonical name, Headers key).  Bounded, so that a peer
# inventing names cannot grow it without limit.
_NAME_CACHE: dict[str, tuple[str, str]] = {}
_NAME_CACHE_LIMIT = 1024


def parse_message(data: bytes) -> Request | Response:
    """Parse one whole datagram into a message; raise :class:`SipParseError`."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError(f"message larger than {MAX_MESSAGE} bytes", status=513)
    start = 0
    # RFC 3261 §7.5: implementations SHOULD ignore CRLFs before the start line.
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SipParseError("no empty line after the header fields")
    message, length = _parse_head(data[start:end])
    body_start = end + 4
    if length is None:
        message.body = data[body_start:]
    else:
        # RFC 3261 §18.3: over a datagram transport, octets beyond
        # Content-Length are discarded; a body shorter than Content-Length
        # makes the message invalid.
        body = data[body_start : body_start + length]
        if len(body) < length:
            raise SipParseError(f"Content-Length {length} is larger than the {len(body)}-byte body")
        message.body = body
    return message


class StreamParser:
    """Frames SIP messages out of a byte stream (RFC 3261 §18.3).

    ``pings_received`` counts RFC 5626 §3.5.1 double-CRLF keep-alives seen
    between messages; the transport answers each with a single CRLF and
    resets the counter.  After a :class:`SipParseError` the stream cannot be
    re-synchronised: every later ``next_message()`` raises the same error,
    and ``pending_bytes()`` holds the offending message for
    :func:`parse_error_response`.
    """

    __slots__ = ("_buf", "_scan", "_head", "_body_start", "_error", "pings_received")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan = 0  # where the search for the blank line resumes
        self._head: tuple[Request | Response, int] | None = None
        self._body_start = 0
        self._error: SipParseError | None = None
        self.pings_received = 0

    def feed(self, data: bytes) -> None:
        """Append received bytes; never parses, never raises."""
        self._buf += data

    def pending_bytes(self) -> bytes:
        """Bytes received but not yet returned as a message."""
        return bytes(self._buf)

    @property
    def buffered(self) -> int:
        """How many bytes of an unfinished message (or ping) are waiting."""
        return len(self._buf)

    def next_message(self) -> Request | Response | None:
        """The next complete message, or ``None`` if more bytes are needed."""
        if self._error is not None:
            raise self._error
        try:
            return self._next_message()
        except SipParseError as err:
            self._error = err
            raise

    def _next_message(self) -> Request | Response | None:
        buf = self._buf
        if self._head is None:
            if not self._skip_keepalives():
                return None
            end = buf.find(b"\r\n\r\n", self._scan)
            if end < 0:
                if len(buf) > MAX_MESSAGE:
                    raise SipParseError(f"header block larger than {MAX_MESSAGE} bytes")
                self._scan = max(0, len(buf) - 3)
                return None
            if end > MAX_MESSAGE:
                raise SipParseError(f"header block larger than {MAX_MESSAGE} bytes")
            message, length = _parse_head(bytes(buf[:end]))
            # RFC 3261 §18.3: in the case of stream-oriented transports such
            # as TCP, the Content-Length header field MUST be used.
            if length is None:
                raise SipParseError("missing Content-Length on a stream transport")
            if length > MAX_MESSAGE or end + 4 + length > MAX_MESSAGE:
                raise SipParseError(f"message larger than {MAX_MESSAGE} bytes", status=513)
            self._head = (message, length)
            self._body_start = end + 4
        message, length = self._head
        total = self._body_start + length
        if len(buf) < total:
            return None
        message.body = bytes(buf[self._body_start : total])
        del buf[:total]
        self._head = None
        self._scan = 0
        return message

    def _skip_keepalives(self) -> bool:
        """Drop CRLFs before a start line; False if the buffer holds nothing else yet."""
        buf = self._buf
        n = len(buf)
        i = 0
        while i < n and buf[i] in (13, 10):
            # RFC 5626 §3.5.1: a double CRLF between messages is a keep-alive ping.
            if buf.startswith(_PING, i):
                self.pings_received += 1
                i += 4
            elif n - i < 4 and _PING.startswith(buf[i:]):
                break  # maybe the start of a ping: wait for more bytes
            # RFC 3261 §7.5: ignore any CRLF appearing before the start-line.
            elif buf.startswith(b"\r\n", i):
                i += 2
            else:
                i += 1
        if i:
            del buf[:i]
            self._scan = max(0, self._scan - i)
        return bool(buf) and buf[0] not in (13, 10)


# -- the header block --------------------------------------------------------


def _parse_head(head: bytes) -> tuple[Request | Response, int | None]:
    """Parse start line and header fields; return the message and its Content-Length."""
    if len(head) > MAX_LINE and max(map(len, head.split(b"\r\n"))) > MAX_LINE:
        raise SipParseError(f"line longer than {MAX_LINE} bytes")
    crlfs = head.count(b"\r\n")
    # RFC 3261 §7: lines end in CRLF; a lone CR or LF would let a value
    # smuggle a line into whatever we relay or answer.
    if head.count(b"\r") != crlfs or head.count(b"\n") != crlfs:
        raise SipParseError("bare CR or LF in the header fields")
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    if len(lines) > MAX_HEADERS + 1 and (
        sum(1 for line in lines if line[:1] not in (" ", "\t")) > MAX_HEADERS + 1
    ):
        raise SipParseError(f"more than {MAX_HEADERS} header fields")
    items, keys = _parse_fields(lines)
    first = dict(reversed(items))  # first occurrence of each name wins
    length = _content_length(items, first)
    start_line = lines[0]
    message: Request | Response
    if start_line[:4].upper() == "SIP/":
        status, reason = _parse_status_line(start_line)
        _check_fields(items, first, None)
        message = Response(
            headers=Headers.from_canonical(items, keys), status=status, reason=reason
        )
    else:
        method, uri = _parse_request_line(start_line)
        _check_fields(items, first, method)
        message = Request(headers=Headers.from_canonical(items, keys), method=method, uri=uri)
    return message, length


def _parse_fields(lines: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    items: list[tuple[str, str]] = []
    keys: list[str] = []
    append = items.append
    append_key = keys.append
    cached = _NAME_CACHE.get
    for line in islice(lines, 1, None):
        if line[:1] in _WSP:
            # RFC 3261 §7.3.1: header fields can be extended over multiple
            # lines by preceding each extra line with at least one SP or
            # horizontal tab; the folding LWS is equivalent to a single SP.
            if not items:
                raise SipParseError("continuation line before the first header field")
            name, value = items[-1]
            more = line.strip(" \t")
            items[-1] = (name, f"{value} {more}" if value else more)
            continue
        raw, colon, value = line.partition(":")
        if not colon:
            raise SipParseError(f"header line without a colon: {line[:40]!r}")
        name, key = cached(raw) or _canonical_checked(raw)
        append((name, value.strip(" \t")))
        append_key(key)
    return items, keys


def _canonical_checked(raw: str) -> tuple[str, str]:
    # RFC 3261 §7.3.1: header-name HCOLON, where HCOLON = *( SP / HTAB ) ":" SWS.
    name = raw.rstrip(" \t")
    if not _TOKEN_RE.fullmatch(name):
        raise SipParseError(f"bad header name {name!r}")
    found = (canonical_name(name), header_key(name))
    if len(_NAME_CACHE) < _NAME_CACHE_LIMIT:
        _NAME_CACHE[raw] = found
    return found


def _content_length(items: list[tuple[str, str]], first: dict[str, str]) -> int | None:
    text = first.get("Content-Length")
    if text is None:
        return None
    # RFC 3261 §20.14: Content-Length = ( "Content-Length" / "l" ) HCOLON 1*DIGIT
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        raise SipParseError(f"bad Content-Length {text!r}")
    length = int(text)
    for name, value in items:
        if name == "Content-Length" and value != text and value.lstrip("0") != text.lstrip("0"):
            raise SipParseError("conflicting Content-Length header fields")
    return length


# -- start lines -------------------------------------------------------------


# Request lines already found good -> (method, uri): a B2BUA sees the same
# few (INVITE to a service, ACK/BYE to its own Contact) over and over.
_REQUEST_LINES: dict[str, tuple[str, str]] = {}


def _parse_request_line(line: str) -> tuple[str, str]:
    known = _REQUEST_LINES.get(line)
    if known is not None:
        return known
    parsed = _check_request_line(line)
    if len(_REQUEST_LINES) >= _CHECKED_LIMIT:
        _REQUEST_LINES.clear()
    _REQUEST_LINES[line] = parsed
    return parsed


def _check_request_line(line: str) -> tuple[str, str]:
    # RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        _diagnose_request_line(line)
    method, uri, version = parts
    if version.upper() != "SIP/2.0":
        if version[:4].upper() == "SIP/":
            raise SipParseError(f"unsupported SIP version {version!r}", status=505)
        raise SipParseError(f"bad request line {line[:80]!r}")
    if not _TOKEN_RE.fullmatch(method):
        raise SipParseError(f"bad method {method[:40]!r}")
    _check_request_uri(uri)
    return method, uri


def _diagnose_request_line(line: str) -> None:
    """Raise the most helpful error for a request line that is not three fields."""
    if line != line.rstrip(" \t"):
        raise SipParseError("whitespace at the end of the request line")
    if "  " in line or "\t" in line:
        raise SipParseError("more than one SP between request line elements")
    method, _, rest = line.partition(" ")
    uri, _, version = rest.rpartition(" ")
    if uri and version.upper() == "SIP/2.0":
        raise SipParseError(f"whitespace in Request-URI {uri[:80]!r}")
    raise SipParseError(f"bad request line {line[:80]!r}")


def _check_request_uri(uri: str) -> None:
    # RFC 3261 §25.1: Request-URI = SIP-URI / SIPS-URI / absoluteURI; none of
    # them has "<", ">", quotes, spaces, controls or raw non-ASCII.
    colon = uri.find(":")
    if (
        colon <= 0
        or not uri.isascii()
        or not uri.isprintable()
        or "<" in uri
        or ">" in uri
        or '"' in uri
        or not _SCHEME_RE.fullmatch(uri, 0, colon)
    ):
        raise SipParseError(f"bad Request-URI {uri[:80]!r}")
    scheme = uri[:colon].lower()
    if scheme not in _REQUEST_URI_SCHEMES:
        # RFC 3261 §8.2.2.1: an unsupported scheme is answered with 416.
        raise SipParseError(f"unsupported URI scheme {scheme[:40]!r}", status=416)
    if scheme == "tel":
        return
    if SipUri.parse(uri).headers is not None:
        # RFC 3261 §19.1.1 (table 1): headers are not allowed in a Request-URI.
        raise SipParseError("Request-URI must not contain headers")


def _parse_status_line(line: str) -> tuple[int, str]:
    # RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
    parts = line.split(" ", 2)
    version = parts[0]
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported SIP version {version[:20]!r}", status=505)
    if len(parts) < 2:
        raise SipParseError("status line without a status code")
    code = parts[1]
    # Status-Code = 3DIGIT; classes 1xx to 6xx (§7.2, §21).
    if len(code) != 3 or not (code.isascii() and code.isdigit()) or code[0] not in "123456":
        raise SipParseError(f"bad status code {code[:20]!r}")
    # RFC 4475 §3.1.1.13: an empty reason phrase is valid; we also accept a
    # missing SP after the code.
    return int(code), parts[2] if len(parts) == 3 else ""


# -- header field checks -----------------------------------------------------


def _check_fields(items: list[tuple[str, str]], first: dict[str, str], method: str | None) -> None:
    """Check the fields every later layer relies on (RFC 3261 §8.1.1, §8.2.2, §20)."""
    # RFC 3261 §8.1.1: a valid SIP request MUST contain To, From, CSeq,
    # Call-ID, Max-Forwards and Via (Max-Forwards tolerated missing, as
    # RFC 2543 peers omit it); responses copy the same fields (§8.2.6.2).
    missing = [name for name in _MANDATORY if name not in first]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise SipParseError(f"missing mandatory header field{plural}: {', '.join(missing)}")
    if not first["Call-ID"]:
        raise SipParseError("empty Call-ID")
    cseq = CSeq.parse(first["CSeq"])
    # RFC 3261 §8.1.1.5: the method in CSeq MUST match that of the request.
    if method is not None and cseq.method != method:
        raise SipParseError(
            f"CSeq method {cseq.method[:40]!r} does not match request method {method[:40]!r}"
        )
    seen: set[str] = set()
    for name, value in items:
        if name in _STRUCTURED:
            if (name, value) not in _CHECKED:
                _check_structured(name, value)
        elif name in _SINGLE:
            if name in seen:
                raise SipParseError(f"more than one {name} header field")
            seen.add(name)
    for name in ("From", "To"):
        if (name, first[name]) not in _CHECKED:
            _check_structured(name, first[name])
    max_forwards = first.get("Max-Forwards")
    # RFC 3261 §20.22: Max-Forwards = 1*DIGIT, at most 255 in practice (RFC 4475 §3.1.2.4).
    if max_forwards is not None and not (
        max_forwards.isascii()
        and max_forwards.isdigit()
        and len(max_forwards) <= 10
        and int(max_forwards) <= 255
    ):
        raise SipParseError(f"bad Max-Forwards {max_forwards[:20]!r}")
    date = first.get("Date")
    # RFC 3261 §20.17: SIP-date uses GMT only (RFC 4475 §3.1.2.12).
    if date is not None and not date.endswith(" GMT"):
        raise SipParseError(f"bad Date {date[:40]!r}: the time zone must be GMT")


def _check_structured(name: str, value: str) -> None:
    """Check one Via/Contact/Route/Record-Route/From/To line; remember it if good."""
    if name == "Via":
        if not value:
            raise SipParseError("empty Via")
        for part in split_header_values(value):
            Via.parse(part)
    elif name == "From" or name == "To":
        _check_address(name, value)
    elif not (name == "Contact" and value == "*"):
        # RFC 3261 §20.10, §20.30, §20.34: 1#(name-addr / addr-spec) with
        # parameters; the dialog layer copies Contact and Record-Route.
        for part in split_header_values(value):
            _check_address(name, part)
    # The same lines come back in every message of a transaction or dialog
    # (Via in each response, From/To/Contact in each request); checking is
    # pure, so a line once found good is good again.
    if len(_CHECKED) >= _CHECKED_LIMIT:
        _CHECKED.clear()
    _CHECKED[(name, value)] = None


def _check_address(name: str, value: str) -> None:
    try:
        parse_name_addr(value)
    except SipParseError as err:
        raise SipParseError(f"bad {name}: {err.reason}") from None


# -- stateless error responses ----------------------------------------------

_COPIED = ("Via", "From", "To", "Call-ID", "CSeq")


def parse_error_response(data: bytes, err: SipParseError) -> bytes | None:
    """The response to a request that failed to parse, or ``None`` to drop it.

    RFC 3261 §8.2.6.2 / §8.1.3.3: a response needs the request's Via, From,
    To, Call-ID and CSeq; if any of them cannot be recovered (or the bytes
    are a response, or an ACK, which are never answered, §17), nothing can
    be sent.  The reason phrase carries ``err.reason``.
    """
    data = data[:MAX_MESSAGE]
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    head = data[start:] if end < 0 else data[start:end]
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    first_line = lines[0]
    if first_line[:4].upper() == "SIP/" or first_line.split(" ", 1)[0] == "ACK":
        return None
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last:
            more = line.strip(" \t")
            last[-1] = f"{last[-1]} {more}" if last[-1] else more
            continue
        name, colon, value = line.partition(":")
        if not colon:
            last = None
            continue
        last = fields.setdefault(canonical_name(name.strip(" \t")), [])
        last.append(value.strip(" \t"))
    if not all(fields.get(name) and fields[name][0] for name in _COPIED):
        return None
    if any("\r" in v or "\n" in v for name in _COPIED for v in fields[name]):
        return None
    headers = Headers()
    for via in fields["Via"]:
        headers.add("Via", via)
    headers.add("From", fields["From"][0])
    to = fields["To"][0]
    if "tag=" not in to.lower():
        # RFC 3261 §8.2.6.2: the UAS MUST add a tag to the To header field.
        # Derived from the request, so a retransmission gets the same tag.
        seed = "|".join((fields["Call-ID"][0], fields["CSeq"][0], fields["Via"][0]))
        tag = hashlib.sha1(seed.encode("utf-8", "surrogateescape")).hexdigest()[:10]
        to = f"{to};tag={tag}"
    headers.add("To", to)
    headers.add("Call-ID", fields["Call-ID"][0])
    headers.add("CSeq", fields["CSeq"][0])
    status = err.status if 400 <= err.status < 700 else 400
    return Response(headers=headers, status=status, reason=_reason_phrase(err.reason)).encode()


def _reason_phrase(text: str) -> str:
    """err.reason made safe for a status line: ASCII, printable, bounded."""
    safe = text.encode("ascii", "backslashreplace").decode("ascii")
    safe = "".join(ch if ch.isprintable() else "?" for ch in safe)
    return safe[:200] or "Bad Request"
