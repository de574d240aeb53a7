"""Where a request goes: a contact URI and the transport address to send it to."""

from __future__ import annotations

from dataclasses import dataclass

from sip.headers import SipUri
from sip.transport import Target

REGISTERED = "reg"  # the device id of all of a user's registered contacts
BROWSER = "browser"  # a user's browser phones (registered over WebSocket), when a device of theirs


@dataclass(frozen=True, slots=True)
class DialTarget:
    """One contact to ring: request URI, where to send it, which device it is."""

    uri: str
    target: Target
    device: str = REGISTERED


def target_of_uri(uri: str) -> Target:
    """Where to send a request for a static contact URI (no DNS: IP literals)."""
    parsed = SipUri.parse(uri)
    transport = parsed.transport
    default_port = 5061 if parsed.scheme == "sips" else 5060
    host = parsed.host.strip("[]")
    # RFC 3261 §19.1.2/§26.2.2: a sips URI is reached over TLS; otherwise
    # the transport parameter says which (UDP by default, §18.1.1).
    if parsed.scheme == "sips" or transport == "tls":
        kind = "tls"
    else:
        kind = "tcp" if transport == "tcp" else "udp"
    return Target(kind, host, parsed.port or default_port)
