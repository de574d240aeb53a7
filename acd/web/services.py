"""What the web app is given by the composition root: the contact centre,
the agent commands, and the admin's operations (reload, media figures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acd.contact.agents import AgentCommands
from acd.contact.centre import ContactCentre


@dataclass(frozen=True, slots=True, kw_only=True)
class WebServices:
    centre: ContactCentre
    commands: AgentCommands
    reload: Callable[[], list[str]]
    media_status: Callable[[], dict[str, Any]]
    metrics: Callable[[], bytes] = lambda: b""
