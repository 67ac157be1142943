"""The load benchmark (`python -m benchmarks --only load`) runs end to end at a tiny size, so it cannot rot:
gunicorn as the Procfile starts it, real `python -m worker` processes, Redis, the app database and localorg,
all started and stopped by the harness itself. Its figures are not judged here (docs/benchmarks.md has them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "postgresql" if "postgresql" in BACKENDS else "sqlite"


def test_the_load_harness_serves_users_an_upload_and_an_import_then_stops(tmp_path: Path) -> None:
    work = tmp_path / "load"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "load", "--workdir", str(work), "--load-users", "5",
         "--load-uploads", "1", "--load-upload-mb", "0.5", "--load-imports", "1", "--load-import-rows", "300",
         "--load-seconds", "4", "--load-workers", "1", "--load-database", DATABASE],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    load = json.loads((work / "results.json").read_text())["load"]

    assert load["database"] == DATABASE
    assert (load["5xx"], load["connection_errors"]) == (0, 0)
    assert set(load["poll"]["statuses"]) == {"200"} and set(load["page"]["statuses"]) == {"200"}
    assert load["upload"]["statuses"] == {"201": 1}
    assert load["imports"] == [{"state": "succeeded", "rows_read": 300, "succeeded": 300, "failed": 0}]
    assert set(load["worker_rss"]) == {"start", "middle", "end"}
    assert all(sample["workers_rss_mb"] > 0 for sample in load["worker_rss"].values())
    assert "5xx 0 (target 0)" in proc.stdout  # the line a developer reads
    for leftover in ("web.log", "worker0.log"):  # its processes' logs are kept beside the results
        assert (work / leftover).exists()
