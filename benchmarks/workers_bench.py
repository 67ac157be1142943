"""The `workers` benchmark: one run of N rows moved by 1, 2 and 4 `python -m worker` processes at once.

Each count gets a fresh localorg (its `latency_ms` knob at 50 ms, network-like) and a fresh PostgreSQL
database; the file is uploaded and the run enqueued only once the workers are listening, and the clock
runs from the enqueue until the run is finished (split, pieces, result files, Import_Run__c).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, LocalOrg, run_child

LATENCY_MS = 50
COUNTS = (1, 2, 4)
UNSPLIT = 10**12  # INFLOW_PIECE_ROWS beyond any file: the reference run is not split
WAIT_SECONDS = 3600  # a bound on waiting for a run, not a measurement


def workers_bench(report: dict[str, Any], env: dict[str, str], src: Path, work: Path) -> None:
    from benchmarks import pg

    results, reference = {}, None
    for count in (0, *COUNTS):  # 0: one worker with splitting off, the run as it went before pieces
        org_dir = work / f"workers{count}"
        org_dir.mkdir(exist_ok=True)
        org = LocalOrg(org_dir, latency_ms=LATENCY_MS)
        name = f"inflow_bench_w{count}_{uuid.uuid4().hex[:6]}"
        try:
            org.seed_accounts()
            dsn = pg.create_empty_database(name)
            child_env = {**env, "REQUESTS_CA_BUNDLE": org.ca_bundle,
                         "INFLOW_INSTANCE_PATH": str(org_dir / "instance")}
            before = _cpu(org.proc.pid)
            r = run_child("workers", child_env, src=str(src), db_url=dsn, count=max(count, 1),
                          piece_rows=UNSPLIT if count == 0 else None, instance_url=org.org["instance_url"],
                          token=org.org["access_token"])
            r["localorg_cpu_s"] = round(_cpu(org.proc.pid) - before, 1)
        finally:
            from benchmarks.__main__ import stop_redis

            stop_redis(org_dir / "instance")
            org.stop()
            pg.drop_database(pg.SERVER.rsplit("/", 1)[0] + f"/{name}")
        if count == 0:
            reference = r
        else:
            results[count] = r
        # Both sides need CPU: on this machine's cores their sum over the cores is a floor under the wall time.
        r["cpu_floor_s"] = round((r["localorg_cpu_s"] + r["workers_cpu_s"]) / (os.cpu_count() or 1), 1)
        label = "1 worker, unsplit" if count == 0 else f"{count} worker(s)"
        print(f"6. workers   {label}: {r['seconds']:7.1f} s, {r['rows'] / r['seconds']:>9,.0f} rows/s "
              f"({r['state']}, {r['succeeded']:,} ok, {r['pieces']} pieces; split {r['split_s']} s, finish "
              f"{r['finish_s']} s; CPU workers {r['workers_cpu_s']} s + localorg {r['localorg_cpu_s']} s, floor "
              f"{r['cpu_floor_s']} s on {os.cpu_count()} cores)", flush=True)
    base = results[1]["seconds"]
    speedup = {f"1_to_{n}": round(base / results[n]["seconds"], 2) for n in COUNTS[1:]}
    speedup.update({f"unsplit_to_{n}": round(reference["seconds"] / results[n]["seconds"], 2) for n in COUNTS})
    report["workers"] = {"latency_ms": LATENCY_MS, "runs": results, "unsplit": reference, "speedup": speedup,
                         "target": "1 -> 2 workers >= 1.7x, 1 -> 4 workers >= 2.5x"}
    shown = ", ".join(f"1 -> {n} workers x{speedup[f'1_to_{n}']}" for n in COUNTS[1:])
    against = ", ".join(f"{n} x{speedup[f'unsplit_to_{n}']}" for n in COUNTS)
    print(f"   speed-up {shown} (targets x1.7 and x2.5); against one unsplit run: {against}", flush=True)


def _cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def workers(src: str, db_url: str, count: int, instance_url: str, token: str, piece_rows: int | None = None,
            **_: Any) -> dict[str, Any]:
    """(In the child) `count` worker processes move one run of `src`; seconds from enqueue to finished."""
    from flask_migrate import upgrade
    from rq import Worker

    from backend import create_app
    from backend.extensions import db
    from backend.models import Run
    from backend.models.pieces import RunPiece
    from backend.runs import service
    from backend.runs.lease import LEASE_SECONDS
    from backend.services import get_redis
    from benchmarks.child import _job, cpu_seconds

    app = create_app({"env": "test", "database_url": db_url, "egress_allow_loopback": True,
                      "instance_path": Path(os.environ["INFLOW_INSTANCE_PATH"])})
    procs: list[subprocess.Popen] = []
    with app.app_context():
        upgrade()
        run_id = _job(src, instance_url, token, "bulk2")
        env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": db_url, "INFLOW_EGRESS_ALLOW_LOOPBACK": "1",
               "INFLOW_KEYS": app.extensions["inflow.keyring"].to_json()}
        if piece_rows:
            env["INFLOW_PIECE_ROWS"] = str(piece_rows)
        cpu_before = cpu_seconds()
        try:
            procs = [subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(count)]
            deadline = time.monotonic() + 120
            while Worker.count(connection=get_redis()) < count and time.monotonic() < deadline:
                time.sleep(0.2)
            started = time.perf_counter()
            service.enqueue(run_id)
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                db.session.rollback()
                run = db.session.get(Run, run_id)
                if run.finished:
                    break
                time.sleep(0.25)
            seconds = time.perf_counter() - started
            pieces = db.session.query(RunPiece).filter(RunPiece.run_id == run_id).all()
            split_at = min(p.created_at for p in pieces) if pieces else run.finished_at
            # A piece's last write renewed its lease: its end is LEASE_SECONDS before the expiry left behind.
            last_piece = max(p.lease_expires_at for p in pieces) - timedelta(seconds=LEASE_SECONDS) if pieces \
                else run.finished_at
            result = {"workers": count, "seconds": round(seconds, 2), "state": run.state, "rows": run.rows_read,
                      "succeeded": run.rows_succeeded, "failed": run.rows_failed, "pieces": len(pieces),
                      "rows_s": round(run.rows_read / seconds),
                      "split_s": round((split_at - run.started_at).total_seconds(), 1) if pieces else 0,
                      "finish_s": round((run.finished_at - last_piece).total_seconds(), 1) if pieces else 0}
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        result["workers_cpu_s"] = round(cpu_seconds() - cpu_before, 1)  # the reaped workers' process trees
        return result
