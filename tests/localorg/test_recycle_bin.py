"""Recycle bin: delete, queryAll, SOAP undelete and emptyRecycleBin, hard delete through the engine."""

from __future__ import annotations

from sfdx.localorg import dml

UNDELETE = """<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader></soapenv:Header>
  <soapenv:Body><urn:{call}>{ids}</urn:{call}></soapenv:Body>
</soapenv:Envelope>"""


def soap(sf_session, org, call, ids, token=None):
    body = UNDELETE.format(token=token or org.ready_token, call=call,
                           ids="".join(f"<urn:ids>{i}</urn:ids>" for i in ids))
    return sf_session.post(f"{org.instance_url}/services/Soap/u/59.0", data=body,
                           headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": call})


def test_undelete_restores_from_recycle_bin(sf, org, sf_session):
    rid = sf.Account.create({"Name": "Phoenix"})["id"]
    sf.Account.delete(rid)
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    binned = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in binned] == [(rid, True)]
    r = soap(sf_session, org, "undelete", [rid])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    assert f"<undeleteResponse><result><id>{rid}</id><success>true</success></result></undeleteResponse>" in r.text
    assert sf.Account.get(rid)["IsDeleted"] is False
    again = soap(sf_session, org, "undelete", [rid])
    assert "<success>false</success>" in again.text and "<statusCode>UNDELETE_FAILED</statusCode>" in again.text


def test_soap_rejects_bad_session(sf_session, org):
    r = soap(sf_session, org, "undelete", ["001000000000000AAA"], token="bogus")
    assert r.status_code == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in r.text


def test_empty_recycle_bin_and_hard_delete_remove_for_good(sf, org, sf_session):
    a, b = (sf.Account.create({"Name": n})["id"] for n in ("A", "B"))
    sf.Account.delete(a)
    r = soap(sf_session, org, "emptyRecycleBin", [a])
    assert f"<id>{a}</id><success>true</success>" in r.text
    assert dml.apply(org.store, "hardDelete", "Account", [{"Id": b}])[0].success
    assert sf.query_all("SELECT Id FROM Account", include_deleted=True)["totalSize"] == 0
    gone = soap(sf_session, org, "undelete", [a])
    assert "<statusCode>INVALID_CROSS_REFERENCE_KEY</statusCode>" in gone.text


def test_lookup_to_deleted_parent_is_entity_is_deleted(sf, rest):
    acc = sf.Account.create({"Name": "Parent"})["id"]
    sf.Account.delete(acc)
    r = rest.post("sobjects/Contact", json={"LastName": "Orphan", "AccountId": acc})
    assert r.status_code == 400
    assert r.json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["AccountId"]}]


def test_deleting_an_account_takes_contacts_and_activities_along_and_undelete_restores(sf, org, sf_session):
    acc = sf.Account.create({"Name": "Parent"})["id"]
    con = sf.Contact.create({"LastName": "Kid", "AccountId": acc})["id"]
    task = sf.Task.create({"Subject": "Call", "WhoId": con})["id"]
    other = sf.Contact.create({"LastName": "Stranger"})["id"]
    sf.Account.delete(acc)
    assert sf.query("SELECT Id FROM Contact")["records"][0]["Id"] == other
    assert sf.query("SELECT COUNT() FROM Task")["totalSize"] == 0
    soap(sf_session, org, "undelete", [acc])
    assert sf.Contact.get(con)["IsDeleted"] is False and sf.Task.get(task)["WhoId"] == con


def test_restricted_picklist_wants_the_exact_api_value(rest):
    body = {"Name": "Deal", "StageName": "closed won", "CloseDate": "2026-12-01"}
    r = rest.post("sobjects/Opportunity", json=body)
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert rest.post("sobjects/Opportunity", json={**body, "StageName": "Closed Won"}).status_code == 201


def test_hard_delete_of_a_live_parent_removes_its_children_for_good(sf, org):
    acc = sf.Account.create({"Name": "Parent"})["id"]
    sf.Contact.create({"LastName": "Kid", "AccountId": acc})
    assert dml.apply(org.store, "hardDelete", "Account", [{"Id": acc}])[0].success
    assert sf.query_all("SELECT Id FROM Contact", include_deleted=True)["totalSize"] == 0
