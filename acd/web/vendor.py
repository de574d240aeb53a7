"""The browser libraries from npm, as Starlette serves them (``/static/vendor/<package>/``).

``make vendor`` (run by ``make run`` and ``make test``) installs them with
``npm ci`` from package-lock.json and stages them in ``static/vendor/`` next
to this file; nothing third-party is committed or fetched from a CDN.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
MANIFEST = VENDOR_DIR / "manifest.json"


def vendor_missing() -> str | None:
    """Why the vendor files are not there (for the start-up log), or None."""
    if MANIFEST.exists():
        return None
    return f"browser libraries not installed in {VENDOR_DIR}: run `make vendor` (needs npm)"


def vendor_versions() -> dict[str, str]:
    """``{"sip.js": "0.21.2"}`` as staged, or empty."""
    if not MANIFEST.exists():
        return {}
    data = json.loads(MANIFEST.read_text())
    return {name: str(entry["version"]) for name, entry in data.items()}


def vendor_mount(path: str = "/static/vendor") -> Mount:
    """Serve the staged files (404 for everything while they are missing)."""
    return Mount(path, app=StaticFiles(directory=VENDOR_DIR, check_dir=False), name="vendor")
