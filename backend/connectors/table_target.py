"""An export into a database table through a connection (the dialects: pg_write.py, mysql_write.py).

The table is created from the describe types when it is missing; rows are upserted on Id (inserted when the
query has no Id), one transaction per chunk. An incremental export reads with queryAll and an IsDeleted column:
those records are deleted from the table (`deleted="delete"`, the default) or kept with IsDeleted true
(`deleted="flag"`). Cells arrive as Salesforce sent them (no formula escape: a table is no spreadsheet) and
are handed on as text (PostgreSQL's COPY parses them itself) or made typed values here (`typed_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from backend.connectors.base import ConnectorError
from backend.pipeline.export.soql import Column

KEY = "Id"
DELETED = "IsDeleted"
ON_DELETE = ("delete", "flag")
_KINDS = {"id": "id", "reference": "id", "boolean": "boolean", "int": "integer", "long": "integer",
          "double": "numeric", "currency": "numeric", "percent": "numeric", "date": "date", "datetime": "timestamp"}


@dataclass(frozen=True)
class TableColumn:
    """A table column: the SELECT item with `.` as `_` (Account.Name -> Account_Name), and its kind."""

    name: str
    kind: str  # id | text | integer | numeric | boolean | date | timestamp
    precision: int | None = None
    scale: int | None = None


def table_columns(columns: list[Column]) -> list[TableColumn]:
    return [TableColumn(c.name.replace(".", "_"), _KINDS.get(c.type, "text"), c.precision, c.scale) for c in columns]


class Dialect(Protocol):
    """One database's SQL: create the table when missing, write one chunk (string cells, deletions removed
    already; `deleted` their Ids) in one transaction."""

    def ensure_table(self, table: str, columns: list[TableColumn], key: str | None) -> None: ...

    def write(self, table: str, columns: list[TableColumn], rows: pa.Table, key: str | None,
              deleted: list[str]) -> None: ...

    def close(self) -> None: ...


def _number(v: str) -> Decimal:
    try:
        return Decimal(v)
    except InvalidOperation:
        raise ConnectorError("query", f"{v!r} is not a number.") from None


def _stamp(v: str) -> datetime:
    """REST's `...000+0000` and Bulk's `...000Z`, in UTC."""
    return datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)


_CONVERT: dict[str, Callable[[str], Any]] = {
    "boolean": lambda v: v.lower() == "true", "integer": lambda v: int(_number(v)), "numeric": _number,
    "date": date.fromisoformat, "timestamp": _stamp}


def typed_rows(table: pa.Table, columns: list[TableColumn]) -> list[tuple[Any, ...]]:
    """Text cells as Python values for the column kinds; an empty cell is NULL (Salesforce has no empty string)."""
    values = []
    for i, col in enumerate(columns):
        convert = _CONVERT.get(col.kind)
        cells = table.column(i).to_pylist()
        values.append([None if v is None or v == "" else (convert(v) if convert else v) for v in cells])
    return list(zip(*values, strict=True))


class TableWriter:
    typed = True  # the engine hands over Salesforce's cells, not the file cells (backend/pipeline/export/engine.py)

    def __init__(self, target: TableTarget) -> None:
        self.target, self.rows = target, 0

    def write(self, table: pa.Table) -> None:
        t, rows = self.target, table
        deleted: list[str] = []
        if t.deleted_at is not None and t.key_at is not None and t.on_delete == "delete":
            gone = pc.fill_null(pc.equal(pc.utf8_lower(table.column(t.deleted_at)), "true"), False)
            deleted = table.column(t.key_at).filter(gone).to_pylist()
            rows = table.filter(pc.invert(gone))
        t.dialect.write(t.table, t.columns, rows, t.key, deleted)
        self.rows += table.num_rows

    def close(self) -> None:
        return None


class TableTarget:
    """The export target for `table` ("schema.table" or "table") through a dialect made by `open_dialect()`."""

    def __init__(self, open_dialect: Callable[[], Dialect], table: str, *, on_delete: str = "delete") -> None:
        if on_delete not in ON_DELETE:
            raise ConnectorError("config", f"Deleted records are one of: {', '.join(ON_DELETE)}.")
        table = (table or "").strip()
        if not table or table.count(".") > 1:
            raise ConnectorError("config", "Give the table as table or schema.table.")
        self._open_dialect, self.table, self.on_delete = open_dialect, table, on_delete
        self.dialect: Any = None
        self.columns: list[TableColumn] = []
        self.key: str | None = None
        self.key_at = self.deleted_at = None

    def open(self, columns: list[Column]) -> TableWriter:
        self.columns = table_columns(columns)
        names = [c.name.lower() for c in self.columns]
        self.key_at = names.index(KEY.lower()) if KEY.lower() in names else None
        self.deleted_at = names.index(DELETED.lower()) if DELETED.lower() in names else None
        self.key = self.columns[self.key_at].name if self.key_at is not None else None
        if self.key is not None:
            self.columns[self.key_at] = TableColumn(self.key, "id")
        self.dialect = self._open_dialect()
        self.dialect.ensure_table(self.table, self.columns, self.key)
        return TableWriter(self)

    def finish(self) -> None:
        self._close()  # every chunk committed as it was written

    def abort(self) -> None:
        self._close()  # the chunk in flight was rolled back; earlier chunks stay (a rerun upserts them again)

    def _close(self) -> None:
        if self.dialect is not None:
            self.dialect.close()
            self.dialect = None
