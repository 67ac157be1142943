"""`flask --app backend inflow migrate`: org to org between two localorg orgs, by plan and plan-less."""

from __future__ import annotations

import csv
import io
import json

from backend.runs.parts import BOM
from tests.migration.helpers import by, rows
from tests.runs.factories import account, connect


def _invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=["inflow", "migrate", *args])


def _orgs(src, dst) -> list[str]:
    return ["--from-instance-url", src.instance_url, "--from-access-token", src.ready_token,
            "--to-instance-url", dst.instance_url, "--to-access-token", dst.ready_token]


def _seed(org):
    top = org.store.insert("Account", {"Name": "Alpha", "Phone": "030 1"})
    org.store.insert("Account", {"Name": "Alpha Sub", "ParentId": top})
    org.store.insert("Account", {"Name": "Beta"})
    boss = org.store.insert("Contact", {"LastName": "Boss", "Email": "boss@a.test", "AccountId": top})
    org.store.insert("Contact", {"LastName": "Staff", "Email": "staff@a.test", "AccountId": top, "ReportsToId": boss})


def test_objects_shortcut_twice_with_match_creates_no_duplicates(app, make_org, tmp_path):
    src, dst = make_org("cli-src"), make_org("cli-dst")
    _seed(src)
    args = [*_orgs(src, dst), "--objects", "Account,Contact", "--where", "Account=Name LIKE 'A%'",
            "--match", "Account=Name,Contact=Email", "--out", str(tmp_path)]
    first = _invoke(app, *args)
    assert first.exit_code == 0, first.output
    assert "Account: 2 read, 2 inserted, 0 updated, 0 failed" in first.output
    assert "Contact: 2 read, 2 inserted" in first.output and "after Account (AccountId)" in first.output
    second = _invoke(app, *args)
    assert second.exit_code == 0, second.output
    assert "Account: 2 read, 0 inserted, 2 updated" in second.output
    assert "Contact: 2 read, 0 inserted, 2 updated" in second.output
    accounts, contacts = by(dst, "Account", "Name"), by(dst, "Contact", "LastName")
    assert sorted(accounts) == ["Alpha", "Alpha Sub"] and len(rows(dst, "Contact")) == 2
    assert accounts["Alpha"]["Phone"] == "030 1" and accounts["Alpha Sub"]["ParentId"] == accounts["Alpha"]["Id"]
    assert contacts["Staff"]["ReportsToId"] == contacts["Boss"]["Id"]
    data = (tmp_path / "Contact.success.csv").read_bytes()
    assert len(list(csv.DictReader(io.StringIO(data.removeprefix(BOM).decode())))) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".inflow-parts")]


def test_plan_dry_run_between_named_instances_counts_and_writes_nothing(app, make_org, tmp_path):
    src, dst = make_org("plan-src"), make_org("plan-dst")
    owner = account()
    connect(owner, src)
    connect(owner, dst)
    _seed(src)
    dst.store.insert("Account", {"Name": "Beta"})
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"steps": [{"object": "Contact", "fields": ["LastName", "Email", "AccountId"]},
                                          {"object": "Account", "fields": ["Name"], "match": ["Name"]}]}))
    result = _invoke(app, "--plan", str(plan), "--from", src.name, "--to", dst.name, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Account: 3 read, 2 would be inserted, 1 would be updated" in result.output
    assert "Contact: 2 read, 2 would be inserted" in result.output and "nothing was written" in result.output
    assert len(rows(dst, "Account")) == 1 and rows(dst, "Contact") == []


def test_instances_of_two_accounts_are_refused(app, make_org):
    src, dst = make_org("acct-a"), make_org("acct-b")
    connect(account(), src)
    connect(account(), dst)
    result = _invoke(app, "--objects", "Account", "--from", src.name, "--to", dst.name)
    assert result.exit_code == 2 and "same account" in result.output
