"""The contacts directory the desktop searches when calling out (O1).

``server.desktop.contacts`` names a file relative to the dial plan: YAML (a
list of ``{name, number, company?, note?}``) or CSV (a header line with at
least ``name`` and ``number``). It is read again when it changes; a broken
file is logged and searched as empty. The plan's users are searched too
(name, display name, extension), except those hidden from the web.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
import yaml

from acd.config import Dialplan

log = structlog.stdlib.get_logger("jono.web")

MAX_RESULTS = 20
MAX_CONTACTS = 100_000
_NUMBER = re.compile(r"^\+?[0-9 ()-]{2,30}$")


class ContactsError(ValueError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    name: str
    number: str
    company: str = ""
    note: str = ""

    def json(self) -> dict[str, str | None]:
        return {"kind": "contact", "name": self.name, "number": self.number,
                "company": self.company or None, "note": self.note or None, "user": None}


def parse_contacts(text: str, suffix: str) -> list[Contact]:
    """Contacts from a file's text; ContactsError names the bad entry."""
    if suffix == ".csv":
        rows: list[Any] = list(csv.DictReader(io.StringIO(text)))
    else:
        loaded = yaml.safe_load(text)
        rows = loaded if isinstance(loaded, list) else []
        if loaded is not None and not isinstance(loaded, list):
            raise ContactsError("a YAML contacts file must be a list of {name, number}")
    out: list[Contact] = []
    for index, row in enumerate(rows[:MAX_CONTACTS], start=1):
        if not isinstance(row, dict):
            raise ContactsError(f"entry {index}: must be a mapping with name and number")
        name = str(row.get("name") or "").strip()
        number = str(row.get("number") or "").strip()
        if not name or not _NUMBER.fullmatch(number):
            raise ContactsError(f"entry {index}: needs a name and a phone number, got {row!r}")
        out.append(Contact(name=name, number=number, company=str(row.get("company") or ""),
                           note=str(row.get("note") or "")))
    return out


class Directory:
    """Searches the contacts file (re-read when it changes) and the plan's users."""

    def __init__(self, base: Path) -> None:
        self.base = base  # the dial plan's folder
        self._loaded: tuple[Path, float] | None = None
        self._contacts: list[Contact] = []

    def contacts(self, plan: Dialplan) -> list[Contact]:
        name = plan.server.desktop.contacts
        if name is None:
            return []
        path = Path(name) if Path(name).is_absolute() else self.base / name
        try:
            mtime = path.stat().st_mtime
        except OSError as err:
            if self._loaded != (path, -1.0):
                log.error("contacts file not readable", file=str(path), error=str(err))
                self._loaded, self._contacts = (path, -1.0), []
            return self._contacts
        if self._loaded != (path, mtime):
            try:
                self._contacts = parse_contacts(path.read_text(encoding="utf-8"), path.suffix)
                log.info("contacts loaded", file=str(path), contacts=len(self._contacts))
            except (ContactsError, yaml.YAMLError, UnicodeDecodeError, csv.Error) as err:
                log.error("contacts file rejected", file=str(path), error=str(err))
                self._contacts = []
            self._loaded = (path, mtime)
        return self._contacts

    def search(self, plan: Dialplan, query: str) -> list[dict[str, str | None]]:
        """Users and contacts whose name, company or number contains every word."""
        words = [w for w in query.casefold().split() if w][:5]
        if not words:
            return []
        found: list[dict[str, str | None]] = []
        for user_name, user in plan.users.items():
            if not user.roles and user.display_name is None:
                continue
            text = f"{user_name} {user.display_name or ''} {user.extension}".casefold()
            if all(w in text for w in words):
                found.append({"kind": "user", "name": user.display_name or user_name,
                              "number": user.extension, "company": None, "note": None,
                              "user": user_name})
        for contact in self.contacts(plan):
            digits = re.sub(r"[^0-9+]", "", contact.number)
            text = f"{contact.name} {contact.company} {contact.number} {digits}".casefold()
            if all(w in text for w in words):
                found.append(contact.json())
            if len(found) >= MAX_RESULTS:
                break
        return found[:MAX_RESULTS]
