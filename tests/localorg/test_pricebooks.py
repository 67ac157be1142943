"""Products, price books, price book entries and case comments over REST, as Salesforce answers them."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest


def _standard(sf):
    return sf.query("SELECT Id, Name FROM Pricebook2 WHERE IsStandard = true")["records"]


def test_every_org_has_one_standard_price_book_that_the_api_cannot_write(sf):
    [std] = _standard(sf)
    assert std["Name"] == "Standard Price Book" and std["Id"].startswith("01s")
    fields = {f["name"]: f for f in sf.Pricebook2.describe()["fields"]}
    assert (fields["IsStandard"]["createable"], fields["IsStandard"]["updateable"]) == (False, False)
    assert "OwnerId" not in fields
    custom = sf.Pricebook2.create({"Name": "Partner", "IsActive": True})["id"]
    assert sf.query(f"SELECT IsStandard FROM Pricebook2 WHERE Id = '{custom}'")["records"][0]["IsStandard"] is False


def test_a_custom_price_needs_the_standard_price_first_and_is_unique_per_book(sf):
    std = _standard(sf)[0]["Id"]
    product = sf.Product2.create({"Name": "Widget", "ProductCode": "W-1", "IsActive": True})["id"]
    partner = sf.Pricebook2.create({"Name": "Partner", "IsActive": True})["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.PricebookEntry.create({"Pricebook2Id": partner, "Product2Id": product, "UnitPrice": 80})
    assert refused.value.content[0]["errorCode"] == "STANDARD_PRICE_NOT_DEFINED"
    assert refused.value.content[0]["message"] == "Before creating a custom price, create a standard price."
    sf.PricebookEntry.create({"Pricebook2Id": std, "Product2Id": product, "UnitPrice": 100, "IsActive": True})
    entry = sf.PricebookEntry.create({"Pricebook2Id": partner, "Product2Id": product, "UnitPrice": 80})["id"]
    got = sf.PricebookEntry.get(entry)
    assert (got["Name"], got["ProductCode"], got["UnitPrice"]) == ("Widget", "W-1", 80)
    with pytest.raises(SalesforceMalformedRequest) as twice:
        sf.PricebookEntry.create({"Pricebook2Id": partner, "Product2Id": product, "UnitPrice": 70})
    assert twice.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    fields = {f["name"]: f for f in sf.PricebookEntry.describe()["fields"]}
    assert fields["Product2Id"]["updateable"] is False and fields["Pricebook2Id"]["referenceTo"] == ["Pricebook2"]


def test_case_comments_belong_to_their_case_and_go_with_it(sf):
    case = sf.Case.create({"Subject": "Printer broken"})["id"]
    comment = sf.CaseComment.create({"ParentId": case, "CommentBody": "Toner ordered", "IsPublished": True})["id"]
    assert comment.startswith("00a")
    rows = sf.query(f"SELECT CommentBody, IsPublished FROM CaseComment WHERE ParentId = '{case}'")["records"]
    assert [(r["CommentBody"], r["IsPublished"]) for r in rows] == [("Toner ordered", True)]
    sf.Case.delete(case)
    assert sf.query("SELECT Id FROM CaseComment")["totalSize"] == 0
