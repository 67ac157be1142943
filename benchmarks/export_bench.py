"""The `export` comparison: Contacts out of localorg into CSV through Bulk 2.0 query, Inflow vs simple-salesforce."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.common import run_child

MARK = "Export bench"  # the seeded rows' Department: the query reads exactly them, whatever else the org holds
COLUMNS = "FirstName, LastName, Email, Phone, Title, MailingCity, Description, Birthdate, CreatedDate"
SOQL = f"SELECT Id, {COLUMNS} FROM Contact WHERE Department = '{MARK}'"


def seed(src: str, instance_url: str, token: str, rows: int, **_: Any) -> dict[str, Any]:
    """`rows` Contacts through simple-salesforce's Bulk 2.0 insert (not measured). A child of its own: Linux
    keeps a process's peak RSS across fork and exec, so the parent must stay small for the children's figures."""
    import requests
    from simple_salesforce import Salesforce

    with open(src, "w", encoding="utf-8", newline="") as f:
        f.write("FirstName,LastName,Email,Phone,Title,MailingCity,Description,Birthdate,Department\n")
        for start in range(0, rows, 10_000):
            f.write("".join(f"Ann{i % 977},Lee-Smith{i},ann.lee{i}@example.com,+1 555 {i % 10000:04d},"
                            f"{'=Engineer' if i % 100 == 0 else 'Engineer'},Zürich,\"Exported, row {i}\","
                            f"19{50 + i % 50}-{i % 12 + 1:02d}-{i % 28 + 1:02d},{MARK}\n"
                            for i in range(start, min(rows, start + 10_000))))
    session = requests.Session()
    session.verify, session.trust_env = os.environ["REQUESTS_CA_BUNDLE"], False
    sf = Salesforce(instance_url=instance_url, session_id=token, session=session, version="66.0")
    results = sf.bulk2.Contact.insert(csv_file=src, batch_size=400_000)
    os.unlink(src)
    return {"rows": sum(r["numberRecordsProcessed"] for r in results)}


def export_bench(report: dict[str, Any], env: dict[str, str], creds: dict[str, str], work: Path, rows: int) -> None:
    run_child("export_seed", env, src=str(work / "export_seed.csv"), rows=rows, **creds)
    ss = run_child("export_ss", env, soql=SOQL, out=str(work / "export_ss"), **creds)
    inflow = run_child("export_inflow", env, soql=SOQL, out=str(work / "export_inflow.csv"), **creds)
    small = run_child("export_inflow", env, soql=f"{SOQL} LIMIT {max(rows // 10, 2001)}",
                      out=str(work / "export_small.csv"), **creds)
    report["export"] = {"simple_salesforce": ss, "inflow": inflow, "inflow_tenth": small,
                        "time_ratio": round(inflow["seconds"] / ss["seconds"], 3),
                        "rss_ratio": round(inflow["peak_rss_mb"] / ss["peak_rss_mb"], 3),
                        "rss_growth_10x_rows": round(inflow["peak_rss_mb"] / small["peak_rss_mb"], 3),
                        "target": "time <= 1.1x, lower RSS, flat in rows",
                        "load_average": [round(x, 1) for x in os.getloadavg()]}
    print(f"5. export    simple-salesforce {ss['seconds']:8.1f} s {ss['peak_rss_mb']:7.0f} MB | inflow "
          f"{inflow['seconds']:8.1f} s {inflow['peak_rss_mb']:7.0f} MB | time x{inflow['seconds'] / ss['seconds']:.2f} "
          f"(<= 1.1), rss x{inflow['peak_rss_mb'] / ss['peak_rss_mb']:.2f} (< 1); inflow {inflow['rows']:,} rows "
          f"via {inflow['api']}; peak RSS at a tenth of the rows {small['peak_rss_mb']:.0f} MB", flush=True)
