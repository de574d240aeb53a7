"""Export the dial-plan JSON Schema (for editors and CI) from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acd.config.dialplan import Dialplan


def schema() -> dict[str, Any]:
    result = Dialplan.model_json_schema(mode="validation")
    # ``members`` also accepts a list of names, and ``alice:`` with no settings.
    members = result["$defs"]["Queue"]["properties"]["members"]
    members["additionalProperties"] = {"anyOf": [{"$ref": "#/$defs/Member"}, {"type": "null"}]}
    result["$defs"]["Queue"]["properties"]["members"] = {
        "anyOf": [members, {"type": "array", "items": {"type": "string"}}],
        "description": members.pop("description", ""),
        "title": members.pop("title", "Members"),
    }
    result["properties"]["include"] = {
        "description": "other YAML files (globs, relative to this file) merged into the maps",
        "type": "array",
        "items": {"type": "string"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://jono.invalid/jono.schema.json",
        **result,
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schema(path: str | Path) -> None:
    """Write the JSON Schema of a dial plan to ``path``."""
    Path(path).write_text(schema_text(), encoding="utf-8")
