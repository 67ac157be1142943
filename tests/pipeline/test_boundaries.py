"""backend.pipeline stays pure: no Flask, no RQ; the Salesforce-free half imports nothing else from backend."""

from __future__ import annotations

import ast
from pathlib import Path

import backend.pipeline

PIPELINE = Path(backend.pipeline.__file__).parent
WEB_AND_QUEUE = {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis", "worker"}
# Sources, mapping and results must run without any Salesforce or app code at all.
SALESFORCE_FREE = ["__init__.py", "chunk.py", "results.py", "sources", "mapping"]


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_pipeline_imports_neither_flask_nor_rq() -> None:
    offenders = [f"{path.relative_to(PIPELINE)}: {name}" for path in sorted(PIPELINE.rglob("*.py"))
                 for name in imported_modules(path) if name.split(".")[0] in WEB_AND_QUEUE]
    assert offenders == []


def test_sources_mapping_and_results_import_nothing_else_from_backend() -> None:
    paths = [p for entry in SALESFORCE_FREE for p in
             ([PIPELINE / entry] if entry.endswith(".py") else sorted((PIPELINE / entry).rglob("*.py")))]
    offenders = [f"{path.relative_to(PIPELINE)}: {name}" for path in paths for name in imported_modules(path)
                 if name.split(".")[0] in ("backend", "sqlalchemy")
                 and name != "backend.errors" and not name.startswith("backend.pipeline")]
    assert offenders == []
