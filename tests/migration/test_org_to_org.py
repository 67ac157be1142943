"""Org to org between two localorg orgs: families with self-references arrive with their relationships."""

from __future__ import annotations

import pytest

from backend.migration import sources
from tests.migration.helpers import by, migrate, rows, source_org, target_org  # noqa: F401


def seed_family(org):
    top = org.store.insert("Account", {"Name": "Acme Group"})
    sub = org.store.insert("Account", {"Name": "Acme Berlin", "ParentId": top})
    boss = org.store.insert("Contact", {"LastName": "Boss", "Email": "boss@acme.test", "AccountId": top})
    org.store.insert("Contact", {"LastName": "Worker", "Email": "worker@acme.test", "AccountId": sub,
                                 "ReportsToId": boss})
    return top, sub


@pytest.mark.parametrize("read", ["rest query", "bulk 2.0 query"])
def test_accounts_and_contacts_arrive_with_parents_and_self_references(source_org, target_org, localorg,  # noqa: F811
                                                                        monkeypatch, read):
    if read == "bulk 2.0 query":
        monkeypatch.setattr(sources, "BULK_QUERY_ROWS", 1)  # the threshold, so two records take that path
    seed_family(source_org)
    result, _, _ = migrate(source_org, target_org, localorg,
                           {"steps": [{"object": "Contact"}, {"object": "Account"}]})
    assert result.order.objects == ["Account", "Contact"]
    assert any("ParentId points at Account itself" in r for r in result.order.reasons)
    accounts = by(target_org, "Account", "Name")
    contacts = by(target_org, "Contact", "LastName")
    assert accounts["Acme Berlin"]["ParentId"] == accounts["Acme Group"]["Id"]
    assert contacts["Worker"]["AccountId"] == accounts["Acme Berlin"]["Id"]
    assert contacts["Worker"]["ReportsToId"] == contacts["Boss"]["Id"]
    assert contacts["Boss"]["AccountId"] == accounts["Acme Group"]["Id"]
    counts = {s.object: (s.read, s.inserted, s.updated, s.failed) for s in result.steps}
    assert counts == {"Account": (2, 2, 0, 0), "Contact": (2, 2, 0, 0)}
    assert len(rows(target_org, "Account")) == 2
