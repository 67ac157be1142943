"""The floors of the house: which part of backend/, worker/ and sfdx/ may import which, and no import circles.

The rule is the table below, written once; docs/architecture.md ("Floors") draws it. Imports are read with
ast from every module, including imports inside functions. Imports under `if TYPE_CHECKING:` are left out:
they never run, so they can neither reach up a floor at run time nor close a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.import_graph import cycles

ROOT = Path(__file__).resolve().parents[2]

GROUND, BASE, ENGINE, RUNS, TOP, FACTORY, PROCESS = range(7)
# unit: (floor, the modules it covers). A name covers its submodules too, and the longest name wins;
# `backend` alone is the app factory (backend/__init__.py), not everything under it.
UNITS: dict[str, tuple[int, tuple[str, ...]]] = {
    "localorg": (GROUND, ("sfdx",)),  # knows only the Salesforce wire protocol: imports nothing of ours
    "ground": (GROUND, ("backend.settings", "backend.errors", "backend.extensions", "backend.logs",
                        "backend.queues", "backend.mail", "backend.services", "backend.promises",
                        "backend.backoff", "backend.streams", "backend.readahead")),
    "security": (BASE, ("backend.security",)),
    "models": (BASE, ("backend.models",)),
    "storage": (BASE, ("backend.storage",)),
    "salesforce": (BASE, ("backend.salesforce",)),
    # The Salesforce-free half of the engine: runs without any Salesforce or app code at all.
    "engine core": (BASE, ("backend.pipeline.chunk", "backend.pipeline.sources", "backend.pipeline.mapping",
                           "backend.pipeline.results", "backend.pipeline.cells", "backend.pipeline.xlsx_out",
                           "backend.pipeline.memory")),
    "pipeline": (ENGINE, ("backend.pipeline",)),
    "connectors": (ENGINE, ("backend.connectors",)),
    "billing": (ENGINE, ("backend.billing",)),  # plans, usage, Stripe; runs ask its gate at enqueue
    "migration": (ENGINE, ("backend.migration",)),  # plans of steps run through the pipeline
    "runs": (RUNS, ("backend.runs",)),
    "web": (TOP, ("backend.web",)),
    "cli": (TOP, ("backend.cli", "backend.cli_import", "backend.cli_schedules", "backend.cli_billing",
                  "backend.cli_connections", "backend.cli_migrate", "backend.cli_export",
                  "backend.cli_rollback")),
    "schedules": (BASE, ("backend.schedules",)),  # pure rules: time zones and cron fields
    "app factory": (FACTORY, ("backend",)),
    "worker": (PROCESS, ("worker",)),
}
# A unit imports its own modules and any unit on a lower floor; on its own floor only these.
SIDEWAYS: dict[str, set[str]] = {
    "ground": set(),  # leaf modules: settings, errors, ... (one unit, so they may use each other)
    "security": {"models", "storage"},  # key rotation re-encrypts rows and blobs; email tokens are rows
    "models": {"security"},  # encrypted columns
    "storage": {"models", "security"},  # blobs are rows of encrypted chunks
    "salesforce": {"models", "security"},  # org connections hold encrypted tokens
    "migration": {"pipeline"},  # each step is a pipeline run
    "connectors": {"pipeline"},  # a connector is a source or sink; the pipeline finds them by name
}
# Units that only the named units may import, whatever their floor.
ONLY_IMPORTED_BY: dict[str, set[str]] = {
    "web": {"app factory"},  # blueprints are registered by the factory and reached over HTTP, never imported
    "cli": {"app factory"},
    "localorg": set(),  # a test double of Salesforce: tests use it, the app never does
}
# Third-party packages a unit must not import: the engine runs in a worker, in the CLI and in a test alike.
NO_LIBRARIES: dict[str, set[str]] = {
    "engine core": {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis", "sqlalchemy"},
    "pipeline": {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis"},
    "connectors": {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis"},
    "migration": {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis"},
}
CYCLE_ROOTS = ("backend", "worker")  # sfdx/localorg joins once its own circles are broken
OURS = ("backend", "worker", "sfdx")


def module_paths() -> dict[str, Path]:
    paths = {}
    for top in OURS:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            paths[".".join(parts)] = path
    return paths


MODULES = module_paths()


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what sits under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(module: str) -> list[tuple[str, int]]:
    """(imported module, line) pairs; `from x import y` counts as x.y when y is a module of ours."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno))
    return found


def unit_of(module: str) -> str | None:
    best, length = None, -1
    for unit, (_, names) in UNITS.items():
        for name in names:
            covers = module == name or (name != "backend" and module.startswith(name + "."))
            if covers and len(name) > length:
                best, length = unit, len(name)
    return best


def forbidden(source: str, target: str) -> bool:
    if source == target:
        return False
    if source not in ONLY_IMPORTED_BY.get(target, {source}):
        return True
    source_floor, target_floor = UNITS[source][0], UNITS[target][0]
    return target_floor > source_floor or (target_floor == source_floor and target not in SIDEWAYS.get(source, ()))


def test_every_module_has_a_floor() -> None:
    assert [m for m in MODULES if unit_of(m) is None] == [], "add these modules to UNITS in this test"


def test_no_module_imports_above_its_floor() -> None:
    problems = []
    for module, path in MODULES.items():
        source = unit_of(module)
        for name, line in imports(module):
            where = f"{path.relative_to(ROOT)}:{line}"
            if name.split(".")[0] in NO_LIBRARIES.get(source, ()):
                problems.append(f"{where}: {source} must not import {name}")
            elif name.split(".")[0] in OURS:
                target = unit_of(name)
                if target is None or forbidden(source, target):
                    problems.append(f"{where}: {source} ({module}) must not import {name} ({target})")
    assert problems == [], "imports against the floors (docs/architecture.md):\n" + "\n".join(problems)


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for module in MODULES:
        if module.split(".")[0] in CYCLE_ROOTS:
            graph[module] = {name: line for name, line in reversed(imports(module))
                             if name in MODULES and name != module and name.split(".")[0] in CYCLE_ROOTS}
    return graph


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The groups of modules that reach each other through imports (the shared finder in tests/import_graph.py)."""
    return cycles({module: set(targets) for module, targets in graph.items()})


def one_circle(graph: dict[str, dict[str, int]], group: list[str]) -> str:
    """A shortest way around the group from its first module, with the line of each import."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in graph[node]:
            if nxt == start:
                way = paths[node] + [start]
                steps = (f"{a} (line {graph[a][b]})" for a, b in zip(way, way[1:], strict=False))
                return " -> ".join(steps) + f" -> {start}"
            if nxt in members and nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return " <-> ".join(group)


def test_no_import_circles() -> None:
    graph = import_graph()
    circles = [one_circle(graph, group) for group in strongly_connected(graph)]
    assert circles == [], "import circles (move the shared part down into a module both import):\n" + "\n".join(circles)


def test_the_checker_sees_what_it_must() -> None:
    assert ("backend.pipeline.mapping.values", 18) in imports("backend.pipeline.mapping.convert")
    assert forbidden("runs", "web") and forbidden("worker", "web") and forbidden("salesforce", "pipeline")
    assert forbidden("ground", "security") and forbidden("app factory", "worker")
    assert not forbidden("app factory", "web") and not forbidden("pipeline", "engine core")
    assert unit_of("backend.pipeline.sinks.rest") == "pipeline" and unit_of("backend.nowhere") is None
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert one_circle(graph, ["a", "b", "c"]) == "a (line 1) -> b (line 2) -> c (line 3) -> a"
