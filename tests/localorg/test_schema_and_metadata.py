"""Custom objects from an SFDX source tree (with and without a namespace) and from the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest

META = '<?xml version="1.0" encoding="UTF-8"?>\n<{tag} xmlns="http://soap.sforce.com/2006/04/metadata">{body}</{tag}>'


def write_tree(root: Path) -> Path:
    """A tiny force-app tree: Gadget__c (auto-number name) and Part__c (master-detail to Gadget__c)."""
    objects = root / "force-app/main/default/objects"
    files = {
        "Gadget__c/Gadget__c.object-meta.xml": ("CustomObject", "<label>Gadget</label><pluralLabel>Gadgets"
                                                "</pluralLabel><nameField><displayFormat>GAD-{0000}</displayFormat>"
                                                "<label>Gadget Number</label><type>AutoNumber</type></nameField>"),
        "Gadget__c/fields/Serial__c.field-meta.xml": ("CustomField", "<fullName>Serial__c</fullName><externalId>true"
                                                      "</externalId><label>Serial</label><length>12</length>"
                                                      "<type>Text</type><unique>true</unique>"),
        "Gadget__c/fields/Status__c.field-meta.xml": ("CustomField", "<fullName>Status__c</fullName><label>Status"
                                                      "</label><type>Picklist</type><valueSet><restricted>true"
                                                      "</restricted><valueSetDefinition><value><fullName>New"
                                                      "</fullName><default>true</default><label>New</label></value>"
                                                      "<value><fullName>Done</fullName><default>false</default>"
                                                      "<label>Done</label></value></valueSetDefinition></valueSet>"),
        "Gadget__c/fields/Done__c.field-meta.xml": ("CustomField", "<fullName>Done__c</fullName><defaultValue>false"
                                                    "</defaultValue><label>Done</label><type>Checkbox</type>"),
        "Part__c/Part__c.object-meta.xml": ("CustomObject", "<label>Part</label><pluralLabel>Parts</pluralLabel>"
                                            "<nameField><label>Part Name</label><type>Text</type></nameField>"),
        "Part__c/fields/Gadget__c.field-meta.xml": ("CustomField", "<fullName>Gadget__c</fullName><label>Gadget"
                                                    "</label><referenceTo>Gadget__c</referenceTo><relationshipName>"
                                                    "Parts</relationshipName><type>MasterDetail</type>"),
        "Account/fields/Tier__c.field-meta.xml": ("CustomField", "<fullName>Tier__c</fullName><label>Tier</label>"
                                                  "<length>10</length><type>Text</type>"),
    }
    for rel, (tag, body) in files.items():
        path = objects / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(META.format(tag=tag, body=body))
    return root


@pytest.mark.parametrize("namespace", [None, "inflow"])
def test_source_tree_objects_work_end_to_end(make_org, tmp_path, sf_session, namespace):
    from simple_salesforce import Salesforce

    org = make_org(source_dir=write_tree(tmp_path), namespace=namespace)
    sf = Salesforce(instance_url=org.instance_url, session_id=org.ready_token, session=sf_session)
    ns = f"{namespace}__" if namespace else ""
    gadget = getattr(sf, f"{ns}Gadget__c")
    fields = {f["name"]: f for f in gadget.describe()["fields"]}
    assert fields[f"{ns}Serial__c"]["externalId"] and fields[f"{ns}Serial__c"]["unique"]
    assert fields["Name"]["autoNumber"] is True and fields[f"{ns}Status__c"]["restrictedPicklist"] is True
    gid = gadget.create({f"{ns}Serial__c": "S-1"})["id"]
    got = gadget.get(gid)
    assert got["Name"] == "GAD-0001" and got[f"{ns}Status__c"] == "New" and got[f"{ns}Done__c"] is False
    part = getattr(sf, f"{ns}Part__c")
    pid = part.create({"Name": "Bolt", f"{ns}Gadget__c": gid})["id"]
    unnamed = part.create({f"{ns}Gadget__c": gid})["id"]
    assert part.get(unnamed)["Name"] == unnamed
    rows = sf.query(f"SELECT Name, {ns}Gadget__r.{ns}Serial__c FROM {ns}Part__c")["records"]
    assert rows[0][f"{ns}Gadget__r"][f"{ns}Serial__c"] == "S-1"
    children = {c["childSObject"]: c for c in gadget.describe()["childRelationships"]}
    assert children[f"{ns}Part__c"]["relationshipName"] == f"{ns}Parts__r"
    assert children[f"{ns}Part__c"]["cascadeDelete"] is True
    sf.Account.create({"Name": "Tiered", f"{ns}Tier__c": "Gold"})
    gadget.delete(gid)
    assert sf.query(f"SELECT COUNT() FROM {ns}Part__c")["totalSize"] == 0, pid


def test_record_types_by_developer_name(org, sf, rest):
    rt = org.create_record_type("Account", "Partner", "Partner Account")
    rows = sf.query("SELECT Id, Name FROM RecordType WHERE SobjectType = 'Account' AND DeveloperName = 'Partner'")
    assert rows["records"][0]["Id"] == rt
    acc = rest.post("sobjects/Account", json={"Name": "P", "RecordType": {"DeveloperName": "Partner"}})
    assert acc.status_code == 201
    assert sf.Account.get(acc.json()["id"])["RecordTypeId"] == rt
    infos = {i["developerName"]: i for i in sf.Account.describe()["recordTypeInfos"]}
    assert infos["Partner"]["recordTypeId"] == rt and infos["Master"]["master"] is True
    q = sf.query("SELECT Name, RecordType.DeveloperName FROM Account")["records"][0]
    assert q["RecordType"]["DeveloperName"] == "Partner"


def test_parent_by_external_id_in_body(org, rest):
    from sfdx.localorg.fieldkit import ref, text

    org.define_object("Widget__c", "Widget", [text("Code__c", 20, "Code", unique=True, external_id=True,
                                                   id_lookup=True, custom=True)])
    org.define_object("Order__c", "Order", [
        ref("Widget__c", "Widget__c", "Widget__r", "Widget", custom=True)])
    wid = rest.post("sobjects/Widget__c", json={"Name": "W", "Code__c": "w-1"}).json()["id"]
    r = rest.post("sobjects/Order__c", json={"Name": "O", "Widget__r": {"Code__c": "W-1"}})
    assert r.status_code == 201
    assert rest.get(f"sobjects/Order__c/{r.json()['id']}").json()["Widget__c"] == wid
    missing = rest.post("sobjects/Order__c", json={"Name": "O", "Widget__r": {"Code__c": "nope"}})
    assert missing.json() == [{"message": "Foreign key external ID: nope not found for field Code__c in entity "
                                          "Widget__c", "errorCode": "INVALID_FIELD", "fields": []}]


def test_polymorphic_who_and_what(sf, org):
    con = sf.Contact.create({"LastName": "Who"})["id"]
    acc = sf.Account.create({"Name": "What"})["id"]
    sf.Task.create({"Subject": "Call", "WhoId": con, "WhatId": acc})
    row = sf.query("SELECT Subject, Status, Who.Name, What.Name FROM Task")["records"][0]
    assert row["Status"] == "Not Started"
    assert row["Who"]["attributes"]["type"] == "Contact" and row["Who"]["Name"] == "Who"
    assert row["What"]["attributes"]["type"] == "Account" and row["What"]["Name"] == "What"


def test_what_name_of_a_case_is_its_case_number(sf):
    case = sf.Case.create({"Subject": "Broken"})["id"]
    sf.Task.create({"Subject": "Follow up", "WhatId": case})
    row = sf.query("SELECT What.Name FROM Task")["records"][0]
    assert row["What"]["attributes"]["type"] == "Case" and row["What"]["Name"] == sf.Case.get(case)["CaseNumber"]
