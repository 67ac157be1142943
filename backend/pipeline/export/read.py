"""Reading an export's rows from Salesforce: REST query pages or Bulk API 2.0 query result pages, as Arrow tables.

`read_rows` chooses like the import's sink chooser: a REST probe capped at 2,001 rows says whether the
result fits in 2,000; one that fits is read over REST (`nextRecordsUrl` if Salesforce pages it), a larger
one through a Bulk 2.0 query job whose results are fetched page by page with `Sforce-Locator` (the page
being written, and the next one fetched in a thread meanwhile). REST pages are Arrow tables of string
columns named as the SELECT items; Bulk pages stay bytes (`BulkPage`) until a page needs a table.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.errors import FatalSalesforceError
from backend.pipeline.export import bulk_csv
from backend.pipeline.export.soql import Column, ExportQuery, with_limit

if TYPE_CHECKING:
    import pyarrow as pa

BULK_THRESHOLD = 2000  # rows; the same line the import's sink chooser draws between REST and Bulk 2.0
PAGE_RECORDS = 25000  # Bulk result page size (maxRecords): two pages (written, fetched) of ~4 MB in memory
POLL_START, POLL_MAX = 0.2, 5.0
APIS = ("auto", "rest", "bulk2")


@dataclass
class ReadState:
    """What the reader learned: the API used and the row count Salesforce announced (None until known)."""

    api: str = ""
    total: int | None = None
    job_id: str | None = None


def read_rows(client: Any, query: ExportQuery, state: ReadState, api: str = "auto",
              page_records: int = PAGE_RECORDS) -> Iterator[pa.Table | BulkPage]:
    """Tables of string columns (REST) or Bulk pages (`BulkPage.table()`), in result order."""
    names = [c.name for c in query.columns]
    if api == "bulk2":
        yield from _bulk2(client, query, state, page_records)
        return
    # The probe asks for one row more than REST should carry: more than that many means Bulk, and a
    # result that fits is already here (no second query over the same rows).
    probe = replace(query, soql=with_limit(query.soql, BULK_THRESHOLD + 1)) if api == "auto" else query
    first = _rest_page(client, probe, None)
    state.total = int(first.get("totalSize") or 0)
    if api == "auto" and state.total > BULK_THRESHOLD:
        state.total = None  # the probe only knows "more than the threshold"; the Bulk job tells the count
        del first  # its 2,001 records would otherwise stay in memory for the whole export
        yield from _bulk2(client, query, state, page_records)
        return
    state.api = "rest"
    from backend.pipeline.export.tables import records_table  # pyarrow: REST pages are tables

    page: dict[str, Any] | None = first
    while page is not None:
        yield records_table(page.get("records") or [], names)
        nxt = page.get("nextRecordsUrl")
        page = _rest_page(client, query, nxt) if nxt and not page.get("done", True) else None


def _rest_page(client: Any, query: ExportQuery, next_url: str | None) -> dict[str, Any]:
    if next_url:
        return client.json("GET", next_url)
    return client.json("GET", "queryAll/" if query.include_deleted else "query/", params={"q": query.soql})


# ---- Bulk API 2.0 query -------------------------------------------------------------------------
def _bulk2(client: Any, query: ExportQuery, state: ReadState, page_records: int) -> Iterator[BulkPage]:
    state.api = "bulk2"
    job = client.json("POST", "jobs/query", json={
        "operation": "queryAll" if query.include_deleted else "query", "query": query.soql,
        "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})
    state.job_id = job["id"]
    info = _wait(client, job["id"])
    state.total = int(info.get("numberRecordsProcessed") or 0)
    with ThreadPoolExecutor(1, thread_name_prefix="export-page") as pool:
        pending: Future[tuple[bytearray, str | None, int | None]] | None = pool.submit(
            _page, client, job["id"], None, page_records)
        while pending is not None:
            body, locator, count = pending.result()
            pending = pool.submit(_page, client, job["id"], locator, page_records) if locator else None
            header_end = body.find(b"\n")
            if count != 0 and 0 <= header_end < len(body) - 1:  # rows after the header line
                yield BulkPage(body, query.columns, count)
            del body


@dataclass
class BulkPage:
    """One Bulk result page as Salesforce sent it (header line, then rows; `rows` from Sforce-NumberOfRecords)."""

    body: bytes | bytearray
    columns: list[Column]
    rows: int | None

    def table(self) -> pa.Table:
        from backend.pipeline.export.tables import csv_table

        return csv_table(self.body, [c.name for c in self.columns])

    def csv_rows(self, tz: ZoneInfo | None) -> Iterator[bytes | bytearray | memoryview] | None:
        """The rows as a CSV export writes them, in pieces, or None: then the page goes through `table()`."""
        if self.rows is None:
            return None
        return bulk_csv.rows_as_written(self.body, self.columns, local_time=tz is not None)


def _wait(client: Any, job_id: str) -> dict[str, Any]:
    delay = POLL_START
    while True:
        info = client.json("GET", f"jobs/query/{job_id}")
        if info["state"] == "JobComplete":
            return info
        if info["state"] in ("Failed", "Aborted"):
            raise FatalSalesforceError(f"The Bulk API query job {info['state'].lower()}: "
                                       f"{info.get('errorMessage') or 'no reason given'}")
        time.sleep(delay)
        delay = min(delay * 1.5, POLL_MAX)


def _page(client: Any, job_id: str, locator: str | None, size: int) -> tuple[bytearray, str | None, int | None]:
    params = {"maxRecords": size, **({"locator": locator} if locator else {})}
    body, headers = client.download(f"jobs/query/{job_id}/results", params=params,
                                    headers={"Accept": "text/csv", "Accept-Encoding": client.result_encoding})
    nxt, count = headers.get("Sforce-Locator"), headers.get("Sforce-NumberOfRecords", "")
    return body, (nxt if nxt and nxt != "null" else None), (int(count) if count.isdigit() else None)
