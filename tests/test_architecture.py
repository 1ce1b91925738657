"""What the code's shape promises: no import cycle in app/, small modules, short pipeline steps."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

import app

APP = Path(app.__file__).resolve().parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Where the order of a task's steps lives: kept readable function by function.
SHORT_FUNCTIONS = (APP / "pipeline", APP / "ui" / "controller.py")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a loop (Tarjan's SCC).

    grimp sees every import: top level, inside functions and under TYPE_CHECKING, because a
    cycle held apart by a late import is still a cycle in the design.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules or not imported.startswith("app"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph.modules):
        if module.startswith("app") and module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("app.a", "app.b", "app.c"):
        graph.add_module(name)
    graph.add_import(importer="app.a", imported="app.b")
    graph.add_import(importer="app.b", imported="app.a")
    graph.add_import(importer="app.b", imported="app.c")
    assert import_cycles(graph) == [["app.a", "app.b"]]


def test_no_import_cycle_inside_app() -> None:
    assert import_cycles(grimp.build_graph("app")) == []


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {
        str(path.relative_to(APP)): len(path.read_text(encoding="utf-8").splitlines())
        for path in APP.rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def test_no_long_function_where_the_step_order_lives() -> None:
    files = [
        path for root in SHORT_FUNCTIONS
        for path in ([root] if root.is_file() else sorted(root.rglob("*.py")))
    ]
    long: dict[str, int] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(APP)}:{node.name}"] = lines
    assert long == {}
