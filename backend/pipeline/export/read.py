"""Reading an export's rows from Salesforce: REST query pages or Bulk API 2.0 query result pages, as Arrow tables.

`read_rows` chooses like the import's sink chooser: a REST probe capped at 2,001 rows says whether the
result fits in 2,000; one that fits is read over REST (`nextRecordsUrl` if Salesforce pages it), a larger
one through a Bulk 2.0 query job whose results are fetched page by page with `Sforce-Locator` (one page in
memory at a time, the next one fetched in a thread while the current one is written). Every column is a
string column named as the SELECT item.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from backend.errors import FatalSalesforceError
from backend.pipeline.export.soql import ExportQuery, with_limit

BULK_THRESHOLD = 2000  # rows; the same line the import's sink chooser draws between REST and Bulk 2.0
PAGE_RECORDS = 50000  # Bulk result page size (maxRecords): bounded memory, few round trips
POLL_START, POLL_MAX = 0.2, 5.0
APIS = ("auto", "rest", "bulk2")
# A cell starting with a formula character, quoted or not, at a line or cell start (a few false alarms,
# such as a negative number, only send the page the slow way).
_RISKY_START = re.compile(rb'(?:[,\n])"?[=+\-@\t\r\x00]')


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
        yield from _bulk2(client, query, names, state, page_records)
        return
    # The probe asks for one row more than REST should carry: more than that many means Bulk, and a
    # result that fits is already here (no second query over the same rows).
    probe = replace(query, soql=with_limit(query.soql, BULK_THRESHOLD + 1)) if api == "auto" else query
    first = _rest_page(client, probe, None)
    state.total = int(first.get("totalSize") or 0)
    if api == "auto" and state.total > BULK_THRESHOLD:
        state.total = None  # the probe only knows "more than the threshold"; the Bulk job tells the count
        yield from _bulk2(client, query, names, state, page_records)
        return
    state.api = "rest"
    page: dict[str, Any] | None = first
    while page is not None:
        yield _records_table(page.get("records") or [], names)
        nxt = page.get("nextRecordsUrl")
        page = _rest_page(client, query, nxt) if nxt and not page.get("done", True) else None


def _rest_page(client: Any, query: ExportQuery, next_url: str | None) -> dict[str, Any]:
    if next_url:
        return client.json("GET", next_url)
    return client.json("GET", "queryAll/" if query.include_deleted else "query/", params={"q": query.soql})


def _value(record: Any, path: str) -> Any:
    """A dotted path through nested parent records, matching keys without regard to case."""
    for part in path.split("."):
        if not isinstance(record, dict):
            return None
        if part in record:
            record = record[part]
            continue
        lower = part.lower()
        record = next((v for k, v in record.items() if k.lower() == lower), None)
    return record


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):  # a null parent or a compound left whole
        return None if value is None else ";".join(f"{k}={v}" for k, v in value.items() if k != "attributes")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _records_table(records: list[dict[str, Any]], names: list[str]) -> pa.Table:
    return pa.table({n: pa.array([_text(_value(r, n)) for r in records], pa.string()) for n in names})


# ---- Bulk API 2.0 query -------------------------------------------------------------------------
def _bulk2(client: Any, query: ExportQuery, names: list[str], state: ReadState,
           page_records: int) -> Iterator[BulkPage]:
    state.api = "bulk2"
    job = client.json("POST", "jobs/query", json={
        "operation": "queryAll" if query.include_deleted else "query", "query": query.soql,
        "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})
    state.job_id = job["id"]
    info = _wait(client, job["id"])
    state.total = int(info.get("numberRecordsProcessed") or 0)
    with ThreadPoolExecutor(1, thread_name_prefix="export-page") as pool:
        pending: Future[tuple[bytes, str | None, int | None]] | None = pool.submit(
            _page, client, job["id"], None, page_records)
        while pending is not None:
            body, locator, count = pending.result()
            pending = pool.submit(_page, client, job["id"], locator, page_records) if locator else None
            header_end = body.find(b"\n")
            if count != 0 and 0 <= header_end < len(body) - 1:  # rows after the header line
                yield BulkPage(body, names, count, any(c.type == "datetime" for c in query.columns))
            del body


@dataclass
class BulkPage:
    """One Bulk result page as Salesforce sent it (header line, then rows; `rows` from Sforce-NumberOfRecords)."""

    body: bytes
    names: list[str]
    rows: int | None
    datetimes: bool = False  # the query has datetime columns

    def table(self) -> pa.Table:
        return _csv_table(self.body, self.names)

    def plain_rows(self) -> bytes | None:
        """The rows as a CSV export holds them, or None when a cell may need escaping (or the shape is unusual):
        then the page goes through `table()` and the cell rules. Salesforce quotes every value and sends
        datetimes in UTC with a `Z`, which is what the rules would write, so a clean page passes as it came."""
        end = self.body.find(b"\n")
        if self.rows is None or end < 0 or _RISKY_START.search(self.body, end):
            return None
        if self.datetimes and b'+0000"' in self.body:  # datetimes with an offset instead of Z: normalise them
            return None
        if len(next(csv.reader([self.body[:end].decode("utf-8-sig")]))) != len(self.names):
            return None
        rows = self.body[end + 1:]
        return rows if rows.endswith(b"\n") else rows + b"\n"


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


def _page(client: Any, job_id: str, locator: str | None, size: int) -> tuple[bytes, str | None, int | None]:
    params = {"maxRecords": size, **({"locator": locator} if locator else {})}
    resp = client.request("GET", f"jobs/query/{job_id}/results", params=params,
                          headers={"Accept": "text/csv", "Accept-Encoding": client.result_encoding})
    nxt, count = resp.headers.get("Sforce-Locator"), resp.headers.get("Sforce-NumberOfRecords", "")
    return resp.content, (nxt if nxt and nxt != "null" else None), (int(count) if count.isdigit() else None)


def _csv_table(body: bytes, names: list[str]) -> pa.Table:
    """One result page (header line, then quoted rows) as string columns renamed to our SELECT items."""
    header_end = body.find(b"\n")
    if header_end < 0 or header_end + 1 >= len(body):
        return pa.table({n: pa.array([], pa.string()) for n in names})
    header = next(csv.reader([body[:header_end].decode("utf-8-sig")]))
    theirs = [f"c{i}" for i in range(len(header))]
    table = pacsv.read_csv(
        io.BytesIO(body), read_options=pacsv.ReadOptions(column_names=theirs, skip_rows=1, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(theirs, pa.string()),
                                             null_values=[""], strings_can_be_null=True,
                                             quoted_strings_can_be_null=True))  # "" is Bulk's null
    return table.rename_columns(names if len(names) == len(header) else header)
