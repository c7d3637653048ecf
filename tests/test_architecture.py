"""The package's shape, as docs/architecture.md describes it: imports only run down or sideways
(never into an enclosing package's own names), there are no import cycles between modules or
between concepts, and no module is longer than 400 lines.

Imports are read from the source with ``ast``, including those inside functions (the lazy ones
count: a cycle through a deferred import is still a cycle in the design); imports under
``if TYPE_CHECKING:`` do not, since they only name types for the checker and never run.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "python" / "ivfast"
MAX_LINES = 400


def _module_name(path: pathlib.Path) -> str:
    parts = ["ivfast", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every ivfast import in module ``name``."""
    package = name if _is_package(name) else name.rpartition(".")[0]
    out = []
    tree = ast.parse(MODULES[name].read_text())
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.split(".")[0] == "ivfast"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "ivfast":
                out += [(target, a.name) for a in node.names]
    return out


def _edges(name: str) -> set[str]:
    """Modules that ``name`` imports (``from pkg import submodule`` is an edge to the submodule)."""
    edges = set()
    for target, imported in _imports(name):
        sub = f"{target}.{imported}" if imported else None
        edges.add(sub if sub in MODULES else target)
    return {e for e in edges if e in MODULES and e != name}


def _concept(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else name


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_the_names_of_an_enclosing_package():
    upward = []
    for name in MODULES:
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        if _is_package(name):
            ancestors.discard(name)
        for target, imported in _imports(name):
            if target in ancestors and (imported is None or f"{target}.{imported}" not in MODULES):
                upward.append(f"{name} -> {target}.{imported}")
    assert not upward, "imports that run back up into a package's own names:\n" + "\n".join(upward)


def test_no_import_cycles_between_modules():
    graph = {name: _edges(name) for name in MODULES}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_no_import_cycles_between_concepts():
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        if name == "ivfast":  # the root re-exports every concept; nothing may import it back
            continue
        graph.setdefault(_concept(name), set()).update(
            _concept(e) for e in _edges(name) if _concept(e) != _concept(name) and e != "ivfast")
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_at_most_400_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES
