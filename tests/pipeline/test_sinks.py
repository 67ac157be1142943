"""Every operation through REST collections and Bulk API 2.0 against localorg, plus the sink chooser."""

from __future__ import annotations

import pytest

from backend.errors import ConfigError
from backend.pipeline.sinks import choose_sink
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

APIS = ["rest", "bulk2"]


def test_choose_sink_threshold_override_and_hard_delete():
    assert choose_sink("auto", 1_999) == "rest"
    assert choose_sink("auto", 2_000) == "bulk2" and choose_sink("auto", None) == "bulk2"
    assert choose_sink("bulk1", 5) == "bulk1" and choose_sink("rest", 10**6) == "rest"
    assert choose_sink("auto", 10, "hardDelete") == "bulk2"
    with pytest.raises(ConfigError, match="Bulk"):
        choose_sink("rest", 10, "hardDelete")


def people(n: int, bad_every: int = 0) -> bytes:
    return csv_bytes(["Last", "Mail"], [[f"L{i}", "not-an-email" if bad_every and i % bad_every == 0 else
                                         f"p{i}@example.com"] for i in range(n)])


def insert_mapping() -> Mapping:
    return Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("Email", column="Mail")])


@pytest.mark.parametrize("api", APIS)
def test_insert_success_and_error_parts_keep_every_column(client, org, api):  # noqa: F811
    # Salesforce rejects one row (no such account) and the mapping another (bad email): both in the error file.
    data = csv_bytes(["Last", "Mail", "Note", "Acc"], [["Ada", "ada@example.com", "=1+1", ""],
                                                       ["Xu", "x@example.com", "n", "001000000000000AAA"],
                                                       ["Bob", "nope", "n2", ""], ["Cy", "cy@example.com", "", ""]])
    m = insert_mapping()
    m.fields.append(FieldMapping("AccountId", column="Acc"))
    result, journal, parts = start(client, data, m, api=api, chunk_size=2)
    assert (result.api_used, result.rows_read, result.succeeded, result.failed) == (api, 4, 2, 2)
    ok = parts.csv_rows("success")
    assert [r["Last"] for r in ok] == ["Ada", "Cy"] and ok[0]["Note"] == "'=1+1"
    ids = {r["Id"] for r in records(org, "Contact")}
    assert {r["sf__Id"] for r in ok} == ids and all(r["sf__Created"] == "true" for r in ok)
    errors = {r["sf__Row"]: r for r in parts.csv_rows("error")}
    assert set(errors) == {"3", "4"} and errors["3"]["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY")
    assert "not an email" in errors["4"]["sf__Error"] and errors["4"]["Note"] == "n2"
    assert journal.get("chunk/000001") == {"rows": 2, "succeeded": 1, "failed": 1, "created": 1}


@pytest.mark.parametrize("api", APIS)
def test_update_by_id_and_by_any_field(client, org, api):  # noqa: F811
    a = org.store.insert("Contact", {"LastName": "A", "Email": "a@example.com", "Title": "old"})
    b = org.store.insert("Contact", {"LastName": "B", "Email": "b@example.com", "Title": "old"})
    data = csv_bytes(["Id", "Title"], [[a, "by id"], ["003000000000000AAA", "ghost"]])
    m = Mapping("Contact", "update", fields=[FieldMapping("Id", column="Id"), FieldMapping("Title", column="Title")])
    result, _, parts = start(client, data, m, api=api)
    assert (result.succeeded, result.failed) == (1, 1)
    m2 = Mapping("Contact", "update", match_key="Email",
                 fields=[FieldMapping("Email", column="Mail"), FieldMapping("Title", column="Title")])
    result2, _, parts2 = start(client, csv_bytes(["Mail", "Title"], [["B@example.com", "by email"],
                                                                      ["zz@example.com", "none"]]), m2, api=api)
    assert (result2.succeeded, result2.failed) == (1, 1)
    assert org.store.get(a)["Title"] == "by id" and org.store.get(b)["Title"] == "by email"
    assert parts2.csv_rows("success")[0]["sf__Id"] == b and parts2.csv_rows("success")[0]["sf__Created"] == "false"
    assert "no Contact with Email has Email 'zz@example.com'" in parts2.csv_rows("error")[0]["sf__Error"]


@pytest.mark.parametrize("api", APIS)
def test_upsert_by_external_id_and_by_idlookup_email(client, org, api):  # noqa: F811
    org.schema.get("Contact").add(text("Ext__c", 20, "Ext", custom=True, external_id=True, id_lookup=True,
                                       unique=True))
    org.store.table("Contact").refresh_indexes()
    old = org.store.insert("Contact", {"LastName": "Old", "Ext__c": "E1"})
    m = Mapping("Contact", "upsert", match_key="Ext__c",
                fields=[FieldMapping("Ext__c", column="Ext"), FieldMapping("LastName", column="Last")])
    result, _, parts = start(client, csv_bytes(["Ext", "Last"], [["E1", "Changed"], ["E2", "New"]]), m, api=api)
    assert (result.succeeded, result.failed) == (2, 0)
    created = {r["Last"]: r["sf__Created"] for r in parts.csv_rows("success")}
    assert created == {"Changed": "false", "New": "true"} and org.store.get(old)["LastName"] == "Changed"
    m2 = Mapping("Contact", "upsert", match_key="Email",
                 fields=[FieldMapping("Email", column="Mail"), FieldMapping("LastName", column="Last")])
    result2, _, _ = start(client, csv_bytes(["Mail", "Last"], [["e@example.com", "E"]]), m2, api=api)
    assert result2.succeeded == 1 and len(records(org, "Contact")) == 3


@pytest.mark.parametrize("api", [*APIS, "hardDelete"])
def test_delete_by_id_and_by_email_and_hard_delete(client, org, api):  # noqa: F811
    op, api = ("hardDelete", "bulk2") if api == "hardDelete" else ("delete", api)
    ids = [org.store.insert("Contact", {"LastName": f"D{i}", "Email": f"d{i}@example.com"}) for i in range(3)]
    m = Mapping("Contact", op, fields=[FieldMapping("Id", column="Id")])
    result, _, _ = start(client, csv_bytes(["Id"], [[ids[0]], [ids[1]]]), m, api=api)
    assert result.succeeded == 2
    m2 = Mapping("Contact", op, match_key="Email", fields=[FieldMapping("Email", column="Mail")])
    assert start(client, csv_bytes(["Mail"], [["d2@example.com"]]), m2, api=api)[0].succeeded == 1
    assert records(org, "Contact") == []
    in_bin = [rid for rid in ids if rid in org.store.table("Contact").bin]
    assert in_bin == ([] if op == "hardDelete" else ids)


def test_bulk2_splits_jobs_by_size_and_relationship_columns_resolve_in_salesforce(client, org):  # noqa: F811
    org.schema.get("Account").add(text("Ext__c", 20, "Ext", custom=True, external_id=True, id_lookup=True))
    org.store.table("Account").refresh_indexes()
    acc = org.store.insert("Account", {"Name": "P", "Ext__c": "P1"})
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last"), FieldMapping("AccountId", column="Acc")],
                lookups=[Lookup("AccountId", "Account", "Ext__c")])
    data = csv_bytes(["Last", "Acc"], [[f"L{i}", "P1" if i % 5 else "P404"] for i in range(40)])
    result, journal, parts = start(client, data, m, api="bulk2", chunk_size=10, sink_options={"max_job_bytes": 150})
    assert (result.succeeded, result.failed) == (32, 8)
    assert len([k for k in journal.data if k.startswith("bulk2/job/")]) >= 2
    assert {r["AccountId"] for r in records(org, "Contact")} == {acc}
    assert sorted(int(r["sf__Row"]) for r in parts.csv_rows("error")) == [2, 7, 12, 17, 22, 27, 32, 37]


@pytest.mark.parametrize("api", APIS)
def test_unreadable_and_invalid_rows_go_to_the_error_part_and_are_never_sent(client, org, api):  # noqa: F811
    data = b"Last,Mail\nAda,ada@example.com\nBroken,b@example.com,extra field\n,nolast@example.com\nCy,cy@example.com\n"
    result, _, parts = start(client, data, insert_mapping(), api=api)
    assert (result.rows_read, result.succeeded, result.failed) == (4, 2, 2)
    assert sorted(r["LastName"] for r in records(org, "Contact")) == ["Ada", "Cy"]
    errors = {r["sf__Row"]: r["sf__Error"] for r in parts.csv_rows("error")}
    assert set(errors) == {"3", "4"} and "extra field" in errors["3"] and "required" in errors["4"].lower()


@pytest.mark.parametrize("api", APIS)
def test_blank_as_null_clears_a_field_and_blank_as_unchanged_keeps_it(client, org, api):  # noqa: F811
    from backend.pipeline.mapping import Options
    a = org.store.insert("Contact", {"LastName": "A", "Title": "CEO", "Department": "Board"})
    m = Mapping("Contact", "update", options=Options(blank_values="unchanged"),
                fields=[FieldMapping("Id", column="Id"), FieldMapping("Title", column="Title", blank="null"),
                        FieldMapping("Department", column="Dept")])
    result, _, parts = start(client, csv_bytes(["Id", "Title", "Dept"], [[a, "", ""]]), m, api=api)
    assert (result.succeeded, result.failed) == (1, 0) and parts.csv_rows("success")[0]["sf__Id"] == a
    assert org.store.get(a).get("Title") is None and org.store.get(a)["Department"] == "Board"


def test_a_failed_bulk_job_reports_every_row_with_salesforce_s_reason(client, org, localorg):  # noqa: F811
    localorg.set_knobs([org], fail_bulk_jobs=True, fail_bulk_message="InternalServerError : disk on fire")
    result, _, parts = start(client, people(5), insert_mapping(), api="bulk2")
    assert (result.succeeded, result.failed) == (0, 5) and records(org, "Contact") == []
    errors = [r["sf__Error"] for r in parts.csv_rows("error")]
    assert len(errors) == 5 and all(e.startswith("NOT_PROCESSED") and "disk on fire" in e for e in errors)


def test_bulk_results_match_uploaded_rows_by_content_even_out_of_order():
    import numpy as np
    import pandas as pd

    from backend.pipeline.sinks.bulk_csv import match_results, results_frame, row_keys

    uploaded = pd.DataFrame({"LastName": ["A", "B", "A", "C"], "AnnualRevenue": ["1", "2", "1", "912260031"]})
    keys = row_keys(uploaded)
    # Salesforce answers in another order, duplicates included, and echoes one number in Java notation.
    ok = (b'"sf__Id","sf__Created",LastName,AnnualRevenue\n"003B","true","B","2"\n"003A1","true","A","1"\n'
          b'"003C","true","C","9.12260031E8"\n')
    failed = b'"sf__Id","sf__Error",LastName,AnnualRevenue\n"","DUPLICATE_VALUE:dup:--","A","1"\n'
    r = match_results(keys, results_frame(list(uploaded.columns), ok, failed, b""))
    assert list(r.ids) == ["003A1", "003B", None, "003C"]
    assert list(r.errors) == ["", "", "DUPLICATE_VALUE:dup", ""] and list(r.created) == [True, True, False, True]
    assert np.array_equal(r.ok, [True, True, False, True])
