"""Products, price books and case comments: Product2, Pricebook2 (one standard price book per org),
PricebookEntry (a custom price needs the product's standard price first) and CaseComment."""

from __future__ import annotations

from typing import Any

from .errors import SfError
from .fieldkit import boolean, number, pick, ref, system_fields, text, textarea, url
from .schema import Field, Schema, SObjectType

STANDARD_NAME = "Standard Price Book"


def _obj(s: Schema, name: str, prefix: str, label: str, plural: str) -> SObjectType:
    obj = SObjectType(name, label, plural, prefix)
    system_fields(obj, owner=False)  # none of these four has an owner in Salesforce
    return s.add(obj)


def add_objects(s: Schema) -> None:
    p = _obj(s, "Product2", "01t", "Product", "Products")
    p.add(text("Name", 255, "Product Name", required=True, name_field=True), text("ProductCode", 255, "Product Code"),
          textarea("Description", 4000, "Product Description"), boolean("IsActive", "Active"),
          pick("Family", ["None"], "Product Family", length=40), text("StockKeepingUnit", 180, "Product SKU"),
          pick("QuantityUnitOfMeasure", ["Each"], "Quantity Unit Of Measure", length=255),
          url("DisplayUrl", "Display URL"), text("ExternalId", 255, "External ID"),
          Field("IsArchived", "boolean", "Archived", nillable=False, createable=False, updateable=False,
                defaulted_on_create=True, default=False))
    b = _obj(s, "Pricebook2", "01s", "Price Book", "Price Books")
    b.add(text("Name", 255, "Price Book Name", required=True, name_field=True), boolean("IsActive", "Active"),
          text("Description", 255), Field("IsStandard", "boolean", "Is Standard Price Book", nillable=False,
                                          createable=False, updateable=False, defaulted_on_create=True,
                                          default=False),
          Field("IsArchived", "boolean", "Archived", nillable=False, createable=False, updateable=False,
                defaulted_on_create=True, default=False))
    e = _obj(s, "PricebookEntry", "01u", "Price Book Entry", "Price Book Entries")
    e.add(Field("Name", "string", "Product Name", length=255, createable=False, updateable=False,
                name_field=True),
          ref("Pricebook2Id", "Pricebook2", "Pricebook2", "Price Book ID", required=True, updateable=False,
              cascade_delete=True),
          ref("Product2Id", "Product2", "Product2", "Product ID", required=True, updateable=False,
              cascade_delete=True),
          number("UnitPrice", "List Price", kind="currency", nillable=False), boolean("IsActive", "Active"),
          boolean("UseStandardPrice", "Use Standard Price"),
          Field("ProductCode", "string", "Product Code", length=255, createable=False, updateable=False),
          Field("IsArchived", "boolean", "Archived", nillable=False, createable=False, updateable=False,
                defaulted_on_create=True, default=False))
    c = _obj(s, "CaseComment", "00a", "Case Comment", "Case Comments")
    c.add(ref("ParentId", "Case", "Parent", "Parent Case ID", required=True, updateable=False,
              cascade_delete=True, child_relationship="CaseComments"),
          boolean("IsPublished", "Published"), textarea("CommentBody", 4000, "Body"))


def create_standard(store: Any) -> str:
    """The org's standard price book (IsStandard cannot be written through the API)."""
    pid = store.insert("Pricebook2", {"Name": STANDARD_NAME, "IsActive": True})
    t = store.table("Pricebook2")
    t.put(pid, dict(t.rows[pid], IsStandard=True))
    return pid


def on_insert(store: Any, sobject: str, rec: dict[str, Any]) -> None:
    """Read-only flags start false; a PricebookEntry is checked."""
    if sobject in ("Product2", "Pricebook2", "PricebookEntry"):
        rec.setdefault("IsArchived", False)
    if sobject == "Pricebook2":
        rec["IsStandard"] = False
    elif sobject == "PricebookEntry":
        _check_entry(store, rec)


def _check_entry(store: Any, rec: dict[str, Any]) -> None:
    """One entry per product and price book, and a standard price before any other."""
    books, products = store.table("Pricebook2").rows, store.table("Product2").rows
    book, product = rec.get("Pricebook2Id"), rec.get("Product2Id")
    if not book or not product:
        return  # REQUIRED_FIELD_MISSING comes from validation
    t = store.table("PricebookEntry")  # the product's entries through the table's lookup index
    entries = [t.rows[i] for i in t.children.get("Product2Id", {}).get(product, ()) if i in t.rows]
    if any(r["Pricebook2Id"] == book for r in entries):
        raise SfError("DUPLICATE_VALUE", "This price definition already exists in this price book", [])
    if not (books.get(book) or {}).get("IsStandard"):
        standard = {r["Id"] for r in books.values() if r.get("IsStandard")}
        if not any(r["Pricebook2Id"] in standard for r in entries):
            raise SfError("STANDARD_PRICE_NOT_DEFINED", "Before creating a custom price, create a standard price.", [])
    rec["Name"] = products.get(product, {}).get("Name")
    rec["ProductCode"] = products.get(product, {}).get("ProductCode")
