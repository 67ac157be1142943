"""`.venv/bin/python -m benchmarks [--rows N] [--only pipeline,e2e,memory,rest,postgres,export,workers,load]`.

Each comparison runs against its baseline.

Everything runs on this machine in one process tree against one localorg (a child process). Each
measurement runs in its own child process, so its peak RSS is its own. Ratios are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import LocalOrg, run_child, write_source

ON_REQUEST = ("load",)  # not in the default set: it occupies the machine for minutes with 200 users
ALL = ("pipeline", "e2e", "memory", "rest", "postgres", "export", "workers")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the large file (default 1,000,000)")
    p.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {', '.join(ALL + ON_REQUEST)}")
    p.add_argument("--repeat", type=int, default=3, help="runs of the pipeline comparison (best of each)")
    p.add_argument("--workdir", type=Path, default=None, help="keep files here (default: a temp dir, removed)")
    load = p.add_argument_group("load (benchmarks/load.py)")
    load.add_argument("--load-users", type=int, default=200, help="concurrent users polling and browsing")
    load.add_argument("--load-uploads", type=int, default=20, help="files uploaded during the load")
    load.add_argument("--load-upload-mb", type=float, default=5.0, help="size of each uploaded file")
    load.add_argument("--load-imports", type=int, default=4, help="imports started as the load begins")
    load.add_argument("--load-import-rows", type=int, default=50_000, help="rows of each import (Bulk 2.0)")
    load.add_argument("--load-seconds", type=float, default=60.0, help="how long the users keep at it")
    load.add_argument("--load-workers", type=int, default=2, help="`python -m worker` processes")
    load.add_argument("--load-database", choices=["auto", "postgresql", "sqlite"], default="auto",
                      help="the app database (auto: PostgreSQL when it answers)")
    args = p.parse_args(argv)
    unknown = set(args.only.split(",")) - set(ALL + ON_REQUEST)
    if unknown:
        p.error(f"unknown comparison {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    only = set(args.only.split(","))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="inflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    org = LocalOrg(work)
    report: dict[str, Any] = {"rows": args.rows, "machine": machine(),
                              "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    try:
        org.seed_accounts()
        env = {"REQUESTS_CA_BUNDLE": org.ca_bundle, "INFLOW_INSTANCE_PATH": str(work / "instance")}
        creds = {"instance_url": org.org["instance_url"], "token": org.org["access_token"]}
        big = work / "contacts.csv"
        rows = ""
        if only - set(ON_REQUEST):
            report["file_mb"] = round(write_source(big, args.rows) / 1e6, 1)
            rows = f"{args.rows:,} rows, {report['file_mb']} MB; "
        print(f"{rows}machine: {report['machine']}; load average {report['load_average_at_start']}", flush=True)
        if only & {"pipeline", "e2e"}:
            pipeline_bench(report, env, creds, big, work, args.repeat)
        if "e2e" in only:
            e2e_bench(report, org, env, creds, big, work)
        if "memory" in only:
            memory_bench(report, env, creds, work, args.rows)
        if "rest" in only:
            rest_bench(report, env, creds, work)
        if "postgres" in only:
            postgres_bench(report, env, creds, big, work, args.repeat)
        if "export" in only:
            from benchmarks.export_bench import export_bench

            export_bench(report, env, creds, work, args.rows)
        if "load" in only:
            from benchmarks.load import load_bench

            load_bench(report, org, work, args)
        if "workers" in only:
            from benchmarks.workers_bench import workers_bench

            workers_bench(report, env, big, work)
        report["localorg_rss_mb"] = round(org.rss_mb())
        (work / "results.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
    finally:
        stop_redis(work / "instance")
        org.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def pipeline_bench(report: dict[str, Any], env: dict[str, str], creds: dict[str, str], src: Path,
                   work: Path, repeat: int) -> None:
    """Alternating runs, best of each: on a shared machine the best run is the least disturbed one."""
    arrows, inflows = [], []
    for _ in range(repeat):
        arrows.append(run_child("arrow", env, src=str(src), out=str(work / "arrow.csv")))
        inflows.append(run_child("pipeline", env, src=str(src), out=str(work / "mapped.csv"), **creds))
    a = max(r["rows"] / r["seconds"] for r in arrows)
    i = max(r["rows"] / r["seconds"] for r in inflows)
    report["pipeline"] = {"pyarrow_rows_s": round(a), "inflow_rows_s": round(i), "ratio": round(i / a, 3),
                          "runs": repeat, "inflow_errors": inflows[-1]["errors"], "target": ">= 0.6",
                          "inflow_peak_rss_mb": max(r["peak_rss_mb"] for r in inflows),
                          "pyarrow_peak_rss_mb": max(r["peak_rss_mb"] for r in arrows)}
    print(f"1. pipeline  pyarrow {a:>12,.0f} rows/s | inflow {i:>12,.0f} rows/s | ratio {i / a:.2f} (>= 0.6; "
          f"best of {repeat})", flush=True)


def inflow_e2e(env: dict[str, str], src: Path, workdir: Path, creds: dict[str, str]) -> dict[str, Any]:
    """Inflow's import as a worker runs it; the upload and the queued run are made by another process first
    (in production the web app receives the file), so the figures are the worker's alone."""
    workdir.mkdir(exist_ok=True)
    prep = run_child("e2e_prep", env, src=str(src), workdir=str(workdir), **creds)
    return run_child("e2e_inflow", env, run_id=prep["run_id"], workdir=str(workdir))


def e2e_bench(report: dict[str, Any], org: LocalOrg, env: dict[str, str], creds: dict[str, str], src: Path,
              work: Path) -> None:
    (work / "e2e").mkdir(exist_ok=True)
    # localorg shares the machine: its CPU for each side shows how much of the wall time is the server's.
    start = org.cpu_s()
    ss = run_child("e2e_ss", env, mapped=str(work / "mapped.csv"), **creds)
    middle = org.cpu_s()
    inflow = inflow_e2e(env, src, work / "e2e", creds)
    ss["localorg_cpu_s"], inflow["localorg_cpu_s"] = round(middle - start, 2), round(org.cpu_s() - middle, 2)
    report["e2e"] = {"simple_salesforce": ss, "inflow": inflow,
                     "time_ratio": round(inflow["seconds"] / ss["seconds"], 3),
                     "rss_ratio": round(inflow["peak_rss_mb"] / ss["peak_rss_mb"], 3),
                     "cpu_ratio": round(inflow["process_cpu_s"] / ss["process_cpu_s"], 3),
                     "target": "time <= 1.05x, client CPU <= 2x, lower RSS"}
    print(f"2. e2e bulk2 simple-salesforce {ss['seconds']:8.1f} s {ss['peak_rss_mb']:7.0f} MB | inflow "
          f"{inflow['seconds']:8.1f} s {inflow['peak_rss_mb']:7.0f} MB | time x{inflow['seconds'] / ss['seconds']:.2f} "
          f"(<= 1.05), rss x{inflow['peak_rss_mb'] / ss['peak_rss_mb']:.2f} (< 1); inflow {inflow['state']} "
          f"{inflow['succeeded']:,} ok {inflow['failed']} failed", flush=True)
    print(f"   client CPU (user + system, process tree) simple-salesforce {ss['process_cpu_s']:.1f} s "
          f"({ss['cpu_s']:.1f} s in the insert) | inflow {inflow['process_cpu_s']:.1f} s ({inflow['cpu_s']:.1f} s in "
          f"the run) | x{inflow['process_cpu_s'] / ss['process_cpu_s']:.2f} (<= 2)", flush=True)
    print(f"   localorg CPU (the server, same cores) simple-salesforce {ss['localorg_cpu_s']:.1f} s | inflow "
          f"{inflow['localorg_cpu_s']:.1f} s (Inflow also downloads every job's results)", flush=True)


def memory_bench(report: dict[str, Any], env: dict[str, str], creds: dict[str, str], work: Path, rows: int) -> None:
    small_rows = max(rows // 10, 1)
    small = work / "contacts_small.csv"
    write_source(small, small_rows)
    (work / "mem").mkdir(exist_ok=True)
    low = inflow_e2e(env, small, work / "mem", creds)
    high = report.get("e2e", {}).get("inflow")
    if high is None:
        (work / "mem2").mkdir(exist_ok=True)
        high = inflow_e2e(env, work / "contacts.csv", work / "mem2", creds)
    growth = high["peak_rss_mb"] / low["peak_rss_mb"]
    report["memory"] = {f"rss_mb_{small_rows}": low["peak_rss_mb"], f"rss_mb_{rows}": high["peak_rss_mb"],
                        "growth": round(growth, 3), "target": "< 400 MB at 1,000,000 rows; growth < 1.5x"}
    print(f"3. memory    inflow peak RSS {small_rows:,} rows {low['peak_rss_mb']:.0f} MB | {rows:,} rows "
          f"{high['peak_rss_mb']:.0f} MB | growth x{growth:.2f} (< 1.5; < 400 MB)", flush=True)


def rest_bench(report: dict[str, Any], env: dict[str, str], creds: dict[str, str], work: Path) -> None:
    src = work / "contacts_500.csv"
    write_source(src, 500)
    (work / "rest").mkdir(exist_ok=True)
    result = run_child("rest500", env, src=str(src), workdir=str(work / "rest"), **creds)
    report["rest500"] = result
    print(f"4. rest 500  enqueue -> finished {result['seconds']:.2f} s ({result['state']}, {result['succeeded']} ok, "
          f"api {result['api']})", flush=True)


def postgres_bench(report: dict[str, Any], env: dict[str, str], creds: dict[str, str], src: Path,
                   work: Path, repeat: int) -> None:
    """The same rows in a PostgreSQL table: Inflow's connector + mapping to Bulk CSV vs psycopg COPY out."""
    from benchmarks import pg

    dsn = pg.create_database(src)
    try:
        copies, inflows = [], []
        for _ in range(repeat):
            copies.append(run_child("pg_copy", env, dsn=dsn, table=pg.TABLE))
            inflows.append(run_child("pg_inflow", env, dsn=dsn, table=pg.TABLE, out=str(work / "pg_mapped.csv"),
                                     **creds))
    finally:
        pg.drop_database(dsn)
    c = max(r["rows"] / r["seconds"] for r in copies)
    i = max(r["rows"] / r["seconds"] for r in inflows)
    rss = max(r["peak_rss_mb"] for r in inflows)
    report["postgres"] = {"copy_rows_s": round(c), "inflow_rows_s": round(i), "ratio": round(i / c, 3),
                          "inflow_peak_rss_mb": rss, "copy_peak_rss_mb": max(r["peak_rss_mb"] for r in copies),
                          "inflow_errors": inflows[-1]["errors"], "rows": inflows[-1]["rows"], "runs": repeat,
                          # CPU seconds of the child (imports included) vary less than rows/s on a busy machine
                          "inflow_cpu_s": min(r["process_cpu_s"] for r in inflows),
                          "copy_cpu_s": min(r["process_cpu_s"] for r in copies),
                          "target": ">= 0.5, RSS < 300 MB"}
    print(f"5. postgres  COPY csv {c:>12,.0f} rows/s | inflow {i:>12,.0f} rows/s | ratio {i / c:.2f} (>= 0.5) | "
          f"inflow peak RSS {rss:.0f} MB (< 300; best of {repeat}) | inflow CPU {report['postgres']['inflow_cpu_s']} s",
          flush=True)


def machine() -> str:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def stop_redis(instance: Path) -> None:
    """The embedded Redis the children started (a daemon) goes with the benchmark."""
    sock = instance / "redis.sock"
    if sock.exists():
        import redis

        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
        except redis.RedisError:
            pass
        for _ in range(50):
            if not sock.exists():
                break
            time.sleep(0.1)


if __name__ == "__main__":
    main()
