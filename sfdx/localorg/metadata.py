"""Read custom objects and fields from an SFDX source tree (objects/<Obj>/<Obj>.object-meta.xml, fields/*)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, NamedTuple

from .schema import Field

NS = "{http://soap.sforce.com/2006/04/metadata}"
_NS = NS
_SIMPLE = {"Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Html": "textarea",
           "Email": "email", "Phone": "phone", "Url": "url", "Picklist": "picklist",
           "MultiselectPicklist": "multipicklist", "Checkbox": "boolean", "Number": "double",
           "Currency": "currency", "Percent": "percent", "Date": "date", "DateTime": "datetime",
           "Lookup": "reference", "MasterDetail": "reference", "AutoNumber": "string", "Summary": "double",
           "EncryptedText": "encryptedstring", "Time": "time"}
_DEFAULT_LENGTH = {"Text": 255, "TextArea": 255, "LongTextArea": 32768, "Html": 32768, "Email": 80,
                   "Phone": 40, "Url": 255, "Picklist": 255, "MultiselectPicklist": 4099, "AutoNumber": 30,
                   "EncryptedText": 175}


def _text(el: ET.Element | None, tag: str, default: str = "") -> str:
    if el is None:
        return default
    found = el.find(_NS + tag)
    return found.text.strip() if found is not None and found.text else default


def _qualify(name: str, namespace: str | None) -> str:
    """inflow__X__c for a custom name when a namespace applies (not already prefixed)."""
    if not namespace or not name.endswith(("__c", "__r")) or name.count("__") > 1:
        return name
    return f"{namespace}__{name}"


def parse_field(path: Path, namespace: str | None) -> Field:
    """A Field from one .field-meta.xml file."""
    return field_from_xml(ET.parse(path).getroot(), path.name.split(".")[0], namespace)


def field_from_xml(root: ET.Element, default_name: str, namespace: str | None) -> Field:
    """A Field from a CustomField element (a .field-meta.xml root, or <fields> inside a Metadata API .object)."""
    kind = _text(root, "type", "Text")
    name = _qualify(_text(root, "fullName", default_name), namespace)
    formula = _text(root, "formula")
    f = Field(name, _SIMPLE.get(kind, "string"), _text(root, "label", name), custom=True)
    f.length = int(_text(root, "length", str(_DEFAULT_LENGTH.get(kind, 0))))
    f.precision = int(_text(root, "precision", "18" if kind in ("Number", "Currency", "Percent") else "0"))
    f.scale = int(_text(root, "scale", "0"))
    f.unique = _text(root, "unique") == "true"
    f.external_id = _text(root, "externalId") == "true"
    f.id_lookup = f.external_id or (f.unique and f.type in ("string", "email"))
    f.case_sensitive = _text(root, "caseSensitive") == "true"
    f.nillable = not (_text(root, "required") == "true" or kind == "MasterDetail")
    if kind in ("Lookup", "MasterDetail"):
        f.length = 18
        f.reference_to = [_qualify(_text(root, "referenceTo"), namespace)]
        f.relationship_name = name[:-3] + "__r"
        f.child_relationship = _qualify(_text(root, "relationshipName", name[:-3] + "s") + "__r", namespace)
        f.cascade_delete = kind == "MasterDetail" or _text(root, "deleteConstraint") == "Cascade"
    if kind == "Checkbox":
        f.nillable, f.defaulted_on_create = False, True
        f.default = _text(root, "defaultValue", "false").lower() == "true"
    if kind in ("Picklist", "MultiselectPicklist"):
        _picklist(root, f)
    if formula or kind in ("AutoNumber", "Summary"):
        f.calculated = bool(formula) or kind == "Summary"
        f.auto_number = kind == "AutoNumber"
        f.display_format = _text(root, "displayFormat") or None
        f.createable = f.updateable = False
        f.defaulted_on_create = kind == "AutoNumber"
    return f


def _picklist(root: ET.Element, f: Field) -> None:
    vs = root.find(_NS + "valueSet")
    f.restricted = _text(vs, "restricted") == "true"
    values = []
    definition = vs.find(_NS + "valueSetDefinition") if vs is not None else None
    for v in (definition.findall(_NS + "value") if definition is not None else []):
        values.append(_text(v, "fullName"))
        if _text(v, "default") == "true":
            f.picklist_default = f.default = _text(v, "fullName")
            f.defaulted_on_create = True
    f.picklist = values


def parse_object(path: Path) -> dict[str, Any]:
    return object_info(ET.parse(path).getroot())


def object_info(root: ET.Element) -> dict[str, Any]:
    name_field = root.find(_NS + "nameField")
    return {"label": _text(root, "label"), "plural": _text(root, "pluralLabel"),
            "name_label": _text(name_field, "label", "Name"), "name_type": _text(name_field, "type", "Text"),
            "display_format": _text(name_field, "displayFormat") or None}


class ObjectSource(NamedTuple):
    """One object folder: `name_field` (with `label`, `plural`) only for a custom object that has its
    .object-meta.xml; without it the folder just adds `fields` to an object defined elsewhere."""

    name: str
    fields: list[Field]
    name_field: Field | None = None
    label: str | None = None
    plural: str | None = None


def read_source_tree(root: Path, namespace: str | None = None) -> list[ObjectSource]:
    """Every object folder under `root` (a package dir, `.../main/default` or its `objects`), in name order."""
    candidates = [root / "objects", root / "main/default/objects", root / "force-app/main/default/objects", root]
    objects_dir = next((p for p in candidates if p.is_dir() and (any(p.glob("*/*.object-meta.xml"))
                                                                 or any(p.glob("*/fields")))), None)
    if objects_dir is None:
        return []
    found = []
    for obj_dir in sorted(p for p in objects_dir.iterdir() if p.is_dir()):
        name = _qualify(obj_dir.name, namespace)
        meta = obj_dir / f"{obj_dir.name}.object-meta.xml"
        fields = [parse_field(p, namespace) for p in sorted((obj_dir / "fields").glob("*.field-meta.xml"))]
        found.append(object_source(name, fields, parse_object(meta) if meta.exists() else None))
    return found


def notification_type(name: str, root: ET.Element) -> dict[str, Any]:
    """A CustomNotificationType record from its metadata XML (`<name>.notiftype-meta.xml` or a deploy's)."""
    values = {el.tag.rpartition("}")[2]: (el.text or "") for el in root}
    label = values.get("masterLabel") or values.get("customNotifTypeName") or name
    return {"DeveloperName": name, "MasterLabel": label,
            "CustomNotifTypeName": values.get("customNotifTypeName", label),
            "Description": values.get("description") or None,
            "Desktop": values.get("desktop") == "true", "Mobile": values.get("mobile") == "true"}


def read_notification_types(root: Path) -> list[dict[str, Any]]:
    """Custom notification types (`notificationtypes/*.notiftype-meta.xml`) under `root`, as records."""
    candidates = [root / "notificationtypes", root / "main/default/notificationtypes",
                  root / "force-app/main/default/notificationtypes"]
    folder = next((p for p in candidates if p.is_dir()), None)
    if folder is None:
        return []
    return [notification_type(path.name.split(".")[0], ET.parse(path).getroot())
            for path in sorted(folder.glob("*.notiftype-meta.xml"))]
def object_source(name: str, fields: list[Field], info: dict[str, Any] | None) -> ObjectSource:
    """A custom object with its definition gets a Name field; anything else only adds `fields`."""
    if not name.endswith("__c") or info is None:
        return ObjectSource(name, fields)
    auto = info["name_type"] == "AutoNumber"
    # A Text name left empty becomes the record id, so it is never required through the API.
    name_f = Field("Name", "string", info["name_label"], length=80, nillable=auto, name_field=True,
                   createable=not auto, updateable=not auto, auto_number=auto, defaulted_on_create=True,
                   display_format=info["display_format"])
    return ObjectSource(name, fields, name_f, info["label"], info["plural"])
