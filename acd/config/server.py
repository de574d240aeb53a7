"""Process-wide settings: where to listen, the realm, media and storage."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from acd.config.base import Model
from acd.config.types import DialString, MediaMode, TimeZoneName


def split_host_port(text: str) -> tuple[str, int]:
    """``"127.0.0.1:5060"`` or ``"[::1]:5060"`` -> (host, port)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}' is not HOST:PORT")
    return host, int(port)


def _host_port(value: str) -> str:
    split_host_port(value)
    return value


def _port_range(value: str) -> str:
    low, sep, high = value.partition("-")
    if not (sep and low.isdigit() and high.isdigit() and 0 < int(low) < int(high) < 65536):
        raise ValueError(f"'{value}' is not a port range LOW-HIGH")
    return value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not an IP address or network (CIDR)") from None
    return value


HostPort = Annotated[str, AfterValidator(_host_port)]
PortRange = Annotated[str, AfterValidator(_port_range)]
Network = Annotated[str, AfterValidator(_network)]


class Tls(Model):
    """HTTPS for the web workplace and the API: PEM files (relative to where Jono runs)."""

    cert: str = Field(description="certificate chain, PEM")
    key: str = Field(description="private key, PEM")


class Http(Model):
    """``server.http`` written out: the web workplace, the API, and how it is reached."""

    listen: HostPort = "127.0.0.1:8080"
    tls: Tls | None = Field(default=None, description="serve HTTPS with this certificate")
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="host names people type (port left out), besides localhost, "
        "127.0.0.1, ::1, the listen address and public_host; any other Host gets 400",
    )
    trusted_proxies: tuple[Network, ...] = Field(
        default=(),
        description="reverse proxies whose X-Forwarded-For/-Proto/-Host are believed",
    )
    trusted_origins: tuple[str, ...] = Field(
        default=(), description="other origins allowed to send state-changing requests"
    )


def _http_shorthand(value: object) -> object:
    """``http: 127.0.0.1:8080`` is short for ``http: {listen: 127.0.0.1:8080}``."""
    return {"listen": value} if isinstance(value, str) else value


class Media(Model):
    """``server.media`` written out: how calls' audio is handled, and by which engine."""

    mode: MediaMode = Field(
        default="anchor",
        description="anchor: media through Jono's media plane; passthrough: phone to phone",
    )
    engine: Literal["builtin", "rtpengine"] = Field(
        default="builtin",
        description="the media plane of anchored calls: Jono's own, or rtpengine (bridged "
        "calls anchored by rtpengine through its ng protocol; prompts and music stay with "
        "Jono's ticker, relayed through rtpengine)",
    )
    ng: HostPort = Field(
        default="127.0.0.1:2223", description="rtpengine's ng control address (UDP)"
    )


def _media_shorthand(value: object) -> object:
    """``media: anchor`` is short for ``media: {mode: anchor}``."""
    return {"mode": value} if isinstance(value, str) else value


class Desktop(Model):
    """``server.desktop`` - the agent desktop and the wallboard (issue 12)."""

    pause_reasons: tuple[str, ...] = Field(
        default=("break", "lunch", "meeting", "training", "other"),
        min_length=1,
        description="the reasons an agent picks from when pausing",
    )
    contacts: str | None = Field(
        default=None,
        description="contacts directory for calling out (O1): a .yaml or .csv file "
        "with name and number, relative to the dial plan",
    )
    service_level: int = Field(
        default=20, ge=1, description="seconds: answered within this counts for the service level"
    )


class TcpSettings(Model):
    """``server.tcp:`` - limits on SIP-over-TCP connections (issue 10).

    The same names as ``sip.tcp_guard.TcpLimits``: the application builds
    ``TcpLimits(**server.tcp.model_dump())``."""

    idle_timeout: float = Field(
        default=30.0, gt=0,
        description="seconds a connection may go without a complete SIP message before it is "
        "closed, unless it carries a live registration (kept until the binding expires) or a "
        "call (kept while the call lasts)",
    )
    message_timeout: float = Field(
        default=10.0, gt=0,
        description="seconds a message may take to arrive once its first byte has (slowloris)",
    )
    max_per_source: int = Field(
        default=100, ge=1,
        description="open connections accepted from one IP address; raise it for many TCP "
        "phones behind one NAT",
    )


class TlsSettings(Model):
    """``server.tls:`` - SIP over TLS for desk phones and softphones (P1; RFC 3261 §26).

    Without ``certificate`` and ``key`` the server makes a self-signed pair
    under ``var/tls/`` at start and says so in its log: fine to try things,
    but phones must then be told to accept an unknown certificate."""

    listen: HostPort = Field(
        default="127.0.0.1:5061", description="SIP over TLS, its own port (5061 by default)"
    )
    certificate: str | None = Field(
        default=None, description="PEM certificate chain (file; relative to the plan's folder)",
    )
    key: str | None = Field(
        default=None, description="PEM private key of the certificate (file; never logged)",
    )
    https: bool = Field(
        default=False, description="serve the web pages on server.http over HTTPS with this "
        "certificate too (a browser on another machine needs it for its microphone; the "
        "browser phone then uses SIP over secure WebSocket, wss:// on the same port); "
        "server.http.tls, when given, is the web's certificate instead",
    )
    ca_file: str | None = Field(
        default=None, description="CA bundle to verify the peers Jono connects to over TLS "
        "(sips: static contacts, trunks); without it those connections are encrypted but the "
        "peer is not verified",
    )

    @property
    def listen_host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_host_port(self.listen)[1]


class AuthThrottleSettings(Model):
    """``server.auth_throttle:`` - slowing password guessing (issue 10).

    The same names as ``sip.auth.ThrottleLimits``: the application builds
    ``ThrottleLimits(**server.auth_throttle.model_dump())``."""

    per_source: int = Field(
        default=10, ge=1,
        description="failed authentications from one address before it gets 403 for a while",
    )
    per_user: int = Field(
        default=20, ge=1,
        description="failed authentications for one username (from addresses that have not "
        "logged in as that user) before it gets 403 for a while; unknown names count alike",
    )
    window: float = Field(
        default=60.0, gt=0,
        description="seconds in which the counts above drain: once refused, one more attempt "
        "each window/count seconds",
    )


class Server(Model):
    """``server:`` - one per process."""

    listen: HostPort = Field(
        default="127.0.0.1:5060", description="SIP, UDP and TCP on the same port"
    )
    realm: str = "jono"
    http: Annotated[Http, BeforeValidator(_http_shorthand, json_schema_input_type=str | Http)] = (
        Field(
            default=Http(),
            description="HOST:PORT of the web workplace and API, or {listen, tls, ...}",
        )
    )
    desktop: Desktop = Desktop()
    public_host: str | None = Field(
        default=None, description="address put in Contact/Via/SDP; default: the listen host"
    )
    stun_server: HostPort | None = Field(
        default=None,
        description="HOST:PORT of a STUN server: browsers' WebRTC media gets a server-reflexive"
        " candidate too (Jono behind NAT); none by default (no traffic to anyone); read at start",
    )
    rtp_ports: PortRange = "20000-29999"
    db: str = "sqlite:///var/jono.db"
    prompts_dir: str | None = None
    language: str = "en"
    timezone: TimeZoneName = "Europe/Helsinki"
    media: Annotated[
        Media, BeforeValidator(_media_shorthand, json_schema_input_type=MediaMode | Media)
    ] = Field(
        default=Media(),
        description="anchor or passthrough, or {mode, engine: builtin|rtpengine, ng: HOST:PORT}",
    )
    digest_algorithms: tuple[Literal["SHA-256", "MD5"], ...] = Field(
        default=("MD5",),
        min_length=1,
        description="digest challenges offered to phones, in this order (RFC 8760 lets the "
        "server order them). SHA-256 answers are accepted whenever MD5 is offered. The default "
        "offers MD5 alone: baresip 1.0 (libre) fails to register when any challenge offers "
        "SHA-256, even after an MD5 one, and SIPp 3.6 answers only the first; "
        "[MD5, SHA-256] offers both, [SHA-256] refuses MD5",
    )
    sip_t1_ms: int = Field(
        default=500, ge=50, le=5000,
        description="RFC 3261 T1, the round-trip estimate all SIP timers derive from; "
        "smaller only on closed private networks (§17.1.1.1: NOT RECOMMENDED)",
    )
    tcp: TcpSettings = TcpSettings()
    tls: TlsSettings | None = Field(
        default=None, description="SIP over TLS; absent: no TLS listener",
    )
    auth_throttle: AuthThrottleSettings = AuthThrottleSettings()
    reload_max_removed_share: float = Field(
        default=0.5, ge=0, le=1,
        description="a reload that would remove more than this share of the running plan's "
        "users or numbers is refused unless forced (a truncated file must not empty the PBX)",
    )

    @property
    def listen_host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_host_port(self.listen)[1]

    @property
    def http_host(self) -> str:
        return split_host_port(self.http.listen)[0]

    @property
    def http_port(self) -> int:
        return split_host_port(self.http.listen)[1]

    @property
    def contact_host(self) -> str:
        """The host to advertise in Contact, Via and SDP."""
        return self.public_host or self.listen_host

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        low, _, high = self.rtp_ports.partition("-")
        return int(low), int(high)


class FeatureCodes(Model):
    """``feature_codes:`` - what agents and users dial on their phones."""

    login: DialString = "*21"
    logout: DialString = "*22"
    pause: DialString = "*23"
    unpause: DialString = "*24"
    echo: DialString = "600"
    voicemail: DialString = Field(default="*97", description="hear your voicemail (P4)")
    forward_on: DialString = Field(
        default="*72", description="followed by an extension or a number (or the voicemail "
        "code): forward every call there; alone: forward to your voicemail",
    )
    forward_off: DialString = Field(default="*73", description="stop forwarding every call")
