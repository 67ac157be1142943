"""backend.pipeline stays pure: no Flask, no RQ, nothing from backend outside backend/pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

import backend.pipeline

PIPELINE = Path(backend.pipeline.__file__).parent
FORBIDDEN_ROOTS = {"flask", "flask_sqlalchemy", "flask_migrate", "rq", "redis", "worker", "sqlalchemy"}


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_pipeline_imports_neither_web_nor_queue_code() -> None:
    offenders = []
    for path in sorted(PIPELINE.rglob("*.py")):
        for name in imported_modules(path):
            root = name.split(".")[0]
            if root in FORBIDDEN_ROOTS or (root == "backend" and not name.startswith("backend.pipeline")):
                offenders.append(f"{path.relative_to(PIPELINE)}: {name}")
    assert offenders == []
