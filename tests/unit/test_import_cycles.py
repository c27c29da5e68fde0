"""No two project modules import each other, however indirectly.

Every module under the project's packages is parsed with ``ast`` (nothing is
imported), and every import statement counts, wherever it stands: at the top,
inside a function, under ``if TYPE_CHECKING``. An import hidden in a function
still ties the two modules together; it only hides the cycle until someone
moves it.

An edge goes to the module actually named: ``from pkg import mod`` is an edge
to ``pkg.mod`` when that is a module, else to ``pkg`` itself (its
``__init__``). Importing ``pkg.mod`` also runs ``pkg/__init__.py`` first; that
implicit step is no edge, since a submodule importing a sibling by its full
name needs nothing from the half-initialised package: a package re-exporting
its submodules is fine, a submodule taking a name from its package's
``__init__`` is an edge to the package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("actions", "addons", "support_core", "handoff_service", "support_bot", "devtools")

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first import}


def module_files(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module of ``packages`` by dotted name (a package by its ``__init__.py``)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _imported_names(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """Dotted names an import statement may refer to, relative imports made absolute."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            anchor = package[: len(package) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            # The name imported may be a submodule; if not, the edge is to ``base``.
            yield f"{base}.{alias.name}" if alias.name != "*" else base


def _project_module(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a project module, if any."""
    parts = name.split(".")
    for size in range(len(parts), 0, -1):
        candidate = ".".join(parts[:size])
        if candidate in modules:
            return candidate
    return None


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> Graph:
    """Which module of ``packages`` imports which, at any depth of the code."""
    modules = module_files(root, packages)
    graph: Graph = {}
    for module, path in modules.items():
        edges: dict[str, int] = {}
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported_names(node, module, is_package):
                target = _project_module(name, modules)
                if target is not None and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_cycle(graph: Graph, component: list[str]) -> list[str]:
    """One shortest cycle through the first module of ``component``, start repeated at the end."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return [*paths[node], start]
            if target in members and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"{component} is not strongly connected")  # pragma: no cover


def describe(graph: Graph, cycle: list[str]) -> str:
    """``a (line 3) -> b (line 12) -> a``: each module with the line of its import."""
    steps = [f"{a} (line {graph[a][b]})" for a, b in pairwise(cycle)]
    return " -> ".join([*steps, cycle[-1]])


@cache
def project_cycles() -> list[tuple[list[str], str]]:
    """Every import cycle between the project's modules: its members, described."""
    graph = import_graph()
    return [
        (component, describe(graph, a_cycle(graph, component)))
        for component in strongly_connected(graph)
    ]


def test_imports_inside_functions_and_relative_imports_are_edges(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.a import run\n",
        "a.py": "import pkg.sub.b\n\ndef run():\n    from .sub import c\n",
        "sub/__init__.py": "",
        "sub/b.py": "from ..a import run\n",
        "sub/c.py": "from . import b\nfrom .. import a\nimport os\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    graph = import_graph(tmp_path, ("pkg",))
    assert graph == {
        "pkg": {"pkg.a": 1},
        "pkg.a": {"pkg.sub.b": 1, "pkg.sub.c": 4},
        "pkg.sub": {},
        "pkg.sub.b": {"pkg.a": 1},
        "pkg.sub.c": {"pkg.sub.b": 1, "pkg.a": 2},
    }
    (component,) = strongly_connected(graph)
    assert component == ["pkg.a", "pkg.sub.b", "pkg.sub.c"]


def test_a_cycle_is_found_and_described() -> None:
    graph: Graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}
    (component,) = strongly_connected(graph)
    assert component == ["a", "b", "c"]
    assert describe(graph, a_cycle(graph, component)) == (
        "a (line 1) -> b (line 2) -> c (line 3) -> a"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    cycles = [
        text for members, text in project_cycles()
        if any(m.split(".")[0] == package for m in members)
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
