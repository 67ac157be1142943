"""What already exists in the target is reused: records by Id (a sandbox of the source), users by username
before e-mail, record types by DeveloperName; what has no match is left blank and counted."""

from __future__ import annotations

from tests.migration.helpers import by, migrate, rows, source_org, target_org  # noqa: F401


def test_references_to_records_outside_the_plan_keep_ids_that_exist_in_the_target(source_org, target_org,  # noqa: F811
                                                                                    localorg):
    shared = source_org.store.insert("Account", {"Name": "Shared"})
    gone = source_org.store.insert("Account", {"Name": "Only in production"})
    source_org.store.insert("Contact", {"LastName": "Ada", "AccountId": shared})
    source_org.store.insert("Contact", {"LastName": "Bob", "AccountId": gone})
    # a sandbox refreshed from the source holds the same Account under the same Id
    target_org.store.table("Account").put(shared, dict(source_org.store.table("Account").rows[shared]))
    result, _, _ = migrate(source_org, target_org, localorg,
                           {"steps": [{"object": "Contact", "fields": ["LastName", "AccountId"]}]})
    contacts = by(target_org, "Contact", "LastName")
    assert contacts["Ada"]["AccountId"] == shared
    assert contacts["Bob"].get("AccountId") is None
    assert (result.steps[0].inserted, result.steps[0].failed, result.steps[0].unmatched) == (2, 0, 1)
    assert [a["Name"] for a in rows(target_org, "Account")] == ["Shared"]


def test_owners_by_username_first_and_unmatched_values_left_blank_without_a_fallback(source_org, target_org,  # noqa: F811
                                                                                      localorg):
    # the same username in both orgs wins over a different user who has the source user's e-mail
    src_user = source_org.create_user("sam@corp.test", "Sam", email="sam@corp.test")
    dst_sam = target_org.create_user("sam@corp.test", "Sam", email="sam.new@corp.test")
    target_org.create_user("someone@corp.test", "Else", email="sam@corp.test")
    stranger = source_org.create_user("temp@src.test", "Temp", email="temp@src.test")
    only_src = source_org.create_record_type("Account", "OnlyInSource")
    source_org.store.insert("Account", {"Name": "Sam's", "OwnerId": src_user})
    source_org.store.insert("Account", {"Name": "Temp's", "OwnerId": stranger, "RecordTypeId": only_src})
    result, _, _ = migrate(source_org, target_org, localorg, {
        "steps": [{"object": "Account", "fields": ["Name", "OwnerId", "RecordTypeId"]}]})
    accounts = by(target_org, "Account", "Name")
    assert accounts["Sam's"]["OwnerId"] == dst_sam
    assert accounts["Temp's"]["OwnerId"] == target_org.admin_id  # blank: the running user owns it
    assert accounts["Temp's"].get("RecordTypeId") is None
    assert (result.steps[0].inserted, result.steps[0].unmatched) == (2, 2)
