"""Process-wide settings: where to listen, the realm, media and storage."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

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


HostPort = Annotated[str, AfterValidator(_host_port)]
PortRange = Annotated[str, AfterValidator(_port_range)]


class Server(Model):
    """``server:`` - one per process."""

    listen: HostPort = Field(
        default="127.0.0.1:5060", description="SIP, UDP and TCP on the same port"
    )
    realm: str = "jono"
    http: HostPort = "127.0.0.1:8080"
    public_host: str | None = Field(
        default=None, description="address put in Contact/Via/SDP; default: the listen host"
    )
    rtp_ports: PortRange = "20000-29999"
    db: str = "sqlite:///var/jono.db"
    prompts_dir: str | None = None
    language: str = "en"
    timezone: TimeZoneName = "Europe/Helsinki"
    media: MediaMode = "anchor"
    digest_algorithms: tuple[Literal["SHA-256", "MD5"], ...] = Field(
        default=("SHA-256", "MD5"),
        min_length=1,
        description="digest algorithms offered to phones, strongest first (RFC 8760); "
        "[MD5] for clients that fail on a SHA-256 challenge (baresip 1.0, SIPp 3.6)",
    )

    @property
    def listen_host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_host_port(self.listen)[1]

    @property
    def http_host(self) -> str:
        return split_host_port(self.http)[0]

    @property
    def http_port(self) -> int:
        return split_host_port(self.http)[1]

    @property
    def contact_host(self) -> str:
        """The host to advertise in Contact, Via and SDP."""
        return self.public_host or self.listen_host

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        low, _, high = self.rtp_ports.partition("-")
        return int(low), int(high)


class FeatureCodes(Model):
    """``feature_codes:`` - what agents dial on their phones."""

    login: DialString = "*21"
    logout: DialString = "*22"
    pause: DialString = "*23"
    unpause: DialString = "*24"
    echo: DialString = "600"
