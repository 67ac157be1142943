"""Real servers the connector tests read from: a PostgreSQL database and a MariaDB database of their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
import pymysql

PG_SERVER = os.environ.get("INFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MYSQL_HOST, MYSQL_PORT, MYSQL_ROOT = "127.0.0.1", int(os.environ.get("INFLOW_TEST_MYSQL_PORT", "3306")), "root"
DB_USER, DB_PASSWORD = "inflow_reader", "reader-pw-1"  # pragma: allowlist secret

# The rows every connector serves, and what the pipeline must see: text exactly as Salesforce takes it.
ROWS = [
    (1, "Zoë Ångström, \"quoted\"", "12345678901234.123456", True, "2020-02-29", "2024-06-01 12:00:00+00", None),
    (2, "日本語 text", "-0.000001", False, "1999-12-31", "2024-01-15 23:30:00+00", "note"),
    (3, "Plain", "9007199254740993", None, None, None, ""),
]
COLUMNS = ["id", "name", "amount", "active", "born", "seen", "note"]
EXPECTED = [  # with the job's time zone Europe/Berlin
    {"id": "1", "name": "Zoë Ångström, \"quoted\"", "amount": "12345678901234.123456", "active": "true",
     "born": "2020-02-29", "seen": "2024-06-01T14:00:00+02:00", "note": ""},
    {"id": "2", "name": "日本語 text", "amount": "-0.000001", "active": "false", "born": "1999-12-31",
     "seen": "2024-01-16T00:30:00+01:00", "note": "note"},
    {"id": "3", "name": "Plain", "amount": "9007199254740993.000000", "active": "", "born": "", "seen": "", "note": ""},
]


def pg_admin_url() -> tuple[str, int, str]:
    parts = urlsplit(PG_SERVER.replace("+psycopg", ""))
    return parts.hostname or "127.0.0.1", parts.port or 5432, PG_SERVER.replace("+psycopg", "")


@contextmanager
def postgres_database() -> Iterator[dict]:
    """A fresh database with table `sales.people` (and ROWS) and a login role that may only read it."""
    host, port, admin_url = pg_admin_url()
    name = f"inflow_conn_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DB_USER}') THEN "
                      f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{DB_PASSWORD}'; END IF; END$$")
    db_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA sales")
        conn.execute("CREATE TABLE sales.people (id int, name text, amount numeric(30,6), active boolean, "
                     "born date, seen timestamptz, note varchar(20), photo bytea)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO sales.people VALUES (%s, %s, %s, %s, %s, %s, %s, NULL)", ROWS)
        conn.execute("CREATE TABLE sales.secret (x int)")
        conn.execute(f"GRANT USAGE ON SCHEMA sales TO {DB_USER}")
        conn.execute(f"GRANT SELECT ON sales.people TO {DB_USER}")
    try:
        yield {"host": host, "port": port, "database": name, "user": DB_USER, "password": DB_PASSWORD}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mysql_database() -> Iterator[dict]:
    """A fresh MariaDB database with table `people` (and ROWS) and a user that may only read it."""
    name = f"inflow_conn_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_ROOT, autocommit=True, charset="utf8mb4")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        cur.execute(f"CREATE TABLE {name}.people (id int, name varchar(50), amount decimal(30,6), active boolean, "
                    "born date, seen timestamp NULL, note varchar(20), photo varbinary(10))")
        cur.execute("SET time_zone = '+00:00'")
        cur.executemany(f"INSERT INTO {name}.people VALUES (%s, %s, %s, %s, %s, %s, %s, NULL)",
                        [(*r[:5], r[5][:19] if r[5] else None, r[6]) for r in ROWS])
        # MySQL answers "denied" for a missing table unless the user may read the whole database, so the
        # table the user may not read sits in a second database.
        cur.execute(f"CREATE DATABASE {name}_private")
        cur.execute(f"CREATE TABLE {name}_private.secret (x int)")
        cur.execute(f"CREATE USER IF NOT EXISTS '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
        cur.execute(f"GRANT SELECT ON {name}.* TO '{DB_USER}'@'%'")
    try:
        yield {"host": MYSQL_HOST, "port": MYSQL_PORT, "database": name, "user": DB_USER, "password": DB_PASSWORD}
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"DROP DATABASE IF EXISTS {name}_private")
        admin.close()


@contextmanager
def postgres_warehouse() -> Iterator[dict]:
    """An empty database an export writes into; the connection logs in as its owner."""
    host, port, admin_url = pg_admin_url()
    name = f"inflow_wh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"host": host, "port": port, "database": name, "user": "postgres", "password": ""}
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mysql_warehouse() -> Iterator[dict]:
    """An empty MariaDB database an export writes into (as root)."""
    name = f"inflow_wh_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_ROOT, autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield {"host": MYSQL_HOST, "port": MYSQL_PORT, "database": name, "user": MYSQL_ROOT, "password": ""}
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def add_contacts_table(params: dict, rows: list[tuple[str, str]]) -> None:
    """Table `sales.contacts` ("Last Name", "Email", "Secret") in a `postgres_database()`, readable by its
    login: rows a Contact mapping takes as they are (the Secret column is for leaving out)."""
    admin_url = pg_admin_url()[2].rsplit("/", 1)[0] + f"/{params['database']}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE sales.contacts ("Last Name" text, "Email" text, "Secret" text)')
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO sales.contacts VALUES (%s, %s, 'not for Salesforce')", rows)
        conn.execute(f"GRANT SELECT ON sales.contacts TO {params['user']}")
