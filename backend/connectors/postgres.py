"""PostgreSQL: read-only, statement timeout, rows streamed by COPY ... TO STDOUT (FORMAT csv) into the CSV engine.

Why COPY: the server renders every value as text once, and pyarrow's CSV reader turns the stream into
chunks at file speed; a row-wise cursor costs a Python object per value (docs/benchmarks.md). Types are
rendered in SQL so the text is what Salesforce takes: numerics exactly as stored (no float rounding),
booleans true/false, dates ISO, timestamps ISO 8601 (with time zone: in the job's zone, with its offset).
bytea, json, xml and arrays are refused per column unless the spec says `unsupported_as_text`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

import psycopg
from psycopg import pq, sql
from psycopg.pq.abc import PGconn
from psycopg.waiting import Ready, Wait

from backend.connectors import guard, urls
from backend.connectors.base import Connector, ConnectorError, Entry, read_spec, register
from backend.connectors.copy_source import CopyCsvSource
from backend.pipeline.sources.text import BLOCK_BYTES
from backend.streams import IterStream

STATEMENT_TIMEOUT_S = 1800  # the COPY of a whole table is one statement: it must outlive a slow sink
CONNECT_TIMEOUT_S = 10
# A block ends with the row that passes this size; staying under the CSV source's reads, it is handed on whole,
# not cut and copied (rows under 64 KiB).
COPY_BLOCK = BLOCK_BYTES - (1 << 16)
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
        timeout_ms = int(p.get("statement_timeout") or STATEMENT_TIMEOUT_S) * 1000
        options = (f"-c default_transaction_read_only={'on' if read_only else 'off'} -c statement_timeout={timeout_ms} "
                   "-c DateStyle=ISO -c IntervalStyle=iso_8601")
        try:
            conn = psycopg.connect(
                host=p["host"], hostaddr=address, port=int(p["port"]), dbname=p["database"], user=p["user"],
                password=p.get("password") or None, connect_timeout=CONNECT_TIMEOUT_S,
                sslmode="verify-full" if p.get("tls") else "prefer", client_encoding="UTF8",
                application_name="inflow", options=options)
        except psycopg.OperationalError as err:
            raise _connect_error(err) from None
        try:
            conn.execute("SELECT set_config('TimeZone', %s, false)", (time_zone,))
        except psycopg.Error as err:
            conn.close()
            raise ConnectorError("config", f"Unknown time zone {time_zone!r}: {_words(err)}") from None
        return conn

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

    def source(self, spec: dict[str, Any]) -> CopyCsvSource:
        base = _base_query(spec)
        if spec.get("limit"):
            limit = sql.Literal(int(spec["limit"]))
            base = sql.SQL("SELECT * FROM ({}) AS inflow_limited LIMIT {}").format(base, limit)
        time_zone = spec.get("time_zone") or "UTC"
        with self.connect(time_zone) as conn:
            select, columns = _typed_select(conn, base, bool(spec.get("unsupported_as_text")))
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(select)
        return CopyCsvSource(columns, lambda: self._copy_stream(statement, time_zone))

    def _copy_stream(self, statement: sql.Composed, time_zone: str) -> BinaryIO:
        def blocks() -> Iterator[bytes]:
            conn = self.connect(time_zone)  # at the first read: a stream dropped unread holds no connection
            try:
                with conn.cursor() as cur, cur.copy(statement):
                    finished = False
                    while not finished:
                        block, finished = conn.wait(_copy_data(conn.pgconn, COPY_BLOCK))
                        if block:
                            yield bytes(block)
            except psycopg.Error as err:
                raise _query_error(err) from None
            finally:
                conn.close()  # also when the reader stops early: the copy is cancelled, the connection goes
        return IterStream(blocks())


def _copy_data(pgconn: PGconn, limit: int) -> Generator[Wait, Ready, tuple[bytearray, bool]]:
    """A psycopg generator (run by `conn.wait`): the next COPY messages, about `limit` bytes; and whether that
    was the end.

    The server sends one message per row. psycopg's `Copy.read` costs a lock, a generator and a wait per
    message, all holding the GIL the mapping needs; here a message costs one libpq call, and the GIL is let
    go only while waiting on the socket, as `copy_from` in psycopg.generators does (docs/benchmarks.md).
    """
    block = bytearray()  # appended to in place: holding thousands of libpq buffers, then joining, costs more
    get = pgconn.get_copy_data  # looked up once: this loop runs once per row
    read = False  # whether the socket was read since the last row
    while len(block) < limit:
        nbytes, data = get(1)
        if nbytes > 0:
            block += data
            read = False
        elif nbytes == 0:  # nothing buffered: take what the socket holds; only if it had none, wait without the GIL
            if read:
                while not (yield Wait.R):
                    continue
            pgconn.consume_input()
            read = True
        else:  # the end: the statement's result says whether it failed (a timeout, an error mid-way)
            while pgconn.is_busy():
                while not (yield Wait.R):
                    continue
                pgconn.consume_input()
            while (result := pgconn.get_result()) is not None:
                if result.status != pq.ExecStatus.COMMAND_OK:
                    raise psycopg.errors.error_from_result(result, encoding="utf-8")  # client_encoding
            return block, True
    return block, False


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


def _words(err: psycopg.Error) -> str:
    """The server's own first line, without libpq's 'connection to server at ...' prefix."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text.split("failed: ")[-1].replace("FATAL:  ", "").strip()


def _connect_error(err: psycopg.OperationalError) -> ConnectorError:
    text = str(err).lower()
    for stage, needles in (("auth", ("password authentication", "authentication failed", "no password supplied",
                                     "role", "pg_hba")),
                           ("missing", ("does not exist",)),
                           ("tls", ("ssl", "certificate", "tls")),
                           ("tcp", ("refused", "timeout", "timed out", "unreachable", "no route"))):
        if any(n in text for n in needles):
            return ConnectorError(stage, f"PostgreSQL: {_words(err)}")
    return ConnectorError("tcp", f"PostgreSQL: {_words(err)}")


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
