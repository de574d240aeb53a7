"""The one base class of every dial-plan model: frozen, strict about keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    # Numbers written without quotes (``extension: 1001``) become strings where a
    # string is expected; unknown keys are errors (reported with "did you mean").
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)
