"""The certificate and key SIP over TLS (and secure WebSocket) presents.

From the plan (``server.tls.certificate`` / ``key``) when given; otherwise
a self-signed pair for development, made once under ``var/tls/`` and reused
(so a browser or phone told to trust it keeps trusting it across restarts).
The log says which; the key never appears in it.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from acd.config.server import TlsSettings
from sip.tls import client_context, server_context

log = structlog.stdlib.get_logger("jono.tls")

DEV_DIR = Path("var/tls")
DEV_DAYS = 825  # the longest validity browsers accept for a server certificate


@dataclass(frozen=True, slots=True)
class TlsFiles:
    certificate: str
    key: str
    self_signed: bool

    def server(self) -> ssl.SSLContext:
        return server_context(self.certificate, self.key)


def tls_files(settings: TlsSettings, hosts: tuple[str, ...], dev_dir: Path = DEV_DIR) -> TlsFiles:
    """The plan's pair, or the development pair (made if missing) for ``hosts``."""
    if settings.certificate is not None and settings.key is not None:
        return TlsFiles(settings.certificate, settings.key, self_signed=False)
    cert, key = dev_dir / "jono-dev.crt", dev_dir / "jono-dev.key"
    dev_dir.mkdir(parents=True, exist_ok=True)
    with (dev_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two servers starting at once make one pair
        made = not (cert.is_file() and key.is_file())
        if made:
            make_self_signed(cert, key, hosts)
    if made:
        log.warning("TLS: made a self-signed certificate for development; give "
                    "server.tls.certificate and key for real use", certificate=str(cert))
    else:
        log.warning("TLS: using the self-signed development certificate; give "
                    "server.tls.certificate and key for real use", certificate=str(cert))
    return TlsFiles(str(cert), str(key), self_signed=True)


def client(settings: TlsSettings) -> ssl.SSLContext:
    if settings.ca_file is None:
        log.info("TLS: connections Jono opens are encrypted but peers are not verified "
                 "(no server.tls.ca_file)")
    return client_context(settings.ca_file)


def make_self_signed(cert_path: Path, key_path: Path, hosts: tuple[str, ...]) -> None:
    """An RSA key and a certificate naming ``hosts`` (IP addresses or names) and localhost.

    RSA 2048 rather than ECDSA: older desk phones' TLS stacks know only RSA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            if host and host != "localhost":
                names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Jono development")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DEV_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # The key readable by its owner only.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
