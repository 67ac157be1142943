"""The products-pricebooks and cases-comments templates between two localorg orgs."""

from __future__ import annotations

from backend.migration.templates import template_plan
from tests.migration.helpers import by, migrate, rows, source_org, target_org  # noqa: F401


def standard_book(org):
    return next(r["Id"] for r in rows(org, "Pricebook2") if r["IsStandard"])


def seed_catalog(org):
    s = org.store
    widget = s.insert("Product2", {"Name": "Widget", "ProductCode": "W-1", "IsActive": True})
    gadget = s.insert("Product2", {"Name": "Gadget", "ProductCode": "G-1", "IsActive": True})
    partner = s.insert("Pricebook2", {"Name": "Partner prices", "IsActive": True})
    std = standard_book(org)
    for product, price in ((widget, 100), (gadget, 250)):
        s.insert("PricebookEntry", {"Pricebook2Id": std, "Product2Id": product, "UnitPrice": price,
                                    "IsActive": True})
    s.insert("PricebookEntry", {"Pricebook2Id": partner, "Product2Id": widget, "UnitPrice": 80, "IsActive": True})


def entries(org):
    books = {r["Id"]: r["Name"] for r in rows(org, "Pricebook2")}
    products = {r["Id"]: r["Name"] for r in rows(org, "Product2")}
    return sorted((books[e["Pricebook2Id"]], products[e["Product2Id"]], e["UnitPrice"])
                  for e in rows(org, "PricebookEntry"))


def test_products_and_price_books_arrive_in_the_targets_standard_price_book(source_org, target_org,  # noqa: F811
                                                                             localorg):
    seed_catalog(source_org)
    result, _, _ = migrate(source_org, target_org, localorg, template_plan("products-pricebooks"))
    assert result.failed == 0
    assert entries(target_org) == [("Partner prices", "Widget", 80), ("Standard Price Book", "Gadget", 250),
                                   ("Standard Price Book", "Widget", 100)]
    assert [r["Name"] for r in rows(target_org, "Pricebook2") if r["IsStandard"]] == ["Standard Price Book"]
    assert len(rows(target_org, "Pricebook2")) == 2  # the source's standard book was not copied as a custom one
    assert by(target_org, "Product2", "Name")["Widget"]["ProductCode"] == "W-1"


def test_a_second_products_run_updates_prices_instead_of_duplicating(source_org, target_org, localorg):  # noqa: F811
    seed_catalog(source_org)
    migrate(source_org, target_org, localorg, template_plan("products-pricebooks"))
    entry = next(r for r in rows(source_org, "PricebookEntry") if r["UnitPrice"] == 80)
    source_org.store.update("PricebookEntry", entry["Id"], {"UnitPrice": 75})
    result, _, _ = migrate(source_org, target_org, localorg, template_plan("products-pricebooks"))
    counts = {s.object: (s.inserted, s.updated, s.failed) for s in result.steps}
    assert counts == {"Product2": (0, 2, 0), "Pricebook2": (0, 1, 0), "PricebookEntry": (0, 3, 0)}
    assert entries(target_org) == [("Partner prices", "Widget", 75), ("Standard Price Book", "Gadget", 250),
                                   ("Standard Price Book", "Widget", 100)]


def test_a_custom_price_without_a_standard_price_fails_naming_salesforces_error(source_org, target_org,  # noqa: F811
                                                                                 localorg):
    seed_catalog(source_org)
    plan = template_plan("products-pricebooks")
    plan["steps"][2]["where"] = "Pricebook2.IsStandard = false"  # leaves the standard prices behind
    result, _, _ = migrate(source_org, target_org, localorg, plan)
    step = {s.object: s for s in result.steps}["PricebookEntry"]
    assert (step.inserted, step.failed) == (0, 1)
    assert rows(target_org, "PricebookEntry") == []


def test_cases_arrive_with_their_comments(source_org, target_org, localorg):  # noqa: F811
    s = source_org.store
    broken = s.insert("Case", {"Subject": "Printer broken", "Priority": "High"})
    s.insert("Case", {"Subject": "Password reset"})
    s.insert("CaseComment", {"ParentId": broken, "CommentBody": "Tried turning it off and on", "IsPublished": True})
    s.insert("CaseComment", {"ParentId": broken, "CommentBody": "Toner ordered"})
    result, _, _ = migrate(source_org, target_org, localorg, template_plan("cases-comments"))
    assert result.order.objects == ["Case", "CaseComment"]
    cases = by(target_org, "Case", "Subject")
    comments = by(target_org, "CaseComment", "CommentBody")
    assert set(comments) == {"Tried turning it off and on", "Toner ordered"}
    assert {c["ParentId"] for c in comments.values()} == {cases["Printer broken"]["Id"]}
    assert comments["Tried turning it off and on"]["IsPublished"] is True
    assert cases["Printer broken"]["Priority"] == "High"
