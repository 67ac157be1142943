"""`inflow connections add|list|test|remove` and `inflow import --connection` against real PostgreSQL and
MariaDB and localorg: secrets stored encrypted and never printed, bad input one line and nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backend.extensions import db
from backend.models.audit import AuditEvent
from backend.models.connections import Connection
from tests.connectors import servers
from tests.runs.factories import account


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


@pytest.fixture(scope="module")
def maria() -> Iterator[dict]:
    with servers.mysql_database() as params:
        yield params


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", *args])


def _pg_url(p: dict) -> str:
    return f"postgresql://{p['user']}:{p['password']}@{p['host']}:{p['port']}/{p['database']}"


def _actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.created_at))]


def test_add_list_test_remove_keep_the_password_encrypted_and_unprinted(app, pg):
    account()
    added = _cli(app, "connections", "add", "erp", _pg_url(pg))
    assert added.exit_code == 0, added.output
    assert "Connected to PostgreSQL" in added.output and "saved connection 'erp' (postgresql)" in added.output
    row = db.session.scalars(select(Connection)).one()
    assert pg["password"] not in (row.parameters or "") and pg["password"] not in json.dumps(row.details)
    listed = _cli(app, "connections", "list")
    assert listed.exit_code == 0 and "erp\tpostgresql" in listed.output
    assert f"database={pg['database']}" in listed.output
    assert pg["password"] not in listed.output
    tested = _cli(app, "connections", "test", "erp")
    assert tested.exit_code == 0 and tested.output.startswith("ok: Connected to PostgreSQL")
    removed = _cli(app, "connections", "remove", "erp")
    assert removed.exit_code == 0 and db.session.scalars(select(Connection)).all() == []
    assert _actions() == ["connection.create", "connection.test", "connection.delete"]


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.com/x", "Unknown connection URL scheme 'ftp'"),
    ("mysql://inflow_reader:wrong-pass@127.0.0.1:{port}/x",  # pragma: allowlist secret
     "auth failed: MySQL: Access denied"),
    ("postgresql://u:p@127.0.0.1:1/db", "tcp failed: PostgreSQL:"),  # pragma: allowlist secret
])
def test_add_refuses_bad_input_in_one_line_and_saves_nothing(app, maria, url, words):
    account()
    result = _cli(app, "connections", "add", "bad", url.format(port=maria["port"]))
    assert result.exit_code == 1 and words in result.output
    assert len(result.output.strip().splitlines()) == 1 and "wrong-pass" not in result.output
    assert db.session.scalars(select(Connection)).all() == []


def test_import_from_a_table_writes_the_rows_into_salesforce(app, org, sf, pg, tmp_path, monkeypatch):
    account()
    assert _cli(app, "connections", "add", "erp", _pg_url(pg)).exit_code == 0
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"fields": [{"field": "LastName", "column": "name"},
                                              {"field": "Birthdate", "column": "born"}]}))
    monkeypatch.chdir(tmp_path)
    result = _cli(app, "import", "--connection", "erp", "--table", "sales.people", "--columns", "id,name,born",
                  "--where", "id <= 3", "--object", "Contact", "--mapping", str(mapping),
                  "--instance-url", org.instance_url, "--access-token", org.ready_token, "--api", "rest")
    assert result.exit_code == 0, result.output
    assert "3 read, 3 succeeded, 0 failed" in result.output
    got = {r["LastName"]: r["Birthdate"] for r in sf.query_all("SELECT LastName, Birthdate FROM Contact")["records"]}
    assert got == {"Zoë Ångström, \"quoted\"": "2020-02-29", "日本語 text": "1999-12-31", "Plain": None}
    assert (tmp_path / "erp-sales.people.success.csv").exists()


@pytest.mark.parametrize(("read", "words"), [
    (["--table", "sales.no_such_table"], "missing failed: PostgreSQL: relation \"sales.no_such_table\" does not exist"),
    (["--query", "DELETE FROM sales.people"], "Only a query that reads"),
    (["--query", "WITH gone AS (DELETE FROM sales.people RETURNING *) SELECT * FROM gone"], "query failed"),
    (["--table", "sales.people", "--query", "SELECT 1"], "exactly one of --table, --query or --path"),
])
def test_import_refuses_bad_reads_writing_nothing(app, org, sf, pg, read, words):
    account()
    assert _cli(app, "connections", "add", "erp", _pg_url(pg)).exit_code == 0
    result = _cli(app, "import", "--connection", "erp", *read, "--object", "Contact",
                  "--instance-url", org.instance_url, "--access-token", org.ready_token)
    assert result.exit_code != 0 and words in result.output, result.output
    assert sf.query_all("SELECT Id FROM Contact")["records"] == []


def test_import_from_mariadb_with_a_query(app, org, sf, maria, tmp_path, monkeypatch):
    account()
    url = f"mysql://{maria['user']}:{maria['password']}@{maria['host']}:{maria['port']}/{maria['database']}"
    assert _cli(app, "connections", "add", "shop", url).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = _cli(app, "import", "--connection", "shop", "--query", "SELECT name AS LastName FROM people WHERE id < 3",
                  "--object", "Contact", "--instance-url", org.instance_url, "--access-token", org.ready_token)
    assert result.exit_code == 0, result.output
    names = sorted(r["LastName"] for r in sf.query_all("SELECT LastName FROM Contact")["records"])
    assert names == sorted(["Zoë Ångström, \"quoted\"", "日本語 text"])


def test_adding_an_sftp_connection_pins_its_host_key_and_imports_a_file(app, org, sf, tmp_path, monkeypatch):
    from tests.connectors import filestores

    account()
    root = filestores.drop_folder(tmp_path / "drop")
    with filestores.sftp_server(root) as p:
        url = f"sftp://{p['user']}:{p['password']}@127.0.0.1:{p['port']}/batches"
        added = _cli(app, "connections", "add", "partner", url)
        assert added.exit_code == 0, added.output
        assert f"host key {p['host_key']} accepted and pinned" in added.output
        listed = _cli(app, "connections", "list").output
        assert f"host_key={p['host_key']}" in listed and p["password"] not in listed
        monkeypatch.chdir(tmp_path)
        result = _cli(app, "import", "--connection", "partner", "--path", "batch-2.csv", "--object", "Contact",
                      "--instance-url", org.instance_url, "--access-token", org.ready_token)
    assert result.exit_code == 0, result.output
    assert sorted(r["LastName"] for r in sf.query_all("SELECT LastName FROM Contact")["records"]) == ["Kim", "Park"]
