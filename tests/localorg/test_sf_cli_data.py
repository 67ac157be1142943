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


def test_record_commands_create_get_update_and_limits(cli, org):
    made = cli.run("data", "create", "record", "-o", "lo", "-s", "Account", "-v", "Name='Kura Sushi' Phone=555-0100")
    assert made["status"] == 0, made
    acc = made["result"]["id"]
    assert cli.run("data", "update", "record", "-o", "lo", "-s", "Account", "-i", acc, "-v",
                   "BillingCity=Osaka")["status"] == 0
    got = cli.run("data", "get", "record", "-o", "lo", "-s", "Account", "-i", acc)
    assert (got["result"]["Name"], got["result"]["BillingCity"]) == ("Kura Sushi", "Osaka")
    assert got["result"]["BillingAddress"]["city"] == "Osaka"
    limits = cli.run("org", "list", "limits", "-o", "lo")
    assert any(lim["name"] == "DailyApiRequests" for lim in limits["result"]), limits


def test_bulk_import_upsert_delete_and_tree_round_trip(cli, org, tmp_path):
    rows = tmp_path / "contacts.csv"
    rows.write_text("LastName,Email\nIto,ito@example.com\nMori,mori@example.com\n")
    out = cli.run("data", "import", "bulk", "-o", "lo", "-s", "Contact", "-f", str(rows), "--wait", "5")
    assert out["status"] == 0 and out["result"]["processedRecords"] == 2, out
    rows.write_text("LastName,Email\nIto-Sato,ito@example.com\nKato,kato@example.com\n")
    out = cli.run("data", "upsert", "bulk", "-o", "lo", "-s", "Contact", "-i", "Email", "-f", str(rows),
                  "--wait", "5")
    assert out["status"] == 0, out
    assert sorted(r["sf__Created"] for r in out["result"]["records"]["successfulResults"]) == ["false", "true"]
    names = {r["LastName"] for r in cli.run("data", "query", "-o", "lo", "-q", "SELECT LastName FROM Contact")[
        "result"]["records"]}
    assert {"Ito-Sato", "Mori", "Kato"} <= names
    ids = tmp_path / "ids.csv"
    [kato] = org.store.table("Contact").find("Email", "kato@example.com")
    ids.write_text(f"Id\n{kato}\n")
    out = cli.run("data", "delete", "bulk", "-o", "lo", "-s", "Contact", "-f", str(ids), "--wait", "5")
    assert out["status"] == 0, out
    assert org.store.get(kato) is None

    tree = tmp_path / "tree"
    out = cli.run("data", "export", "tree", "-o", "lo", "-d", str(tree), "-q",
                  "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")
    assert out["status"] == 0, out
    [data_file] = tree.glob("*.json")
    [zushi] = org.store.table("Account").find("Name", "Zushi Co.")
    org.store.hard_delete(zushi)   # with its contacts: the tree import brings both back
    out = cli.run("data", "import", "tree", "-o", "lo", "-f", str(data_file))
    assert out["status"] == 0, out
    back = cli.run("data", "query", "-o", "lo", "-q",
                   "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account")["result"]["records"]
    assert [(a["Name"], [c["LastName"] for c in a["Contacts"]["records"]]) for a in back] == [
        ("Zushi Co.", ["Sato", "Tanaka"])]
