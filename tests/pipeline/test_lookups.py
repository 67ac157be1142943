"""Lookups against localorg: by any field, policies for 0/1/2 matches, case, polymorphic, record type, owner."""

from __future__ import annotations

from backend.pipeline.chunk import make_chunk
from backend.pipeline.lookups import LookupResolver
from backend.pipeline.mapping import Mapper
from sfdx.localorg.fieldkit import text
from tests.pipeline.sf_helpers import (  # noqa: F401
    FieldMapping,
    Lookup,
    Mapping,
    client,
    csv_bytes,
    records,
    start,
)


def add_fields(org, sobject, *fields):  # noqa: F811
    org.schema.get(sobject).add(*fields)
    org.store.table(sobject).refresh_indexes()


def contact_mapping(**lookup) -> Mapping:
    return Mapping("Contact", "insert", fields=[FieldMapping("LastName", column="Last"),
                                                FieldMapping("AccountId", column="Company")],
                   lookups=[Lookup("AccountId", "Account", "Name", **lookup)])


def seed_accounts(org):  # noqa: F811
    one = org.store.insert("Account", {"Name": "Solo"})
    twins = [org.store.insert("Account", {"Name": "Twin"}) for _ in range(2)]
    return one, sorted(twins)


DATA = csv_bytes(["Last", "Company"], [["A", "Solo"], ["B", "Twin"], ["C", "Nobody"], ["D", ""]])


def by_last(org):  # noqa: F811
    return {r["LastName"]: r for r in records(org, "Contact")}


def test_default_policies_error_on_no_match_and_on_several(client, org):  # noqa: F811
    solo, _ = seed_accounts(org)
    result, _, parts = start(client, DATA, contact_mapping())
    assert (result.succeeded, result.failed) == (2, 2)
    got = by_last(org)
    assert got["A"]["AccountId"] == solo and got["D"].get("AccountId") is None and set(got) == {"A", "D"}
    errors = {e["Last"]: e for e in parts.csv_rows("error")}
    assert errors["B"]["sf__Error"] == "AccountId: 2 Account records have Name 'Twin'"
    assert errors["C"]["sf__Error"] == "AccountId: no Account has Name 'Nobody'"
    assert errors["C"]["sf__Row"] == "4" and errors["B"]["Company"] == "Twin"
    ok = {s["Last"]: s for s in parts.csv_rows("success")}
    assert ok["A"]["sf__Id"] == got["A"]["Id"] and ok["A"]["sf__Created"] == "true"


def test_blank_and_first_policies(client, org):  # noqa: F811
    solo, twins = seed_accounts(org)
    result, _, _ = start(client, DATA, contact_mapping(no_match="blank", many_match="first"))
    assert (result.succeeded, result.failed) == (4, 0)
    got = by_last(org)
    assert got["A"]["AccountId"] == solo and got["B"]["AccountId"] == twins[0]
    assert got["C"].get("AccountId") is None


def test_case_insensitive_lookup_on_a_custom_text_field(client, org):  # noqa: F811
    add_fields(org, "Account", text("Region_Code__c", 20, "Region Code", custom=True))
    acc = org.store.insert("Account", {"Name": "X", "Region_Code__c": "North-7"})
    data = csv_bytes(["Last", "Company"], [["A", "north-7"], ["B", "NORTH-7"]])
    strict, _, _ = start(client, data, Mapping(
        "Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Company")],
        lookups=[Lookup("AccountId", "Account", "Region_Code__c")]))
    assert (strict.succeeded, strict.failed) == (0, 2)
    loose, _, _ = start(client, data, Mapping(
        "Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Company")],
        lookups=[Lookup("AccountId", "Account", "Region_Code__c", case_insensitive=True)]))
    assert (loose.succeeded, loose.failed) == (2, 0)
    assert {r["AccountId"] for r in records(org, "Contact")} == {acc}


def test_polymorphic_who_and_what_with_the_target_type(client, org):  # noqa: F811
    con = org.store.insert("Contact", {"LastName": "Lee", "Email": "lee@example.com"})
    lead = org.store.insert("Lead", {"LastName": "Lo", "Company": "Co", "Email": "lo@example.com"})
    acc = org.store.insert("Account", {"Name": "Acme"})
    data = csv_bytes(["Subject", "Who", "What", "LeadWho"], [["Call", "lee@example.com", "Acme", "lo@example.com"]])
    m = Mapping("Task", fields=[FieldMapping("Subject", column="Subject"), FieldMapping("WhoId", column="Who"),
                                FieldMapping("WhatId", column="What")],
                lookups=[Lookup("WhoId", "Contact", "Email"), Lookup("WhatId", "Account", "Name")])
    result, _, _ = start(client, data, m)
    assert result.succeeded == 1
    m2 = Mapping("Task", fields=[FieldMapping("Subject", column="Subject"), FieldMapping("WhoId", column="LeadWho")],
                 lookups=[Lookup("WhoId", "Lead", "Email")])
    assert start(client, data, m2)[0].succeeded == 1
    tasks = sorted(records(org, "Task"), key=lambda t: t["WhoId"])
    assert [(t["WhoId"], t.get("WhatId")) for t in tasks] == sorted([(con, acc), (lead, None)])


def test_record_type_by_developer_name_and_owner_by_email(client, org):  # noqa: F811
    partner = org.create_record_type("Account", "Partner", "Partner Account")
    org.create_record_type("Contact", "Partner", "Contact Partner")  # same name, other object: not a match
    user = org.create_user("jo@corp.example", "Jo", email="jo.smith@corp.example")
    data = csv_bytes(["Name", "Kind", "Owner"], [["Acme", "Partner", "JO.SMITH@corp.example"],
                                                 ["Bad", "Nope", "jo.smith@corp.example"]])
    m = Mapping("Account", fields=[FieldMapping("Name", column="Name"), FieldMapping("RecordTypeId", column="Kind"),
                                   FieldMapping("OwnerId", column="Owner")],
                lookups=[Lookup("RecordTypeId", "RecordType", "DeveloperName"),
                         Lookup("OwnerId", "User", "Email", case_insensitive=True)])
    result, _, parts = start(client, data, m)
    assert (result.succeeded, result.failed) == (1, 1)
    (acc,) = records(org, "Account")
    assert acc["RecordTypeId"] == partner and acc["OwnerId"] == user
    assert parts.csv_rows("error")[0]["sf__Error"] == "RecordTypeId: no RecordType has DeveloperName 'Nope'"


def test_external_id_reference_needs_no_query_and_batches_are_cached(client, org):  # noqa: F811
    add_fields(org, "Account", text("Ext__c", 40, "Ext", custom=True, external_id=True, id_lookup=True,
                                    unique=True))
    acc = org.store.insert("Account", {"Name": "E", "Ext__c": "E-1"})
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Ext")],
                lookups=[Lookup("AccountId", "Account", "Ext__c")])
    result, _, parts = start(client, csv_bytes(["Last", "Ext"], [["A", "E-1"], ["B", "E-404"]]), m)
    assert (result.succeeded, result.failed) == (1, 1)
    assert by_last(org)["A"]["AccountId"] == acc
    assert "E-404" in parts.csv_rows("error")[0]["sf__Error"]
    names = [f"N{i}" for i in range(700)]
    for n in names[:5]:
        org.store.insert("Account", {"Name": n})
    lm = contact_mapping(no_match="blank")
    chunk = make_chunk(["Last", "Company"], [["x", n] for n in names], range(2, 702))
    resolver = LookupResolver(client, lm)
    mapper = Mapper(lm, client.describe("Contact"), ["Last", "Company"])
    out = resolver.resolve(mapper.map_chunk(chunk))
    assert resolver.queries == 3 and out.frame["AccountId"].notna().sum() == 5
    resolver.resolve(mapper.map_chunk(chunk))
    assert resolver.queries == 3
