"""media/ has no import cycles (TYPE_CHECKING imports included) and imports neither
sip/ nor acd/ (ARCHITECTURE.md: arrows point one way only)."""

from __future__ import annotations

import ast
from pathlib import Path

MEDIA = Path(__file__).resolve().parents[3] / "media"


def _module_name(path: Path) -> str:
    parts = path.relative_to(MEDIA.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each media module -> every module name it imports (absolute imports)."""
    graph: dict[str, set[str]] = {}
    for path in MEDIA.rglob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[_module_name(path)] = found
    return graph


def _media_graph() -> dict[str, set[str]]:
    graph = _imports()
    return {name: {m for m in found if m in graph and m != name} for name, found in graph.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack = [(start, [start])]
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in path:
                stack.append((nxt, [*path, nxt]))
    return None


def test_media_modules_import_each_other_in_one_direction_only():
    graph = _media_graph()
    assert "media.engine" in graph and "media.leg" in graph
    cycles = {name: cycle for name in graph if (cycle := _cycle_from(name, graph))}
    assert cycles == {}


def test_media_imports_neither_sip_nor_acd():
    outside = {
        name: {m for m in found if m.split(".")[0] in ("sip", "acd")}
        for name, found in _imports().items()
    }
    assert {name: found for name, found in outside.items() if found} == {}
