"""Matching in the target (no duplicates on a second run), dry run counts, rollback of a three-step run,
and a multi-object job from files with references by source key."""

from __future__ import annotations

from backend.migration.engine import rollback_migration
from tests.migration.helpers import by, client_of, migrate, rows, source_org, target_org  # noqa: F401

PLAN = {"steps": [{"object": "Account", "fields": ["Name", "ParentId"], "match": ["Name"]},
                  {"object": "Contact", "fields": ["LastName", "Email", "AccountId"], "match": ["Email"]}]}


def seed(org):
    top = org.store.insert("Account", {"Name": "Top"})
    org.store.insert("Account", {"Name": "Sub", "ParentId": top})
    org.store.insert("Contact", {"LastName": "A", "Email": "a@x.test", "AccountId": top})


def test_a_second_run_with_match_updates_instead_of_duplicating(source_org, target_org, localorg):  # noqa: F811
    seed(source_org)
    existing = target_org.store.insert("Account", {"Name": "Top"})
    first, _, _ = migrate(source_org, target_org, localorg, PLAN)
    assert [(s.inserted, s.updated) for s in first.steps] == [(1, 1), (1, 0)]
    second, _, _ = migrate(source_org, target_org, localorg, PLAN)
    assert [(s.inserted, s.updated, s.failed) for s in second.steps] == [(0, 2, 0), (0, 1, 0)]
    accounts = by(target_org, "Account", "Name")
    assert len(rows(target_org, "Account")) == 2 and len(rows(target_org, "Contact")) == 1
    assert accounts["Top"]["Id"] == existing and accounts["Sub"]["ParentId"] == existing
    assert rows(target_org, "Contact")[0]["AccountId"] == existing


def test_dry_run_counts_and_writes_nothing(source_org, target_org, localorg):  # noqa: F811
    seed(source_org)
    source_org.store.insert("Contact", {"LastName": "B", "Email": "b@x.test"})
    target_org.store.insert("Account", {"Name": "Sub"})
    target_org.store.insert("Contact", {"LastName": "B", "Email": "B@x.test"})
    result, _, _ = migrate(source_org, target_org, localorg, PLAN, dry_run=True)
    counts = {s.object: (s.read, s.inserted, s.updated, s.unmatched) for s in result.steps}
    assert counts == {"Account": (2, 1, 1, 0), "Contact": (2, 1, 1, 0)}
    assert result.steps[0].second_pass == 1
    assert len(rows(target_org, "Account")) == 1 and len(rows(target_org, "Contact")) == 1


def test_rollback_of_a_three_step_run_removes_children_first(source_org, target_org, localorg):  # noqa: F811
    acc = source_org.store.insert("Account", {"Name": "Roll"})
    source_org.store.insert("Account", {"Name": "Roll child", "ParentId": acc})
    source_org.store.insert("Contact", {"LastName": "Roll", "AccountId": acc})
    source_org.store.insert("Opportunity", {"Name": "Deal", "AccountId": acc, "StageName": "Prospecting",
                                            "CloseDate": "2026-12-31"})
    keep = target_org.store.insert("Account", {"Name": "Keep me"})
    plan = {"steps": [{"object": "Opportunity", "fields": ["Name", "AccountId", "StageName", "CloseDate"]},
                      {"object": "Account", "fields": ["Name", "ParentId"]},
                      {"object": "Contact", "fields": ["LastName", "AccountId"]}]}
    result, journal, parts = migrate(source_org, target_org, localorg, plan)
    assert result.order.objects == ["Account", "Opportunity", "Contact"]
    assert result.failed == 0 and len(rows(target_org, "Opportunity")) == 1
    assert len(rows(target_org, "Account")) == 3 and len(rows(target_org, "Contact")) == 1
    undone = rollback_migration(client_of(target_org, localorg), journal, parts)
    assert [(o, p) for o, p, _ in undone] == [("Account", "references"), ("Contact", "insert"),
                                              ("Opportunity", "insert"), ("Account", "insert")]
    assert all(r.failed == 0 for _, _, r in undone)
    assert [a["Id"] for a in rows(target_org, "Account")] == [keep]
    assert rows(target_org, "Contact") == [] and rows(target_org, "Opportunity") == []


def test_files_with_source_keys_need_no_external_id(target_org, localorg, tmp_path):  # noqa: F811
    (tmp_path / "accounts.csv").write_text("Key,Account Name,ParentKey\nA1,Parent,\nA2,Child,A1\n")
    (tmp_path / "contacts.csv").write_text("Key,Last,AccountKey,BossKey\nC1,Boss,A1,\nC2,Staff,A2,C1\nC3,Lost,A9,\n")
    plan = {"steps": [
        {"object": "Contact", "source": {"file": "contacts.csv", "key": "Key", "columns": {"LastName": "Last"},
                                         "references": {"AccountId": "AccountKey", "ReportsToId": "BossKey"}}},
        {"object": "Account", "source": {"file": "accounts.csv", "key": "Key", "columns": {"Name": "Account Name"},
                                         "references": {"ParentId": "ParentKey"}}}]}
    result, _, _ = migrate(None, target_org, localorg, plan, base_dir=tmp_path)
    assert result.order.objects == ["Account", "Contact"]
    accounts, contacts = by(target_org, "Account", "Name"), by(target_org, "Contact", "LastName")
    assert accounts["Child"]["ParentId"] == accounts["Parent"]["Id"]
    assert contacts["Staff"]["AccountId"] == accounts["Child"]["Id"]
    assert contacts["Staff"]["ReportsToId"] == contacts["Boss"]["Id"]
    assert contacts["Lost"].get("AccountId") is None and result.steps[1].unmatched == 1
