"""Reads the package's source metadata (force-app/) into plain Python for the consistency tests."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "force-app" / "main" / "default"
MD = "{http://soap.sforce.com/2006/04/metadata}"

# Standard fields every custom object has; the backend may read them but never writes them.
STANDARD_FIELDS = {"Id", "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    values: tuple[str, ...] = ()
    restricted: bool = False


@dataclass(frozen=True)
class SObject:
    name: str
    fields: dict[str, Field] = field(default_factory=dict)
    root: ET.Element | None = None

    def required(self) -> set[str]:
        """Fields an insert must set: required fields and master-detail parents."""
        return {f.name for f in self.fields.values() if f.required or f.type == "MasterDetail"}


def parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def text(element: ET.Element, tag: str) -> str | None:
    child = element.find(MD + tag)
    return child.text if child is not None else None


def texts(element: ET.Element, tag: str) -> list[str]:
    return [child.text or "" for child in element.findall(MD + tag)]


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _field(root: ET.Element) -> Field:
    definition = root.find(f"{MD}valueSet/{MD}valueSetDefinition")
    values = tuple(texts(definition, f"value/{MD}fullName")) if definition is not None else ()
    return Field(
        name=text(root, "fullName") or "",
        type=text(root, "type") or "",
        required=text(root, "required") == "true",
        length=_int(text(root, "length")),
        precision=_int(text(root, "precision")),
        scale=_int(text(root, "scale")),
        external_id=text(root, "externalId") == "true",
        unique=text(root, "unique") == "true",
        reference_to=text(root, "referenceTo"),
        relationship_name=text(root, "relationshipName"),
        values=values,
        restricted=text(root, f"valueSet/{MD}restricted") == "true",
    )


@cache
def sobjects() -> dict[str, SObject]:
    """Every custom object in force-app with its custom fields and its Name field."""
    result = {}
    for folder in sorted((DEFAULT / "objects").iterdir()):
        root = parse(folder / f"{folder.name}.object-meta.xml")
        name_type = text(root, f"nameField/{MD}type") or "Text"
        fields = {"Name": Field("Name", name_type, required=name_type == "Text", length=80)}
        for path in sorted((folder / "fields").glob("*.field-meta.xml")):
            parsed = _field(parse(path))
            fields[parsed.name] = parsed
        result[folder.name] = SObject(folder.name, fields, root)
    return result


def files(folder: str, suffix: str) -> dict[str, Path]:
    """Metadata files of one type by component name, e.g. files("tabs", ".tab-meta.xml")."""
    return {p.name[: -len(suffix)]: p for p in sorted((DEFAULT / folder).glob(f"*{suffix}"))}


def lwc_bundles() -> dict[str, ET.Element]:
    return {p.parent.name: parse(p) for p in sorted((DEFAULT / "lwc").glob("*/*.js-meta.xml"))}


def aura_bundles() -> dict[str, str]:
    """Aura component markup by bundle name."""
    return {p.parent.name: p.read_text() for p in sorted((DEFAULT / "aura").glob("*/*.cmp"))}


def aura_interfaces(markup: str) -> set[str]:
    match = re.search(r'<aura:component[^>]*\bimplements="([^"]*)"', markup, re.S)
    return {i.strip() for i in match.group(1).split(",")} if match else set()


def aura_design_attributes(bundle: str) -> set[str]:
    design = DEFAULT / "aura" / bundle / f"{bundle}.design"
    return set(re.findall(r'<design:attribute\s+name="([^"]+)"', design.read_text())) if design.exists() else set()


def local_component(name: str) -> tuple[str, str] | None:
    """("lwc"|"aura", bundle) when a FlexiPage/tab component name points into this package."""
    namespace, _, bundle = name.rpartition(":")
    if namespace not in ("", "c", "inflow"):
        return None
    if bundle in lwc_bundles():
        return ("lwc", bundle)
    if bundle in aura_bundles():
        return ("aura", bundle)
    return ("missing", bundle)
