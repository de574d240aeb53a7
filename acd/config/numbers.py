"""``numbers:`` - what callers dial: DIDs from the trunk and internal numbers (N1-N4)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from acd.config.base import Model
from acd.config.types import Destination

CallerIdDisplay = Literal["group_number", "caller", "caller_prefix", "caller_suffix"]


class Number(Model):
    destination: Destination
    internal_only: bool = Field(default=False, description="reachable by own users only (N1)")
    hidden: bool = Field(default=False, description="left out of the directory (N2)")
    language: str | None = None
    caller_id_display: CallerIdDisplay = Field(
        default="caller", description="what members see on a call to this number (N4)"
    )
    caller_id_affix: str = Field(
        default="", description="prefix or suffix for caller_prefix/suffix"
    )
    allow_member_presentation: bool = Field(
        default=False, description="members may present this number on outbound calls (N3)"
    )

    def displayed_caller_id(self, caller: str, group_number: str) -> str:
        """N4: the caller ID a member sees for a call that came in on this number."""
        if self.caller_id_display == "group_number":
            return group_number
        if self.caller_id_display == "caller_prefix":
            return self.caller_id_affix + caller
        if self.caller_id_display == "caller_suffix":
            return caller + self.caller_id_affix
        return caller
