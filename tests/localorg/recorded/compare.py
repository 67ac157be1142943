"""Structural comparison of a localorg response with a recorded real one.

Values differ between orgs (ids, names, counts); what clients depend on is the structure: the status,
every key of the real body present with the same JSON type, error bodies of the same shape, and the
headers clients read. Lists of describe items are matched by their name; localorg models a subset of
the standard fields and objects, so a fixture names the items that must be there (`require_items`).
"""

from __future__ import annotations

import base64
import html
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import requests

CLIENT_HEADERS = ("Content-Type", "Sforce-Locator", "Sforce-NumberOfRecords", "Location", "Sforce-Limit-Info")


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(v), "null" if v is None else type(v).__name__)


class Shape:
    def __init__(self, compare: dict[str, Any]) -> None:
        self.by_key: dict[str, str] = compare.get("lists_by_key", {})
        self.subset: set[str] = set(compare.get("subset", []))
        self.required: dict[str, list[str]] = compare.get("require_items", {})
        self.lengths: bool = compare.get("list_lengths", True)
        self.skip: set[str] = set(compare.get("skip", []))   # paths whose content is data of a made-up object
        self.problems: list[str] = []

    def check(self, rec: Any, act: Any, path: str = "$", name: str = "") -> list[str]:
        if rec is None or path in self.skip:
            return self.problems
        if act is None or _kind(rec) != _kind(act):
            self.problems.append(f"{path}: real {_kind(rec)}, localorg {_kind(act)}")
        elif isinstance(rec, dict):
            for key, value in rec.items():
                if key not in act:
                    self.problems.append(f"{path}.{key}: missing")
                else:
                    self.check(value, act[key], f"{path}.{key}", key)
        elif isinstance(rec, list):
            self._list(rec, act, path, name)
        return self.problems

    def _list(self, rec: list[Any], act: list[Any], path: str, name: str) -> None:
        key = self.by_key.get(name)
        if key and all(isinstance(r, dict) for r in rec + act):
            have = {a.get(key): a for a in act}
            for r in rec:
                ident = r.get(key)
                if ident in have:
                    self.check(r, have[ident], f"{path}[{ident}]", name)
                elif name not in self.subset:
                    self.problems.append(f"{path}[{ident}]: missing")
            for ident in self.required.get(name, []):
                if ident not in have:
                    self.problems.append(f"{path}[{ident}]: missing (required)")
            return
        if rec and not act and name not in self.subset:
            self.problems.append(f"{path}: real has {len(rec)} items, localorg none")
            return
        if self.lengths and name not in self.subset and len(rec) != len(act):
            self.problems.append(f"{path}: real has {len(rec)} items, localorg {len(act)}")
        for i, r in enumerate(rec):
            if act:
                self.check(r, act[i] if i < len(act) else act[0], f"{path}[{i}]", name)


def _media(value: str) -> str:
    return value.replace(" ", "").lower()


def _id_shape(value: str) -> str:
    return re.sub(r"v?\d+\.\d", "V", re.sub(r"\b[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?\b", "ID", value))


def _path(url: str) -> str:
    return "/" + (url.split("://", 1)[1].partition("/")[2] if "://" in url else url.lstrip("/"))


def headers(recorded: dict[str, str], resp: requests.Response, names: list[str] | None) -> list[str]:
    problems = []
    for name in names if names is not None else [h for h in CLIENT_HEADERS if h in recorded]:
        real, mine = recorded.get(name), resp.headers.get(name)
        if mine is None:
            problems.append(f"header {name}: missing (real: {real!r})")
        elif name == "Content-Type" and real and _media(real) != _media(mine):
            problems.append(f"header Content-Type: real {real!r}, localorg {mine!r}")
        elif name == "Location" and real and _id_shape(_path(real)) != _id_shape(_path(mine)):
            problems.append(f"header Location: real {real!r}, localorg {mine!r}")
        elif name == "Sforce-Limit-Info" and not re.fullmatch(r"api-usage=\d+/\d+", mine):
            problems.append(f"header Sforce-Limit-Info: {mine!r}")
    return problems


def xml_elements(recorded: str, actual: str) -> list[str]:
    real, mine = ET.fromstring(recorded.encode()), ET.fromstring(actual.encode())
    if real.tag != mine.tag:
        return [f"xml root: real {real.tag}, localorg {mine.tag}"]
    have = [c.tag for c in mine]
    return [f"xml {real.tag}/{c.tag.split('}')[-1]}: missing" for c in real if c.tag not in have]


def csv_header(recorded: str, actual: str) -> list[str]:
    real, mine = recorded.splitlines()[0], actual.splitlines()[0] if actual else ""
    return [] if real == mine else [f"csv header: real {real!r}, localorg {mine!r}"]


def canvas_envelope(page: str) -> Any:
    """The decoded envelope of the signed request a canvas host page posts to the app."""
    found = re.search(r'name="signed_request" value="([^"]*)"', page)
    if found is None:
        return None
    encoded = html.unescape(found.group(1)).split(".", 1)[1]
    return json.loads(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))


def compare(fixture: dict[str, Any], resp: requests.Response) -> list[str]:
    rec, opts = fixture["recorded"], fixture.get("compare", {})
    problems = []
    if resp.status_code != rec["status"]:
        problems.append(f"status: real {rec['status']}, localorg {resp.status_code}: {resp.text[:300]}")
    problems += headers(rec.get("headers", {}), resp, opts.get("headers"))
    if opts.get("body") == "none" or problems and problems[0].startswith("status"):
        return problems
    fmt = rec.get("format", "json")
    if fmt == "json":
        if rec["body"] is None:
            return problems + ([f"body: real empty, localorg {resp.text[:100]!r}"] if resp.content else [])
        try:
            body = resp.json()
        except ValueError:
            return problems + [f"body: not JSON: {resp.text[:200]!r}"]
        problems += Shape(opts).check(rec["body"], body)
    elif fmt == "xml":
        problems += xml_elements(rec["body"], resp.text)
    elif fmt == "csv":
        problems += csv_header(rec["body"], resp.text)
    elif fmt == "canvas_envelope":
        problems += Shape(opts).check(rec["body"], canvas_envelope(resp.text))
    return problems
