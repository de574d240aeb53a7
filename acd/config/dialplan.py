"""The whole dial plan: the root model that ``acd.config.load`` returns."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, model_validator

from acd.config.announcements import Announcement
from acd.config.base import Model
from acd.config.menus import Menu
from acd.config.numbers import Number
from acd.config.outbound import Outbound
from acd.config.queues import Queue
from acd.config.schedules import Schedule
from acd.config.server import FeatureCodes, Server
from acd.config.trunks import NumberRules, Trunk
from acd.config.types import Name, NumberKey
from acd.config.users import User

SECTIONS = (
    "server",
    "users",
    "trunks",
    "numbers",
    "schedules",
    "menus",
    "announcements",
    "queues",
    "feature_codes",
    "outbound",
)


class Dialplan(Model):
    allow_empty: bool = Field(
        default=False,
        description="accept a plan with no users and no numbers (otherwise refused: an empty "
        "or truncated file must not take a working PBX out of service)",
    )
    server: Server = Server()
    users: dict[Name, User] = Field(default_factory=dict)
    trunks: dict[Name, Trunk] = Field(default_factory=dict)
    numbers: dict[NumberKey, Number] = Field(default_factory=dict)
    schedules: dict[Name, Schedule] = Field(default_factory=dict)
    menus: dict[Name, Menu] = Field(default_factory=dict)
    announcements: dict[Name, Announcement] = Field(default_factory=dict)
    queues: dict[Name, Queue] = Field(default_factory=dict)
    feature_codes: FeatureCodes = FeatureCodes()
    outbound: Outbound = Outbound()

    @model_validator(mode="before")
    @classmethod
    def _schedule_timezones(cls, data: Any) -> Any:
        # A schedule without a timezone uses the server's.
        if not isinstance(data, dict) or not isinstance(data.get("schedules"), dict):
            return data
        server = data.get("server")
        zone = server.get("timezone") if isinstance(server, dict) else None
        zone = zone if isinstance(zone, str) else Server().timezone
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return data  # reported at server.timezone
        schedules = {
            name: (
                {**body, "timezone": zone}
                if isinstance(body, dict) and body.get("timezone") is None
                else body
            )
            for name, body in data["schedules"].items()
        }
        return {**data, "schedules": schedules}

    def user_by_extension(self, extension: str) -> tuple[str, User] | None:
        for name, user in self.users.items():
            if user.extension == extension:
                return name, user
        return None

    def trunk_for_source(self, address: str, port: int | None = None) -> tuple[str, Trunk] | None:
        """The trunk whose ``inbound_sources`` contain ``address`` (and ``port``)."""
        for name, trunk in self.trunks.items():
            if trunk.accepts(address, port):
                return name, trunk
        return None

    def find_number(self, dialled: str, rules: NumberRules | None = None) -> Number | None:
        """The number a call is for: as written, or after normalising to E.164."""
        if dialled in self.numbers:
            return self.numbers[dialled]
        candidates = [rules] if rules else [t.normalise for t in self.trunks.values()]
        for rule in candidates or [NumberRules()]:
            wanted = rule.normalise(dialled)
            for key, number in self.numbers.items():
                if rule.normalise(key) == wanted:
                    return number
        return None
