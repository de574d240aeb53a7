"""TLS contexts for SIP over TLS (RFC 3261 §26.2.1, §26.3.1; RFC 5630), standard library only.

RFC 3261 §26.3.1: "Proxy servers, redirect servers, and registrars SHOULD
possess a site certificate whose subject corresponds to their canonical
hostname."  Jono presents the certificate and key it is given.  Phones
rarely present certificates of their own, so Jono does not ask for one
(mutual TLS is an option of the phone, not a requirement of the server).

When Jono opens a TLS connection itself (a static ``sips:`` contact, a
trunk over TLS), it verifies the peer against ``ca_file`` when one is
given; without one the connection is encrypted but the peer is not
authenticated (desk phones almost always carry self-signed certificates),
and the caller is told so once at start-up.
"""

from __future__ import annotations

import ssl


def server_context(certificate: str, key: str) -> ssl.SSLContext:
    """The context the TLS listener presents; raises ``ssl.SSLError``/``OSError`` on bad files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # TLS 1.2 is the floor (RFC 8996 deprecates 1.0/1.1); phones of the last decade have it.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    return context


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The context for connections Jono opens: verified against ``ca_file`` when given."""
    if ca_file:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
