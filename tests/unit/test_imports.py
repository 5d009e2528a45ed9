"""The house's one-way rule, read from the source (issue 11): the core (`hotline/`) imports
no part; a part uses another part only through the other's package face (`from recordings
import something_its___init___exports`, or a module the package lists in its `__all__`,
as `pbx` does with `names`), except the few imports of internals listed in ALLOWED; and
the parts import each other without a cycle.

Every import statement counts, those inside functions too (a lazy import is still a
dependency). The parts are found, not listed: a new top-level package is a part at once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = "hotline"
NOT_PARTS = {CORE, "tests"}

# (importing part, another part's internal module): none today. Do not add to it: give the
# other part a public function instead.
ALLOWED: set[tuple[str, str]] = set()


def packages() -> set[str]:
    return {p.parent.name for p in REPO.glob("*/__init__.py")}


def parts() -> set[str]:
    return packages() - NOT_PARTS


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in a file; `from a import b` names `a.b`
    when b is a module of a, else `a` (a name a's package exports)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield node.lineno, _submodule_or_package(node.module, alias.name)


def _submodule_or_package(module: str, name: str) -> str:
    folder = REPO.joinpath(*module.split("."))
    is_module = (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()
    return f"{module}.{name}" if is_module and name not in exported(folder) else module


def exported(package: Path) -> set[str]:
    """The names a package's __init__.py lists in a literal `__all__` (its face)."""
    init = package / "__init__.py"
    if not init.is_file():
        return set()
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)):
            return {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
    return set()


def imports_of(package: str) -> Iterator[tuple[str, str]]:
    """('path:line', imported module) for the package's imports of the repo's other
    top-level packages."""
    others = packages() - {package}
    for path in sorted((REPO / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if module.split(".")[0] in others:
                yield f"{path.relative_to(REPO)}:{line}", module


def internal_imports(part: str) -> Iterator[tuple[str, str]]:
    """A part's imports of other parts' modules below their package face."""
    for where, module in imports_of(part):
        if module.split(".")[0] in parts() and "." in module:
            yield where, module


def test_the_core_imports_no_part() -> None:
    assert [f"{where} imports {module}" for where, module in imports_of(CORE)] == []


def test_parts_use_other_parts_only_through_their_face() -> None:
    found = [f"{where} imports {module}" for part in sorted(parts())
             for where, module in internal_imports(part) if (part, module) not in ALLOWED]

    assert found == [], "ask the other part through a function its package exports"


def test_parts_import_each_other_without_a_cycle() -> None:
    graph = {part: {m.split(".")[0] for _, m in imports_of(part)} & parts() for part in parts()}

    assert [cycle for part in sorted(graph) if (cycle := _cycle_from(part, graph))] == []


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str]:
    """A path start → ... → start through the graph, or [] if there is none."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return []


def test_the_reader_sees_imports_inside_functions_and_from_packages(tmp_path: Path) -> None:
    """The checks above rest on this reading: a lazy import counts, `from recordings import
    files` is the module recordings.files, a name from a package is the package's face, and
    so is a module the package names in its __all__."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from recordings import files, NOTHING\n"
                      "import ivr.fastagi\nfrom . import sibling\nfrom pbx import names\n",
                      encoding="utf-8")

    # pbx lists its module `names` in __all__: part of its face.
    assert sorted(imported_modules(source)) == [
        (2, "recordings"), (2, "recordings.files"), (3, "ivr.fastagi"), (5, "pbx")]
