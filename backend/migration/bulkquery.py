"""A step's source rows through a Bulk API 2.0 query job: CSV pages parsed by pyarrow into chunks.

Large objects read this way instead of REST query pages of 2,000 JSON records: the CSV is parsed
vectorised (no Python object per cell), and a page is as many rows as a chunk.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from backend.errors import SourceError
from backend.pipeline.chunk import STRING_DTYPE, Chunk
from backend.salesforce.client import SalesforceClient

TERMINAL = ("JobComplete", "Failed", "Aborted")
POLL_MAX = 2.0


def start_query(client: SalesforceClient, soql: str) -> str:
    """Create the query job; Salesforce runs it while we do other work (the steps before this one)."""
    job = client.json("POST", "jobs/query", json={"operation": "query", "query": soql, "contentType": "CSV"})
    return str(job["id"])


def bulk_query_chunks(client: SalesforceClient, job_id: str, names: list[str], columns: list[str],
                      chunk_rows: int) -> Iterator[Chunk]:
    """Chunks of the job's rows with `names` (the SELECT list, in order) renamed to `columns`."""
    info, wait = client.json("GET", f"jobs/query/{job_id}"), 0.2
    while info.get("state") not in TERMINAL:
        time.sleep(wait)
        wait = min(POLL_MAX, wait * 1.5)
        info = client.json("GET", f"jobs/query/{job_id}")
    if info["state"] != "JobComplete":
        raise SourceError(f"The source org's query job ended {info['state']}: {info.get('errorMessage') or ''}")
    locator, start = None, 1
    types = {n: pa.string() for n in names}
    try:
        while True:
            params = {"maxRecords": chunk_rows, **({"locator": locator} if locator else {})}
            resp = client.request("GET", f"jobs/query/{job_id}/results", params=params)
            table = pacsv.read_csv(io.BytesIO(resp.content), convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False))
            frame = table.select(names).to_pandas(types_mapper={pa.string(): STRING_DTYPE}.get)
            frame.columns = columns
            yield Chunk(frame, np.arange(start, start + len(frame), dtype=np.int64))
            start += len(frame)
            locator = resp.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return
    finally:
        try:
            client.request("DELETE", f"jobs/query/{job_id}")
        except Exception:  # noqa: BLE001 - a job left behind expires by itself after 7 days
            pass
