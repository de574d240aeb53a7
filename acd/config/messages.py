"""Pydantic validation errors rewritten as short messages an admin can act on.

``ring_time: -5`` gives ``-5 must be >= 1``; an unknown key gives
``unknown key 'ring_tme'; did you mean 'ring_time'?``.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from acd.config.crossref import did_you_mean
from acd.config.errors import KeyPath


def show(value: Any) -> str:
    """A value as the admin wrote it: ``-5``, ``'abc'``, ``true``, ``null``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; other unions (``bool | str``) stay as they are."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(args) == 1:
            return _unwrap(args[0])
        if len(models) == 1:
            return models[0]
    return annotation


def model_at(root: type[BaseModel], path: KeyPath) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``, if there is one."""
    current: Any = root
    steps = list(path)
    while steps:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(steps.pop(0)))
            if field is None:
                return None
            current = field.annotation
        elif origin is dict:
            steps.pop(0)
            current = typing.get_args(current)[1]
        elif origin is tuple:
            steps.pop(0)
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def message_for(error: ErrorDetails, root: type[BaseModel], path: KeyPath, value: str) -> str:
    """One line for one pydantic error; ``value`` is the input as it may be shown."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = model_at(root, path[:-1])
        hint = did_you_mean(key, model.model_fields) if model else ""
        return f"unknown key '{key}'{hint}"
    if kind == "missing":
        return "required key is missing"
    comparisons = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in comparisons:
        op, name = comparisons[kind]
        return f"{value} must be {op} {ctx[name]}"
    if kind == "literal_error":
        return f"{value} must be one of {ctx['expected']}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{value} must be a whole number"
    if kind in ("float_parsing", "float_type"):
        return f"{value} must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return f"{value} must be true or false"
    if kind in ("string_type",):
        return f"{value} must be a string"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{value} must be a mapping of keys to values"
    if kind in ("tuple_type", "list_type"):
        return f"{value} must be a list"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    return f"{value}: {error['msg']}"
