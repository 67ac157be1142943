"""Test helpers: realistic sObject describe dicts, and reading a source into plain Python values."""

from __future__ import annotations

from typing import Any

from backend.pipeline.sources import create_source, stream_opener

_FIELD_DEFAULTS: dict[str, Any] = {
    "aggregatable": True, "autoNumber": False, "byteLength": 0, "calculated": False, "calculatedFormula": None,
    "cascadeDelete": False, "caseSensitive": False, "controllerName": None, "createable": True, "custom": False,
    "defaultValue": None, "defaultedOnCreate": False, "dependentPicklist": False, "digits": 0,
    "externalId": False, "filterable": True, "groupable": True, "htmlFormatted": False, "idLookup": False,
    "length": 0, "nameField": False, "namePointing": False, "nillable": True, "picklistValues": [],
    "polymorphicForeignKey": False, "precision": 0, "referenceTo": [], "relationshipName": None,
    "restrictedPicklist": False, "scale": 0, "soapType": "xsd:string", "sortable": True, "type": "string",
    "unique": False, "updateable": True,
}


def field(name: str, label: str, type_: str = "string", **extra: Any) -> dict[str, Any]:
    """One describe field with the keys the REST API always sends."""
    f = dict(_FIELD_DEFAULTS, name=name, label=label, type=type_, custom=name.endswith("__c"))
    if type_ in ("string", "email", "phone", "url", "picklist", "textarea") and "length" not in extra:
        f["length"] = {"picklist": 255, "textarea": 32000, "phone": 40, "email": 80}.get(type_, 255)
    f.update(extra)
    return f


def picklist(values: list[str], inactive: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"active": v not in inactive, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in values]


def contact_describe() -> dict[str, Any]:
    """Contact as describe returns it (trimmed to the fields the tests use)."""
    return {
        "name": "Contact", "label": "Contact", "createable": True, "updateable": True, "deletable": True,
        "keyPrefix": "003", "custom": False,
        "fields": [
            field("Id", "Contact ID", "id", length=18, createable=False, updateable=False, nillable=False,
                  defaultedOnCreate=True, idLookup=True, soapType="tns:ID"),
            field("LastName", "Last Name", length=80, nillable=False, nameField=False),
            field("FirstName", "First Name", length=40),
            field("Name", "Full Name", length=121, createable=False, updateable=False, nameField=True),
            field("Salutation", "Salutation", "picklist", length=40,
                  picklistValues=picklist(["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."])),
            field("Email", "Email", "email", idLookup=True),
            field("Phone", "Business Phone", "phone"),
            field("Birthdate", "Birthdate", "date", soapType="xsd:date"),
            field("AccountId", "Account ID", "reference", length=18, referenceTo=["Account"],
                  relationshipName="Account", soapType="tns:ID"),
            field("OwnerId", "Owner ID", "reference", length=18, referenceTo=["User"], relationshipName="Owner",
                  nillable=False, defaultedOnCreate=True),
            field("HasOptedOutOfEmail", "Email Opt Out", "boolean", nillable=False, defaultedOnCreate=True,
                  soapType="xsd:boolean"),
            field("Description", "Contact Description", "textarea", length=32000),
            field("CreatedDate", "Created Date", "datetime", createable=False, updateable=False, nillable=False,
                  defaultedOnCreate=True, soapType="xsd:dateTime"),
            field("Level__c", "Level", "picklist", restrictedPicklist=True,
                  picklistValues=picklist(["Primary", "Secondary", "Tertiary", "Legacy"], inactive=("Legacy",))),
            field("Languages__c", "Languages", "multipicklist", length=4099, restrictedPicklist=True,
                  picklistValues=picklist(["English", "German", "French"])),
            field("External_Id__c", "External Id", length=40, externalId=True, unique=True, idLookup=True),
            field("Score__c", "Score", "double", precision=5, scale=2, soapType="xsd:double"),
            field("Visits__c", "Visits", "int", digits=9, soapType="xsd:int"),
            field("Budget__c", "Budget", "currency", precision=18, scale=2),
            field("Share__c", "Share", "percent", precision=5, scale=2),
            field("Last_Call__c", "Last Call", "datetime", soapType="xsd:dateTime"),
            field("Code__c", "Code", length=5),
            field("Age_Days__c", "Age Days", "double", calculated=True, createable=False, updateable=False,
                  calculatedFormula="TODAY() - Birthdate"),
        ],
    }


def read_rows(data: bytes, type_: str = "csv", config: dict | None = None, **kwargs: Any):
    """Read a whole source: (columns, rows as lists, row numbers, rejected rows, source)."""
    source = create_source(type_, config or {}, open_stream=stream_opener(data), **kwargs)
    rows, numbers, rejected = [], [], []
    for chunk in source.read():
        rows += chunk.frame.astype(object).values.tolist()
        numbers += chunk.row_numbers.tolist()
        rejected += chunk.rejected
    return source.columns(), rows, numbers, rejected, source
