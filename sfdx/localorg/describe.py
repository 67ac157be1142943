"""describeGlobal and sObject describe bodies with the full key sets real orgs send."""

from __future__ import annotations

from typing import Any

from .schema import Field, SObjectType
from .store import Store

MASTER_RT = "012000000000000AAA"
# urls some standard objects add (recorded real describes, see README "Sources"); defaultValues only per object
EXTRA_URLS = {"Case": {"caseArticleSuggestions": "/suggestedArticles",
                       "caseRowArticleSuggestions": "/{ID}/suggestedArticles"},
              "Event": {"eventSeriesUpdates": "/{ID}/fromThisEventOnwards"},
              "User": {"namedLayouts": "/describe/namedLayouts/{LayoutName}", "passwordUtilities": "/{ID}/password"}}
DEFAULT_VALUES = frozenset({"Account", "Case"})


def field_describe(f: Field) -> dict[str, Any]:
    """All 57 per-field keys, values following the real describes (see reference §1.4)."""
    text_like = f.type not in ("int", "double", "currency", "percent", "boolean", "date", "datetime", "time")
    length = f.length if text_like else 0
    return {
        "aggregatable": f.type not in ("textarea", "multipicklist"), "aiPredictionField": False,
        "autoNumber": f.auto_number, "byteLength": length * 3 if f.type not in ("id", "reference") else 18,
        "calculated": f.calculated or f.name == "Name" and not f.createable and f.name_field,
        "calculatedFormula": None, "cascadeDelete": f.cascade_delete and f.custom, "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name, "controllerName": None, "createable": f.createable,
        "custom": f.custom, "defaultValue": f.default if f.type != "boolean" else bool(f.default),
        "defaultValueFormula": None, "defaultedOnCreate": f.defaulted_on_create, "dependentPicklist": False,
        "deprecatedAndHidden": False, "digits": f.digits, "displayLocationInDecimal": False,
        "encrypted": False, "externalId": f.external_id, "extraTypeInfo": _extra_type_info(f),
        "filterable": f.filterable, "filteredLookupInfo": None, "formulaTreatNullNumberAsZero": False,
        "groupable": f.type not in ("textarea", "double", "currency", "percent", "datetime", "multipicklist"),
        "highScaleNumber": False, "htmlFormatted": f.html_formatted, "idLookup": f.id_lookup,
        "inlineHelpText": None, "label": f.label, "length": length, "mask": None, "maskType": None,
        "name": f.name, "nameField": f.name_field, "namePointing": f.polymorphic, "nillable": f.nillable,
        "permissionable": f.nillable and not f.calculated, "picklistValues": _picklist(f),
        "polymorphicForeignKey": f.polymorphic, "precision": f.precision, "queryByDistance": False,
        "referenceTargetField": None, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name, "relationshipOrder": None, "restrictedDelete": False,
        "restrictedPicklist": f.restricted, "scale": f.scale, "searchPrefilterable": f.type == "reference",
        "soapType": f.soap_type, "sortable": f.type not in ("textarea", "multipicklist"), "type": f.type,
        "unique": f.unique, "updateable": f.updateable, "writeRequiresMasterRead": False,
    }


def _extra_type_info(f: Field) -> str | None:
    if f.extra_type_info is None and f.type == "textarea":
        return "richtextarea" if f.html_formatted else "plaintextarea"
    return f.extra_type_info


def _picklist(f: Field) -> list[dict[str, Any]]:
    return [{"active": True, "defaultValue": v == f.picklist_default, "label": v, "validFor": None, "value": v}
            for v in (f.picklist or [])]


def _flags(obj: SObjectType) -> dict[str, Any]:
    return {"activateable": False, "associateEntityType": None, "associateParentEntity": None,
            "createable": obj.createable, "custom": obj.custom, "customSetting": False, "deepCloneable": False,
            "deletable": obj.deletable, "deprecatedAndHidden": False, "feedEnabled": not obj.custom,
            "hasSubtypes": False, "isInterface": False, "isSubtype": False, "keyPrefix": obj.key_prefix,
            "label": obj.label, "labelPlural": obj.label_plural, "layoutable": True,
            "mergeable": obj.name in ("Account", "Contact", "Lead", "Case"), "mruEnabled": True,
            "name": obj.name, "queryable": True, "replicateable": True, "retrieveable": True,
            "searchable": True, "triggerable": True, "undeletable": obj.undeletable,
            "updateable": obj.updateable}


def _urls(obj: SObjectType, base: str) -> dict[str, str]:
    s = f"{base}/sobjects/{obj.name}"
    return {"compactLayouts": f"{s}/describe/compactLayouts", "rowTemplate": f"{s}/{{ID}}",
            "approvalLayouts": f"{s}/describe/approvalLayouts", "uiDetailTemplate": None,
            "uiEditTemplate": None, "listviews": f"{s}/listviews", "describe": f"{s}/describe",
            "uiNewRecord": None, "quickActions": f"{s}/quickActions", "layouts": f"{s}/describe/layouts",
            "sobject": s, **{k: s + tail for k, tail in EXTRA_URLS.get(obj.name, {}).items()}}


def global_describe(store: Store, base: str) -> dict[str, Any]:
    objs = []
    for obj in sorted(store.schema.objects.values(), key=lambda o: o.name):
        urls = {k: v for k, v in _urls(obj, base).items() if v is not None and not k.startswith("ui")}
        objs.append(dict(_flags(obj), urls=urls))
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objs}


def record_type_infos(store: Store, obj: SObjectType, base: str) -> list[dict[str, Any]]:
    rts = [r for r in store.table("RecordType").rows.values() if r.get("SobjectType") == obj.name]
    infos = []
    for r in rts + [{"Id": MASTER_RT, "DeveloperName": "Master", "Name": "Master", "IsActive": True}]:
        infos.append({"active": bool(r.get("IsActive")), "available": True,
                      "defaultRecordTypeMapping": r["Id"] == (rts[0]["Id"] if rts else MASTER_RT),
                      "developerName": r["DeveloperName"], "master": r["Id"] == MASTER_RT, "name": r["Name"],
                      "recordTypeId": r["Id"],
                      "urls": {"layout": f"{base}/sobjects/{obj.name}/describe/layouts/{r['Id']}"}})
    return infos


def sobject_describe(store: Store, obj: SObjectType, base: str, instance_url: str) -> dict[str, Any]:
    urls = _urls(obj, base)
    urls.update(uiDetailTemplate=f"{instance_url}/{{ID}}", uiEditTemplate=f"{instance_url}/{{ID}}/e",
                uiNewRecord=f"{instance_url}/{obj.key_prefix}/e")
    if obj.name in DEFAULT_VALUES:
        urls["defaultValues"] = f"{base}/sobjects/{obj.name}/defaultValues?recordTypeId&fields"
    children = [{"cascadeDelete": f.cascade_delete, "childSObject": child.name, "deprecatedAndHidden": False,
                 "field": f.name, "junctionIdListNames": [], "junctionReferenceTo": [],
                 "relationshipName": _child_rel(child, f), "restrictedDelete": False}
                for child, f in store.schema.children_of(obj.name)]
    out = dict(_flags(obj), actionOverrides=[], childRelationships=children, compactLayoutable=True,
               defaultImplementation=None, extendedBy=None, extendsInterfaces=None,
               fields=[field_describe(f) for f in obj.fields.values()], implementedBy=None,
               implementsInterfaces=None, listviewable=None, lookupLayoutable=None, namedLayoutInfos=[],
               networkScopeFieldName=None, recordTypeInfos=record_type_infos(store, obj, base),
               searchLayoutable=True, sobjectDescribeOption="FULL", supportedScopes=[
                   {"label": "All " + obj.label_plural.lower(), "name": "everything"}], urls=urls)
    return dict(sorted(out.items()))


def find_child_relationship(store: Store, parent: SObjectType, rel: str) -> tuple[SObjectType, str] | None:
    """(child object, its reference field) for the child relationship `rel` of `parent` (any case)."""
    for child, f in store.schema.children_of(parent.name):
        name = _child_rel(child, f)
        if name and name.lower() == rel.lower():
            return child, f.name
    return None


def _child_rel(child: SObjectType, f: Field) -> str | None:
    if f.name in ("CreatedById", "LastModifiedById") or f.relationship_name is None:
        return None
    if f.custom or f.child_relationship:
        return f.child_relationship
    return child.label_plural.replace(" ", "")
