"""Where a request really comes from: the peer, or what a trusted proxy says.

``X-Forwarded-For``, ``-Proto`` and ``-Host`` are believed only when the TCP
peer is one of the configured proxy addresses; from anyone else they are
ignored. The client is then the right-most address in ``X-Forwarded-For``
that is not itself a trusted proxy (entries to its left are whatever the
client wrote). Run uvicorn with ``proxy_headers=False`` so that this is the
only place that reads them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientInfo:
    address: str  # the client's IP address (or "unknown")
    scheme: str  # "http" or "https"
    host: str  # the Host the client asked for, with port if any, lower case


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "192.0.2.0/24", "::1"]`` -> networks; bad entries raise ValueError."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def _in(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _last(value: str | None) -> str | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return parts[-1] if parts else None


def client_info(scope: Scope, trusted: Sequence[Network]) -> ClientInfo:
    headers = Headers(scope=scope)
    peer = scope.get("client")
    address = str(peer[0]) if peer else "unknown"
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = headers.get("host", "").strip().lower()
    if trusted and _in(address, trusted):
        hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            address = hop
            if not _in(hop, trusted):
                break
        proto = _last(headers.get("x-forwarded-proto"))
        if proto in ("http", "https"):
            scheme = proto
        forwarded_host = _last(headers.get("x-forwarded-host"))
        if forwarded_host:
            host = forwarded_host.lower()
    return ClientInfo(address=address, scheme=scheme, host=host)


def hostname(host: str) -> str:
    """``"Example.com:8080"`` -> ``"example.com"``, ``"[::1]:80"`` -> ``"::1"``."""
    host = host.strip().lower()
    port = ""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return ""
        name, rest = host[1:end], host[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return ""
            port = rest[1:]
    elif host.count(":") == 1:
        name, port = host.split(":", 1)
    else:
        name = host
    if port and not port.isdigit():
        return ""
    return name


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Is the request's Host (port ignored) in the allow-list? An empty Host is not."""
    name = hostname(host)
    if not name:
        return False
    return any(name == entry.strip().lower() for entry in allowed)
