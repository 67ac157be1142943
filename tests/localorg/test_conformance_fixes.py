"""Behaviour behind the recorded-traffic fixes: compound addresses, the Organization record, query column
metadata, custom notifications and Metadata API deploy over raw SOAP."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest

from .conftest import Rest

MD = "http://soap.sforce.com/2006/04/metadata"
OBJECT = ('<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'
          "<label>Gadget</label><pluralLabel>Gadgets</pluralLabel><nameField><label>Gadget Name</label>"
          "<type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite"
          "</sharingModel><fields><fullName>Code__c</fullName><label>Code</label><type>Text</type><length>20"
          "</length><externalId>true</externalId><unique>true</unique></fields></CustomObject>")


def _package(*types: tuple[str, list[str]]) -> str:
    body = "".join(f"<types>{''.join(f'<members>{m}</members>' for m in ms)}<name>{t}</name></types>"
                   for t, ms in types)
    return f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="{MD}">{body}<version>66.0</version></Package>'


def _zip(files: dict[str, str]) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return base64.b64encode(buf.getvalue()).decode()


def _soap(sf_session, org, call: str, token: str | None = None) -> tuple[int, str]:
    env = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
           f'soap/envelope/"><soapenv:Header xmlns="{MD}"><SessionHeader><sessionId>{token or org.ready_token}'
           f'</sessionId></SessionHeader></soapenv:Header><soapenv:Body xmlns="{MD}">{call}</soapenv:Body>'
           "</soapenv:Envelope>")
    r = sf_session.post(org.instance_url + "/services/Soap/m/66.0", data=env.encode(),
                        headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=30)
    return r.status_code, r.text


def _deploy(sf_session, org, files: dict[str, str], **options: bool) -> str:
    opts = "".join(f"<{k}>{str(v).lower()}</{k}>" for k, v in options.items())
    status, text = _soap(sf_session, org, f"<deploy><ZipFile>{_zip(files)}</ZipFile><DeployOptions>{opts}"
                                          "</DeployOptions></deploy>")
    assert status == 200 and "<state>Queued</state>" in text, text
    dep_id = re.search(r"<id>(0Af\w+)</id>", text).group(1)
    status, text = _soap(sf_session, org, f"<checkDeployStatus><asyncProcessId>{dep_id}</asyncProcessId>"
                                          "<includeDetails>true</includeDetails></checkDeployStatus>")
    assert status == 200, text
    return text


def test_compound_address_follows_its_parts(rest: Rest):
    acc = rest.post("sobjects/Account", json={"Name": "Acme", "BillingCity": "Lyon", "BillingCountry": "FR"}).json()
    rec = rest.get(f"sobjects/Account/{acc['id']}").json()
    assert rec["BillingAddress"] == {"city": "Lyon", "country": "FR", "geocodeAccuracy": None, "latitude": None,
                                     "longitude": None, "postalCode": None, "state": None, "street": None}
    assert rec["ShippingAddress"] is None
    rest.patch(f"sobjects/Account/{acc['id']}", json={"BillingCity": None, "BillingCountry": None,
                                                      "ShippingStreet": "1 Rue"})
    rows = rest.get("query", params={"q": "SELECT BillingAddress, ShippingAddress FROM Account"}).json()["records"]
    assert rows[0]["BillingAddress"] is None and rows[0]["ShippingAddress"]["street"] == "1 Rue"
    bad = rest.patch(f"sobjects/Account/{acc['id']}", json={"BillingAddress": {"city": "x"}})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_organization_record_is_complete_and_audited(rest: Rest, org):
    rec = rest.get(f"sobjects/Organization/{org.id}").json()
    assert rec["Address"]["country"] == "US" and rec["DefaultAccountAccess"] == "Edit"
    assert rec["CreatedById"] == org.admin_id and rec["CreatedDate"] and rec["TrialExpirationDate"]
    assert rest.get("query", params={"q": "SELECT TrialExpirationDate, IsReadOnly FROM Organization"}).json()[
        "records"][0]["IsReadOnly"] is False


def test_query_column_metadata(rest: Rest):
    body = rest.get("query", params={"columns": "true", "q": "SELECT Name, Owner.Profile__x FROM Account"})
    assert body.status_code == 400 and body.json()[0]["errorCode"] == "INVALID_FIELD"
    meta = rest.get("queryAll", params={"columns": "true", "q": (
        "SELECT Name, Account.Owner.Name, Account.Name, COUNT(Id) FROM Contact")}).json()
    assert (meta["entityName"], meta["keyPrefix"], meta["idSelected"], meta["groupBy"]) == ("Contact", "003",
                                                                                          False, False)
    name, account, count = meta["columnMetadata"]
    assert (name["columnName"], name["apexType"], name["textType"], name["insertable"]) == ("Name", "String",
                                                                                        True, False)
    assert account["columnName"] == "Account" and account["apexType"] is None
    assert [(c["columnName"], c["displayName"]) for c in account["joinColumns"]] == [
        ("Owner", "Account.Owner"), ("Name", "Account.Name")]
    assert account["joinColumns"][0]["joinColumns"][0]["displayName"] == "Account.Owner.Name"
    assert (count["aggregate"], count["columnName"], count["displayName"]) == (True, "expr3", "COUNT(Id)")
    sub = rest.get("query", params={"columns": "true", "q": "SELECT Id, (SELECT LastName FROM Contacts) FROM Account"})
    child = sub.json()["columnMetadata"][1]
    assert sub.json()["idSelected"] and child["aggregate"] and child["joinColumns"][0]["columnName"] == "LastName"


def test_custom_notifications_are_recorded_and_checked(rest: Rest, org):
    url = "actions/standard/customNotificationAction"
    org.add_notification_types([{"DeveloperName": "Import_Done", "MasterLabel": "Import done"}])
    [type_id] = org.store.table("CustomNotificationType").rows
    ok = {"customNotifTypeId": type_id, "recipientIds": [org.admin_id], "title": "Import done",
          "body": "12 rows failed", "targetId": org.admin_id}
    r = rest.post(url, json={"inputs": [ok]})
    assert r.status_code == 200 and r.json()[0]["isSuccess"]
    [sent] = org.extra["custom_notifications"]
    assert (sent["title"], sent["recipientIds"], sent["senderId"]) == ("Import done", [org.admin_id], org.admin_id)
    r = rest.post(url, json={"inputs": [ok, {k: v for k, v in ok.items() if k != "title"}]})
    assert r.status_code == 400
    assert [x["isSuccess"] for x in r.json()] == [True, False]
    assert r.json()[1]["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING", "fields": [],
                                      "message": "Missing required input parameter: title"}]
    assert len(org.extra["custom_notifications"]) == 2
    unknown = rest.post(url, json={"inputs": [dict(ok, customNotifTypeId="0MLR0000000008eOAA")]})
    assert unknown.status_code == 400 and unknown.json()[0]["errors"][0]["statusCode"] == "INVALID_ID_FIELD"
    old = Rest(org, rest.s, version="45.0").post(url, json={"inputs": [ok]})
    assert old.status_code == 404


def test_metadata_deploy_check_only_partial_and_faults(sf_session, org):
    files = {"package.xml": _package(("CustomObject", ["Gadget__c"]), ("CustomField", ["Gadget__c.Code__c"]),
                                     ("ApexClass", ["Nope"])),
             "objects/Gadget__c.object": OBJECT}
    text = _deploy(sf_session, org, files, checkOnly=True, rollbackOnError=False)
    assert "<status>SucceededPartial</status>" in text and org.schema.get("Gadget__c") is None
    text = _deploy(sf_session, org, files)   # rollbackOnError defaults to true: one failure, nothing applied
    assert "<status>Failed</status>" in text and "<numberComponentErrors>1</numberComponentErrors>" in text
    assert "<problem>Not available for deploy for this organization</problem>" in text
    assert org.schema.get("Gadget__c") is None
    text = _deploy(sf_session, org, files, rollbackOnError=False)
    assert "<status>SucceededPartial</status>" in text and "<success>true</success>" in text
    assert org.schema.get("Gadget__c").field("Code__c").external_id
    broken = {"package.xml": _package(("CustomObject", ["Broken__c"])), "objects/Broken__c.object": "<Custom"}
    text = _deploy(sf_session, org, broken)
    assert "<problem>Error parsing file:" in text and "<lineNumber>1</lineNumber>" in text
    status, text = _soap(sf_session, org, "<retrieve/>")
    assert status == 500 and "<faultcode>soapenv:Client</faultcode>" in text and "No operation available" in text
    status, text = _soap(sf_session, org, "<checkDeployStatus><asyncProcessId>0Af000000000000AAA</asyncProcessId>"
                                          "</checkDeployStatus>")
    assert status == 500 and "sf:INVALID_CROSS_REFERENCE_KEY" in text
    status, text = _soap(sf_session, org, "<deploy/>", token=f"{org.id}!expired")
    assert status == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in text


@pytest.mark.parametrize("missing", ["objects/Gadget__c.object", "package.xml"])
def test_metadata_deploy_names_what_the_zip_lacks(sf_session, org, missing):
    files = {"package.xml": _package(("CustomObject", ["Gadget__c"])), "objects/Gadget__c.object": OBJECT}
    files.pop(missing)
    text = _deploy(sf_session, org, files)
    assert "<status>Failed</status>" in text and "<fileName>package.xml</fileName>" in text
    assert ("<problem>No package.xml found</problem>" if missing == "package.xml" else
            "<problem>An object 'Gadget__c' of type CustomObject was named in package.xml, but was not found in "
            "zipped directory</problem>") in text
    assert org.schema.get("Gadget__c") is None
