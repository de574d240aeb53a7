"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 8760).

Theory of operation
-------------------
Server side, :class:`DigestAuthenticator` issues challenges and checks
``Authorization`` / ``Proxy-Authorization`` values.  It keeps no table of
nonces: a nonce carries its issue time, a random salt and an HMAC-SHA-256
over (time, salt, realm) keyed with a server secret.  A nonce whose MAC
checks is *authentic*; an authentic nonce older than ``nonce_ttl`` is
*stale* (the client gets a fresh challenge with ``stale=true`` and retries
without asking the user again, RFC 2617 §3.2.1).

Replay (RFC 7616 §3.4 / RFC 2617 §3.2.2: the server checks that the
nonce-count grows): :class:`NonceCounts`, a bounded LRU table of recently
used nonces, remembers the highest ``nc`` accepted per nonce and refuses
(as stale) a request whose ``nc`` does not grow.  A nonce on which a wrong
digest was presented is *burnt*: every later use of it fails without
computing a digest, so a guesser must fetch a fresh challenge per guess.
Nonces themselves stay stateless; the table only bounds reuse, and a
nonce evicted from it is still limited by ``nonce_ttl``.  Requests
without qop (RFC 2069 clients, MD5 only) carry no nc and can only be burnt.

Guessing is slowed by :class:`~sip.auth_throttle.AuthThrottle` (re-exported
here), which the caller asks before :meth:`DigestAuthenticator.verify`.

Algorithms (RFC 8760 §2.4): challenges are offered in the configured order
("in order of preference").  An answer in an algorithm at least as strong as
the weakest one offered is accepted, so offering MD5 alone (for clients
that fail on any SHA-256 challenge) still accepts SHA-256 answers, while
offering SHA-256 alone never accepts MD5.

Unknown users and wrong passwords produce identical :class:`AuthResult`
fields apart from the log-only ``reason``; for an unknown user a digest is
still computed against a dummy HA1 so the two paths cost the same, and every
comparison uses :func:`hmac.compare_digest`.

Client side, :func:`answer_challenge` answers a provider's 401/407 with the
strongest algorithm offered.

Not supported: the ``-sess`` algorithms, ``qop=auth-int``, ``userhash``
(RFC 7616 §3.4.4) and SHA-512-256; challenges offering only those are
refused by :func:`answer_challenge` with ``ValueError``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sip.auth_throttle import AuthThrottle, Refusal, ThrottleLimits
from sip.errors import SipParseError

__all__ = [
    "AuthResult", "AuthThrottle", "Credentials", "DigestAuthenticator", "NonceCounts",
    "Refusal", "ThrottleLimits", "answer_challenge", "canonical_algorithm", "compute_ha1",
    "digest_response", "parse_challenges", "parse_digest",
]

# Strongest first; a client answering a challenge picks the strongest offered.
_STRENGTH: tuple[str, ...] = ("SHA-256", "MD5")
_HASHES: dict[str, str] = {"SHA-256": "sha256", "MD5": "md5"}
# How far in the future an authentic nonce may claim to be issued (clock
# steps on the server) before it is treated as stale.
_FUTURE_SKEW = 60.0
_MAC_LEN = 16


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm], text.encode("utf-8")).hexdigest()


def canonical_algorithm(name: str | None) -> str | None:
    """``"sha-256"`` -> ``"SHA-256"``; absent means MD5 (RFC 2617 §3.2.1); else None."""
    if name is None:
        return "MD5"
    upper = name.strip().upper()
    return upper if upper in _HASHES else None


def compute_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """HA1 = H(username ":" realm ":" password) (RFC 2617 §3.2.2.2, RFC 8760 §2)."""
    return _h(algorithm, f"{username}:{realm}:{password}")


def digest_response(
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    *,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """The request-digest (RFC 2617 §3.2.2.1; RFC 3261 §22.4)."""
    # RFC 2617 §3.2.2.3: for qop "auth" (or none), A2 = Method ":" digest-uri-value.
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        # RFC 2617 §3.2.2.1: KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2))
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    # RFC 2069 compatibility (RFC 2617 §3.2.2.1): KD(H(A1), nonce ":" H(A2))
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


# -- parsing -----------------------------------------------------------------


def parse_challenges(value: str) -> list[tuple[str, dict[str, str]]]:
    """Split a header value into ``(scheme, params)`` challenges (RFC 2617 §1.2).

    One value normally holds one challenge, but proxies may join several
    (``Digest a=1, Digest b=2``); a token followed by another token rather
    than ``=`` starts a new challenge.  Scheme names keep their spelling,
    parameter names are lower-cased.
    """
    out: list[tuple[str, dict[str, str]]] = []
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in " \t\r\n,":
            i += 1
        if i >= n:
            return out
        start = i
        while i < n and value[i] not in " \t\r\n,=":
            i += 1
        token = value[start:i]
        j = i
        while j < n and value[j] in " \t\r\n":
            j += 1
        if j < n and value[j] == "=":
            if not out:
                raise SipParseError(f"auth parameter {token!r} before a scheme in {value!r}")
            i, param_value = _read_value(value, j + 1)
            out[-1][1][token.lower()] = param_value
        else:
            out.append((token, {}))
            i = j


def _read_value(value: str, i: int) -> tuple[int, str]:
    n = len(value)
    while i < n and value[i] in " \t":
        i += 1
    if i < n and value[i] == '"':
        # RFC 3261 §25.1: quoted-string with quoted-pair escapes.
        chars: list[str] = []
        i += 1
        while i < n:
            ch = value[i]
            if ch == "\\" and i + 1 < n:
                chars.append(value[i + 1])
                i += 2
                continue
            if ch == '"':
                return i + 1, "".join(chars)
            chars.append(ch)
            i += 1
        raise SipParseError(f"unterminated quoted string in {value!r}")
    start = i
    while i < n and value[i] not in ",":
        i += 1
    return i, value[start:i].strip()


def parse_digest(value: str) -> dict[str, str]:
    """Parameters of one Digest credentials or challenge value.

    The leading ``Digest`` scheme is optional; any other scheme, or more
    than one challenge, raises :class:`SipParseError`.
    """
    stripped = value.strip()
    if not stripped:
        raise SipParseError("empty Digest value")
    words = stripped.split(None, 1)
    if words[0].lower() != "digest":
        if "=" in words[0] or (len(words) > 1 and words[1].startswith("=")):
            stripped = "Digest " + stripped
        else:
            raise SipParseError(f"not a Digest value: {value!r}")
    challenges = parse_challenges(stripped)
    if len(challenges) != 1:
        raise SipParseError(f"expected one Digest value in {value!r}")
    return challenges[0][1]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- server side -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What the user store knows about one user.

    Either the plain ``password`` or precomputed HA1 values keyed by
    algorithm (``{"MD5": ..., "SHA-256": ...}``, see :func:`compute_ha1`).
    A stored HA1 wins over the password for its algorithm.
    """

    password: str | None = None
    ha1: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.password is None and not self.ha1:
            raise ValueError("Credentials need a password or at least one HA1")
        for algorithm in self.ha1:
            if algorithm not in _HASHES:
                raise ValueError(f"unknown digest algorithm {algorithm!r} in HA1 map")

    def ha1_for(self, algorithm: str, username: str, realm: str) -> str | None:
        stored = self.ha1.get(algorithm)
        if stored is not None:
            return stored.lower()
        if self.password is not None:
            return compute_ha1(algorithm, username, realm, self.password)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResult:
    """Outcome of :meth:`DigestAuthenticator.verify`.

    ``username`` is set only when the digest proved the password (``ok``,
    or ``stale`` with a correct digest).  ``reason`` is for logs only and
    must never reach the peer.
    """

    ok: bool
    username: str | None
    stale: bool
    reason: str


_BURNT = 1 << 40  # above any 8-hex-digit nonce-count


class NonceCounts:
    """The highest nonce-count accepted per recently used nonce (bounded LRU).

    RFC 7616 §3.4: "The nc value is the hexadecimal count of the number of
    requests (including the current request) that the client has sent with
    the nonce value in this request ... The purpose of this directive is to
    allow the server to detect request replays by maintaining its own copy
    of this count - if the same nc value is seen twice, then the request is
    a replay."
    """

    def __init__(self, size: int = 10000) -> None:
        if size < 1:
            raise ValueError(f"NonceCounts size {size} must be >= 1")
        self.size = size
        self._seen: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def burnt(self, nonce: str) -> bool:
        return self._seen.get(nonce) == _BURNT

    def burn(self, nonce: str) -> None:
        """A wrong digest was presented with ``nonce``: never accept it again."""
        self._remember(nonce, _BURNT)

    def fresh(self, nonce: str, nc: int) -> bool:
        """True (and remembered) when ``nc`` is higher than any seen with ``nonce``."""
        last = self._seen.get(nonce)
        if last is not None and nc <= last:
            return False
        self._remember(nonce, nc)
        return True

    def _remember(self, nonce: str, count: int) -> None:
        self._seen[nonce] = count
        self._seen.move_to_end(nonce)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


class DigestAuthenticator:
    """Issues Digest challenges and verifies credentials (RFC 3261 §22.1, §22.4)."""

    def __init__(
        self,
        realm: str,
        secret: bytes,
        nonce_ttl: float = 300.0,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        *,
        nonce_counts: NonceCounts | None = None,
    ) -> None:
        if not secret:
            raise ValueError("DigestAuthenticator needs a non-empty secret")
        if nonce_ttl <= 0:
            raise ValueError(f"nonce_ttl {nonce_ttl} must be > 0")
        wanted = []
        for name in algorithms:
            canon = canonical_algorithm(name)
            if canon is None:
                raise ValueError(f"unsupported digest algorithm {name!r}")
            wanted.append(canon)
        if not wanted:
            raise ValueError("at least one digest algorithm is required")
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        # RFC 8760 §2.4: offered in the order given (the server's preference).
        self.algorithms: tuple[str, ...] = tuple(dict.fromkeys(wanted))
        weakest = max(_STRENGTH.index(a) for a in self.algorithms)
        self.accepted: frozenset[str] = frozenset(_STRENGTH[: weakest + 1])
        self._secret = secret
        self._opaque = hmac.new(secret, b"opaque:" + realm.encode(), "sha256").hexdigest()[:32]
        self._dummy_password = os.urandom(16).hex()
        self.nonce_counts = nonce_counts if nonce_counts is not None else NonceCounts()

    # -- nonces ---------------------------------------------------------------

    def _mac(self, issued_ms: int, salt: bytes) -> bytes:
        msg = issued_ms.to_bytes(8, "big", signed=True) + salt + self.realm.encode("utf-8")
        return hmac.new(self._secret, msg, "sha256").digest()[:_MAC_LEN]

    def make_nonce(self, now: float) -> str:
        """A fresh stateless nonce: base64url(time_ms | salt | HMAC)."""
        issued_ms = int(now * 1000)
        salt = os.urandom(8)
        raw = issued_ms.to_bytes(8, "big", signed=True) + salt + self._mac(issued_ms, salt)
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _nonce_issued(self, nonce: str) -> float | None:
        """Issue time of an authentic nonce, or None if it is not ours."""
        if len(nonce) != 43:
            return None
        try:
            raw = base64.urlsafe_b64decode(nonce + "=")
        except (ValueError, TypeError):
            return None
        if len(raw) != 8 + 8 + _MAC_LEN:
            return None
        issued_ms = int.from_bytes(raw[:8], "big", signed=True)
        if not hmac.compare_digest(raw[16:], self._mac(issued_ms, raw[8:16])):
            return None
        return issued_ms / 1000.0

    # -- challenges -----------------------------------------------------------

    def challenge(self, now: float, stale: bool = False) -> list[str]:
        """WWW-Authenticate (or Proxy-Authenticate) values, in the configured order.

        RFC 3261 §22.1 / RFC 8760 §2.4: one challenge per algorithm, in order
        of preference; all share one nonce.
        """
        nonce = self.make_nonce(now)
        out = []
        for algorithm in self.algorithms:
            value = (
                f"Digest realm={_quote(self.realm)}, nonce={_quote(nonce)}, "
                f'opaque={_quote(self._opaque)}, algorithm={algorithm}, qop="auth"'
            )
            if stale:
                value += ", stale=true"
            out.append(value)
        return out

    # -- verification ---------------------------------------------------------

    def verify(
        self,
        request_method: str,
        authorization: str | None,
        lookup: Callable[[str], Credentials | None],
        now: float,
        *,
        request_uri: str | None = None,
    ) -> AuthResult:
        """Check one Authorization value (RFC 3261 §22.4, RFC 2617 §3.2.2).

        ``lookup`` is called at most once, with the claimed username.
        When ``request_uri`` is given, the digest-uri must equal it
        (RFC 2617 §3.2.2.5).
        """
        if authorization is None or not authorization.strip():
            return _fail("no credentials")
        try:
            params = parse_digest(authorization)
        except SipParseError as exc:
            return _fail(f"unparseable credentials: {exc.reason}")
        missing = [p for p in ("username", "realm", "nonce", "uri", "response") if p not in params]
        if missing:
            return _fail(f"missing {', '.join(missing)}")
        username = params["username"]
        if params["realm"] != self.realm:
            return _fail(f"wrong realm {params['realm']!r} for {username!r}")
        if request_uri is not None and params["uri"] != request_uri:
            return _fail(f"digest uri {params['uri']!r} is not the request-uri")
        algorithm = canonical_algorithm(params.get("algorithm"))
        if algorithm is None or algorithm not in self.accepted:
            return _fail(f"algorithm {params.get('algorithm')!r} not accepted")
        qop = params.get("qop")
        nc = params.get("nc", "")
        cnonce = params.get("cnonce", "")
        if qop is not None:
            if qop.lower() != "auth":
                return _fail(f"qop {qop!r} not supported")
            # RFC 2617 §3.2.2: cnonce and nc MUST be present with qop.
            if not cnonce or len(nc) != 8 or not _is_hex(nc):
                return _fail("qop without valid cnonce/nc")
        elif algorithm != "MD5":
            # RFC 8760 §2.4 / RFC 7616 §3.4: qop is required; RFC 2069 style
            # answers are tolerated for MD5 only, for old phones.
            return _fail("missing qop")
        opaque = params.get("opaque")
        if opaque is not None and not hmac.compare_digest(opaque, self._opaque):
            return _fail("opaque mismatch")
        nonce = params["nonce"]
        issued = self._nonce_issued(nonce)
        if issued is None:
            return _fail(f"nonce not issued by us for {username!r}")
        if self.nonce_counts.burnt(nonce):
            return _fail(f"nonce already failed once, for {username!r}")

        credentials = lookup(username)
        ha1 = None
        if credentials is not None:
            ha1 = credentials.ha1_for(algorithm, username, self.realm)
        known = ha1 is not None
        if ha1 is None:
            # Same work as for a known user, so timing does not tell them apart.
            ha1 = compute_ha1(algorithm, username, self.realm, self._dummy_password)
        expected = digest_response(
            algorithm,
            ha1,
            params["nonce"],
            request_method,
            params["uri"],
            qop=qop.lower() if qop else None,
            nc=nc,
            cnonce=cnonce,
        )
        matches = hmac.compare_digest(expected, params["response"].lower())
        if not known or not matches:
            self.nonce_counts.burn(nonce)
        if not known:
            return _fail(f"unknown user {username!r} (or no {algorithm} credentials)")
        if not matches:
            return _fail(f"wrong password for {username!r}")

        age = now - issued
        if age > self.nonce_ttl or age < -_FUTURE_SKEW:
            # RFC 2617 §3.2.1: stale only when the digest was valid.
            return AuthResult(ok=False, username=username, stale=True, reason="stale nonce")
        if qop is not None and not self.nonce_counts.fresh(nonce, int(nc, 16)):
            return AuthResult(ok=False, username=username, stale=True, reason=f"replayed nc {nc}")
        return AuthResult(ok=True, username=username, stale=False, reason="ok")


def _fail(reason: str) -> AuthResult:
    return AuthResult(ok=False, username=None, stale=False, reason=reason)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


# -- client side -------------------------------------------------------------


def answer_challenge(
    www_authenticate: str | Iterable[str],
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """An Authorization / Proxy-Authorization value answering a challenge.

    ``www_authenticate`` is one header value or every value of the
    WWW-Authenticate / Proxy-Authenticate headers of the 401/407; the
    strongest supported Digest algorithm offered is used (RFC 8760 §2.4).
    Raises ``ValueError`` when nothing offered can be answered.
    """
    values = [www_authenticate] if isinstance(www_authenticate, str) else list(www_authenticate)
    best: tuple[int, str, dict[str, str]] | None = None
    for value in values:
        for scheme, params in parse_challenges(value):
            if scheme.lower() != "digest" or "nonce" not in params or "realm" not in params:
                continue
            algorithm = canonical_algorithm(params.get("algorithm"))
            if algorithm is None:
                continue
            qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
            if qops and "auth" not in qops:
                continue
            rank = _STRENGTH.index(algorithm)
            if best is None or rank < best[0]:
                best = (rank, algorithm, params)
    if best is None:
        raise ValueError("no supported Digest challenge offered")
    _, algorithm, params = best
    realm, nonce = params["realm"], params["nonce"]
    ha1 = compute_ha1(algorithm, username, realm, password)
    use_qop = "qop" in params
    nc_text = f"{nc:08x}"
    response = digest_response(
        algorithm,
        ha1,
        nonce,
        method,
        uri,
        qop="auth" if use_qop else None,
        nc=nc_text,
        cnonce=cnonce,
    )
    parts = [
        f"Digest username={_quote(username)}",
        f"realm={_quote(realm)}",
        f"nonce={_quote(nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={algorithm}",
    ]
    if use_qop:
        parts += [f"cnonce={_quote(cnonce)}", "qop=auth", f"nc={nc_text}"]
    if "opaque" in params:
        parts.append(f"opaque={_quote(params['opaque'])}")
    return ", ".join(parts)
