"""SOQL over REST: paging with query_all, relationships, operators, literals and error texts."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfdx.localorg import dml


@pytest.fixture
def people(org):
    store = org.store
    accs = [r.id for r in dml.apply(store, "insert", "Account", [
        {"Name": "Acme", "Industry": "Banking", "NumberOfEmployees": 50},
        {"Name": "Beta", "Industry": "Retail", "NumberOfEmployees": 5},
        {"Name": "Gamma", "NumberOfEmployees": None}])]
    dml.apply(store, "insert", "Contact", [
        {"FirstName": "Ada", "LastName": "Lovelace", "AccountId": accs[0], "Email": "ada@example.com",
         "Birthdate": "1815-12-10"},
        {"FirstName": "Alan", "LastName": "Turing", "AccountId": accs[1], "Birthdate": "1912-06-23"},
        {"LastName": "Hopper", "Email": "grace@example.com"}])
    return accs


def names(result):
    return [r["Name"] for r in result["records"]]


def test_query_all_pages_through_next_records_url(sf, org):
    dml.apply(org.store, "insert", "Account", [{"Name": f"Acc {i:04d}"} for i in range(4100)])
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert first["done"] is False and len(first["records"]) == 2000 and first["totalSize"] == 4100
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    everything = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert everything["totalSize"] == 4100 and len(everything["records"]) == 4100
    assert names(everything)[:2] == ["Acc 0000", "Acc 0001"] and names(everything)[-1] == "Acc 4099"


def test_batch_size_header(rest, org):
    dml.apply(org.store, "insert", "Account", [{"Name": f"A{i}"} for i in range(450)])
    page = rest.get("query", params={"q": "SELECT Id FROM Account"}, headers={"Sforce-Query-Options": "batchSize=200"})
    assert len(page.json()["records"]) == 200
    nxt = rest.s.get(rest.org.instance_url + page.json()["nextRecordsUrl"],
                     headers={"Authorization": f"Bearer {rest.token}", "Sforce-Query-Options": "batchSize=200"})
    assert len(nxt.json()["records"]) == 200 and nxt.json()["nextRecordsUrl"].endswith("-400")


def test_parent_relationships_nest_with_attributes(sf, org, people):
    rows = sf.query("SELECT Name, Account.Name, Owner.Email FROM Contact ORDER BY LastName")["records"]
    hopper, lovelace = rows[0], rows[1]
    assert hopper["Account"] is None
    assert lovelace["Account"]["Name"] == "Acme" and lovelace["Account"]["attributes"]["type"] == "Account"
    assert lovelace["Owner"]["Email"] == f"admin@{org.name}.localorg"
    assert lovelace["Owner"]["attributes"]["type"] == "User"


@pytest.mark.parametrize("where, expected", [
    ("Name = 'acme'", ["Acme"]),
    ("Name != 'Acme'", ["Beta", "Gamma"]),
    ("NumberOfEmployees > 5", ["Acme"]),
    ("NumberOfEmployees >= 5", ["Acme", "Beta"]),
    ("NumberOfEmployees < 50", ["Beta"]),
    ("NumberOfEmployees <= 50 AND Industry = 'Retail'", ["Beta"]),
    ("NumberOfEmployees = null", ["Gamma"]),
    ("Industry != null", ["Acme", "Beta"]),
    ("Name IN ('Acme', 'gamma')", ["Acme", "Gamma"]),
    ("Name NOT IN ('Acme')", ["Beta", "Gamma"]),
    ("Name LIKE 'b%'", ["Beta"]),
    ("Name LIKE '_amm_'", ["Gamma"]),
    ("NOT Name = 'Acme'", ["Beta", "Gamma"]),
    ("(Name = 'Acme' OR Name = 'Beta') AND NumberOfEmployees > 10", ["Acme"]),
    ("Name = 'Acme' OR (Name = 'Beta' AND Industry = 'Banking')", ["Acme"]),
    ("CreatedDate = TODAY", ["Acme", "Beta", "Gamma"]),
    ("CreatedDate > 2020-01-01T00:00:00Z", ["Acme", "Beta", "Gamma"]),
    ("CreatedDate < 2020-01-01T00:00:00.000+0000", []),
])
def test_where_operators(sf, people, where, expected):
    assert names(sf.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name")) == expected


def test_date_literals_order_limit_offset(sf, people):
    rows = sf.query("SELECT LastName FROM Contact WHERE Birthdate > 1900-01-01 ORDER BY Birthdate DESC")["records"]
    assert [r["LastName"] for r in rows] == ["Turing"]
    ordered = sf.query("SELECT LastName FROM Contact ORDER BY Birthdate ASC NULLS LAST LIMIT 2 OFFSET 1")
    assert [r["LastName"] for r in ordered["records"]] == ["Turing", "Hopper"]


def test_filter_on_parent_and_ids_15_or_18(sf, people):
    rows = sf.query("SELECT LastName FROM Contact WHERE Account.Industry = 'Banking'")["records"]
    assert [r["LastName"] for r in rows] == ["Lovelace"]
    acme = people[0]
    for key in (acme, acme[:15]):
        assert names(sf.query(f"SELECT Name FROM Account WHERE Id = '{key}'")) == ["Acme"]
    assert names(sf.query(f"SELECT Name FROM Account WHERE Id IN ('{acme}', '{people[1]}') ORDER BY Name")) == [
        "Acme", "Beta"]


def test_count_forms(sf, people):
    assert sf.query("SELECT COUNT() FROM Contact") == {"totalSize": 3, "done": True, "records": []}
    agg = sf.query("SELECT COUNT(Id) FROM Contact WHERE Email != null")
    assert agg["records"] == [{"attributes": {"type": "AggregateResult"}, "expr0": 2}]


def test_soql_errors_match_salesforce(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT SetupOwnerId FROM Account")
    assert exc.value.content == [{"errorCode": "INVALID_FIELD", "message": (
        "\nSELECT SetupOwnerId FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'SetupOwnerId' on "
        "entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the "
        "custom field name. Please reference your WSDL or the describe call for the appropriate names.")}]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("select count() from XYZZY")
    assert exc.value.content[0]["errorCode"] == "INVALID_TYPE"
    assert exc.value.content[0]["message"].startswith(
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\nsObject type 'XYZZY' is not "
        "supported.")
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FRM Account")
    malformed = "\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\nunexpected token: FRM"
    assert exc.value.content == [{"errorCode": "MALFORMED_QUERY", "message": malformed}]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Account WHERE NumberOfEmployees = '5'")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert exc.value.content[0]["message"].endswith(
        "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be "
        "enclosed in quotes")


def test_query_all_sees_deleted_records(sf, people):
    sf.Account.delete(people[1])
    assert names(sf.query("SELECT Name FROM Account ORDER BY Name")) == ["Acme", "Gamma"]
    everything = sf.query_all("SELECT Name, IsDeleted FROM Account ORDER BY Name", include_deleted=True)
    assert [(r["Name"], r["IsDeleted"]) for r in everything["records"]] == [
        ("Acme", False), ("Beta", True), ("Gamma", False)]


def test_child_subquery_with_filter_order_and_per_parent_limit(sf, people):
    rows = sf.query("SELECT Name, (SELECT LastName FROM contacts WHERE Email != null ORDER BY LastName LIMIT 1) "
                    "FROM Account ORDER BY Name")["records"]
    assert rows[0]["Contacts"]["totalSize"] == 1 and rows[0]["Contacts"]["records"][0]["LastName"] == "Lovelace"
    assert rows[1]["Contacts"] is None and rows[2]["Contacts"] is None
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Name, (SELECT Id FROM Nopes) FROM Account")
    assert "Didn't understand relationship 'Nopes'" in exc.value.content[0]["message"]


def test_lookup_batches_by_any_text_field_see_fresh_writes(sf, org):
    dml.apply(org.store, "insert", "Account", [{"Name": f"Acc {i}", "Site": f"S{i % 3}"} for i in range(30)])
    assert len(sf.query("SELECT Id FROM Account WHERE Site IN ('s1', 'S2')")["records"]) == 20
    sf.Account.create({"Name": "Late", "Site": "S1"})  # the cached lookup index must notice this
    assert len(sf.query("SELECT Id FROM Account WHERE Site = 's1'")["records"]) == 11


@pytest.fixture
def stamped(org):
    """Accounts created at known instants around 2024-03-10T08:00Z, plus one created now."""
    for name, at in (("Prior", "2024-03-09T23:30:00.000+0000"), ("Early", "2024-03-10T07:59:59.000+0000"),
                     ("Exact", "2024-03-10T08:00:00.000+0000"), ("Later", "2024-03-10T08:00:01.000+0000")):
        org.store.insert("Account", {"Name": name}, now=at)
    org.store.insert("Account", {"Name": "Now"})


@pytest.mark.parametrize("where, expected", [
    ("CreatedDate >= 2024-03-10T08:00:00Z", ["Exact", "Later", "Now"]),
    ("CreatedDate > 2024-03-10T08:00:00Z", ["Later", "Now"]),
    ("CreatedDate < 2024-03-10T08:00:00Z", ["Early", "Prior"]),
    ("CreatedDate <= 2024-03-10T08:00:00Z", ["Early", "Exact", "Prior"]),
    ("CreatedDate >= 2024-03-10T08:00:00.000Z", ["Exact", "Later", "Now"]),
    ("CreatedDate = 2024-03-10T09:00:00+01:00", ["Exact"]),
    ("CreatedDate != 2024-03-10T03:00:00-05:00", ["Early", "Later", "Now", "Prior"]),
    ("CreatedDate < 2024-03-10T00:00:00-08:00", ["Early", "Prior"]),
    ("CreatedDate <= 2024-03-10T00:00:00-08:00", ["Early", "Exact", "Prior"]),
    ("CreatedDate < 2024-03-10T01:00:00+01:00", ["Prior"]),
    ("CreatedDate >= 2024-03-10T00:00:00Z AND CreatedDate < 2024-03-11T00:00:00Z", ["Early", "Exact", "Later"]),
    ("CreatedDate IN (2024-03-10T03:00:00-05:00, 2024-03-09T23:30:00Z)", ["Exact", "Prior"]),
    ("CreatedDate NOT IN (2024-03-10T08:00:00Z)", ["Early", "Later", "Now", "Prior"]),
    ("CreatedDate = TODAY", ["Now"]),
    ("CreatedDate < TODAY", ["Early", "Exact", "Later", "Prior"]),
    ("CreatedDate = LAST_N_DAYS:3", ["Now"]),
])
def test_datetime_filters_compare_instants(sf, stamped, where, expected):
    assert names(sf.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name")) == expected


def test_order_by_datetime_is_chronological(sf, stamped):
    chronological = ["Prior", "Early", "Exact", "Later", "Now"]
    assert names(sf.query("SELECT Name FROM Account ORDER BY CreatedDate")) == chronological
    assert names(sf.query("SELECT Name FROM Account ORDER BY CreatedDate DESC")) == chronological[::-1]


def test_datetime_written_with_offset_is_stored_utc_and_filtered_as_instant(sf):
    sf.Event.create({"Subject": "Standup", "ActivityDateTime": "2024-03-10T09:00:00.000+01:00",
                     "DurationInMinutes": 15})
    sf.Event.create({"Subject": "Retro", "ActivityDateTime": "2024-03-10T17:00:00Z", "DurationInMinutes": 60})
    rows = sf.query("SELECT Subject, ActivityDateTime FROM Event ORDER BY ActivityDateTime")["records"]
    assert [(r["Subject"], r["ActivityDateTime"]) for r in rows] == [
        ("Standup", "2024-03-10T08:00:00.000+0000"), ("Retro", "2024-03-10T17:00:00.000+0000")]
    pacific_morning = "SELECT Subject FROM Event WHERE ActivityDateTime = 2024-03-10T00:00:00-08:00"
    assert [r["Subject"] for r in sf.query(pacific_morning)["records"]] == ["Standup"]
    after = "SELECT Subject FROM Event WHERE ActivityDateTime > 2024-03-10T09:00:00-08:00"
    assert [r["Subject"] for r in sf.query(after)["records"]] == []
    after_noon = "SELECT Subject FROM Event WHERE ActivityDateTime >= 2024-03-10T18:00:00+01:00"
    assert [r["Subject"] for r in sf.query(after_noon)["records"]] == ["Retro"]


@pytest.mark.parametrize("where, expected", [
    ("Birthdate >= 1912-06-23", ["Turing"]),
    ("Birthdate < 1912-06-23", ["Lovelace"]),
    ("Birthdate <= 1912-06-23", ["Lovelace", "Turing"]),
    ("Birthdate = 1815-12-10", ["Lovelace"]),
    ("Birthdate != 1815-12-10", ["Hopper", "Turing"]),
    ("Birthdate IN (1912-06-23, 2000-01-01)", ["Turing"]),
    ("Birthdate < TODAY", ["Lovelace", "Turing"]),
])
def test_date_filters_compare_dates(sf, people, where, expected):
    rows = sf.query(f"SELECT LastName FROM Contact WHERE {where} ORDER BY LastName")["records"]
    assert [r["LastName"] for r in rows] == expected
