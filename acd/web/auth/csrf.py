"""Cross-site request forgery checks for state-changing requests.

Two independent checks, both required for a request authenticated by a
cookie (a bearer token is never sent by a browser on its own, so token
requests skip them):

1. Origin: the ``Origin`` header, or when a browser left it out the origin
   of ``Referer``, must be this site's own origin (scheme and Host the
   client used) or one configured as trusted. Neither header: refused.
   ``Origin: null`` (sandboxed frames, some redirects): refused.
2. Token: ``X-CSRF-Token`` header (scripts) or ``csrf_token`` form field
   (plain HTML forms) equal to the session's token (synchronizer token),
   compared in constant time. Before sign-in the login form uses a
   double-submit cookie instead (there is no session yet).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"


def origin_of(url: str) -> str | None:
    """``https://a.example:8443/x?y`` -> ``https://a.example:8443``; None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def same_origin(
    origin: str | None, referer: str | None, *, scheme: str, host: str, extra: Iterable[str] = ()
) -> bool:
    """Does the request come from a page of this site (or a configured trusted origin)?"""
    claimed = origin_of(origin) if origin else (origin_of(referer) if referer else None)
    if claimed is None:
        return False
    allowed = {_normal(f"{scheme}://{host.lower()}")}
    allowed.update(_normal(o.rstrip("/").lower()) for o in extra)
    return _normal(claimed) in allowed


def _normal(origin: str) -> str:
    """Drop a default port: ``https://a:443`` is ``https://a``."""
    for scheme, port in (("http", ":80"), ("https", ":443")):
        if origin.startswith(f"{scheme}://") and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def tokens_match(expected: str, given: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
