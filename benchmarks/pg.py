"""The `postgres` comparison: a table of the benchmark rows in PostgreSQL, read by Inflow's connector and
mapped to Bulk API CSV bytes, against psycopg's `COPY ... TO STDOUT (FORMAT csv)` of the same rows."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from benchmarks.common import SOURCE_COLUMNS

SERVER = os.environ.get("INFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLE = "contacts"


def create_database(src: Path) -> str:
    """A new database holding `contacts` loaded from the benchmark CSV (text columns); returns its DSN."""
    name = f"inflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = SERVER.rsplit("/", 1)[0] + f"/{name}"
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in SOURCE_COLUMNS)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id serial, {})").format(sql.Identifier(TABLE), columns))
        names = sql.SQL(", ").join(sql.Identifier(c) for c in SOURCE_COLUMNS)
        with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)")
                                             .format(sql.Identifier(TABLE), names)) as copy, src.open("rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
        conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN id").format(sql.Identifier(TABLE)))
        conn.execute("VACUUM ANALYZE")
    return dsn


def create_empty_database(name: str) -> str:
    """A new empty database; returns its SQLAlchemy URL (psycopg 3)."""
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"


def drop_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def copy_out(dsn: str, table: str) -> dict[str, Any]:
    """The baseline: every row as CSV bytes from the server, counted and dropped."""
    started = time.perf_counter()
    lines = size = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(
            sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT csv)").format(sql.Identifier(table))) as copy:
        for block in copy:
            size += len(block)
            lines += bytes(block).count(b"\n")
    return {"seconds": time.perf_counter() - started, "rows": lines, "mb": round(size / 1e6, 1)}


def inflow_source(dsn: str, table: str) -> Any:
    """Inflow's PostgreSQL connector as a connection stores it (loopback allowed: the server is local)."""
    from backend.connectors import create_connector

    parts = urlsplit(dsn)
    params = {"host": parts.hostname, "port": parts.port or 5432, "database": parts.path.lstrip("/"),
              "user": parts.username or "postgres", "password": parts.password or ""}
    return create_connector("postgresql", params, allow_loopback=True).source({"table": table})
