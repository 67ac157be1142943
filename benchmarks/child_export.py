"""Export measurements, one per process: Inflow's export engine and simple-salesforce's Bulk 2.0 download."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def export_inflow(soql: str, out: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """What `flask --app backend inflow export --soql ... --out FILE.csv` runs: the query checked against
    describe, REST or Bulk 2.0 chosen by size (a REST probe first), cells prepared, one CSV file."""
    from backend.pipeline.export import DownloadTarget, check_query, run_export
    from backend.salesforce.client import SalesforceClient

    client = SalesforceClient(instance_url, token, ca_bundle=os.environ["REQUESTS_CA_BUNDLE"])
    started = time.perf_counter()
    with open(out, "wb") as f:
        query = check_query(soql, client.describe)
        result = run_export(client, query, DownloadTarget("csv", lambda: f))
    return {"seconds": time.perf_counter() - started, "rows": result.rows, "api": result.api,
            "file_mb": round(Path(out).stat().st_size / 1e6, 1),
            "pyarrow_loaded": "pyarrow" in sys.modules}  # a page took the Arrow path (bulk_csv could not)


def export_ss(soql: str, out: str, instance_url: str, token: str, **_: Any) -> dict[str, Any]:
    """simple-salesforce's Bulk 2.0 query to files, as its README shows (one file per 50,000-row page)."""
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify, session.trust_env = os.environ["REQUESTS_CA_BUNDLE"], False
    sf = Salesforce(instance_url=instance_url, session_id=token, session=session, version="66.0")
    Path(out).mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = sf.bulk2.Contact.download(soql, path=out)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(out).iterdir())
    return {"seconds": seconds, "rows": sum(r["number_of_records"] for r in results), "files": len(results),
            "file_mb": round(size / 1e6, 1)}


def _seed(**args: Any) -> dict[str, Any]:
    from benchmarks.export_bench import seed

    return seed(**args)


KINDS = {"export_inflow": export_inflow, "export_ss": export_ss, "export_seed": _seed}
