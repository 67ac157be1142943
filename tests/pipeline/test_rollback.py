"""Rollback of every operation against localorg: created deleted, updated restored, deleted undeleted."""

from __future__ import annotations

import csv
import io

import pytest

from backend.pipeline.rollback import HARD_DELETE, RESULT_PART, RollbackContext, rollback
from sfdx.localorg.fieldkit import text
from tests.pipeline.sf_helpers import (  # noqa: F401
    FieldMapping,
    Mapping,
    client,
    csv_bytes,
    records,
    start,
)


def undo(client, journal, parts):  # noqa: F811
    result = rollback(RollbackContext(client, journal, parts))
    rows = list(csv.DictReader(io.StringIO(parts.parts[RESULT_PART].decode())))
    return result, rows


@pytest.mark.parametrize("api", ["rest", "bulk2"])
def test_rollback_of_insert_deletes_what_the_run_created(client, org, api):  # noqa: F811
    keep = org.store.insert("Contact", {"LastName": "Before"})
    m = Mapping("Contact", fields=[FieldMapping("LastName", column="Last")])
    _, journal, parts = start(client, csv_bytes(["Last"], [["A"], ["B"], ["C"]]), m, api=api, chunk_size=2)
    assert len(records(org, "Contact")) == 4
    result, rows = undo(client, journal, parts)
    assert (result.succeeded, result.failed, result.message) == (3, 0, None)
    assert [r["Id"] for r in records(org, "Contact")] == [keep]
    assert {r["sf__Action"] for r in rows} == {"deleted"}
    again, _ = undo(client, journal, parts)  # a second rollback repeats nothing
    assert again.succeeded == 3 and [r["Id"] for r in records(org, "Contact")] == [keep]


@pytest.mark.parametrize("api", ["rest", "bulk2"])
def test_rollback_of_update_restores_previous_values_including_blanks(client, org, api):  # noqa: F811
    a = org.store.insert("Contact", {"LastName": "A", "Title": "CEO"})
    b = org.store.insert("Contact", {"LastName": "B"})
    m = Mapping("Contact", "update", fields=[FieldMapping("Id", column="Id"), FieldMapping("Title", column="Title"),
                                             FieldMapping("LastName", column="Last")])
    _, journal, parts = start(client, csv_bytes(["Id", "Title", "Last"], [[a, "Intern", "A2"], [b, "CTO", "B2"]]),
                              m, api=api)
    assert org.store.get(a)["Title"] == "Intern" and org.store.get(b)["Title"] == "CTO"
    result, rows = undo(client, journal, parts)
    assert (result.succeeded, result.failed) == (2, 0)
    assert (org.store.get(a)["Title"], org.store.get(a)["LastName"]) == ("CEO", "A")
    assert org.store.get(b).get("Title") is None and org.store.get(b)["LastName"] == "B"
    assert {r["sf__Action"] for r in rows} == {"restored"}


def test_rollback_of_upsert_deletes_created_and_restores_matched(client, org):  # noqa: F811
    org.schema.get("Contact").add(text("Ext__c", 20, "Ext", custom=True, external_id=True, id_lookup=True))
    org.store.table("Contact").refresh_indexes()
    old = org.store.insert("Contact", {"LastName": "Old", "Ext__c": "E1"})
    m = Mapping("Contact", "upsert", match_key="Ext__c",
                fields=[FieldMapping("Ext__c", column="Ext"), FieldMapping("LastName", column="Last")])
    _, journal, parts = start(client, csv_bytes(["Ext", "Last"], [["E1", "New name"], ["E2", "Fresh"]]), m)
    assert len(records(org, "Contact")) == 2
    result, rows = undo(client, journal, parts)
    assert (result.succeeded, result.failed) == (2, 0)
    assert [(r["Id"], r["LastName"]) for r in records(org, "Contact")] == [(old, "Old")]
    assert sorted(r["sf__Action"] for r in rows) == ["deleted", "restored"]


@pytest.mark.parametrize("api", ["rest", "bulk2"])
def test_rollback_of_delete_undeletes_from_the_recycle_bin(client, org, api):  # noqa: F811
    ids = [org.store.insert("Contact", {"LastName": f"D{i}"}) for i in range(3)]
    m = Mapping("Contact", "delete", fields=[FieldMapping("Id", column="Id")])
    _, journal, parts = start(client, csv_bytes(["Id"], [[i] for i in ids]), m, api=api)
    assert records(org, "Contact") == []
    result, rows = undo(client, journal, parts)
    assert (result.succeeded, result.failed) == (3, 0)
    assert sorted(r["Id"] for r in records(org, "Contact")) == sorted(ids)
    assert {r["sf__Action"] for r in rows} == {"undeleted"}


def test_rollback_of_hard_delete_says_it_cannot_restore(client, org):  # noqa: F811
    rid = org.store.insert("Contact", {"LastName": "Gone"})
    m = Mapping("Contact", "hardDelete", fields=[FieldMapping("Id", column="Id")])
    _, journal, parts = start(client, csv_bytes(["Id"], [[rid]]), m, api="bulk2")
    result, rows = undo(client, journal, parts)
    assert (result.succeeded, result.failed, result.message) == (0, 1, HARD_DELETE)
    assert rows == [{"sf__Id": rid, "sf__Action": "not restored", "sf__Error": HARD_DELETE}]
    assert records(org, "Contact") == []
