"""The unmodified `sf` CLI's data commands against localorg, as a new user would run them."""

from __future__ import annotations

import csv
import io

import pytest

from .sf_cli import SfCli


@pytest.fixture
def cli(localorg, org, tmp_path) -> SfCli:
    acc = org.store.insert("Account", {"Name": "Zushi Co.", "BillingCity": "Tokyo"})
    org.store.insert("Contact", {"LastName": "Tanaka", "AccountId": acc})
    org.store.insert("Contact", {"LastName": "Sato", "AccountId": acc})
    gone = org.store.insert("Account", {"Name": "MUJI"})
    org.store.delete(gone)
    return SfCli(tmp_path / "home", localorg.ca_path, org.instance_url, org.ready_token)


def test_data_query_prints_a_table_with_relationship_and_child_columns(cli):
    proc = cli.raw("data", "query", "-o", "lo", "-q",
                   "SELECT Id, Name, Owner.Name, BillingAddress, (SELECT LastName FROM Contacts) FROM Account")
    assert proc.returncode == 0, proc.stderr
    assert "OWNER.NAME" in proc.stdout and "CONTACTS.LASTNAME" in proc.stdout
    assert "Zushi Co." in proc.stdout and "Tanaka" in proc.stdout and "Sato" in proc.stdout
    assert "MUJI" not in proc.stdout
    assert "Total number of records retrieved: 1." in proc.stdout


def test_data_query_all_rows_includes_deleted_records_and_csv_output(cli):
    proc = cli.raw("data", "query", "-o", "lo", "--all-rows", "--result-format", "csv", "-q",
                   "SELECT Name, IsDeleted FROM Account ORDER BY Name")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["Name"], r["IsDeleted"]) for r in rows] == [("MUJI", "true"), ("Zushi Co.", "false")]


def test_data_query_aggregate_and_json(cli):
    out = cli.run("data", "query", "-o", "lo", "-q", "SELECT COUNT(Id) FROM Contact")
    assert out["status"] == 0 and out["result"]["records"][0]["expr0"] == 2
    proc = cli.raw("data", "query", "-o", "lo", "-q", "SELECT COUNT(Id) n FROM Contact")
    assert proc.returncode == 0 and "2" in proc.stdout, proc.stderr


def test_data_query_bad_field_shows_salesforce_error(cli):
    out = cli.run("data", "query", "-o", "lo", "-q", "SELECT Nope__c FROM Account")
    assert out["status"] != 0 and "No such column 'Nope__c'" in out["message"]


def test_data_export_bulk_writes_the_query_result(cli, tmp_path):
    target = tmp_path / "accounts.csv"
    out = cli.run("data", "export", "bulk", "-o", "lo", "-q", "SELECT Id, Name FROM Account", "--output-file",
                  str(target), "--wait", "5")
    assert out["status"] == 0, out
    assert [r["Name"] for r in csv.DictReader(io.StringIO(target.read_text()))] == ["Zushi Co."]
