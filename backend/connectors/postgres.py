"""PostgreSQL: read-only, statement timeout; rows streamed as Arrow batches by ADBC's driver (binary COPY).

Why ADBC for the rows: its driver turns the server's binary COPY stream into Arrow arrays in C, outside
the GIL, with no Python object per value or per row (docs/benchmarks.md, comparison 5); psycopg serves
test, browse, the query's description and export. Types are rendered in SQL so every column arrives as
the text Salesforce takes: numerics exactly as stored (no float rounding), booleans true/false, dates ISO,
timestamps ISO 8601 (with time zone: in the job's zone, with its offset). bytea, json, xml and arrays
are refused per column unless the spec says `unsupported_as_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql

from backend.connectors import guard, urls
from backend.connectors.base import Connector, ConnectorError, Entry, read_spec, register
from backend.connectors.batch_source import BatchSource

STATEMENT_TIMEOUT_S = 1800  # the COPY of a whole table is one statement: it must outlive a slow sink
CONNECT_TIMEOUT_S = 10
BATCH_BYTES = 4 << 20  # the driver's record batches: a few chunks each, so reading and mapping take turns often
UNSUPPORTED = {"bytea": "binary data", "json": "JSON", "jsonb": "JSON", "xml": "XML"}
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@register
class PostgresConnector(Connector):
    type, label, schemes = "postgresql", "PostgreSQL", ("postgresql", "postgres")

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        p = urls.split(url, 5432)
        if not p["path"]:
            raise ConnectorError("config", "The URL names no database: postgresql://user:pass@host:port/db.")  # noqa: E501  # pragma: allowlist secret
        opts = p["options"]
        tls = opts.get("sslmode", "") not in ("", "disable", "allow", "prefer") or urls.flag(opts.get("tls", ""))
        return {"host": p["host"], "port": p["port"], "database": p["path"], "user": p["user"],
                "password": p["password"], "tls": tls,
                "statement_timeout": int(opts.get("statement_timeout", STATEMENT_TIMEOUT_S))}

    def connect(self, time_zone: str = "UTC", *, read_only: bool = True) -> psycopg.Connection:
        """A session through the egress guard; read-only unless an export target writes (`read_only=False`)."""
        p = self.params
        address = guard.resolve(p["host"], int(p["port"]), allow_loopback=self.allow_loopback)
        options = self._options(read_only=read_only)
        try:
            conn = psycopg.connect(
                host=p["host"], hostaddr=address, port=int(p["port"]), dbname=p["database"], user=p["user"],
                password=p.get("password") or None, connect_timeout=CONNECT_TIMEOUT_S,
                sslmode="verify-full" if p.get("tls") else "prefer", client_encoding="UTF8",
                application_name="inflow", options=options)
        except psycopg.OperationalError as err:
            raise _connect_error(str(err)) from None
        try:
            conn.execute("SELECT set_config('TimeZone', %s, false)", (time_zone,))
        except psycopg.Error as err:
            conn.close()
            raise ConnectorError("config", f"Unknown time zone {time_zone!r}: {_words(err)}") from None
        return conn

    def _options(self, *, read_only: bool, time_zone: str = "") -> str:
        """The session settings libpq sends at connect (`options`); the time zone only once checked."""
        timeout_ms = int(self.params.get("statement_timeout") or STATEMENT_TIMEOUT_S) * 1000
        options = (f"-c default_transaction_read_only={'on' if read_only else 'off'} -c statement_timeout={timeout_ms} "
                   "-c DateStyle=ISO -c IntervalStyle=iso_8601")
        if time_zone:
            options += " -c TimeZone=" + re.sub(r"([\\ ])", r"\\\1", time_zone)  # libpq: backslash escapes
        return options

    def test(self) -> str:
        with self.connect() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            readonly = conn.execute("SHOW transaction_read_only").fetchone()[0]
        return f"Connected to PostgreSQL {version} as {self.params['user']} (read-only: {readonly})."

    def browse(self, path: str = "") -> list[Entry]:
        with self.connect() as conn:
            if not path:
                rows = conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg_temp%%' "
                    "AND nspname NOT LIKE 'pg_toast%%' AND has_schema_privilege(oid, 'USAGE') ORDER BY 1",
                    (list(_SYSTEM_SCHEMAS),)).fetchall()
                return [Entry(r[0], "schema", r[0]) for r in rows]
            rows = conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r','v','m','p','f') "
                "AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1", (path,)).fetchall()
        return [Entry(name, "view" if kind in "vm" else "table", f"{path}.{name}") for name, kind in rows]

    def source(self, spec: dict[str, Any]) -> BatchSource:
        base = _base_query(spec)
        if spec.get("limit"):
            limit = sql.Literal(int(spec["limit"]))
            base = sql.SQL("SELECT * FROM ({}) AS inflow_limited LIMIT {}").format(base, limit)
        time_zone = spec.get("time_zone") or "UTC"
        with self.connect(time_zone) as conn:  # also checks the time zone, with the server's words
            select, columns = _typed_select(conn, base, bool(spec.get("unsupported_as_text")))
            statement = select.as_string(conn)
        return BatchSource(columns, lambda: self._batches(statement, time_zone))

    def _batches(self, statement: str, time_zone: str) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches: ADBC's driver reads the server's binary COPY in C, outside the GIL
        the mapping needs, where a Python loop over psycopg's COPY messages cost one call per row
        (docs/benchmarks.md, comparison 5). psycopg keeps the rest: test, browse, describe, export."""
        from adbc_driver_postgresql import dbapi  # at the first read, as boto3: most runs never load the driver

        p = self.params
        address = guard.resolve(p["host"], int(p["port"]), allow_loopback=self.allow_loopback)
        conninfo = _conninfo({
            "host": p["host"], "hostaddr": address, "port": str(p["port"]), "dbname": p["database"],
            "user": p["user"], "password": p.get("password") or "", "connect_timeout": str(CONNECT_TIMEOUT_S),
            "sslmode": "verify-full" if p.get("tls") else "prefer", "client_encoding": "UTF8",
            "application_name": "inflow", "options": self._options(read_only=True, time_zone=time_zone)})
        try:  # at the first read: a stream dropped unread holds no connection
            conn = dbapi.connect(conninfo)
        except dbapi.Error as err:
            raise _connect_error(str(err)) from None
        try:
            with conn.cursor() as cur:
                cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
                cur.execute(statement)
                yield from cur.fetch_record_batch()
        except (dbapi.Error, OSError) as err:  # a failure mid-stream comes as OSError, with the server's words
            raise _stream_error(err) from None
        finally:
            conn.close()  # also when the reader stops early: the server's COPY ends with the connection


def _base_query(spec: dict[str, Any]) -> sql.Composable:
    kind, value = read_spec(spec)
    if kind == "query":
        return sql.SQL(value)
    columns = spec.get("columns") or []
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns) if columns else sql.SQL("*")
    query = sql.SQL("SELECT {} FROM {}").format(cols, sql.Identifier(*value.split(".", 1)))
    if (spec.get("where") or "").strip():
        query = sql.SQL("{} WHERE ({})").format(query, sql.SQL(spec["where"]))
    return query


def _typed_select(conn: psycopg.Connection, base: sql.Composable, as_text: bool) -> tuple[sql.Composed, list[str]]:
    """SELECT over `base` rendering each column as the text Salesforce takes; the column names."""
    try:
        cur = conn.execute(sql.SQL("SELECT * FROM ({}) AS inflow_q LIMIT 0").format(base))
    except psycopg.Error as err:
        raise _query_error(err) from None
    described = [(d.name, d.type_code) for d in cur.description or []]
    rows = conn.execute("SELECT oid::int, typname, typcategory FROM pg_type WHERE oid = ANY(%s)",
                        ([t for _, t in described],)).fetchall()
    types = {oid: (typname, category) for oid, typname, category in rows}
    exprs, refused = [], []
    for name, oid in described:
        typname, category = types.get(oid, ("unknown", "X"))
        col = sql.SQL("inflow_q.{}").format(sql.Identifier(name))
        what = "an array" if category == "A" else UNSUPPORTED.get(typname)
        if what and not as_text:
            refused.append(f"'{name}' ({what}, {typname})")
        exprs.append(sql.SQL("{} AS {}").format(_render(col, typname), sql.Identifier(name)))
    if refused:
        raise ConnectorError("query", f"Column(s) {', '.join(refused)} cannot be imported as they are; "
                                      "choose 'send unsupported types as text' or leave them out.")
    return sql.SQL("SELECT {} FROM ({}) AS inflow_q").format(sql.SQL(", ").join(exprs), base), [n for n, _ in described]


def _render(col: sql.Composable, typname: str) -> sql.Composable:
    if typname == "bool":
        return sql.SQL("CASE WHEN {0} THEN 'true' WHEN NOT {0} THEN 'false' END").format(col)
    if typname in ("timestamp", "timestamptz"):
        return sql.SQL("to_json({})#>>'{{}}'").format(col)  # ISO 8601 with T (and the offset for timestamptz)
    if typname in ("text", "varchar"):
        return col  # already text: a cast would cost the server a call per value
    return sql.SQL("{}::text").format(col)


def _words(err: Exception | str) -> str:
    """The server's own first line, without libpq's 'connection to server at ...' prefix (or ADBC's)."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = text.split("ERROR:  ", 1)[-1]  # ADBC: "[libpq] Failed to execute query: ...: ERROR:  <words>"
    return text.split("failed: ")[-1].replace("FATAL:  ", "").strip()


def _conninfo(params: dict[str, str]) -> str:
    """A libpq connection string: every value quoted, its quotes and backslashes escaped."""
    return " ".join(f"{k}='" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for k, v in params.items())


def _connect_error(message: str) -> ConnectorError:
    text = message.lower()
    for stage, needles in (("auth", ("password authentication", "authentication failed", "no password supplied",
                                     "role", "pg_hba")),
                           ("missing", ("does not exist",)),
                           ("tls", ("ssl", "certificate", "tls")),
                           ("tcp", ("refused", "timeout", "timed out", "unreachable", "no route"))):
        if any(n in text for n in needles):
            return ConnectorError(stage, f"PostgreSQL: {_words(message)}")
    return ConnectorError("tcp", f"PostgreSQL: {_words(message)}")


def _query_error(err: psycopg.Error) -> ConnectorError:
    if isinstance(err, psycopg.errors.UndefinedTable | psycopg.errors.InvalidSchemaName |
                  psycopg.errors.UndefinedColumn):
        return ConnectorError("missing", f"PostgreSQL: {_words(err)}")
    if isinstance(err, psycopg.errors.InsufficientPrivilege):
        return ConnectorError("permission", f"PostgreSQL: {_words(err)}")
    if isinstance(err, psycopg.errors.ReadOnlySqlTransaction):
        return ConnectorError("query", f"PostgreSQL: {_words(err)}; Inflow only reads.")
    if isinstance(err, psycopg.errors.QueryCanceled):
        return ConnectorError("query", f"PostgreSQL: {_words(err)} (the statement timeout).")
    return ConnectorError("query", f"PostgreSQL: {_words(err)}")


def _stream_error(err: Exception) -> ConnectorError:
    """An ADBC failure while rows stream: classed by its SQLSTATE where the driver gives one."""
    state = getattr(err, "sqlstate", None)
    cls = psycopg.errors.lookup(state) if state else None
    if cls is not None:
        return _query_error(cls(_words(err)))
    return ConnectorError("query", f"PostgreSQL: {_words(err)}")
