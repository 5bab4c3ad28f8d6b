"""The house keeps its shape: imports run one way (no cycles, function-level imports included), each
module imports only its own layer or the layers below it, and no module guards against its own package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("spatial", "maps", "layers")
# lowest first: a module may import modules of its own rank or lower
RANKS = {
    "layers": 0, "spatial.errors": 0, "spatial.geo": 1, "spatial.rules": 2, "spatial.sources": 3,
    "spatial.engine": 4, "spatial.analysis": 5, "spatial.outputs": 6, "maps": 7, "spatial.api": 8,
    "spatial.cli": 9, "spatial": 10, "spatial.__main__": 10,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _rank(module: str) -> int:
    key = max((k for k in RANKS if module == k or module.startswith(k + ".")), key=len)
    return RANKS[key]


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Package modules imported anywhere in the file (functions included, TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names = ["relative import: " + path.name]   # not allowed: absolute imports only
            found.add(names[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in modules:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "vendor" not in p.parts]
    modules = {_module_name(p): p for p in files}
    names = set(modules)
    return {m: {i for i in _imports(p, names) if i != m and not m.startswith(i + ".") and i not in PACKAGES}
            for m, p in modules.items()}


def _package_graph() -> dict[str, set[str]]:
    return {m: {i for i in deps if not i.startswith("relative import")} for m, deps in _graph().items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = 2
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles():
    graph = _package_graph()
    assert len(graph) > 30
    assert _cycle(graph) is None, " → ".join(_cycle(graph))


def test_a_cycle_is_found_when_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_imports_are_absolute():
    relative = sorted({i for deps in _graph().values() for i in deps if i.startswith("relative import")})
    assert not relative, relative


def test_imports_run_downward():
    upward = [f"{m} → {i}" for m, deps in _package_graph().items() for i in deps if _rank(i) > _rank(m)]
    assert not upward, upward


def test_no_module_guards_against_its_own_package():
    offenders = []
    for pkg in ("spatial", "maps"):
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Try) and any(
                        isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers) and any(
                        isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] in PACKAGES
                        for b in node.body for n in ast.walk(b)):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
