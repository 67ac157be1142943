"""A run's errors grouped by Salesforce's message (the UI's error summary and the notification e-mail)."""

from __future__ import annotations

import csv
import io
from collections import OrderedDict
from typing import Any

from backend.models.base import TenantScope
from backend.models.runs import Run
from backend.runs import service

ERROR_ROWS_SCANNED = 5000
ERROR_GROUPS = 10


def error_groups(scope: TenantScope, run_id: str, limit: int = ERROR_GROUPS) -> list[dict[str, Any]]:
    """The first errors of the error file, grouped by message, with the first row numbers of each group."""
    run = scope.get(Run, run_id)
    if not run.error_blob_id:
        return []
    _blob, reader = service.result_file(scope, run_id, "error")
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    with reader:
        text = io.TextIOWrapper(io.BufferedReader(reader), encoding="utf-8-sig", errors="replace", newline="")
        for n, row in enumerate(csv.DictReader(text)):
            if n >= ERROR_ROWS_SCANNED:
                break
            message = row.get("sf__Error") or "Unknown error"
            group = groups.setdefault(message, {"message": message, "count": 0, "rows": []})
            group["count"] += 1
            if len(group["rows"]) < 5:
                group["rows"].append(row.get("sf__Row"))
    return sorted(groups.values(), key=lambda g: -g["count"])[:limit]
