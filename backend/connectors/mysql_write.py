"""MySQL and MariaDB as an export target: executemany of INSERT ... ON DUPLICATE KEY UPDATE, a transaction per chunk.

PyMySQL folds executemany of one INSERT ... VALUES into multi-row statements, so a chunk costs a few round
trips. Datetimes are stored in UTC in DATETIME(3) (the session's time zone is +00:00). The session is writable
but still connects through the egress guard.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pymysql

from backend.connectors.mysql import MySqlConnector, _error, _quote
from backend.connectors.table_target import TableColumn, typed_rows

# Salesforce Ids are case-sensitive (15 characters) or carry their case in the suffix (18): compared as bytes.
_TYPES = {"id": "VARCHAR(18) CHARACTER SET ascii COLLATE ascii_bin", "text": "MEDIUMTEXT", "integer": "BIGINT",
          "boolean": "BOOLEAN", "date": "DATE", "timestamp": "DATETIME(3)"}
DELETE_BATCH = 1000


def column_type(col: TableColumn) -> str:
    if col.kind == "numeric":  # MySQL's DECIMAL holds at most 65 digits, 30 after the point
        return f"DECIMAL({min(col.precision, 65)}, {min(col.scale or 0, 30)})" if col.precision else "DOUBLE"
    return _TYPES[col.kind]


def _name(table: str) -> str:
    return ".".join(_quote(part) for part in table.split(".", 1))


def _plain(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value  # already in UTC


class MySqlTable:
    def __init__(self, connector: MySqlConnector) -> None:
        self.conn = connector.connect(read_only=False)

    def ensure_table(self, table: str, columns: list[TableColumn], key: str | None) -> None:
        defs = [f"{_quote(c.name)} {column_type(c)}" for c in columns]
        if key:
            defs.append(f"PRIMARY KEY ({_quote(key)})")
        self._execute(f"CREATE TABLE IF NOT EXISTS {_name(table)} ({', '.join(defs)}) CHARACTER SET utf8mb4")

    def write(self, table: str, columns: list[TableColumn], cells: pa.Table, key: str | None,
              deleted: list[str]) -> None:
        rows = typed_rows(cells, columns)
        names = ", ".join(_quote(c.name) for c in columns)
        insert = f"INSERT INTO {_name(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        if key:
            insert += " ON DUPLICATE KEY UPDATE " + ", ".join(
                f"{_quote(c.name)} = VALUES({_quote(c.name)})" for c in columns if c.name != key)
        try:
            self.conn.begin()
            with self.conn.cursor() as cur:
                for at in range(0, len(deleted), DELETE_BATCH):
                    batch = deleted[at:at + DELETE_BATCH]
                    cur.execute(f"DELETE FROM {_name(table)} WHERE {_quote(key or '')} IN "
                                f"({', '.join(['%s'] * len(batch))})", batch)
                if rows:
                    cur.executemany(insert, [tuple(_plain(v) for v in row) for row in rows])
            self.conn.commit()
        except pymysql.MySQLError as err:
            self.conn.rollback()
            raise _error(err) from None

    def _execute(self, statement: str) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement)
        except pymysql.MySQLError as err:
            raise _error(err) from None

    def close(self) -> None:
        self.conn.close()
