"""Record CRUD, describe and upsert through simple-salesforce and plain requests."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceResourceNotFound

from sfdx.localorg.ids import checksum


def test_crud_with_simple_salesforce(sf):
    acc = sf.Account.create({"Name": "Acme", "Industry": "Banking", "NumberOfEmployees": 42})
    assert acc["success"] is True and acc["errors"] == []
    rid = acc["id"]
    assert rid.startswith("001") and len(rid) == 18 and rid[15:] == checksum(rid[:15])
    got = sf.Account.get(rid)
    assert got["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{rid}"}
    assert got["Name"] == "Acme" and got["NumberOfEmployees"] == 42 and got["IsDeleted"] is False
    assert got["CreatedDate"].endswith("+0000") and got["OwnerId"].startswith("005")
    assert sf.Account.update(rid, {"Phone": "+49 30 1234"}) == 204
    assert sf.Account.get(rid)["Phone"] == "+49 30 1234"
    assert sf.Account.delete(rid) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Account.get(rid)
    assert exc.value.content == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]


def test_contact_compound_name_and_15_char_ids(sf):
    acc = sf.Account.create({"Name": "Parent"})["id"]
    con = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "AccountId": acc[:15]})["id"]
    got = sf.Contact.get(con)
    assert got["Name"] == "Ada Lovelace" and got["AccountId"] == acc


def test_create_returns_location_and_limit_header(rest):
    r = rest.post("sobjects/Account/", json={"Name": "Loc"})
    assert r.status_code == 201
    assert r.headers["Location"] == f"/services/data/v66.0/sobjects/Account/{r.json()['id']}"
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    used, total = r.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")
    assert int(used) >= 1 and total == "15000"


def test_describe_has_every_real_key(sf):
    d = sf.Contact.describe()
    for key in ("actionOverrides", "childRelationships", "fields", "keyPrefix", "recordTypeInfos", "urls",
                "sobjectDescribeOption", "supportedScopes", "namedLayoutInfos", "layoutable"):
        assert key in d
    assert d["keyPrefix"] == "003"
    fields = {f["name"]: f for f in d["fields"]}
    assert all(len(f) == 57 for f in d["fields"])
    assert fields["Email"]["idLookup"] is True and fields["Email"]["type"] == "email"
    assert fields["LastName"]["byteLength"] == 240 and fields["LastName"]["compoundFieldName"] == "Name"
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    assert fields["Salutation"]["picklistValues"][0]["value"] == "Mr."
    assert d["recordTypeInfos"][-1]["recordTypeId"] == "012000000000000AAA"
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"] and task["WhoId"]["polymorphicForeignKey"] is True


def test_describe_global_lists_objects_with_prefixes(sf):
    g = sf.describe()
    prefixes = {o["name"]: o["keyPrefix"] for o in g["sobjects"]}
    assert g["maxBatchSize"] == 200 and g["encoding"] == "UTF-8"
    assert prefixes == prefixes | {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006",
                                   "Case": "500", "Campaign": "701", "CampaignMember": "00v", "Task": "00T",
                                   "Event": "00U", "User": "005", "RecordType": "012", "Organization": "00D"}


def test_upsert_by_idlookup_email_create_then_update(rest):
    r = rest.patch("sobjects/Contact/Email/ada@example.com", json={"LastName": "Lovelace"})
    assert r.status_code == 201 and r.json()["created"] is True and r.json()["success"] is True
    r2 = rest.patch("sobjects/Contact/Email/ADA@example.com", json={"FirstName": "Ada"})
    assert r2.status_code == 200
    assert r2.json() == {"id": r.json()["id"], "success": True, "errors": [], "created": False}


def test_upsert_before_v46_answers_204_without_created(rest):
    rest.version = "45.0"
    first = rest.patch("sobjects/Contact/Email/old@example.com", json={"LastName": "Old"})
    assert first.status_code == 201 and "created" not in first.json()
    again = rest.patch("sobjects/Contact/Email/old@example.com", json={"LastName": "Older"})
    assert again.status_code == 204 and again.text == ""


def test_upsert_multiple_matches_300_and_unknown_key_404(sf, rest):
    for _ in range(2):
        sf.Contact.create({"LastName": "Twin", "Email": "twin@example.com"})
    r = rest.patch("sobjects/Contact/Email/twin@example.com", json={"LastName": "X"})
    assert r.status_code == 300
    assert len(r.json()) == 2 and r.json()[0].startswith("/services/data/v66.0/sobjects/Contact/003")
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Contact.upsert("Email/twin@example.com", {"LastName": "Y"})
    bad = rest.patch("sobjects/Contact/Title/ceo", json={"LastName": "X"})
    assert bad.status_code == 404
    assert bad.json() == [{"message": "Provided external ID field does not exist or is not accessible: Title",
                           "errorCode": "NOT_FOUND"}]


def test_unknown_object_and_record_are_not_found(rest, sf):
    r = rest.get("sobjects/Nope__c/describe")
    assert r.status_code == 404
    assert r.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    acc = sf.Account.create({"Name": "A"})["id"]
    assert rest.get(f"sobjects/Contact/{acc}").status_code == 404


def test_limits_and_record_count(rest, sf):
    sf.Account.create({"Name": "Counted"})
    limits = rest.get("limits/").json()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert limits["DailyApiRequests"]["Remaining"] < 15000
    assert rest.get("limits/recordCount?sObjects=Account").json() == {"sObjects": [{"count": 1, "name": "Account"}]}
    assert rest.get("limits/recordCount?sObjects=Lead").json() == {"sObjects": []}


def test_resources_and_any_supported_version(rest, org, sf_session):
    for v in ("31.0", "52.0", "66.0"):
        rest.version = v
        body = rest.get("").json()
        assert body["sobjects"] == f"/services/data/v{v}/sobjects"
        assert body["identity"].endswith(f"/id/{org.id}/{org.admin_id}")
    rest.version = "30.0"
    assert rest.get("sobjects").status_code == 404


def test_simple_salesforce_default_version_and_api_usage(org, sf_session):
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].total == 15000


def test_post_on_the_id_key_inserts(rest):
    r = rest.post("sobjects/Account/Id", json={"Name": "Via Id"})
    assert r.status_code == 201 and r.json()["id"].startswith("001")
