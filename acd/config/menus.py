"""``menus:`` - IVR menus: a prompt, DTMF choices, retries, digit collection (N6)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from acd.config.base import Model
from acd.config.types import HANGUP, Destination, DtmfKey


def _variable(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError(f"'{value}' is not a variable name (letters, digits, _)")
    return value


VariableName = Annotated[str, AfterValidator(_variable)]


class CollectDigits(Model):
    """Collect digits (a customer number) into a variable that travels with the call."""

    variable: VariableName
    prompt: str | None = Field(default=None, description="announcement name or audio file")
    min_digits: int = Field(default=1, ge=1)
    max_digits: int = Field(default=20, ge=1)
    terminator: DtmfKey | None = "#"
    timeout: float = Field(default=5.0, gt=0)
    then: Destination

    @model_validator(mode="after")
    def _check_lengths(self) -> CollectDigits:
        if self.max_digits < self.min_digits:
            raise ValueError(
                f"max_digits {self.max_digits} must be >= min_digits {self.min_digits}"
            )
        return self


class Menu(Model):
    prompt: str = Field(description="announcement name or audio file")
    options: dict[DtmfKey, Destination] = Field(default_factory=dict)
    timeout: float = Field(default=5.0, gt=0, description="seconds to wait for a key")
    retries: int = Field(default=3, ge=0)
    invalid_prompt: str | None = None
    timeout_prompt: str | None = None
    final: Destination = Field(default=HANGUP, description="after the last retry")
    collect: CollectDigits | None = None
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")] | None = Field(
        default=None,
        description="the caller chose a language by coming here: system prompts from "
        "here on are in it (en, fi, sv, or a language of your prompts directory; N7)",
    )
