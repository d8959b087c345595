"""The package's structure, read from its source: no import cycles (imports inside functions and under
TYPE_CHECKING count), methods that know no loop, no method looked up by a literal name, no reader defaulting a
config section's key, and no module over 400 lines."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cobra_lab"
MAX_LINES = 400
SECTIONS = {"data", "net", "distill", "eval"}


def module_name(path: Path) -> str:
    """cobra_lab/methods/dm.py -> cobra_lab.methods.dm; a package's __init__.py -> the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text()) for name, path in MODULES.items()}


def imported(name: str) -> set[str]:
    """The package's modules that module ``name`` imports, anywhere in its source."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in MODULES else base)
    return {target for target in found if target in MODULES and target != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while component[-1:] != [node]:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others():
    assert cycles({name: imported(name) for name in MODULES}) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_methods_import_no_loop():
    loops = {name for name in MODULES if name.startswith(("cobra_lab.loops", "cobra_lab.checkpoints"))}
    for name in (name for name in MODULES if name.startswith("cobra_lab.methods")):
        assert not imported(name) & loops, name


def calls(tree: ast.AST, attribute: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attribute]


def test_no_method_is_looked_up_by_a_literal_name():
    for name, tree in TREES.items():
        for call in calls(tree, "build") + calls(tree, "get"):
            receiver = call.func.value
            if isinstance(receiver, ast.Name) and receiver.id == "METHODS":
                assert not (call.args and isinstance(call.args[0], ast.Constant)), \
                    f"{name}:{call.lineno} looks a method up by its name"


def section_read(node: ast.expr) -> bool:
    """``config["distill"]``-like subscripts and attributes named after a section (``config.eval``)."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value in SECTIONS
    return isinstance(node, ast.Attribute) and node.attr in SECTIONS | {"settings"}


def test_no_reader_defaults_a_section_key():
    for name, tree in TREES.items():
        if name == "cobra_lab.schema":
            continue
        for call in calls(tree, "get"):
            assert not (len(call.args) == 2 and section_read(call.func.value)), \
                f"{name}:{call.lineno} supplies a default of its own"


def test_modules_are_small():
    sizes = {name: len(path.read_text().splitlines()) for name, path in MODULES.items()}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
