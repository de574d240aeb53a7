"""Structured views of header values: URIs, name-addr, Via, CSeq (RFC 3261 §19, §20, §25).

Everything here parses text into small immutable objects and renders them
back.  Bad text raises :class:`SipParseError` with a reason; callers that
sit on a transport turn it into a 400 or drop the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeVar

from sip.errors import SipParseError

_T = TypeVar("_T")

# Unquoted display names: RFC 3261 allows only tokens; we also take the
# non-token characters phones send in practice (UTF-8 letters, "@", "(")
# but never one that changes how the field splits (RFC 4475 §3.1.2.15).
_DISPLAY_WORDS_RE = re.compile(r'[^\x00-\x20\x7f,;"<>\\]+(?:[ \t]+[^\x00-\x20\x7f,;"<>\\]+)*')
# One comma-separated value: quoted strings and <...> may hold commas.
_COMMA_VALUE_RE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|<[^>]*>?|[^,"<]+)+', re.DOTALL)
# One semicolon-separated piece: quoted strings may hold semicolons.
_SEMI_VALUE_RE = re.compile(r'(?:"(?:[^"\\]|\\.)*"?|[^;"]+)+', re.DOTALL)
# RFC 3261 §25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
_VIA_RE = re.compile(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9-]+)\s+(\S.*)$", re.IGNORECASE | re.DOTALL)

# Parsed views by the exact text they came from.  The same lines come back
# in every message of a transaction or dialog (the Via of a request in each
# of its responses, From/To/Call-ID in every request of a call), and the
# parser checks each line before the transaction layer and the UA read it,
# so each distinct line is parsed once.  The objects are immutable (treat
# their ``params`` dicts as read-only too); failures are never cached.  Each
# cache is bounded and simply cleared when full.
_CACHE_LIMIT = 4096
_URIS: dict[str, SipUri] = {}
_NAME_ADDRS: dict[str, NameAddr] = {}
_VIAS: dict[str, Via] = {}
_CSEQS: dict[str, CSeq] = {}


def _remember(cache: dict[str, _T], text: str, value: _T) -> _T:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[text] = value
    return value


def split_header_values(line: str) -> list[str]:
    """Split a header line at top-level commas (RFC 3261 §7.3.1).

    Commas inside quoted strings and inside ``<...>`` do not split.
    """
    if '"' not in line and "<" not in line:
        # Fast path: nothing can hide a comma.
        return [p for p in (part.strip() for part in line.split(",")) if p]
    return [p for p in (m.group().strip() for m in _COMMA_VALUE_RE.finditer(line)) if p]


def parse_params(text: str) -> dict[str, str | None]:
    """Parse ``;a=b;c`` (leading semicolon optional) into an ordered dict.

    Names are lower-cased (parameter names are case-insensitive, §7.3.1);
    quoted values keep their quotes stripped.
    """
    params: dict[str, str | None] = {}
    raws = text.split(";") if '"' not in text else _split_semicolons(text)
    for raw in raws:
        raw = raw.strip()
        if not raw:
            continue
        if "=" in raw:
            name, value = raw.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                value = value[1:-1]
            params[name.strip().lower()] = value
        else:
            params[raw.lower()] = None
    return params


def render_params(params: dict[str, str | None]) -> str:
    out = []
    for name, value in params.items():
        out.append(f";{name}" if value is None else f";{name}={value}")
    return "".join(out)


def _split_semicolons(text: str) -> list[str]:
    """Split at semicolons outside quoted strings; empty parts are dropped."""
    return [m.group() for m in _SEMI_VALUE_RE.finditer(text)]


@dataclass(frozen=True, slots=True, kw_only=True)
class SipUri:
    """A sip: or sips: URI (RFC 3261 §19.1)."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None

    @classmethod
    def parse(cls, text: str) -> SipUri:
        cached = _URIS.get(text)
        if cached is not None:
            return cached
        if cls is not SipUri:
            return cls._parse(text)
        return _remember(_URIS, text, cls._parse(text))

    @classmethod
    def _parse(cls, text: str) -> SipUri:
        text = text.strip()
        colon = text.find(":")
        if colon <= 0:
            raise SipParseError(f"bad URI {text!r}: no scheme")
        scheme = text[:colon].lower()
        rest = text[colon + 1 :]
        if scheme not in ("sip", "sips"):
            raise SipParseError(f"unsupported URI scheme {scheme!r}")
        # "?", ";" and "," are legal in the user part (RFC 3261 §25.1
        # user-unreserved; RFC 4475 §3.1.1.2), never "@": headers and
        # parameters start after the last "@".
        user = password = None
        at = rest.rfind("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            if ":" in userinfo:
                user, password = userinfo.split(":", 1)
            else:
                user = userinfo
        headers = None
        if "?" in rest:
            rest, headers = rest.split("?", 1)
        hostport, _, param_text = rest.partition(";")
        host, port = _split_hostport(hostport)
        if not host:
            raise SipParseError(f"bad URI {text!r}: no host")
        return cls(
            scheme=scheme,
            user=user,
            password=password,
            host=host,
            port=port,
            params=parse_params(param_text),
            headers=headers,
        )

    @property
    def transport(self) -> str:
        value = self.params.get("transport")
        return (value or "udp").lower()

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user
            if self.password is not None:
                userinfo += ":" + self.password
            userinfo += "@"
        host = self.host
        port = f":{self.port}" if self.port is not None else ""
        out = f"{self.scheme}:{userinfo}{host}{port}{render_params(self.params)}"
        if self.headers:
            out += "?" + self.headers
        return out

    def with_(self, **changes: object) -> SipUri:
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]


def _split_hostport(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"bad IPv6 reference {text!r}")
        host = text[: end + 1]
        rest = text[end + 1 :]
        if rest.startswith(":"):
            return host, _port(rest[1:], text)
        if rest:
            raise SipParseError(f"bad host {text!r}")
        return host, None
    if ":" in text:
        host, port_text = text.rsplit(":", 1)
        return host, _port(port_text, text)
    return text, None


def _port(text: str, whole: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not 0 < int(text) < 65536:
        raise SipParseError(f"bad port in {whole!r}")
    return int(text)


def parse_uri(text: str) -> SipUri:
    return SipUri.parse(text)


@dataclass(frozen=True, slots=True, kw_only=True)
class NameAddr:
    """``"Display" <uri>;params`` or ``uri;params`` (RFC 3261 §20.10, §25.1)."""

    display: str | None = None
    uri: str = ""
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def sip_uri(self) -> SipUri:
        return SipUri.parse(self.uri)

    def with_tag(self, tag: str) -> NameAddr:
        params = dict(self.params)
        params["tag"] = tag
        return NameAddr(display=self.display, uri=self.uri, params=params)

    def __str__(self) -> str:
        disp = ""
        if self.display:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            disp = f'"{escaped}" '
        return f"{disp}<{self.uri}>{render_params(self.params)}"


def parse_name_addr(text: str) -> NameAddr:
    cached = _NAME_ADDRS.get(text)
    if cached is not None:
        return cached
    return _remember(_NAME_ADDRS, text, _parse_name_addr(text))


def _parse_name_addr(text: str) -> NameAddr:
    text = text.strip()
    if not text:
        raise SipParseError("empty address")
    display: str | None = None
    rest = text
    if rest.startswith('"'):
        quoted = _QUOTED_RE.match(rest)
        if quoted is None:
            raise SipParseError(f"unterminated quoted display name in {text!r}")
        display = quoted.group(1)
        # RFC 3261 §25.1: quoted-pair = "\\" (%x00-09 / %x0B-0C / %x0E-7F)
        if "\\" in display:
            display = _QUOTED_PAIR_RE.sub(r"\1", display)
        rest = rest[quoted.end() :].lstrip()
    lt = rest.find("<")
    if lt >= 0:
        gt = rest.find(">", lt)
        if gt < 0:
            raise SipParseError(f"missing '>' in {text!r}")
        if display is None:
            token = rest[:lt].strip()
            # RFC 3261 §25.1: display-name = *(token LWS) / quoted-string.
            if token and not _DISPLAY_WORDS_RE.fullmatch(token):
                raise SipParseError(f"unquoted display name {token!r} needs quotes")
            display = token or None
        elif rest[:lt].strip():
            raise SipParseError(f"text between display name and '<' in {text!r}")
        uri = rest[lt + 1 : gt]
        # RFC 3261 §25.1: LAQUOT = SWS "<" and RAQUOT = ">" SWS, so no LWS
        # inside the brackets (RFC 4475 §3.1.2.14).
        if uri != uri.strip(" \t"):
            raise SipParseError(f"whitespace inside '<>' in {text!r}")
        params = parse_params(rest[gt + 1 :])
    else:
        # addr-spec form: URI parameters and header parameters cannot be
        # told apart, so everything after the first ';' is a header param
        # (RFC 3261 §20.10).
        uri, _, param_text = rest.partition(";")
        uri = uri.strip()
        # RFC 3261 §20.10: the name-addr form MUST be used if the addr-spec
        # contains a comma, semicolon, or question mark (RFC 4475 §3.1.2.13).
        if "?" in uri or "," in uri:
            raise SipParseError(f"URI with '?' or ',' must be enclosed in '<>' in {text!r}")
        params = parse_params(param_text)
    if not uri or ":" not in uri:
        raise SipParseError(f"bad address {text!r}")
    return NameAddr(display=display, uri=uri, params=params)


@dataclass(frozen=True, slots=True, kw_only=True)
class Via:
    """One Via value (RFC 3261 §20.42)."""

    transport: str = "UDP"
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        cached = _VIAS.get(text)
        if cached is not None:
            return cached
        if cls is not Via:
            return cls._parse(text)
        return _remember(_VIAS, text, cls._parse(text))

    @classmethod
    def _parse(cls, text: str) -> Via:
        # LWS is allowed around the slashes ("SIP / 2.0 / UDP", RFC 4475 §3.1.1.1).
        m = _VIA_RE.match(text)
        if m is None:
            raise SipParseError(f"bad Via {text.strip()!r}")
        sent_by, _, param_text = m.group(2).strip().partition(";")
        host, port = _split_hostport(sent_by)
        if not host:
            raise SipParseError(f"bad Via {text.strip()!r}: no sent-by")
        return cls(
            transport=m.group(1).upper(), host=host, port=port, params=parse_params(param_text)
        )

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{render_params(self.params)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CSeq:
    """CSeq number and method (RFC 3261 §20.16)."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        cached = _CSEQS.get(text)
        if cached is not None:
            return cached
        if cls is not CSeq:
            return cls._parse(text)
        return _remember(_CSEQS, text, cls._parse(text))

    @classmethod
    def _parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()):
            raise SipParseError(f"bad CSeq {text!r}")
        # RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31.
        if len(parts[0].lstrip("0")) > 10 or int(parts[0]) >= 2**31:
            raise SipParseError(f"CSeq number out of range in {text!r}")
        number = int(parts[0])
        return cls(number=number, method=parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
