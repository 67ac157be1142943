"""Families between two localorg orgs: a cycle, a failed parent, WhoId/WhatId, record types and owners."""

from __future__ import annotations

from sfdx.localorg.fieldkit import ref, text
from tests.migration.helpers import by, migrate, rows, source_org, target_org  # noqa: F401


def test_a_cycle_is_inserted_without_one_reference_then_updated(source_org, target_org, localorg):  # noqa: F811
    for org in (source_org, target_org):
        org.schema.get("Account").add(ref("Primary_Contact__c", "Contact", "Primary_Contact__r", custom=True))
    acc = source_org.store.insert("Account", {"Name": "Cyclic"})
    con = source_org.store.insert("Contact", {"LastName": "Prime", "AccountId": acc})
    source_org.store.update("Account", acc, {"Primary_Contact__c": con})
    result, _, _ = migrate(source_org, target_org, localorg, {"steps": [
        {"object": "Account", "fields": ["Name", "Primary_Contact__c"]},
        {"object": "Contact", "fields": ["LastName", "AccountId"]}]})
    assert result.order.objects == ["Account", "Contact"]
    assert any("Account.Primary_Contact__c -> Contact closes a cycle" in r for r in result.order.reasons)
    account, contact = rows(target_org, "Account")[0], rows(target_org, "Contact")[0]
    assert contact["AccountId"] == account["Id"] and account["Primary_Contact__c"] == contact["Id"]
    assert result.steps[0].second_pass == 1


def test_a_failed_parent_fails_its_children_naming_the_parent_row(source_org, target_org, localorg):  # noqa: F811
    source_org.schema.get("Account").add(text("Code__c", 20, custom=True))
    target_org.schema.get("Account").add(text("Code__c", 3, custom=True))  # too short for one source value
    bad = source_org.store.insert("Account", {"Name": "Too long", "Code__c": "ABCDEFG"})
    good = source_org.store.insert("Account", {"Name": "Fine", "Code__c": "ABC"})
    source_org.store.insert("Contact", {"LastName": "Orphan", "AccountId": bad})
    source_org.store.insert("Contact", {"LastName": "Kept", "AccountId": good})
    result, _, parts = migrate(source_org, target_org, localorg, {"steps": [
        {"object": "Account", "fields": ["Name", "Code__c"]},
        {"object": "Contact", "fields": ["LastName", "AccountId"]}]})
    accounts, contact = result.steps
    assert (accounts.inserted, accounts.failed, contact.inserted, contact.failed) == (1, 1, 1, 1)
    assert [c["LastName"] for c in rows(target_org, "Contact")] == ["Kept"]
    errors = parts.csv_rows("step/Contact/insert/error")
    assert len(errors) == 1 and f"the parent Account row {bad} failed: Code: 7 characters" in errors[0]["sf__Error"]


def test_polymorphic_who_and_what_follow_their_records(source_org, target_org, localorg):  # noqa: F811
    acc = source_org.store.insert("Account", {"Name": "Poly"})
    con = source_org.store.insert("Contact", {"LastName": "Who", "AccountId": acc})
    source_org.store.insert("Task", {"Subject": "Call", "WhoId": con, "WhatId": acc})
    source_org.store.insert("Task", {"Subject": "Visit", "WhatId": acc})
    result, _, _ = migrate(source_org, target_org, localorg, {"steps": [
        {"object": "Task", "fields": ["Subject", "WhoId", "WhatId"]}, {"object": "Contact"}, {"object": "Account"}]})
    assert result.order.objects == ["Account", "Contact", "Task"]
    account, contact = rows(target_org, "Account")[0], rows(target_org, "Contact")[0]
    tasks = by(target_org, "Task", "Subject")
    assert (tasks["Call"]["WhoId"], tasks["Call"]["WhatId"]) == (contact["Id"], account["Id"])
    assert tasks["Visit"].get("WhoId") is None and tasks["Visit"]["WhatId"] == account["Id"]


def test_record_types_by_developer_name_and_owners_by_username_or_email(source_org, target_org, localorg):  # noqa: F811
    src_rt = source_org.create_record_type("Account", "Partner")
    source_org.create_record_type("Account", "OnlyInSource")
    dst_rt = target_org.create_record_type("Account", "Partner")
    rep = source_org.create_user("rep@src.test", "Rep", email="rep@acme.test")
    gone = source_org.create_user("gone@src.test", "Gone", email="gone@acme.test")
    dst_rep = target_org.create_user("rep@dst.test", "Rep", email="rep@acme.test")
    source_org.store.insert("Account", {"Name": "Partner Co", "RecordTypeId": src_rt, "OwnerId": rep})
    source_org.store.insert("Account", {"Name": "Orphan Co", "OwnerId": gone})
    result, _, _ = migrate(source_org, target_org, localorg, {
        "steps": [{"object": "Account", "fields": ["Name", "RecordTypeId", "OwnerId"]}],
        "owners": {"fallback": target_org.admin_username}})
    accounts = by(target_org, "Account", "Name")
    assert accounts["Partner Co"]["RecordTypeId"] == dst_rt and accounts["Partner Co"]["OwnerId"] == dst_rep
    assert accounts["Orphan Co"]["OwnerId"] == target_org.admin_id
    assert result.steps[0].unmatched == 0
