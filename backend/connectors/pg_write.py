"""PostgreSQL as an export target: COPY FROM STDIN into a temporary table, then INSERT ... ON CONFLICT (Id).

COPY (FORMAT csv) moves a chunk at file speed and the server turns the text into the column types, so no cell
becomes a Python object; the staging table lets one statement upsert it, so each chunk is one transaction that
lands whole or not at all. The session is writable but still connects through the egress guard.
"""

from __future__ import annotations

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from backend.connectors.postgres import PostgresConnector, _query_error
from backend.connectors.table_target import TableColumn

_TYPES = {"id": "varchar(18)", "text": "text", "integer": "bigint", "boolean": "boolean", "date": "date",
          "timestamp": "timestamptz"}


def column_type(col: TableColumn) -> str:
    if col.kind == "numeric":
        return f"numeric({col.precision}, {col.scale or 0})" if col.precision else "numeric"
    return _TYPES[col.kind]


def _csv(rows: pa.Table) -> bytes:
    """The chunk as CSV for COPY: a null cell unquoted and empty (NULL), every other cell as Salesforce wrote it;
    the server parses booleans, ISO dates, timestamps with `Z` or `+0000` and numbers into the column types."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(rows, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def _name(table: str) -> sql.Identifier:
    return sql.Identifier(*table.split(".", 1))


class PgTable:
    def __init__(self, connector: PostgresConnector) -> None:
        self.conn = connector.connect(read_only=False)
        self.conn.commit()  # the session setup's transaction: from here on each chunk opens its own
        self.conn.autocommit = True

    def ensure_table(self, table: str, columns: list[TableColumn], key: str | None) -> None:
        defs = [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(column_type(c))) for c in columns]
        if key:
            defs.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(key)))
        self._run(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(_name(table), sql.SQL(", ").join(defs)))

    def write(self, table: str, columns: list[TableColumn], rows: pa.Table, key: str | None,
              deleted: list[str]) -> None:
        names = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                if deleted:
                    cur.execute(sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(_name(table), sql.Identifier(key)),
                                (deleted,))
                if not rows.num_rows:
                    return
                into = _name(table)
                if key:
                    into = sql.Identifier("inflow_stage")
                    cur.execute(sql.SQL("CREATE TEMP TABLE inflow_stage ON COMMIT DROP AS SELECT {} FROM {} "
                                        "WITH NO DATA").format(names, _name(table)))
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(into, names)) as copy:
                    copy.write(_csv(rows))
                if key:
                    updates = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c.name))
                                                 for c in columns if c.name != key)
                    cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM inflow_stage ON CONFLICT ({}) DO UPDATE "
                                        "SET {}").format(_name(table), names, names, sql.Identifier(key), updates))
        except psycopg.Error as err:
            raise _query_error(err) from None

    def _run(self, statement: sql.Composable) -> None:
        try:
            self.conn.execute(statement)
        except psycopg.Error as err:
            raise _query_error(err) from None

    def close(self) -> None:
        self.conn.close()
