"""Shared pieces of the benchmarks: the data, the mapping, a localorg in a child process, child runs."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = 1000
SOURCE_COLUMNS = ["First Name", "Last Name", "Email", "Phone", "Title", "Department", "Lead Source", "Birthdate",
                  "Mailing Street", "Mailing City", "Mailing Postal Code", "Description", "Account Key"]
# Three transforms (a formula, a value map, a day-first date format) and a lookup by external id.
MAPPING: dict[str, Any] = {
    "object": "Contact", "operation": "insert",
    "fields": [
        {"field": "FirstName", "column": "First Name"},
        {"field": "LastName", "column": "Last Name"},
        {"field": "Email", "formula": "LOWER([Email])"},
        {"field": "Phone", "column": "Phone"},
        {"field": "Title", "column": "Title"},
        {"field": "Department", "column": "Department"},
        {"field": "LeadSource", "column": "Lead Source",
         "value_map": {"web": "Web", "phone": "Phone Inquiry", "partner": "Partner Referral"}},
        {"field": "Birthdate", "column": "Birthdate"},
        {"field": "MailingStreet", "column": "Mailing Street"},
        {"field": "MailingCity", "column": "Mailing City"},
        {"field": "MailingPostalCode", "column": "Mailing Postal Code"},
        {"field": "Description", "column": "Description"},
        {"field": "AccountId", "column": "Account Key"},
    ],
    "lookups": [{"field": "AccountId", "parent_object": "Account", "match_field": "External_Id__c"}],
    "options": {"date_formats": ["eu_slash"]},
}
_FIELD = ('<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
          "<fullName>External_Id__c</fullName><externalId>true</externalId><label>External Id</label>"
          "<length>20</length><type>Text</type><unique>true</unique></CustomField>")
_SOURCES = ("web", "phone", "partner")
_CITIES = ("Berlin", "Frankfurt am Main", "Dallas", "Sydney", "Zürich")


def write_source(path: Path, rows: int) -> int:
    """The raw CSV (about 172 bytes a row: 1,000,000 rows are 172 MB); returns its size in bytes."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(",".join(SOURCE_COLUMNS) + "\n")
        for start in range(0, rows, 10_000):
            f.write("".join(
                f"Ann{i % 977},Lee-Smith{i},Ann.Lee{i}@Example.com,+1 555 {i % 10000:04d},Engineer,"
                f"Product Development,{_SOURCES[i % 3]},{i % 28 + 1:02d}/{i % 12 + 1:02d}/19{50 + i % 50},"
                f"{i % 9999} Long Street Apt {i % 97},{_CITIES[i % 5]},{10000 + i % 89999},"
                f"\"Import, row {i}\",A{i % ACCOUNTS}\n"
                for i in range(start, min(rows, start + 10_000))))
    return path.stat().st_size


class LocalOrg:
    """`python -m sfdx.localorg` in a child process with one org, `bench`, whose Account has External_Id__c."""

    def __init__(self, workdir: Path, *, latency_ms: int = 0) -> None:
        tree = workdir / "tree/objects/Account/fields"
        tree.mkdir(parents=True, exist_ok=True)
        (tree / "External_Id__c.field-meta.xml").write_text(_FIELD)
        self.state_file = workdir / "localorg.json"
        self.state_file.unlink(missing_ok=True)  # a state file left by an earlier run is not this server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sfdx.localorg", "--state-file", str(self.state_file), "--source-dir",
             str(workdir / "tree"), "--org", "bench", "--latency-ms", str(latency_ms)], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not self._ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("localorg did not start: " + (self.proc.stderr.read() or b"").decode()[-2000:])
            time.sleep(0.2)
        self.state = json.loads(self.state_file.read_text())
        self.org = self.state["orgs"]["bench"]
        self.ca_bundle = self.state["ca_bundle"]

    def _ready(self) -> bool:
        try:
            return "bench" in json.loads(self.state_file.read_text()).get("orgs", {})
        except (OSError, ValueError):
            return False

    def session(self) -> requests.Session:
        s = requests.Session()
        s.verify, s.trust_env = self.state["ca_cert"], False
        s.headers["Authorization"] = f"Bearer {self.org['access_token']}"
        return s

    def seed_accounts(self, count: int = ACCOUNTS) -> None:
        s, base = self.session(), self.org["instance_url"] + "/services/data/v66.0"
        for start in range(0, count, 200):
            records = [{"attributes": {"type": "Account"}, "Name": f"Account {i}", "External_Id__c": f"A{i}"}
                       for i in range(start, min(count, start + 200))]
            r = s.post(f"{base}/composite/sobjects", json={"allOrNone": True, "records": records}, timeout=60)
            r.raise_for_status()

    def count(self, sobject: str) -> int:
        s, base = self.session(), self.org["instance_url"] + "/services/data/v66.0"
        return s.get(f"{base}/query", params={"q": f"SELECT COUNT() FROM {sobject}"}, timeout=300).json()["totalSize"]

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def cpu_s(self) -> float:
        """User + system CPU seconds localorg has used so far (all its threads)."""
        import psutil

        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_child(kind: str, env: dict[str, str], **args: Any) -> dict[str, Any]:
    """Run one measurement in its own process (its peak RSS is its own); returns its JSON result, with
    `process_cpu_s`: user + system CPU of the child's whole process tree (imports and setup included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the running localorg is not reaped: not counted
    proc = subprocess.run([sys.executable, "-m", "benchmarks.child", kind, json.dumps(args)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark {kind} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(lines[-1])
    result["process_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    return result
