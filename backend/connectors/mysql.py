"""MySQL and MariaDB (PyMySQL): a read-only transaction, a statement timeout, rows streamed by an SSCursor."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pymysql
from pymysql.constants import FIELD_TYPE
from pymysql.cursors import SSCursor

from backend.connectors import guard, urls
from backend.connectors.base import Connector, ConnectorError, Entry, read_spec, register
from backend.connectors.guard import tls_context
from backend.connectors.rows import RowSource

STATEMENT_TIMEOUT_S = 1800
CONNECT_TIMEOUT_S = 10
FETCH_ROWS = 5000
BINARY_CHARSET = 63
_BLOBS = {FIELD_TYPE.TINY_BLOB, FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB, FIELD_TYPE.BLOB,
          FIELD_TYPE.VAR_STRING, FIELD_TYPE.STRING}
_UNSUPPORTED = {FIELD_TYPE.JSON: "JSON", FIELD_TYPE.GEOMETRY: "geometry", FIELD_TYPE.BIT: "bit"}
_SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
_AUTH, _NO_DB, _NO_TABLE, _NO_COLUMN, _DENIED, _READ_ONLY = 1045, 1049, 1146, 1054, (1142, 1143, 1044), 1792


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@register
class MySqlConnector(Connector):
    type, label, schemes = "mysql", "MySQL / MariaDB", ("mysql", "mariadb")

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        p = urls.split(url, 3306)
        opts = p["options"]
        return {"host": p["host"], "port": p["port"], "database": p["path"], "user": p["user"],
                "password": p["password"], "tls": urls.flag(opts.get("tls", opts.get("ssl", ""))),
                "statement_timeout": int(opts.get("statement_timeout", STATEMENT_TIMEOUT_S))}

    def connect(self, *, read_only: bool = True) -> pymysql.Connection:
        """A session through the egress guard; read-only unless an export target writes (`read_only=False`)."""
        p = self.params
        address = guard.resolve(p["host"], int(p["port"]), allow_loopback=self.allow_loopback)
        context = tls_context() if p.get("tls") else None  # verifies the name, not the address
        conn = pymysql.Connection(host=p["host"], port=int(p["port"]), user=p["user"], password=p.get("password") or "",
                                  database=p.get("database") or None, charset="utf8mb4", ssl=context,
                                  connect_timeout=CONNECT_TIMEOUT_S, defer_connect=True, autocommit=True)
        try:
            sock = socket.create_connection((address, int(p["port"])), CONNECT_TIMEOUT_S)
        except OSError as err:
            reason = err.strerror or err
            raise ConnectorError("tcp", f"MySQL: cannot reach {p['host']}:{p['port']} ({reason}).") from None
        try:
            conn.connect(sock=sock)
        except pymysql.MySQLError as err:
            sock.close()
            raise _error(err) from None
        self._session(conn, read_only)
        return conn

    def _session(self, conn: pymysql.Connection, read_only: bool) -> None:
        timeout = int(self.params.get("statement_timeout") or STATEMENT_TIMEOUT_S)
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")  # TIMESTAMP values arrive in UTC; rendered in the job's zone
            if "mariadb" in conn.get_server_info().lower():
                cur.execute(f"SET SESSION max_statement_time = {timeout}")
            else:
                cur.execute(f"SET SESSION max_execution_time = {timeout * 1000}")
            if read_only:
                cur.execute("SET SESSION TRANSACTION READ ONLY")

    def test(self) -> str:
        conn = self.connect()
        try:
            version = conn.get_server_info()
        finally:
            conn.close()
        return f"Connected to {version} as {self.params['user']} (read-only)."

    def browse(self, path: str = "") -> list[Entry]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                if not path:
                    cur.execute("SHOW DATABASES")
                    return [Entry(r[0], "schema", r[0]) for r in cur.fetchall() if r[0] not in _SYSTEM_SCHEMAS]
                cur.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s "
                            "ORDER BY 1", (path,))
                return [Entry(n, "view" if "VIEW" in t else "table", f"{path}.{n}") for n, t in cur.fetchall()]
        except pymysql.MySQLError as err:
            raise _error(err) from None
        finally:
            conn.close()

    def source(self, spec: dict[str, Any]) -> RowSource:
        query = _base_query(spec)
        if spec.get("limit"):
            query = f"SELECT * FROM ({query}) AS inflow_limited LIMIT {int(spec['limit'])}"
        try:
            zone = ZoneInfo(spec.get("time_zone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise ConnectorError("config", f"Unknown time zone {spec.get('time_zone')!r}.") from None
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM ({query}) AS inflow_q LIMIT 0")
                fields = cur._result.fields  # charset numbers tell binary from text blobs
        except pymysql.MySQLError as err:
            raise _error(err) from None
        finally:
            conn.close()
        columns, converters = _check_types(fields, bool(spec.get("unsupported_as_text")))
        return RowSource(columns, lambda: self._rows(query), zone=zone, converters=converters)

    def _rows(self, query: str) -> Iterator[tuple]:
        conn = self.connect()
        try:
            conn.begin()
            with conn.cursor(SSCursor) as cur:
                cur.execute(query)
                while batch := cur.fetchmany(FETCH_ROWS):
                    yield from batch
        except pymysql.MySQLError as err:
            raise _error(err) from None
        finally:
            conn.close()


def _base_query(spec: dict[str, Any]) -> str:
    kind, value = read_spec(spec)
    if kind == "query":
        return value
    cols = ", ".join(_quote(c) for c in spec.get("columns") or []) or "*"
    query = f"SELECT {cols} FROM {'.'.join(_quote(part) for part in value.split('.', 1))}"
    if (spec.get("where") or "").strip():
        query += f" WHERE ({spec['where']})"
    return query


def _check_types(fields: list[Any], as_text: bool) -> tuple[list[str], dict[int, Any]]:
    columns, refused, converters = [], [], {}
    for i, f in enumerate(fields):
        columns.append(f.name)
        what = _UNSUPPORTED.get(f.type_code)
        if f.type_code in _BLOBS and f.charsetnr == BINARY_CHARSET:
            what = "binary data"
        if what and not as_text:
            refused.append(f"'{f.name}' ({what})")
        if f.type_code == FIELD_TYPE.TIMESTAMP:
            converters[i] = lambda v: v.replace(tzinfo=UTC) if isinstance(v, datetime) else v
        elif f.type_code == FIELD_TYPE.TINY and f.length == 1:  # BOOLEAN is TINYINT(1), read as JDBC does
            converters[i] = lambda v: None if v is None else bool(v)
    if refused:
        raise ConnectorError("query", f"Column(s) {', '.join(refused)} cannot be imported as they are; "
                                      "choose 'send unsupported types as text' or leave them out.")
    return columns, converters


def _error(err: pymysql.MySQLError) -> ConnectorError:
    code = err.args[0] if err.args and isinstance(err.args[0], int) else 0
    words = f"MySQL: {err.args[1] if len(err.args) > 1 else err}"
    if code == _AUTH:
        return ConnectorError("auth", words)
    if code in (_NO_DB, _NO_TABLE, _NO_COLUMN):
        return ConnectorError("missing", words)
    if code in _DENIED:
        return ConnectorError("permission", words)
    if code == _READ_ONLY:
        return ConnectorError("query", f"{words}; Inflow only reads.")
    if isinstance(err, pymysql.OperationalError) and code in (2003, 2006, 2013):
        return ConnectorError("tcp", words)
    return ConnectorError("query", words)
