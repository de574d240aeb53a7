"""Read a dial plan: YAML files with includes and ${VAR}s -> a validated ``Dialplan``.

Every problem found on the way (YAML syntax, duplicate keys, missing
variables, schema errors, cross-references, an empty plan) becomes a
``ConfigIssue`` with file:line:col, and all of them are raised together in
one ``ConfigError``.  Cross-references are checked on what is valid: an
invalid field is set aside and the rest of its entry is still checked, so
a reference error is reported in the same run as a field error.
"""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from acd.config import crossref
from acd.config.dialplan import Dialplan
from acd.config.errors import ConfigError, ConfigIssue, KeyPath, format_path
from acd.config.messages import message_for, show
from acd.config.yamlpos import Mark, Positions, read_yaml

INCLUDE = "include"
# Sections that are one object, not a mapping of named entries.
SINGLETONS = ("server", "feature_codes", "outbound")


class _Reader:
    """Reads the main file and its includes into one raw mapping."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.positions = Positions()
        self.issues: list[ConfigIssue] = []
        self.dirs: dict[str, Path] = {}  # displayed file name -> its directory
        self.reading: set[Path] = set()

    def issue(self, mark: Mark | None, path: KeyPath, message: str, file: str = "") -> None:
        self.issues.append(
            ConfigIssue(
                file=mark.file if mark else file,
                line=mark.line if mark else 0,
                column=mark.column if mark else 0,
                path=format_path(path),
                message=message,
            )
        )

    def read(self, path: Path, display: str) -> tuple[dict[str, Any], Positions]:
        """One file and, recursively, what it includes: (data, positions)."""
        self.dirs[display] = path.parent
        data, positions, issues = read_yaml(path, display=display, env=self.env)
        self.issues.extend(issues)
        if data is None:
            return {}, positions
        if not isinstance(data, dict):
            self.issue(positions.find(()), (), "the file must be a mapping of sections")
            return {}, positions
        includes = data.pop(INCLUDE, None)
        if includes is None:
            return data, positions
        if isinstance(includes, str):
            includes = [includes]
        if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
            self.issue(positions.find((INCLUDE,)), (INCLUDE,), "must be a list of file patterns")
            return data, positions
        self.reading.add(path.resolve())
        for index, pattern in enumerate(includes):
            mark = positions.find((INCLUDE, index))
            for match in self._expand(path.parent, pattern, mark, index):
                if match.resolve() in self.reading:
                    self.issue(mark, (INCLUDE, index), f"'{pattern}' includes itself")
                    continue
                sub_display = (
                    str(Path(display).parent / match.relative_to(path.parent))
                    if match.is_relative_to(path.parent)
                    else str(match)
                )
                sub_data, sub_positions = self.read(match, sub_display)
                self._merge(data, positions, sub_data, sub_positions)
        self.reading.discard(path.resolve())
        return data, positions

    def _expand(self, base: Path, pattern: str, mark: Mark | None, index: int) -> list[Path]:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        matches = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not matches:
            self.issue(mark, (INCLUDE, index), f"'{pattern}' matches no file")
        return matches

    def _merge(
        self,
        data: dict[str, Any],
        positions: Positions,
        sub: dict[str, Any],
        sub_positions: Positions,
    ) -> None:
        """Merge an included file's sections into ``data``, one level down."""
        taken: list[KeyPath] = []
        for section, body in sub.items():
            if section not in data:
                data[section] = body
                taken.append((section,))
                continue
            if not (isinstance(data[section], dict) and isinstance(body, dict)):
                self._duplicate(positions, sub_positions, (section,))
                continue
            for key, value in body.items():
                if key in data[section]:
                    self._duplicate(positions, sub_positions, (section, key))
                else:
                    data[section][key] = value
                    taken.append((section, key))
        for table, sub_table in (
            (positions.keys, sub_positions.keys),
            (positions.values, sub_positions.values),
            (positions.secret, sub_positions.secret),
        ):
            for path, mark in sub_table.items():
                if any(path[: len(prefix)] == prefix for prefix in taken):
                    table[path] = mark  # type: ignore[assignment]

    def _duplicate(self, positions: Positions, sub_positions: Positions, path: KeyPath) -> None:
        first = positions.find(path, prefer_key=True)
        where = f" (first at {first.file}:{first.line}:{first.column})" if first else ""
        name = path[-1]
        self.issue(
            sub_positions.find(path, prefer_key=True), path, f"duplicate key '{name}'{where}"
        )


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[KeyPath, tuple[int | str, ...]]:
    """Split a pydantic error location into (path in the data, the rest)."""
    consumed: list[int | str] = []
    current = data
    for index, item in enumerate(loc):
        in_dict = isinstance(current, dict) and item in current
        in_list = isinstance(current, list) and isinstance(item, int) and 0 <= item < len(current)
        if in_dict or in_list:
            current = current[item]
        else:
            return tuple(consumed), loc[index:]
        consumed.append(item)
    return tuple(consumed), ()


def _schema_issues(
    reader: _Reader, data: dict[str, Any], exc: ValidationError, root: type[BaseModel]
) -> None:
    grouped: dict[KeyPath, list[str]] = {}
    marks: dict[KeyPath, Mark | None] = {}
    for error in exc.errors():
        path, rest = _data_path(data, tuple(error["loc"]))
        kind = error["type"]
        if kind == "missing" and rest:
            path = (*path, rest[0])
            mark = reader.positions.find(path[:-1], prefer_key=True)
        else:
            at_key = kind == "extra_forbidden" or "[key]" in rest
            mark = reader.positions.find(path, prefer_key=at_key)
        secret = reader.positions.secret.get(path)
        value = repr(secret) if secret is not None else show(error.get("input"))
        message = message_for(error, root, path, value)
        if message not in grouped.setdefault(path, []):
            grouped[path].append(message)
        marks.setdefault(path, mark)
    for path, messages in grouped.items():
        reader.issue(marks[path], path, "; ".join(messages))


_UNNAMED = SINGLETONS


def _without_invalid(
    data: dict[str, Any], exc: ValidationError
) -> tuple[Dialplan, dict[str, set[str]], set[KeyPath]] | None:
    """The plan minus what failed validation, to cross-check the rest.

    An invalid field is removed from its entry and the model's default
    stands in, so the entry's other fields - its references above all - are
    still checked in the same run.  Only when that is not possible (a
    required field, an error about the entry as a whole) is the entry
    dropped, and only an error about a section drops the section.  Returns
    the plan, the dropped entry names per section ("*": all of it) and the
    entries that lost a field.
    """
    trimmed = copy.deepcopy(data)
    dropped: dict[str, set[str]] = {}
    touched: set[KeyPath] = set()
    for _ in range(8):
        progress = False
        for error in exc.errors():
            progress |= _remove_invalid(trimmed, error, dropped, touched)
        try:
            return Dialplan.model_validate(trimmed), dropped, touched
        except ValidationError as again:
            exc = again
        if not progress:
            return None
    return None


def _remove_invalid(
    data: dict[str, Any], error: Any, dropped: dict[str, set[str]], touched: set[KeyPath]
) -> bool:
    """Remove the smallest part of ``data`` that ``error`` is about; False if none."""
    # A missing required key: ``path`` ends at the container that lacks it.
    path, _ = _data_path(data, tuple(error["loc"]))
    for index, item in enumerate(path):
        if isinstance(item, int):  # never renumber a list: remove the whole list
            path = path[:index]
            break
    if not path:
        return False
    section = str(path[0])
    named = section not in _UNNAMED and len(path) >= 2
    if len(path) == 1 or (named and len(path) == 2):
        parent: Any = data if len(path) == 1 else data.get(section)
        if not isinstance(parent, dict) or path[-1] not in parent:
            return False
        del parent[path[-1]]
        if len(path) == 1:
            dropped[section] = {"*"}
        else:
            dropped.setdefault(section, set()).add(str(path[1]))
        return True
    container: Any = data
    for item in path[:-1]:
        container = container[item]
    if not isinstance(container, dict) or path[-1] not in container:
        return False
    del container[path[-1]]
    if named:
        touched.add(path[:2])
    return True


def _locator(reader: _Reader, data: dict[str, Any]) -> crossref.Locator:
    server = data.get("server")
    prompts_dir = server.get("prompts_dir") if isinstance(server, dict) else None

    def locate(path: KeyPath, name: str) -> Path | None:
        mark = reader.positions.find(path)
        base = reader.dirs.get(mark.file, Path(".")) if mark else Path(".")
        candidates = [base / name]
        if isinstance(prompts_dir, str):
            main_dir = next(iter(reader.dirs.values()), Path("."))
            candidates.append(main_dir / prompts_dir / name)
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        return None

    return locate


def _replace(value: Any, path: KeyPath, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, BaseModel):
        return value.model_copy(update={str(head): _replace(getattr(value, str(head)), rest, new)})
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    raise TypeError(f"cannot replace {format_path(path)}")


def _resolve_files(plan: Dialplan, locate: crossref.Locator) -> Dialplan:
    """Announcement files, file prompts and TLS files become absolute paths."""
    for name, announcement in plan.announcements.items():
        if announcement.file is not None:
            found = locate(("announcements", name, "file"), announcement.file)
            if found is not None:
                plan = _replace(plan, ("announcements", name, "file"), str(found))
    tls = plan.server.tls
    if tls is not None:
        for field in ("certificate", "key", "ca_file"):
            name = getattr(tls, field)
            found = locate(("server", "tls", field), name) if name is not None else None
            if found is not None:
                plan = _replace(plan, ("server", "tls", field), str(found))
    for path, prompt in crossref.prompt_fields(plan):
        if prompt not in plan.announcements:
            found = locate(path, prompt)
            if found is not None:
                plan = _replace(plan, path, str(found))
    return plan


def load(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    allow_empty: bool = False,
    warnings: list[ConfigIssue] | None = None,
) -> Dialplan:
    """Read, validate and cross-check a dial plan; raise ``ConfigError`` listing every issue.

    A plan with no users and no numbers is an error unless ``allow_empty``
    (or ``allow_empty: true`` in the file).  Pass a list as ``warnings`` to
    receive what is legal but probably a mistake (a number shadowed by a
    feature code, a trunk source that is also where phones register from).
    """
    reader = _Reader(os.environ if env is None else env)
    data, positions = reader.read(Path(path), str(path))
    reader.positions.update(positions)
    if reader.issues:
        raise ConfigError(reader.issues)
    _check_not_empty(reader, data, display=str(path), allow_empty=allow_empty)
    touched: set[KeyPath] = set()
    try:
        plan = Dialplan.model_validate(data)
        dropped: dict[str, set[str]] = {}
    except ValidationError as exc:
        _schema_issues(reader, data, exc, Dialplan)
        partial = _without_invalid(data, exc)
        if partial is None:
            raise ConfigError(reader.issues) from None
        plan, dropped, touched = partial
    locate = _locator(reader, data)
    for finding in crossref.check(plan, locate, dropped):
        if finding.path[:2] in touched and not finding.reference:
            continue  # may only follow from a field removed above; shown once that is fixed
        mark = reader.positions.find(finding.path, prefer_key=finding.at_key)
        reader.issue(mark, finding.path, finding.message)
    if reader.issues:
        raise ConfigError(reader.issues)
    if warnings is not None:
        for finding in crossref.warnings(plan):
            mark = reader.positions.find(finding.path, prefer_key=finding.at_key)
            warnings.append(ConfigIssue(
                file=mark.file if mark else str(path), line=mark.line if mark else 0,
                column=mark.column if mark else 0, path=format_path(finding.path),
                message=finding.message,
            ))  # fmt: skip
    return _resolve_files(plan, locate)


def _check_not_empty(
    reader: _Reader, data: dict[str, Any], *, display: str, allow_empty: bool
) -> None:
    """Refuse a plan with no users and no numbers (issue 10): an empty,
    comments-only or half-written file must never take a working PBX out of
    service.  ``allow_empty: true`` in the file (or ``allow_empty=True``)
    says it is meant."""
    if allow_empty or data.get("allow_empty") is True:
        return
    if data.get("users") or data.get("numbers"):
        return
    present = [key for key in ("users", "numbers") if key in data]
    mark = reader.positions.find((present[0],), prefer_key=True) if present else None
    reader.issue(
        mark or Mark(file=display, line=1, column=1), (),
        "the plan has no users and no numbers (an empty or half-written file?); "
        "add them, or set 'allow_empty: true' (jono check --allow-empty) if that is meant",
    )
