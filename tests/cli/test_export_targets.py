"""`inflow export --connection NAME (--table T | --path P)`: Contacts out of localorg into real PostgreSQL and
MariaDB tables and onto real S3 (moto_server), SFTP (AsyncSSH) and FTPS (pyftpdlib) servers."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pymysql
import pytest
from openpyxl import load_workbook

from backend.connectors import stored
from backend.extensions import db
from backend.models.base import TenantScope
from backend.runs.parts import BOM
from tests.connectors import filestores, servers
from tests.runs.factories import account, connect

FIELDS = "Id,LastName,Title,Birthdate,HasOptedOutOfEmail,CreatedDate,Account.Name,Account.AnnualRevenue," \
         "Account.NumberOfEmployees"


@pytest.fixture(scope="module")
def pg_warehouse() -> Iterator[dict]:
    with servers.postgres_warehouse() as params:
        yield params


@pytest.fixture(scope="module")
def maria_warehouse() -> Iterator[dict]:
    with servers.mysql_warehouse() as params:
        yield params


@pytest.fixture(scope="module")
def s3_store() -> Iterator[dict]:
    with filestores.moto_s3() as params:
        yield params


@pytest.fixture(scope="module")
def sftp_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with filestores.sftp_server(filestores.drop_folder(tmp_path_factory.mktemp("sftp-out"))) as params:
        yield params


@pytest.fixture(scope="module")
def ftps_store(localorg, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = Path(localorg.ca_path).parent
    root = filestores.drop_folder(tmp_path_factory.mktemp("ftps-out"))
    with filestores.ftps_server(root, folder / "server.pem", folder / "server.key") as params:
        yield params


def _connection(acct, name: str, type_name: str, params: dict):
    row = stored.create(TenantScope(acct.id), name, type_name, params)
    db.session.commit()
    return row


def _export(app, org, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "export", *args, "--instance-url", org.instance_url,
                                              "--access-token", org.ready_token])


def _seed(sf) -> tuple[str, str]:
    acct = sf.Account.create({"Name": "Globex", "AnnualRevenue": 1234567.25, "NumberOfEmployees": 42})["id"]
    lee = sf.Contact.create({"LastName": "Lee", "Title": "=SUM(A1)", "Birthdate": "1990-02-28",
                             "HasOptedOutOfEmail": True, "AccountId": acct})["id"]
    kim = sf.Contact.create({"LastName": "Kim", "Title": "-minus"})["id"]
    return lee, kim


def _pg_rows(params: dict, table: str) -> list[tuple]:
    with psycopg.connect(host=params["host"], port=params["port"], dbname=params["database"],
                         user=params["user"]) as conn:
        return conn.execute(f'SELECT "Id", "LastName", "Title", "Birthdate", "HasOptedOutOfEmail", "CreatedDate", '
                            f'"Account_Name", "Account_AnnualRevenue", "Account_NumberOfEmployees" FROM {table} '
                            'ORDER BY "LastName"').fetchall()


def _maria_rows(params: dict, table: str) -> list[tuple]:
    conn = pymysql.connect(host=params["host"], port=params["port"], user=params["user"],
                           database=params["database"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT Id, LastName, Title, Birthdate, HasOptedOutOfEmail, CreatedDate, Account_Name, "
                        f"Account_AnnualRevenue, Account_NumberOfEmployees FROM {table} ORDER BY LastName")
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_contacts_into_a_table_created_from_describe_and_upserted_on_id(app, org, sf, kind, request):
    params = request.getfixturevalue("pg_warehouse" if kind == "postgresql" else "maria_warehouse")
    read = _pg_rows if kind == "postgresql" else _maria_rows
    _connection(account(), "warehouse", kind, params)
    lee, kim = _seed(sf)
    table = "public.contacts" if kind == "postgresql" else "contacts"

    result = _export(app, org, "--object", "Contact", "--fields", FIELDS, "--connection", "warehouse",
                     "--table", table)
    assert result.exit_code == 0, result.output
    assert f"rest: 2 record(s) of Contact exported to table {table} on warehouse" in result.output
    rows = read(params, table)
    assert [r[:5] for r in rows] == [(kim, "Kim", "-minus", None, False),
                                     (lee, "Lee", "=SUM(A1)", date(1990, 2, 28), True)]  # no formula escape
    created = rows[1][5] if kind == "postgresql" else rows[1][5].replace(tzinfo=UTC)  # MySQL: UTC, naive
    assert abs((created - datetime.now(UTC)).total_seconds()) < 3600
    assert rows[1][6:] == ("Globex", Decimal("1234567.25"), 42) and rows[0][6:] == (None, None, None)

    sf.Contact.update(kim, {"Title": "Head of Sales"})
    again = _export(app, org, "--object", "Contact", "--fields", FIELDS, "--connection", "warehouse",
                    "--table", table)
    assert again.exit_code == 0, again.output
    rows = read(params, table)
    assert [(r[1], r[2]) for r in rows] == [("Kim", "Head of Sales"), ("Lee", "=SUM(A1)")]  # upserted: no duplicates


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_since_last_into_a_table_deletes_the_records_deleted_in_salesforce(app, org, sf, kind, request):
    params = request.getfixturevalue("pg_warehouse" if kind == "postgresql" else "maria_warehouse")
    read = _pg_rows if kind == "postgresql" else _maria_rows
    acct = account()
    conn = connect(acct, org)
    _connection(acct, "warehouse", kind, params)
    lee, kim = _seed(sf)
    table = "incremental"

    def since_last():
        return app.test_cli_runner().invoke(args=[
            "inflow", "export", "--object", "Contact", "--fields", FIELDS, "--connection", "warehouse", "--table",
            table, "--since-last", "nightly", "--instance", conn.name])

    assert since_last().exit_code == 0
    assert [r[1] for r in read(params, table)] == ["Kim", "Lee"]
    sf.Contact.delete(lee)
    sf.Contact.update(kim, {"LastName": "Kimura"})
    time.sleep(1.1)  # SOQL datetimes are whole seconds: a change in the second a run starts comes again
    result = since_last()
    assert result.exit_code == 0, result.output
    assert "2 record(s) of Contact exported" in result.output
    assert [(r[0], r[1]) for r in read(params, table)] == [(kim, "Kimura")]


def _file_params(request, kind: str) -> dict:
    return request.getfixturevalue(f"{kind}_store")


def _read_file(row, path: str) -> bytes:
    stream = stored.connector(row, allow_loopback=True).open_file(path)
    try:
        return stream.read()
    finally:
        stream.close()


@pytest.mark.parametrize("kind", ["s3", "sftp", "ftps"])
def test_a_csv_file_on_a_file_store_is_replaced_whole_on_each_run(app, org, sf, kind, request):
    row = _connection(account(), "partner", kind, _file_params(request, kind))
    _seed(sf)
    for _ in range(2):
        result = _export(app, org, "--soql", "SELECT LastName, Title FROM Contact ORDER BY LastName",
                         "--connection", "partner", "--path", "exports/contacts.csv")
        assert result.exit_code == 0, result.output
        assert "exported to file exports/contacts.csv on partner" in result.output
    data = _read_file(row, "exports/contacts.csv")
    assert data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(data[len(BOM):].decode())))
    assert rows == [["LastName", "Title"], ["Kim", "'-minus"], ["Lee", "'=SUM(A1)"]]  # escaped, as downloads
    names = [e.name for e in stored.connector(row, allow_loopback=True).browse("exports")]
    assert "contacts.csv" in names and not [n for n in names if n.endswith(".part")]


def test_an_excel_file_on_sftp_and_bad_targets_answer_in_one_line(app, org, sf, request, maria_warehouse):
    acct = account()
    row = _connection(acct, "partner", "sftp", request.getfixturevalue("sftp_store"))
    _connection(acct, "warehouse", "mysql", maria_warehouse)
    _seed(sf)
    result = _export(app, org, "--soql", "SELECT LastName FROM Contact ORDER BY LastName", "--connection", "partner",
                     "--path", "exports/contacts.xlsx")
    assert result.exit_code == 0, result.output
    sheet = load_workbook(io.BytesIO(_read_file(row, "exports/contacts.xlsx")), read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [["LastName"], ["Kim"], ["Lee"]]

    for args, words in ((("--connection", "partner", "--path", "exports/contacts.json"), "Export to a .csv or .xlsx"),
                        (("--connection", "partner", "--table", "contacts"), "give --path, not --table"),
                        (("--connection", "warehouse", "--path", "c.csv"), "give --table, not --path"),
                        (("--connection", "partner", "--path", "private/c.csv"), "SFTP: permission denied")):
        result = _export(app, org, "--object", "Contact", *args)
        assert result.exit_code == 1 and words in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    result = _export(app, org, "--object", "Contact", "--connection", "nowhere", "--table", "t")
    assert result.exit_code == 2 and "No connection(s) named 'nowhere'" in result.output


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_bulk_export_lands_typed_as_a_rest_one(app, org, kind, request):
    params = request.getfixturevalue("pg_warehouse" if kind == "postgresql" else "maria_warehouse")
    _connection(account(), "warehouse", kind, params)
    with org.store.transaction():
        for i in range(2_100):
            org.store.insert("Contact", {"LastName": f"L{i:05d}", "Title": "=1+1", "Birthdate": "1990-02-28",
                                         "HasOptedOutOfEmail": i % 2 == 0})
    result = _export(app, org, "--object", "Contact", "--fields", FIELDS, "--connection", "warehouse",
                     "--table", "bulk_contacts")
    assert result.exit_code == 0, result.output
    assert "bulk2: 2100 record(s) of Contact exported" in result.output
    rows = (_pg_rows if kind == "postgresql" else _maria_rows)(params, "bulk_contacts")
    assert len(rows) == 2_100 and {r[0] for r in rows} == set(org.store.table("Contact").rows)
    assert rows[0][1:5] == ("L00000", "=1+1", date(1990, 2, 28), True)  # MySQL's BOOLEAN answers 1 and 0
    assert rows[1][1:5] == ("L00001", "=1+1", date(1990, 2, 28), False)
    assert rows[0][5] is not None and rows[0][6:] == (None, None, None)
