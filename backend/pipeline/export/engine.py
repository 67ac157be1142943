"""run_export(client, query, target): rows from Salesforce, cells prepared, written to the target.

The watermark an incremental job keeps is Salesforce's clock when the query started (the Date header of
the describe calls just before): a record changed while the export reads has a later SystemModstamp and
is picked up next time, so nothing falls between two runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from backend.pipeline.export.read import PAGE_RECORDS, BulkPage, ReadState, read_rows
from backend.pipeline.export.soql import ExportQuery, with_limit
from backend.pipeline.export.targets import ExportTarget
from backend.pipeline.export.writers import ExportWriter
from backend.pipeline.export.zones import zone
from backend.pipeline.memory import give_back, lean_allocators

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class ExportProgress:
    rows: int
    total: int | None
    api: str


@dataclass
class ExportResult:
    rows: int
    api: str
    started_at: datetime  # Salesforce's time when the query began: the next incremental run's watermark


def run_export(client: Any, query: ExportQuery, target: ExportTarget, *, time_zone: str | None = None,
               api: str = "auto", progress: Callable[[ExportProgress], None] | None = None,
               page_records: int = PAGE_RECORDS) -> ExportResult:
    tz = zone(time_zone)
    lean_allocators()  # as the import's runner: freed page buffers go back to the OS (docs/benchmarks.md)
    started = client.server_time() or datetime.now(UTC)
    state, rows = ReadState(), 0
    writer = None
    try:
        for page in read_rows(client, query, state, api, page_records):
            if writer is None:
                writer = target.open(query.columns)
            rows += _write(writer, page, query, tz)
            del page
            give_back()
            if progress:
                progress(ExportProgress(rows, state.total, state.api))
        if writer is None:  # no rows: still a file with its header
            target.open(query.columns)
        target.finish()
    except BaseException:
        target.abort()
        raise
    return ExportResult(rows, state.api, started)


def _write(writer: ExportWriter, page: pa.Table | BulkPage, query: ExportQuery, tz: ZoneInfo | None) -> int:
    """One page into the file. A Bulk page into a CSV file goes at the byte level when bulk_csv can take it
    (no pyarrow loaded for it); other pages become tables and go through the cell rules. A writer that takes
    typed values (a database table) gets the cells as Salesforce sent them: no formula escape."""
    if getattr(writer, "typed", False):
        table = page.table() if isinstance(page, BulkPage) else page
        writer.write(table)
        return table.num_rows
    if isinstance(page, BulkPage):
        pieces = page.csv_rows(tz) if hasattr(writer, "write_raw") else None
        if pieces is not None and page.rows is not None:
            writer.write_raw(pieces, page.rows)  # type: ignore[attr-defined]
            return page.rows
        page = page.table()
    from backend.pipeline.export.cells import prepare  # pyarrow

    writer.write(prepare(page, query.columns, tz))
    return page.num_rows


def preview(client: Any, query: ExportQuery, *, limit: int = 20, time_zone: str | None = None) -> list[list[str]]:
    """The first rows as the file will hold them (one REST call)."""
    from backend.pipeline.export.cells import prepare

    capped = replace(query, soql=with_limit(query.soql, limit))
    for table in read_rows(client, capped, ReadState(), "rest"):
        assert not isinstance(table, BulkPage)  # REST pages are tables
        cells = prepare(table.slice(0, limit), query.columns, zone(time_zone))
        columns = [cells.column(i).to_pylist() for i in range(cells.num_columns)]
        return [["" if v is None else v for v in row] for row in zip(*columns, strict=True)]
    return []
