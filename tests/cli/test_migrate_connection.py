"""`inflow migrate --plan` with steps that read a saved connection (the machine's real PostgreSQL) into localorg:
Contacts land under the Accounts their AccountKey names; an unknown connection is one line and writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from backend.connectors import stored
from backend.extensions import db
from backend.models.base import TenantScope
from tests.connectors import servers
from tests.migration.helpers import by, rows
from tests.runs.factories import account, connect

ACCOUNTS = [("A1", "Acme", "030 1"), ("A2", "Globex", "040 2")]
CONTACTS = [("C1", "Ada", "ada@acme.test", "A1"), ("C2", "Bob", "bob@globex.test", "A2"),
            ("C3", "Cy", "cy@acme.test", "A1")]


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        admin_url = servers.pg_admin_url()[2].rsplit("/", 1)[0] + f"/{params['database']}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute('CREATE TABLE sales.accounts ("Key" text, "Account Name" text, phone text, secret text)')
            conn.execute('CREATE TABLE sales.crm_contacts (key text, "LastName" text, "Email" text, "AccountKey" text)')
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO sales.accounts VALUES (%s, %s, %s, 'not for Salesforce')", ACCOUNTS)
                cur.executemany("INSERT INTO sales.crm_contacts VALUES (%s, %s, %s, %s)", CONTACTS)
            conn.execute(f"GRANT SELECT ON sales.accounts, sales.crm_contacts TO {params['user']}")
        yield params


def _plan(tmp_path, account_connection: str = "erp") -> str:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"steps": [
        {"object": "Contact", "source": {"connection": "erp", "query": "SELECT * FROM sales.crm_contacts",
                                         "key": "key", "columns": ["LastName", "Email"],
                                         "references": {"AccountId": "AccountKey"}}},
        {"object": "Account", "match": ["Name"],
         "source": {"connection": account_connection, "table": "sales.accounts", "key": "Key",
                    "columns": {"Name": "Account Name", "Phone": "phone"}}},
    ]}))
    return str(plan)


def _migrate(app, plan: str, target, tmp_path):
    return app.test_cli_runner().invoke(args=["inflow", "migrate", "--plan", plan, "--to", target.name,
                                              "--out", str(tmp_path)])


def _setup(make_org, pg, name: str):
    owner = account()
    dst = make_org(name)
    connect(owner, dst)
    stored.create(TenantScope(owner.id), "erp", "postgresql", {**pg, "tls": False})
    db.session.commit()
    return dst


def test_steps_read_postgres_tables_and_contacts_land_under_their_accounts(app, make_org, pg, tmp_path):
    dst = _setup(make_org, pg, "conn-dst")
    result = _migrate(app, _plan(tmp_path), dst, tmp_path)
    assert result.exit_code == 0, result.output
    assert "2. Contact: after Account (AccountId)" in result.output
    assert "Account: 2 read, 2 inserted" in result.output and "Contact: 3 read, 3 inserted" in result.output
    accounts, contacts = by(dst, "Account", "Name"), by(dst, "Contact", "LastName")
    assert accounts["Acme"]["Phone"] == "030 1" and accounts["Globex"]["Phone"] == "040 2"
    assert contacts["Ada"]["AccountId"] == accounts["Acme"]["Id"] == contacts["Cy"]["AccountId"]
    assert contacts["Bob"]["AccountId"] == accounts["Globex"]["Id"]
    assert contacts["Bob"]["Email"] == "bob@globex.test"
    assert "not for Salesforce" not in json.dumps(rows(dst, "Account"))


def test_unknown_connection_is_one_line_naming_the_step_and_writes_nothing(app, make_org, pg, tmp_path):
    dst = _setup(make_org, pg, "conn-none")
    result = _migrate(app, _plan(tmp_path, account_connection="crm"), dst, tmp_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: Step Account: no saved connection 'crm' in the "
                                                  "account of the instances."]
    assert rows(dst, "Account") == [] and rows(dst, "Contact") == []
