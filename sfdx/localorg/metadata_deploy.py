"""Metadata API deploy of a zip of converted source (package.xml + objects/, tabs/, ...), for the types
Inflow's force-app holds. Custom objects and fields become real schema (describe, SOQL, DML); the other
components are checked (present in the zip, well-formed XML, the objects they name exist) and kept as
files in `org.extra["metadata"]`. Anything else fails the way Salesforce reports a component it cannot
deploy: a DeployMessage with `problemType` Error, and with rollbackOnError nothing is applied."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .metadata import NS, ObjectSource, field_from_xml, notification_type, object_info, object_source
from .org import Org
from .values import format_datetime

# type -> (folder, suffix); a suffix of "/" is a bundle folder. Child types live inside their parent's file.
TYPES = {"CustomObject": ("objects", ".object"), "CustomApplication": ("applications", ".app"),
         "CustomTab": ("tabs", ".tab"), "Layout": ("layouts", ".layout"), "FlexiPage": ("flexipages", ".flexipage"),
         "PermissionSet": ("permissionsets", ".permissionset"), "AuraDefinitionBundle": ("aura", "/"),
         "LightningComponentBundle": ("lwc", "/"), "ExternalClientApplication": ("externalClientApps", ".eca"),
         "ExtlClntAppCanvasSettings": ("extlClntAppCanvasSettings", ".ecaCanvas"),
         "ExtlClntAppConfigurablePolicies": ("extlClntAppPolicies", ".ecaPlcy"),
         "ExtlClntAppOauthConfigurablePolicies": ("extlClntAppOauthPolicies", ".ecaOauthPlcy"),
         "ExtlClntAppOauthSettings": ("extlClntAppOauthSettings", ".ecaOauth"),
         "CustomNotificationType": ("notificationtypes", ".notiftype")}
CHILD_TYPES = {"CustomField": "fields", "ListView": "listViews", "CompactLayout": "compactLayouts"}
NOT_AVAILABLE = "Not available for deploy for this organization"


@dataclass
class Message:
    component_type: str
    full_name: str
    file_name: str
    problem: str | None = None
    created: bool = True
    line: int | None = None
    column: int | None = None
    id: str | None = None

    def fields(self, stamp: str) -> list[tuple[str, Any]]:
        ok = self.problem is None
        out: list[tuple[str, Any]] = [("changed", ok and not self.created), ("columnNumber", self.column),
                                      ("componentType", self.component_type), ("created", ok and self.created),
                                      ("createdDate", stamp), ("deleted", False), ("fileName", self.file_name),
                                      ("fullName", self.full_name), ("id", self.id), ("lineNumber", self.line)]
        if not ok:
            out += [("problem", self.problem), ("problemType", "Error")]
        return out + [("success", ok)]


@dataclass
class Deployment:
    id: str
    user_id: str
    user_name: str
    check_only: bool
    rollback_on_error: bool
    ignore_warnings: bool
    created: str = field(default_factory=lambda: format_datetime(datetime.now(UTC)))
    completed: str | None = None
    messages: list[Message] = field(default_factory=list)
    error: tuple[str, str] | None = None   # (errorStatusCode, errorMessage) when the zip itself is unusable

    @property
    def failures(self) -> list[Message]:
        return [m for m in self.messages if m.problem]

    @property
    def status(self) -> str:
        if self.error or (self.failures and (self.rollback_on_error or len(self.failures) == len(self.messages))):
            return "Failed"
        return "SucceededPartial" if self.failures else "Succeeded"


def _options(opts: dict[str, str], name: str, default: bool) -> bool:
    value = opts.get(name)
    return default if value is None else value.lower() == "true"


def deploy(org: Org, zip_bytes: bytes, opts: dict[str, str], user_id: str) -> Deployment:
    """Run one deploy to the end (localorg deploys synchronously; checkDeployStatus reports it)."""
    user = org.store.get(user_id) or {}
    dep = Deployment(org.ids.new("0Af"), user_id, user.get("Name") or "", _options(opts, "checkOnly", False),
                     _options(opts, "rollbackOnError", True), _options(opts, "ignoreWarnings", False))
    try:
        files = _read_zip(zip_bytes)
    except zipfile.BadZipFile as exc:
        dep.error = ("UNKNOWN_EXCEPTION", f"Error parsing zip file: {exc}")
    else:
        sources, extra = _check(org, files, dep)
        if not dep.check_only and dep.status != "Failed":
            _apply(org, sources, extra, dep)
    dep.completed = format_datetime(datetime.now(UTC))
    org.extra.setdefault("deployments", {})[dep.id] = dep
    return dep


def _read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        # SDR zips the converted tree at the root; other tools put it under one folder (unpackaged/)
        prefix = "" if "package.xml" in names else next(
            (n[: -len("package.xml")] for n in names if n.endswith("/package.xml") and n.count("/") == 1), "")
        return {n[len(prefix):]: zf.read(n) for n in names if n.startswith(prefix)}


def _members(package: ET.Element) -> list[tuple[str, str]]:
    out = []
    for t in package.findall(NS + "types"):
        name = (t.findtext(NS + "name") or "").strip()
        out += [(name, (m.text or "").strip()) for m in t.findall(NS + "members")]
    return out


def _parse(dep: Message, data: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        dep.problem = f"Error parsing file: {exc.msg if hasattr(exc, 'msg') else exc}"
        dep.line, dep.column = exc.position
        return None


def _check(org: Org, files: dict[str, bytes], dep: Deployment) -> tuple[list[ObjectSource], dict[str, Any]]:
    pkg_msg = Message("", "package.xml", "package.xml")
    dep.messages.append(pkg_msg)
    if "package.xml" not in files:   # as real deploys answer a zip without one
        pkg_msg.problem = "No package.xml found"
        return [], {}
    package = _parse(pkg_msg, files["package.xml"])
    if package is None:
        return [], {}
    pkg_msg.created = False
    members = _members(package)
    objects: dict[str, ET.Element] = {}
    extra: dict[str, Any] = {}
    deployed_objects = {n for t, n in members if t == "CustomObject"}
    for kind, name in [m for m in members if m[0] == "CustomObject"] + [m for m in members if m[0] != "CustomObject"]:
        if kind in CHILD_TYPES:
            dep.messages.append(_child(org, objects, kind, name))
            continue
        folder, suffix = TYPES.get(kind, ("", ""))
        path = f"{folder}/{name}{suffix}" if suffix != "/" else f"{folder}/{name}"
        msg = Message(kind, name, path)
        dep.messages.append(msg)
        if kind not in TYPES:
            msg.problem = NOT_AVAILABLE
            msg.file_name = next((k for k in files if k.rsplit("/", 1)[-1].split(".")[0] == name), "package.xml")
            continue
        if suffix == "/":
            bundle = {k: v for k, v in files.items() if k.startswith(path + "/")}
            if not bundle:
                msg.problem, msg.file_name = _not_in_zip(name, kind), "package.xml"
            for k, v in bundle.items():
                if k.endswith("-meta.xml") and _parse(msg, v) is None:   # markup and JS are not XML
                    break
            extra.setdefault(kind, {})[name] = bundle
            continue
        if path not in files:
            msg.problem, msg.file_name = _not_in_zip(name, kind), "package.xml"
            continue
        root = _parse(msg, files[path])
        if root is None:
            continue
        if kind == "CustomObject":
            objects[name] = root
            msg.created = org.schema.get(name) is None
        elif kind == "CustomTab" and name.endswith("__c") and name not in deployed_objects \
                and org.schema.get(name) is None:
            msg.problem = f"In field: customObject - no CustomObject named {name} found"
        extra.setdefault(kind, {})[name] = files[path]
    sources = []
    for name, root in objects.items():
        fields = [field_from_xml(el, "", None) for el in root.findall(NS + "fields")]
        sources.append(object_source(name, fields, object_info(root) if root.find(NS + "label") is not None
                                     else None))
    return sources, extra


def _not_in_zip(name: str, kind: str) -> str:
    return f"An object '{name}' of type {kind} was named in package.xml, but was not found in zipped directory"


def _child(org: Org, objects: dict[str, ET.Element], kind: str, full: str) -> Message:
    parent, _, child = full.partition(".")
    msg = Message(kind, full, f"objects/{parent}.object")
    root = objects.get(parent)
    tag = CHILD_TYPES[kind]
    if root is None or not any((el.findtext(NS + "fullName") or "").strip() == child
                               for el in root.findall(NS + tag)):
        msg.problem, msg.file_name = _not_in_zip(full, kind), "package.xml"
        return msg
    obj = org.schema.get(parent)
    msg.created = obj is None or (kind == "CustomField" and obj.field(child) is None)
    return msg


def _apply(org: Org, sources: list[ObjectSource], extra: dict[str, Any], dep: Deployment) -> None:
    org.apply_objects(sources)
    org.add_notification_types([notification_type(name, ET.fromstring(xml))
                                for name, xml in extra.get("CustomNotificationType", {}).items()])
    store = org.extra.setdefault("metadata", {})
    for kind, items in extra.items():
        store.setdefault(kind, {}).update(items)
    for msg in dep.messages:   # ids as real orgs give them: 01I for objects, 00N for fields
        prefix = {"CustomObject": "01I", "CustomField": "00N"}.get(msg.component_type)
        msg.id = org.ids.new(prefix) if prefix else None
