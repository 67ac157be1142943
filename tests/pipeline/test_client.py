"""SalesforceClient against localorg over HTTPS: queries, collections, 401 refresh, API allowance, undelete."""

from __future__ import annotations

import pytest

from backend.errors import FatalSalesforceError
from backend.salesforce.client import ApiLimitExceeded, SalesforceClient
from tests.pipeline.sf_helpers import client  # noqa: F401


def test_query_pages_and_describe_cache(client, org):  # noqa: F811
    for i in range(5):
        org.store.insert("Account", {"Name": f"Acme {i}"})
    names = sorted(r["Name"] for r in client.query("SELECT Id, Name FROM Account"))
    assert names == [f"Acme {i}" for i in range(5)]
    d1 = client.describe("Account")
    assert client.describe("account") is d1 and d1["name"] == "Account"
    assert client.api_usage is not None and client.api_usage[0] >= 2


def test_collections_insert_update_upsert_delete_report_each_row(client, org):  # noqa: F811
    out = client.collection("insert", "Contact", [{"LastName": "A"}, {"FirstName": "no last name"}])
    assert out[0]["success"] is True and out[1]["success"] is False
    assert out[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    rid = out[0]["id"]
    assert client.collection("update", "Contact", [{"Id": rid, "Email": "a@example.com"}])[0]["success"]
    up = client.collection("upsert", "Contact", [{"Email": "a@example.com", "LastName": "B"},
                                                  {"Email": "new@example.com", "LastName": "C"}], "Email")
    assert [u["created"] for u in up] == [False, True]
    assert client.collection("delete", "Contact", [{"Id": rid}])[0]["success"]
    assert org.store.get(rid) is None
    assert client.undelete([rid])[0]["success"] is True
    assert org.store.get(rid)["LastName"] == "B"


def test_401_asks_for_a_fresh_token_once_and_continues(org, localorg):  # noqa: F811
    calls = []

    def renew() -> str:
        calls.append(1)
        return org.sessions.issue(org.admin_id).token

    c = SalesforceClient(org.instance_url, org.ready_token, ca_bundle=str(localorg.ca_path), on_unauthorized=renew)
    c.describe("Account")
    org.sessions.revoke(c.access_token)
    assert c.query_all("SELECT Id FROM Account") == []
    assert len(calls) == 1
    assert c.query_all("SELECT Id FROM Contact") == [] and len(calls) == 1


def test_401_without_a_refresher_is_fatal_with_an_actionable_message(org, localorg):  # noqa: F811
    c = SalesforceClient(org.instance_url, "00Dxx!bogus", ca_bundle=str(localorg.ca_path))
    with pytest.raises(FatalSalesforceError, match="reconnect"):
        c.describe("Account")


def test_request_limit_exceeded_is_retriable_with_retry_after(client, org, localorg):  # noqa: F811
    localorg.set_knobs([org], api_allowance=org.api_used)
    with pytest.raises(ApiLimitExceeded) as exc:
        client.describe("Contact")
    assert exc.value.retry_after > 0 and "allowance" in str(exc.value)


def test_soql_errors_are_fatal_and_name_the_problem(client):  # noqa: F811
    with pytest.raises(FatalSalesforceError, match="No such column"):
        client.query_all("SELECT Nope__c FROM Account")
