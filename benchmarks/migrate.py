"""`.venv/bin/python -m benchmarks.migrate [--accounts N --contacts M]`: org to org between two localorg orgs.

One localorg child process with two orgs (`src`, `dst`). The source gets N Accounts and M Contacts (each
Contact under an Account) through Bulk 2.0; then, each in its own process (its peak RSS its own):
1. the migration: `Migration` with a plan of Account and Contact (REST query from `src`, Bulk 2.0 into `dst`);
2. the baseline: a plain Bulk 2.0 import (`runner.run`, api bulk2) of the same Contact rows, as a CSV with the
   target's Account Ids, into `dst`.
Prints wall times, peak RSS, the Contacts step against the baseline, and whether every migrated Contact
sits under the Account of the same name as in the source.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLAN = {"steps": [{"object": "Account", "fields": ["Name", "Phone", "Industry"]},
                  {"object": "Contact", "fields": ["FirstName", "LastName", "Email", "Phone", "Title", "AccountId"]}],
        "api": "auto"}
CONTACT_FIELDS = PLAN["steps"][1]["fields"]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.migrate", description=__doc__)
    p.add_argument("--accounts", type=int, default=2_000, help="Accounts in the source (full size: 100000)")
    p.add_argument("--contacts", type=int, default=6_000, help="Contacts in the source (full size: 300000)")
    p.add_argument("--workdir", type=Path, default=None, help="keep files here (default: a temp dir, removed)")
    p.add_argument("--child", nargs=2, metavar=("KIND", "ARGS_JSON"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _client(org: dict[str, Any]) -> Any:
    from backend.salesforce.client import SalesforceClient

    return SalesforceClient(org["instance_url"], org["access_token"], ca_bundle=os.environ["REQUESTS_CA_BUNDLE"])


def _bulk_insert(client: Any, sobject: str, header: list[str], rows: list[list[str]]) -> None:
    for start in range(0, len(rows), 100_000):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows[start:start + 100_000])
        job = client.bulk2_create_job(sobject, "insert")
        client.bulk2_upload(job["id"], buf.getvalue().encode())
        client.bulk2_set_state(job["id"], "UploadComplete")
        while (state := client.bulk2_job(job["id"])["state"]) not in ("JobComplete", "Failed", "Aborted"):
            time.sleep(0.5)
        if state != "JobComplete":
            raise RuntimeError(f"seeding {sobject} ended {state}")


def seed(org: dict[str, Any], accounts: int, contacts: int) -> None:
    client = _client(org)
    _bulk_insert(client, "Account", ["Name", "Phone", "Industry"],
                 [[f"Account {i}", f"+49 30 {i:06d}", "Banking" if i % 2 else "Energy"] for i in range(accounts)])
    ids = [r["Id"] for r in client.query("SELECT Id FROM Account")]
    _bulk_insert(client, "Contact", ["FirstName", "LastName", "Email", "Phone", "Title", "AccountId"],
                 [[f"Ann{i % 977}", f"Lee{i}", f"ann{i}@example.com", f"+1 555 {i % 10000:04d}", "Engineer",
                   ids[i % len(ids)]] for i in range(contacts)])


def child_migrate(src: dict[str, Any], dst: dict[str, Any], work: str) -> dict[str, Any]:
    from backend.migration.engine import Migration
    from backend.migration.plan import Plan
    from backend.runs.files import DirResultParts
    from backend.runs.journal import MemoryJournal

    parts = DirResultParts(Path(work))
    started = time.perf_counter()
    try:
        result = Migration(Plan.from_dict(PLAN), _client(dst), _client(src), journal=MemoryJournal(),
                           parts=parts).run()
    finally:
        parts.cleanup()
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": _peak(),
            "steps": {s.object: {"rows": s.read, "inserted": s.inserted, "failed": s.failed, "seconds": s.seconds}
                      for s in result.steps}}


def child_baseline(dst: dict[str, Any], src_csv: str, work: str) -> dict[str, Any]:
    from backend.pipeline import runner
    from backend.pipeline.mapping import FieldMapping, Mapping
    from backend.pipeline.sources import create_source
    from backend.runs.files import DirResultParts
    from backend.runs.journal import MemoryJournal

    mapping = Mapping("Contact", fields=[FieldMapping(f, column=f) for f in CONTACT_FIELDS])
    parts = DirResultParts(Path(work))
    with open(src_csv, "rb") as f:
        source = create_source("csv", {}, open_stream=f)
        started = time.perf_counter()
        try:
            result = runner.run(runner.RunContext(source=source, mapping=mapping, client=_client(dst), api="bulk2",
                                                  journal=MemoryJournal(), results=parts))
        finally:
            parts.cleanup()
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mb": _peak(), "rows": result.rows_read,
            "failed": result.failed}


def _peak() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def baseline_rows(dst: dict[str, Any], path: Path) -> None:
    """The migrated Contacts as a plain import would send them: the same values, the target's Account Ids."""
    client = _client(dst)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CONTACT_FIELDS)
        for r in client.query(f"SELECT {', '.join(CONTACT_FIELDS)} FROM Contact"):
            w.writerow([r.get(c) or "" for c in CONTACT_FIELDS])


def intact(src: dict[str, Any], dst: dict[str, Any]) -> bool:
    """Every Contact (by e-mail) sits under the Account of the same name in both orgs."""
    def family(org: dict[str, Any]) -> dict[str, str]:
        client = _client(org)
        names = {r["Id"]: r["Name"] for r in client.query("SELECT Id, Name FROM Account")}
        contacts = client.query("SELECT Email, AccountId FROM Contact")
        return {r["Email"]: names.get(r["AccountId"], "?") for r in contacts}
    return family(src) == family(dst)


def run_child(kind: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.migrate", "--child", kind, json.dumps(args)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def start_localorg(work: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    state = work / "localorg.json"
    proc = subprocess.Popen([sys.executable, "-m", "sfdx.localorg", "--state-file", str(state), "--seed", "none",
                             "--org", "src", "--org", "dst"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            data = json.loads(state.read_text())
            if {"src", "dst"} <= set(data.get("orgs", {})):
                return proc, data
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("localorg did not start")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        kind, data = args.child[0], json.loads(args.child[1])
        print(json.dumps(child_migrate(**data) if kind == "migrate" else child_baseline(**data)), flush=True)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="inflow-bench-migrate-"))
    work.mkdir(parents=True, exist_ok=True)
    proc, state = start_localorg(work)
    try:
        os.environ["REQUESTS_CA_BUNDLE"] = state["ca_bundle"]
        env = {"REQUESTS_CA_BUNDLE": state["ca_bundle"]}
        src, dst = state["orgs"]["src"], state["orgs"]["dst"]
        t = time.perf_counter()
        seed(src, args.accounts, args.contacts)
        print(f"seeded {args.accounts:,} Accounts and {args.contacts:,} Contacts in {time.perf_counter() - t:.0f} s",
              flush=True)
        migrated = run_child("migrate", {"src": src, "dst": dst, "work": str(work)}, env)
        report: dict[str, Any] = {"accounts": args.accounts, "contacts": args.contacts, "migration": migrated,
                                  "relationships_intact": intact(src, dst)}
        baseline_rows(dst, work / "contacts.csv")
        base = run_child("baseline", {"dst": dst, "src_csv": str(work / "contacts.csv"), "work": str(work)}, env)
        report["bulk2_import_of_the_same_contacts"] = base
        report["contacts_step_vs_plain_import"] = round(migrated["steps"]["Contact"]["seconds"] / base["seconds"], 2)
        print(json.dumps(report, indent=2), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
