"""The wizard's steps with a connection as the source: the page offers the account's connections, and inspect,
automap, mapping preview, validate and save read a PostgreSQL table through the connector, as the worker will."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sfdx.localorg.pytest_plugin import localorg, make_org, org, sf, sf_session  # noqa: F401
from tests.connectors import servers
from tests.web.canvas_support import bearer, canvas_config, install, launch


@pytest.fixture
def app_config(app_config, localorg, monkeypatch):  # noqa: F811
    return {**canvas_config(app_config, localorg, monkeypatch), "egress_allow_loopback": True}


@pytest.fixture
def session(client, org):  # noqa: F811
    install(org)
    return bearer(launch(client, org))


@pytest.fixture(scope="module")
def pg() -> Iterator[dict]:
    with servers.postgres_database() as params:
        yield params


def _connection(client, session, pg) -> str:
    url = f"postgresql://{pg['user']}:{pg['password']}@{pg['host']}:{pg['port']}/{pg['database']}"
    created = client.post("/api/connections", json={"name": "ERP", "url": url}, headers=session)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["id"]


def _org_id(html: str) -> str:
    return html.split('id="t-org"', 1)[1].split('<option value="', 1)[1].split('"', 1)[0]


MAPPING = {"object": "Contact", "operation": "insert",
           "fields": [{"field": "LastName", "column": "name"}, {"field": "Description", "column": "amount"}]}


def test_a_table_of_a_connection_goes_through_every_wizard_step_and_is_saved_naming_it(client, session, pg):
    cid = _connection(client, session, pg)
    page = client.get("/ui/wizard", headers=session).get_data(as_text=True)
    assert "From a connection" in page
    assert f'<option value="{cid}" data-store-kind="database" data-conn-name="ERP">ERP (PostgreSQL)' in page
    org_id = _org_id(page)
    source = {"connection_id": cid, "read": {"table": "sales.people", "columns": ["id", "name", "amount"],
                                             "where": "id < 3"}, "name": "ERP: sales.people"}

    inspected = client.post("/api/sources/inspect", headers=session, json={"source": source, "count": True})
    assert inspected.status_code == 200, inspected.get_json()
    body = inspected.get_json()
    assert body["columns"] == ["id", "name", "amount"] and body["row_count"] == 2
    assert body["rows"][0] == ["1", "Zoë Ångström, \"quoted\"", "12345678901234.123456"]

    suggested = client.post("/api/mapping/automap", headers=session, json={
        "org_connection_id": org_id, "source": source, "object": "Contact", "operation": "insert"}).get_json()
    assert suggested["columns"] == ["id", "name", "amount"]
    preview = client.post("/api/mapping/preview", headers=session,
                          json={"org_connection_id": org_id, "source": source, "mapping": MAPPING}).get_json()
    assert preview["report"]["errors"] == [] and preview["rows"][1]["LastName"] == "日本語 text"
    checked = client.post("/api/mapping/validate", headers=session,
                          json={"org_connection_id": org_id, "source": source, "mapping": MAPPING}).get_json()
    assert (checked["rows"], checked["valid"]) == (2, 2)

    saved = client.post("/api/jobs", headers=session, json={"name": "ERP people", "org_connection_id": org_id,
                                                             "source": source, "object": "Contact",
                                                             "operation": "insert", "mapping": MAPPING})
    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["source"] == {"type": "connection", "connection_id": cid, "read": source["read"]}
    home = client.get("/ui/home", headers=session).get_data(as_text=True)
    assert '<td data-label="Source">sales.people</td>' in home


def test_a_missing_table_or_another_accounts_connection_is_refused(client, session, pg, make_org):  # noqa: F811
    cid = _connection(client, session, pg)
    missing = client.post("/api/sources/inspect", headers=session,
                          json={"source": {"connection_id": cid, "read": {"table": "sales.nothing"}}})
    assert missing.status_code == 400 and "sales.nothing" in missing.get_json()["message"]
    other = make_org()
    install(other)
    stranger = bearer(launch(client, other))
    refused = client.post("/api/sources/inspect", headers=stranger,
                          json={"source": {"connection_id": cid, "read": {"table": "sales.people"}}})
    assert refused.status_code == 404
