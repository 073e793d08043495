"""The package's import graph: no cycle, and each layer imports only what its contract allows.

The graph is read from the source with `ast`, so it counts imports inside functions too: a
cycle hidden in a function still ties two modules together, it only fails later. Imports under
`if TYPE_CHECKING:` are left out: they never run, and a type named in an annotation (a screen
naming the app that hosts it) is not a dependency that can break an import order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shieldrec

ROOT = Path(shieldrec.__file__).parent

# The layer contracts, stated once: (importer prefix, what it may not import, the exceptions).
# `store` may use only the low-level modules every layer shares.
STORE_MAY_IMPORT = ("shieldrec.store", "shieldrec.errors", "shieldrec.paths", "shieldrec.sanitize",
                    "shieldrec.items", "shieldrec.lazy")
FORBIDDEN: list[tuple[str, tuple[str, ...]]] = [
    ("shieldrec.ranking", ("shieldrec.agent", "shieldrec.tui", "shieldrec.cli", "shieldrec.serve")),
]
# Third-party packages only one part of the package may import: (package, the only importers).
OWNED: list[tuple[str, tuple[str, ...]]] = [
    ("textual", ("shieldrec.tui",)),
    ("fastapi", ("shieldrec.serve",)),
    ("uvicorn", ("shieldrec.serve",)),
    ("starlette", ("shieldrec.serve",)),
    # The runtime holds the model; the worker is the process that loads it.
    ("llama_cpp", ("shieldrec.llm.runtime", "shieldrec.llm.worker")),
]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    walk(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = module.split(".")
                    parts = parts[: len(parts) - child.level + (1 if is_package else 0)]
                    base = ".".join([*parts, base] if base else parts)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            walk(child)

    walk(tree)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` (under `root`) -> every module it imports (ours and others')."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        raw = _imports(ast.parse(path.read_text(encoding="utf-8")), name, is_package)
        # `from pkg import name` names a module only when one exists by that name.
        graph[name] = {m for m in raw if m in modules or not m.startswith(package + ".") and m != package}
        # A module always runs its own packages' __init__ first; an edge back to one is how a
        # package re-exports its parts, not a cycle between layers.
        graph[name] -= {name, *(name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1))}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle among the graph's own modules, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(graph: dict[str, set[str]]) -> list[str]:
    found: list[str] = []
    for module, imported in sorted(graph.items()):
        ours = {m for m in imported if _under(m, ("shieldrec",))}
        if _under(module, ("shieldrec.store",)):
            found += [f"{module} imports {m}" for m in sorted(ours) if not _under(m, STORE_MAY_IMPORT)]
        for importer, banned in FORBIDDEN:
            if _under(module, (importer,)):
                found += [f"{module} imports {m}" for m in sorted(ours) if _under(m, banned)]
        for package, owners in OWNED:
            if not _under(module, owners):
                found += [f"{module} imports {m}" for m in sorted(imported) if _under(m, (package,))]
    return found


GRAPH = import_graph(ROOT, "shieldrec")


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_layer_keeps_its_contract() -> None:
    assert violations(GRAPH) == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def test_a_cycle_is_named_even_when_hidden_in_a_function(tmp_path: Path) -> None:
    _write(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "sub/__init__.py": "",
        "b.py": "def f():\n    from .sub import c\n",
        "sub/c.py": "from ..a import x\n",
    })
    assert find_cycle(import_graph(tmp_path, "pkg")) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]


def test_an_import_only_for_type_checking_is_not_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n",
    })
    assert find_cycle(import_graph(tmp_path, "pkg")) is None


def test_a_broken_contract_is_named(tmp_path: Path) -> None:
    _write(tmp_path, {
        "__init__.py": "",
        "store/__init__.py": "from shieldrec.ranking import facts\n",
        "ranking/__init__.py": "def f():\n    import textual\n",
    })
    found = violations(import_graph(tmp_path, "shieldrec"))
    assert found == ["shieldrec.ranking imports textual", "shieldrec.store imports shieldrec.ranking"]


# starlette comes in through fastapi; naming it above keeps a direct import inside serve.
@pytest.mark.parametrize("package", [p for p, _ in OWNED if p != "starlette"])
def test_each_owned_package_is_imported_where_its_contract_says(package: str) -> None:
    importers = {m for m, imported in GRAPH.items() if _under(package, tuple(imported))}
    assert importers, f"no module imports {package}: its contract names nothing real"
