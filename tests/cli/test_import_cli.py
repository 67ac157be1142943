"""`flask --app backend inflow import`: the engine headless against localorg, result files on disk."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from simple_salesforce import Salesforce

from backend.runs.parts import BOM
from tests.runs.factories import ROOT, account, connect, contacts_csv, legacy_id_tree


def _invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "import", *args])


def _read(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM):].decode())))


def _emails(sf) -> list[str]:
    return sorted(r["Email"] for r in sf.query_all("SELECT Email FROM Contact")["records"])


def test_import_with_automap_writes_result_files_and_exits_1_when_rows_fail(app, org, sf, tmp_path):
    src = tmp_path / "contacts.csv"
    src.write_bytes(contacts_csv(25).replace(b"Ann3,Lee3,", b"Ann3,,"))
    result = _invoke(app, "--file", str(src), "--object", "Contact", "--instance-url", org.instance_url,
                     "--access-token", org.ready_token)
    assert result.exit_code == 1, result.output
    assert "25 read, 24 succeeded, 1 failed" in result.output
    success, errors = _read(tmp_path / "contacts.success.csv"), _read(tmp_path / "contacts.errors.csv")
    assert len(success) == 24 and [(e["sf__Row"], e["Email"]) for e in errors] == [("5", "ann3@example.com")]
    assert _emails(sf) == sorted(f"ann{i}@example.com" for i in range(25) if i != 3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".inflow-parts")]


def test_upsert_with_a_mapping_file_into_an_out_dir_exits_0(app, make_org, sf_session, tmp_path):
    org = make_org(source_dir=legacy_id_tree(tmp_path / "tree"))
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    src = tmp_path / "people.csv"
    src.write_text("Key,Surname,Mail\nK1,Lee,a@example.com\nK2,Kim,b@example.com\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"fields": [{"field": "Legacy_Id__c", "column": "Key"},
                                              {"field": "LastName", "column": "Surname"},
                                              {"field": "Email", "column": "Mail"}]}))
    sf.Contact.create({"LastName": "Old", "Email": "a@example.com", "Legacy_Id__c": "K1"})
    out = tmp_path / "out"
    result = _invoke(app, "--file", str(src), "--object", "Contact", "--operation", "upsert",
                     "--match", "Legacy_Id__c",
                     "--mapping", str(mapping), "--instance-url", org.instance_url, "--access-token",
                     org.ready_token, "--api", "rest", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = {r["Mail"]: r for r in _read(out / "people.success.csv")}
    assert rows["a@example.com"]["sf__Created"] == "false" and rows["b@example.com"]["sf__Created"] == "true"
    names = {r["Email"]: r["LastName"] for r in sf.query_all("SELECT Email, LastName FROM Contact")["records"]}
    assert names == {"a@example.com": "Lee", "b@example.com": "Kim"}


def test_dry_run_previews_and_lists_row_errors_without_writing(app, org, sf, tmp_path):
    (tmp_path / "data").mkdir()
    src = tmp_path / "data" / "contacts.csv"
    src.write_text("First Name,Last Name,Email,Birthdate\nAnn,Lee,ann@example.com,1990-01-31\n"
                   "Bo,Kim,bo@example.com,not a date\n")
    result = _invoke(app, "--file", str(src), "--object", "Contact", "--instance-url", org.instance_url,
                     "--access-token", org.ready_token, "--dry-run")
    assert result.exit_code == 1, result.output
    assert '"LastName": "Lee"' in result.output and "row 3:" in result.output
    assert "2 row(s) read, 1 would fail validation" in result.output
    assert _emails(sf) == [] and sorted(p.name for p in src.parent.iterdir()) == ["contacts.csv"]


def test_a_connected_instance_by_name_with_an_expired_token_is_refreshed(app, org, sf, tmp_path):
    connect(account(), org, access_token="00Dexpired!token")
    src = tmp_path / "contacts.csv"
    src.write_bytes(contacts_csv(3))
    result = _invoke(app, "--file", str(src), "--object", "Contact", "--instance", org.name)
    assert result.exit_code == 0, result.output
    assert len(_emails(sf)) == 3


def test_tokens_go_only_to_salesforce_hosts(app, tmp_path):
    src = tmp_path / "contacts.csv"
    src.write_bytes(contacts_csv(1))
    result = _invoke(app, "--file", str(src), "--object", "Contact", "--instance-url", "https://evil.example",
                     "--access-token", "00Dx!secret")
    assert result.exit_code == 2 and "not a Salesforce host" in result.output


def test_the_flask_command_line_runs_it(app_config, org, sf, tmp_path, localorg):
    src = tmp_path / "contacts.csv"
    src.write_bytes(contacts_csv(4))
    env = {**os.environ, "INFLOW_ENV": "test", "DATABASE_URL": app_config["database_url"],
           "REDIS_URL": app_config["redis_url"], "INFLOW_INSTANCE_PATH": str(app_config["instance_path"]),
           "INFLOW_EGRESS_ALLOW_LOOPBACK": "1", "REQUESTS_CA_BUNDLE": str(localorg.ca_bundle),
           "INFLOW_SF_ACCESS_TOKEN": org.ready_token}
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "inflow", "import", "--file", str(src),
                           "--object", "Contact", "--instance-url", org.instance_url], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 read, 4 succeeded, 0 failed" in proc.stdout and len(_emails(sf)) == 4
