"""A YAML reader that remembers where every key and value was written.

PyYAML's SafeLoader forgets positions once it builds Python objects, so this
subclass walks the composed node tree itself and keeps a side table: key path
-> (file, line, column) of the key and of the value.  It also:

- keeps mapping keys as the text written (``1:``, ``+35891234567:``,
  ``2026-12-24:`` stay strings, never int or date);
- resolves plain scalars with YAML 1.2 core rules (``no`` and ``0401`` are
  strings, not ``False`` and octal);
- reports duplicate keys inside one mapping, which YAML 1.1 silently drops;
- substitutes ``${VAR}`` (and ``${VAR:-default}``) in string values from the
  given environment; ``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from acd.config.errors import ConfigIssue, KeyPath, format_path


@dataclass(frozen=True, slots=True)
class Mark:
    file: str
    line: int
    column: int


@dataclass(slots=True)
class Positions:
    """Side table of marks by key path, for keys and for values."""

    keys: dict[KeyPath, Mark] = field(default_factory=dict)
    values: dict[KeyPath, Mark] = field(default_factory=dict)
    # Paths whose value came from ${VAR}: never show their value in messages.
    secret: dict[KeyPath, str] = field(default_factory=dict)

    def update(self, other: Positions) -> None:
        self.keys.update(other.keys)
        self.values.update(other.values)
        self.secret.update(other.secret)

    def find(self, path: KeyPath, *, prefer_key: bool = False) -> Mark | None:
        """The mark of ``path``, or of its nearest ancestor that was written."""
        for end in range(len(path), -1, -1):
            sub = path[:end]
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if sub in first:
                return first[sub]
            if sub in second:
                return second[sub]
        return None


_ENV = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    dropped = {
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, regexp) for tag, regexp in entries if tag not in dropped]
        if kept:
            table[first] = kept
    return table


class PositionLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and a position side table."""

    yaml_implicit_resolvers = _resolvers()

    def __init__(self, stream: str, *, file: str, env: Mapping[str, str]) -> None:
        super().__init__(stream)
        self.file = file
        self.env = env
        self.positions = Positions()
        self.issues: list[ConfigIssue] = []

    def _mark(self, node: Node) -> Mark:
        return Mark(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _issue(self, node: Node, path: KeyPath, message: str) -> None:
        mark = self._mark(node)
        self.issues.append(
            ConfigIssue(
                file=mark.file,
                line=mark.line,
                column=mark.column,
                path=format_path(path),
                message=message,
            )
        )

    def read(self) -> Any:
        """Parse the single document; ``None`` for an empty file."""
        node = self.get_single_node()
        if node is None:
            return None
        return self._build(node, ())

    def _build(self, node: Node, path: KeyPath) -> Any:
        self.positions.values.setdefault(path, self._mark(node))
        if isinstance(node, MappingNode):
            return self._build_mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self._build(child, (*path, i)) for i, child in enumerate(node.value)]
        value = self.construct_object(node, deep=True)
        if isinstance(value, str) and isinstance(node, ScalarNode) and "$" in value:
            value = self._substitute(node, path, value)
        return value

    def _build_mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        self.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._issue(key_node, path, "a key must be a plain value, not a list or mapping")
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in result:
                first = self.positions.keys[key_path]
                where = f"{first.file}:{first.line}:{first.column}"
                self._issue(key_node, key_path, f"duplicate key '{key}' (first at {where})")
                continue
            self.positions.keys[key_path] = self._mark(key_node)
            result[key] = self._build(value_node, key_path)
        return result

    def _substitute(self, node: ScalarNode, path: KeyPath, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self._issue(node, path, f"environment variable {name} is not set")
            return ""

        result = _ENV.sub(replace, text)
        if result != text:
            self.positions.secret[path] = text
        return result


def _add_core_resolvers() -> None:
    # YAML 1.2 core schema, 10.3.2: true/false, decimal and 0x/0o integers, floats.
    PositionLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    PositionLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:-?(?:0|[1-9][0-9]*))$"),
        list("-0123456789"),
    )
    PositionLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+))$"),
        list("-0123456789"),
    )


_add_core_resolvers()


def read_yaml(
    path: Path, *, display: str, env: Mapping[str, str]
) -> tuple[Any, Positions, list[ConfigIssue]]:
    """Read one YAML file: (data, positions, issues).  ``display`` names it in messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        issue = ConfigIssue(
            file=display, line=0, column=0, path="", message=f"cannot read: {exc.strerror}"
        )
        return None, Positions(), [issue]
    loader = PositionLoader(text, file=display, env=env)
    try:
        data = loader.read()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = "YAML syntax: " + " ".join(part for part in (exc.context, exc.problem) if part)
        issue = ConfigIssue(file=display, line=line, column=column, path="", message=reason)
        return None, loader.positions, [*loader.issues, issue]
    except yaml.YAMLError as exc:
        issue = ConfigIssue(file=display, line=0, column=0, path="", message=str(exc))
        return None, loader.positions, [*loader.issues, issue]
    finally:
        loader.dispose()
    return data, loader.positions, loader.issues
