"""localorg throughput: Bulk API 2.0 ingest of N Contacts (12 columns, Account looked up by external id)
and REST sObject Collections, each timed end to end over HTTPS against a localorg in a child process.

    .venv/bin/python benchmarks/localorg_bulk.py [--rows 1000000] [--accounts 1000] [--rest-records 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
MAX_JOB_BYTES = 100 * 1024 * 1024 - 1024 * 1024   # what simple-salesforce puts in one Bulk 2.0 job
HEADER = ("FirstName,LastName,Email,Phone,Title,Department,LeadSource,Birthdate,MailingCity,MailingPostalCode,"
          "HasOptedOutOfEmail,Account.External_Id__c")


def serve(state_file: str) -> None:
    """Child process: one org 'bench' whose Account has External_Id__c; runs until killed."""
    sys.path.insert(0, str(ROOT))
    from sfdx.localorg import LocalOrgServer
    from sfdx.localorg.fieldkit import text
    from sfdx.localorg.org import Knobs

    srv = LocalOrgServer(state_file=state_file, knobs=Knobs(api_allowance=10**9)).start()
    org = srv.create_org("bench")
    org.define_object("Account", fields=[text("External_Id__c", 255, "External Id", external_id=True,
                                              unique=True, custom=True)])
    srv.write_state()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def contact_chunks(rows: int, accounts: int) -> list[bytes]:
    """The Contact CSV split into uploads of at most ~99 MB, like simple-salesforce's _split_csv."""
    chunks, lines, size = [], [HEADER + "\n"], 0
    for i in range(rows):
        line = (f"First{i % 977},Last{i},c{i}@example.com,+1 555 {i % 10000:04d},Engineer,R&D,Web,"
                f"1980-{i % 12 + 1:02d}-{i % 28 + 1:02d},Berlin,{10000 + i % 89999},false,A{i % accounts}\n")
        lines.append(line)
        size += len(line)
        if size >= MAX_JOB_BYTES:
            chunks.append("".join(lines).encode())
            lines, size = [HEADER + "\n"], 0
    if len(lines) > 1:
        chunks.append("".join(lines).encode())
    return chunks


class Client:
    def __init__(self, state: dict) -> None:
        info = state["orgs"]["bench"]
        self.base = info["instance_url"] + "/services/data/v66.0"
        self.s = requests.Session()
        self.s.verify, self.s.trust_env = state["ca_cert"], False
        self.s.headers["Authorization"] = f"Bearer {info['access_token']}"
        self.upload_seconds = 0.0
        self.processing_ms = 0

    def bulk_job(self, obj: str, data: bytes, op: str = "insert") -> dict:
        job = self.s.post(f"{self.base}/jobs/ingest", json={"object": obj, "operation": op}).json()
        url = f"{self.base}/jobs/ingest/{job['id']}"
        started = time.monotonic()
        r = self.s.put(url + "/batches", data=data, headers={"Content-Type": "text/csv"})
        assert r.status_code == 201, r.text
        self.upload_seconds += time.monotonic() - started
        self.s.patch(url, json={"state": "UploadComplete"})
        while True:
            info = self.s.get(url).json()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                self.processing_ms += info["totalProcessingTime"]
                return info
            time.sleep(0.2)


def bench_bulk(c: Client, rows: int, accounts: int) -> None:
    acc = "Name,External_Id__c\n" + "".join(f"Account {i},A{i}\n" for i in range(accounts))
    info = c.bulk_job("Account", acc.encode())
    assert info["numberRecordsFailed"] == 0, info
    chunks = contact_chunks(rows, accounts)
    c.upload_seconds, c.processing_ms = 0.0, 0
    started = time.monotonic()
    done = failed = 0
    for data in chunks:
        info = c.bulk_job("Contact", data)
        done += info["numberRecordsProcessed"]
        failed += info["numberRecordsFailed"]
    elapsed = time.monotonic() - started
    print(f"bulk2 ingest: {done:,} Contact rows in {len(chunks)} job(s), {failed} failed: "
          f"{elapsed:.1f} s, {done / elapsed:,.0f} rows/s "
          f"(uploads {c.upload_seconds:.1f} s, server processing {c.processing_ms / 1000:.1f} s)")


def bench_rest(c: Client, total: int) -> None:
    started = time.monotonic()
    for start in range(0, total, 200):
        records = [{"attributes": {"type": "Contact"}, "LastName": f"Rest{i}", "Email": f"r{i}@example.com"}
                   for i in range(start, min(total, start + 200))]
        r = c.s.post(f"{c.base}/composite/sobjects", json={"allOrNone": False, "records": records})
        assert r.status_code == 200 and all(x["success"] for x in r.json()), r.text[:300]
    elapsed = time.monotonic() - started
    print(f"REST collections: {total:,} records in {total // 200} calls: {elapsed:.1f} s, "
          f"{total / elapsed:,.0f} records/s")


def server_cpu_seconds(pid: int) -> float:
    """utime + stime of the localorg process (what the work costs, whatever else loads the machine)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        line = next(line for line in fh if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--rest-records", type=int, default=20_000)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args.serve)
    state_file = Path(tempfile.mkdtemp(prefix="localorg-bench-")) / "state.json"
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(state_file)], stdout=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        c = Client(json.loads(state_file.read_text()))
        cpu = server_cpu_seconds(child.pid)
        bench_bulk(c, args.rows, args.accounts)
        print(f"server CPU during bulk: {server_cpu_seconds(child.pid) - cpu:.1f} s; load average now "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"server RSS after bulk: {server_rss_mb(child.pid):,.0f} MB")
        if args.rest_records:
            bench_rest(c, args.rest_records)
    finally:
        child.terminate()
        child.wait(timeout=10)
    print(f"client peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
