"""What the web sign-in needs to know about the site (from the plan's ``server.http``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from acd.web.auth.throttle import ThrottleSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    # Host names (no port) the site answers to; anything else gets 400.
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    # Reverse proxies whose X-Forwarded-* headers are believed (addresses or CIDR).
    trusted_proxies: tuple[str, ...] = ()
    # Origins besides the site's own allowed to send state-changing requests.
    trusted_origins: tuple[str, ...] = ()
    session_idle_timeout: float = 2 * 3600
    session_max_age: float = 12 * 3600
    # Paths that answer without sign-in: exact, and by prefix.
    public_paths: frozenset[str] = frozenset({"/login", "/healthz"})
    public_prefixes: tuple[str, ...] = ("/static/auth/",)
    # Below these, an unauthenticated request gets 401 even when it asks for HTML.
    api_prefixes: tuple[str, ...] = ("/api/",)
    login_path: str = "/login"
    logout_path: str = "/logout"
    home_path: str = "/"
    static_path: str = "/static/auth"
    site_name: str = "Jono"
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    max_form_bytes: int = 64 * 1024

    def is_public(self, path: str) -> bool:
        return path in self.public_paths or path.startswith(self.public_prefixes)

    def is_api(self, path: str) -> bool:
        return path.startswith(self.api_prefixes)
